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

pub use streams_macros::{Processor, topology};

/// The `rocksdb` crate this library opens its stores with, for writing a
/// [`RocksDbConfigSetter`](state::RocksDbConfigSetter) against the same version.
#[cfg(feature = "rocksdb")]
pub use rocksdb;

/// Everything a topology module needs, in one import.
pub mod prelude {
    pub use crate::error::{ProcessingError, StreamsError};
    pub use crate::processor::{
        ChildId, Processor, ProcessorContext, ProcessorSpec, PunctuationType, ScheduleId, TaskId,
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
