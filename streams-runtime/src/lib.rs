//! Kafka Streams for Rust: stream processing over Kafka with topologies declared by macros and
//! checked by the compiler.
//!
//! Declare processors with [`#[derive(Processor)]`](macro@Processor) and wire them with
//! [`topology!`]; run them with the [`test_driver`] (and, later, against Kafka). Mistakes in the
//! wiring, the serdes or the stores are compile errors. See `docs/TOPOLOGY.md` for the grammar.

pub mod config;
mod describe;
pub(crate) mod dsl;
pub mod error;
pub(crate) mod graph;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod lifecycle;
pub mod metadata;
#[cfg(feature = "kafka")]
pub mod metrics;
mod names;
pub mod processor;
pub mod record;
pub mod serde;
pub mod state;
pub(crate) mod task;
pub mod test_driver;
pub mod topology;
pub mod window;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

/// Makes a struct a processor of the Processor API.
///
/// `#[processor(input = (K, V), output = (K2, V2))]` names the record types it receives and
/// forwards; each `#[store]` field (a [`KeyValueStore`](state::KeyValueStore),
/// [`WindowStore`](state::WindowStore), ...) is bound to the topology's store of the same name
/// when a task creates the processor; other fields start from `Default`. The processing itself
/// is the [`Processor`](processor::Processor) trait. Wiring mistakes (a store the topology does
/// not declare, types that do not flow, a field that is not a store handle) are compile errors.
///
/// ```
/// use streams_runtime::prelude::*;
///
/// #[derive(Processor)]
/// #[processor(input = (Option<String>, String), output = (String, i64))]
/// struct Counter {
///     #[store]
///     counts: KeyValueStore<String, i64>,
/// }
///
/// impl Processor for Counter {
///     // The types come from `#[processor(..)]`: `RecordIn<Self>` is
///     // `Record<Option<String>, String>`, `ContextFor<Self>` a `ProcessorContext<String, i64>`.
///     fn process(&mut self, record: RecordIn<Self>, ctx: &mut impl ContextFor<Self>) -> Result<(), ProcessingError> {
///         let word = record.value.clone();
///         let count = self.counts.get(&word)?.unwrap_or(0) + 1;
///         self.counts.put(&word, &count)?;
///         ctx.forward(record.with_key(word).with_value(count))
///     }
/// }
///
/// topology! {
///     struct Counting {
///         source words { topic: "words", key: Option<String>, value: String }
///         processor count: Counter { parents: [words] }
///         sink counts_out { topic: "counts", parents: [count] }
///         store counts { key: String, value: i64, persistent: false }
///     }
/// }
///
/// let driver = test_driver(&Counting)?;
/// let mut input = driver.input_topic(Counting::source_words());
/// input.pipe_input(None, "kafka".to_owned())?;
/// input.pipe_input(None, "kafka".to_owned())?;
/// let mut output = driver.output_topic(Counting::sink_counts_out());
/// assert_eq!(output.read_key_value()?, ("kafka".to_owned(), 1));
/// assert_eq!(output.read_key_value()?, ("kafka".to_owned(), 2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub use streams_macros::Processor;

/// Declares a topology, checked at compile time: Processor API clauses (`source`, `processor`,
/// `sink`, `store`) and DSL statements (`stream`, `table`, `global_table` and operator chains),
/// in the grammar of `docs/TOPOLOGY.md`.
///
/// The macro generates a unit struct implementing [`Topology`](topology::Topology), typed
/// accessors for its sources, sinks and stores (`Name::source_lines()`, ...) and the checks:
/// wiring, serdes against types, store names and kinds, topic names. Run it with
/// [`test_driver`](test_driver::test_driver) or [`KafkaStreams`](kafka::KafkaStreams).
///
/// ```
/// use streams_runtime::prelude::*;
///
/// topology! {
///     /// Counts words: `group_by` changes the key, so the counting runs behind a repartition
///     /// topic, as in Kafka Streams.
///     struct WordCount {
///         stream lines { topic: "lines", key: Option<String>, value: String }
///         lines
///             .flat_map_values(|line| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
///             .group_by(|_, word| -> String { word.clone() })
///             .count(store: "counts-store", persistent: false)
///             .to_stream()
///             .to("word-counts", key_serde: StringSerde, value_serde: OptionSerde<LongSerde>);
///     }
/// }
///
/// let driver = test_driver(&WordCount)?;
/// driver.input_topic(WordCount::source_lines()).pipe_input(None, "to be or not to be".to_owned())?;
/// // Typed accessors of what the DSL creates: the grouping's closure names the key type.
/// let counts = driver.output_topic(WordCount::to_word_counts()).read_key_values_to_map()?;
/// assert_eq!(counts["to"], Some(2));
/// assert_eq!(driver.store(WordCount::store_counts_store()).get(&"not".to_owned())?, Some(1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub use streams_macros::topology;

/// The `rocksdb` crate this library opens its stores with, for writing a
/// [`RocksDbConfigSetter`](state::RocksDbConfigSetter) against the same version.
#[cfg(feature = "rocksdb")]
pub use rocksdb;

/// Everything a topology module needs, in one import.
pub mod prelude {
    pub use crate::error::{ProcessingError, StreamsError};
    pub use crate::processor::{
        ChildId, ContextFor, Processor, ProcessorContext, ProcessorSpec, PunctuationType, RecordIn, ScheduleId, TaskId,
    };
    pub use crate::record::{Headers, Record, RecordMetadata};
    pub use crate::serde::{
        BytesSerde, DefaultSerde, DoubleSerde, FloatSerde, IntegerSerde, Json, JsonSerde, LongSerde, OptionSerde,
        Serde, SerdeOf, ShortSerde, StringSerde, UnitSerde,
    };
    pub use crate::state::{KeyValueStore, SessionStore, StoreKind, VersionedKeyValueStore, WindowStore};
    pub use crate::test_driver::{DriverConfig, Graph, ReadError, TopologyTestDriver, test_driver, test_driver_with};
    pub use crate::topology::Topology;
    pub use crate::topology::{
        DefaultPartitioner, RecordTimestamp, StreamPartitioner, TimestampExtractor, WallclockTimestamp,
    };
    pub use crate::window::{SessionWindowedSerde, TimeWindowedSerde, Window, Windowed};
    pub use crate::{Processor, topology};
}
