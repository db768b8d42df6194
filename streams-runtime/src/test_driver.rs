//! `TopologyTestDriver`: runs a topology's real task code without Kafka (Java's
//! `kafka-streams-test-utils`). Records piped into typed input topics are processed at once;
//! what the sinks (and changelogs) produce lands in output topics the test reads back.

use crate::config::DEFAULT_ROCKSDB_BLOCK_CACHE_BYTES;
use crate::error::{RecordPart, StreamsError};
use crate::graph::{RawRecord, TaskGraph};
use crate::processor::{PunctuationType, TaskId};
use crate::record::{Headers, Record};
use crate::serde::{DefaultSerde, Encoded, Serde, SerdeOf};
use crate::state::{DEFAULT_CACHE_MAX_BYTES, KeyValueStore, SessionStore, StoreContext, ThreadCache, WindowStore};
use crate::task::{Destination, Task, create_task};
use crate::topology::{NodeSpecKind, SourceRef, Topology, TypedSink, TypedStore};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::marker::PhantomData;
use std::ops::Range;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Why a [`TestOutputTopic`] read failed (Java's driver throws `NoSuchElementException` for the
/// first two).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The topology has not written a record to the topic (Java: "Uncreated topic").
    #[error("output topic {topic} was never written{hint}")]
    NeverWritten {
        /// The topic.
        topic: String,
        /// The closest topic the topology writes, or those it wrote.
        hint: String,
    },
    /// Every record written to the topic has been read (Java: "Empty topic").
    #[error("output topic {0} has no record left to read")]
    Empty(String),
    /// A record's key or value could not be deserialized with the topic's serdes
    /// ([`StreamsError::Deserialization`], naming topic and offset).
    #[error(transparent)]
    Deserialization(StreamsError),
}

/// Where a captured record's key and value bytes are in the task's output arena: the key at
/// `start`, the value right after it (the collector writes them so); a length of [`NULL_LEN`]
/// is null. Compact, as the driver keeps one per record until the test reads it.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    key_len: u32,
    value_len: u32,
}

/// The length of a null key or value in a [`Span`].
const NULL_LEN: u32 = u32::MAX;

impl Span {
    /// The span of a collected record's key and value ranges (adjacent, key first). Lengths
    /// fit in `u32`: Kafka's records are far smaller than 4 GiB (`message.max.bytes` is an
    /// `int`).
    #[inline]
    fn of(key: Option<Range<usize>>, value: Option<Range<usize>>) -> Span {
        debug_assert!(key.as_ref().zip(value.as_ref()).is_none_or(|(k, v)| k.end == v.start));
        let value_len = value.as_ref().map_or(NULL_LEN, |v| (v.end - v.start) as u32);
        match key {
            Some(k) => Span {
                start: k.start,
                key_len: (k.end - k.start) as u32,
                value_len,
            },
            None => Span {
                start: value.map_or(0, |v| v.start),
                key_len: NULL_LEN,
                value_len,
            },
        }
    }

    /// How many bytes the key and value take in the arena.
    fn len(&self) -> usize {
        let len = |l: u32| if l == NULL_LEN { 0 } else { l as usize };
        len(self.key_len) + len(self.value_len)
    }

    fn key<'a>(&self, arena: &'a [u8]) -> Option<&'a [u8]> {
        (self.key_len != NULL_LEN).then(|| &arena[self.start..self.start + self.key_len as usize])
    }

    fn value<'a>(&self, arena: &'a [u8]) -> Option<&'a [u8]> {
        let start = self.start
            + if self.key_len == NULL_LEN {
                0
            } else {
                self.key_len as usize
            };
        (self.value_len != NULL_LEN).then(|| &arena[start..start + self.value_len as usize])
    }
}

/// A record captured in an output topic: its key and value bytes are in the task's output
/// arena, written once by the record's sink; its headers (when it has any) are in the topic's
/// header queue.
#[derive(Debug)]
struct CapturedRecord {
    span: Span,
    timestamp: i64,
    has_headers: bool,
}

/// A topic the task wrote to, with the records not yet read.
#[derive(Debug)]
struct OutputTopic {
    name: String,
    /// The source that reads this topic, if the topology reads it (its records are fed back).
    feeds: Option<usize>,
    records: VecDeque<CapturedRecord>,
    /// The headers of the records that have some, in record order.
    headers: VecDeque<Headers>,
    next_offset: i64,
}

impl OutputTopic {
    /// The offset of the oldest unread record.
    fn first_offset(&self) -> i64 {
        self.next_offset - self.records.len() as i64
    }
}

/// A record written to a topic the topology reads, waiting to be piped back in; its bytes are
/// ranges of the task's output arena.
struct FedBack {
    source: usize,
    span: Span,
    timestamp: i64,
    headers: Headers,
}

/// The smallest output arena the driver compacts (when at most a quarter of it is unread).
const COMPACT_MIN_BYTES: usize = 1 << 20;

/// How many addresses of sink topic names the driver remembers before it compares the names of
/// further copies (the same literal in two places of the program, or names a topic extractor
/// makes per record).
const MAX_SINK_NAME_COPIES: usize = 64;

/// The output topic with this name, created on first use; it feeds the source reading it.
fn output_index(outputs: &mut Vec<OutputTopic>, sources: &[crate::topology::SourceSpec], topic: &str) -> usize {
    if let Some(i) = outputs.iter().position(|o| o.name == topic) {
        return i;
    }
    outputs.push(OutputTopic {
        name: topic.to_owned(),
        feeds: sources.iter().position(|s| !s.internal && s.topics.contains(&topic)),
        records: VecDeque::new(),
        headers: VecDeque::new(),
        next_offset: 0,
    });
    outputs.len() - 1
}

struct DriverState<G> {
    task: Task<G>,
    sources: &'static [crate::topology::SourceSpec],
    outputs: Vec<OutputTopic>,
    /// Records captured in the output topics and not read yet: at 0 the task's output arena,
    /// which holds their bytes, is emptied.
    unread: usize,
    /// The arena length at which a read next looks at how much of the arena is unread (to
    /// compact it): twice the length after the last look, so looking costs nothing per record.
    compact_check_at: usize,
    /// Output index of each sink topic, resolved once from the topology's nodes.
    sink_outputs: Vec<(&'static str, usize)>,
    /// Output index of each store's changelog (unused for stores without logging).
    changelog_outputs: Vec<usize>,
    /// Output index of the repartition topic each source reads (`None` for other sources).
    repartition_outputs: Vec<Option<usize>>,
    /// Next offset per source, by source index.
    input_offsets: Vec<i64>,
    wall_clock_ms: i64,
    key_buf: Vec<u8>,
    value_buf: Vec<u8>,
    /// Records to pipe back in, first in first out (as Java's driver processes them).
    pending: VecDeque<FedBack>,
    /// Scratch buffers for the record being fed back.
    feed_key: Vec<u8>,
    feed_value: Vec<u8>,
}

impl<G: TaskGraph> DriverState<G> {
    /// The output topic with this name, created on first use.
    fn output_index(&mut self, topic: &str) -> usize {
        output_index(&mut self.outputs, self.sources, topic)
    }

    /// Processes one record and everything it leads to: captured output, stream-time
    /// punctuation, then the records fed back into topics the topology reads.
    fn pipe(&mut self, source: usize, record: PipedRecord<'_>) -> Result<(), StreamsError> {
        if let Err(e) = self.process_one(source, record) {
            // What the failed record queued is not fed back (as its output is not committed).
            self.pending.clear();
            return Err(e);
        }
        self.drain_pending()
    }

    /// Processes one record and captures its output (queueing records to feed back). Java's
    /// driver commits after every record, stream-time punctuation included, so the record
    /// caches are flushed then.
    fn process_one(&mut self, source: usize, record: PipedRecord<'_>) -> Result<(), StreamsError> {
        let offset = self.input_offsets[source];
        self.input_offsets[source] += 1;
        let raw = RawRecord {
            topic: self.sources[source].topics[0],
            partition: 0,
            offset,
            timestamp: record.timestamp,
            key: record.key,
            value: record.value,
            headers: record.headers,
        };
        let result = self.task.process(source, raw).and_then(|()| {
            let stream_time = self.task.stream_time();
            self.task.punctuate(PunctuationType::StreamTime, stream_time)?;
            self.task.flush_caches()
        });
        // Matched, not kept: an error is moved only when there is one.
        match result {
            Ok(()) => {
                self.capture();
                Ok(())
            }
            Err(e) => {
                self.capture();
                Err(e)
            }
        }
    }

    /// Pipes the queued records back into their sources until none is left. Each record's
    /// bytes are copied into reused scratch buffers, so feeding back allocates nothing once warm.
    fn drain_pending(&mut self) -> Result<(), StreamsError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut key = std::mem::take(&mut self.feed_key);
        let mut value = std::mem::take(&mut self.feed_value);
        let result = self.drain_pending_with(&mut key, &mut value);
        self.feed_key = key;
        self.feed_value = value;
        result
    }

    fn drain_pending_with(&mut self, key: &mut Vec<u8>, value: &mut Vec<u8>) -> Result<(), StreamsError> {
        while let Some(r) = self.pending.pop_front() {
            // Copied out: processing the record appends to the arena holding its bytes.
            key.clear();
            value.clear();
            let bytes = self.task.output_bytes();
            let k = r.span.key(bytes).map(|k| {
                key.extend_from_slice(k);
                key.as_slice()
            });
            let v = r.span.value(bytes).map(|v| {
                value.extend_from_slice(v);
                value.as_slice()
            });
            let record = PipedRecord {
                key: k,
                value: v,
                timestamp: r.timestamp,
                headers: r.headers,
            };
            if let Err(e) = self.process_one(r.source, record) {
                self.pending.clear();
                return Err(e);
            }
        }
        Ok(())
    }

    /// Moves the task's output into the output topics (the bytes stay in the task's output
    /// arena), queueing the records written to topics the topology itself reads.
    fn capture(&mut self) {
        let DriverState {
            task,
            sources,
            outputs,
            unread,
            sink_outputs,
            changelog_outputs,
            repartition_outputs,
            pending,
            ..
        } = self;
        task.take_output(|r| {
            let index = match r.destination {
                Destination::Topic(t) => match sink_outputs.iter().find(|(s, _)| std::ptr::eq(*s, t)) {
                    Some((_, i)) => *i,
                    // Another copy of a known name (the same literal in two places of the
                    // program), or a topic chosen per record: resolved once, then found by
                    // address.
                    None => {
                        match sink_outputs.iter().find(|(s, _)| *s == t) {
                            // Another copy of a known name: kept, up to a bound (a topic
                            // extractor may make a new string per record).
                            Some(&(_, i)) => {
                                if sink_outputs.len() < MAX_SINK_NAME_COPIES {
                                    sink_outputs.push((t, i));
                                }
                                i
                            }
                            None => {
                                let i = output_index(outputs, sources, t);
                                sink_outputs.push((t, i));
                                i
                            }
                        }
                    }
                },
                Destination::Changelog(store) => changelog_outputs[store],
                Destination::Repartition(source) => repartition_outputs[source]
                    .expect("a repartition sink writes the topic of an internal source, resolved at driver creation"),
            };
            let out = &mut outputs[index];
            let has_headers = !r.headers.is_empty();
            let span = Span::of(r.key, r.value);
            if let Some(source) = out.feeds {
                pending.push_back(FedBack {
                    source,
                    span,
                    timestamp: r.timestamp,
                    headers: if has_headers { r.headers.clone() } else { Headers::new() },
                });
            }
            if has_headers {
                out.headers.push_back(r.headers);
            }
            out.records.push_back(CapturedRecord {
                span,
                timestamp: r.timestamp,
                has_headers,
            });
            out.next_offset += 1;
            *unread += 1;
        });
    }
}

impl<G> DriverState<G> {
    /// Takes the oldest unread record of output topic `index`, with its headers, and hands its
    /// key and value bytes to `read` (with the topic's name and the record's offset); empties
    /// the output arena once every captured record is read.
    fn read_next<R>(
        &mut self,
        index: usize,
        read: impl FnOnce(Option<&[u8]>, Option<&[u8]>, (&str, i64)) -> R,
    ) -> Result<(R, i64, Headers), ReadError> {
        let out = &mut self.outputs[index];
        let offset = out.first_offset();
        let Some(r) = out.records.pop_front() else {
            return Err(nothing_to_read(&self.outputs, index));
        };
        let headers = if r.has_headers {
            out.headers.pop_front().unwrap_or_default()
        } else {
            Headers::new()
        };
        let bytes = self.task.output_bytes();
        let result = read(r.span.key(bytes), r.span.value(bytes), (&out.name, offset));
        self.unread -= 1;
        if self.unread == 0 && self.pending.is_empty() {
            self.task.clear_output_bytes();
            self.compact_check_at = COMPACT_MIN_BYTES;
        } else if self.pending.is_empty() && self.task.output_bytes().len() >= self.compact_check_at {
            self.maybe_compact();
        }
        Ok((result, r.timestamp, headers))
    }

    /// Compacts the arena if at most a quarter of it is unread: copies the bytes of the records
    /// not read yet into a new arena, in order, and points their spans there, so what was read
    /// is freed even while a topic nobody reads (a changelog, a repartition topic) keeps
    /// records. Called with nothing waiting to be fed back.
    fn maybe_compact(&mut self) {
        let unread_bytes: usize = (self.outputs.iter())
            .flat_map(|out| &out.records)
            .map(|r| r.span.len())
            .sum();
        if unread_bytes * 4 <= self.task.output_bytes().len() {
            self.compact(unread_bytes);
        }
        self.compact_check_at = COMPACT_MIN_BYTES.max(2 * self.task.output_bytes().len());
    }

    fn compact(&mut self, unread_bytes: usize) {
        let mut bytes = Vec::with_capacity(unread_bytes);
        let arena = self.task.output_bytes();
        for out in &mut self.outputs {
            for r in &mut out.records {
                let start = bytes.len();
                bytes.extend_from_slice(&arena[r.span.start..r.span.start + r.span.len()]);
                r.span.start = start;
            }
        }
        self.task.replace_output_bytes(bytes);
    }
}

struct PipedRecord<'a> {
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
    timestamp: i64,
    headers: Headers,
}

/// Drives one task of a topology in-process (Java's `TopologyTestDriver`).
///
/// Like Java's driver, all sub-topologies run in one task (partition 0 of every topic), records
/// written to a topic the topology reads are processed in turn, and wall-clock time only moves
/// when the test advances it.
///
/// ```
/// use streams_runtime::prelude::*;
///
/// topology! {
///     struct Counts {
///         stream words { topic: "words", key: Option<String>, value: String }
///         words.group_by(|_, word| word.clone())
///             .count(store: "counts", persistent: false)
///             .to_stream()
///             .to("word-counts");
///     }
/// }
///
/// let driver = test_driver(&Counts)?;
/// let mut input = driver.input_topic(Counts::source_words());
/// input.pipe_input(None, "kafka".to_owned())?;
/// input.pipe_input(None, "kafka".to_owned())?;
/// let mut output = driver.output_topic_as::<String, Option<i64>>("word-counts");
/// assert_eq!(output.read_key_values_to_list()?, [("kafka".to_owned(), Some(1)), ("kafka".to_owned(), Some(2))]);
/// // The store the aggregation created, read by name (Java's `getKeyValueStore`).
/// let counts = driver.key_value_store::<String, i64>("counts")?;
/// assert_eq!(counts.get(&"kafka".to_owned())?, Some(2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TopologyTestDriver<G> {
    state: Rc<RefCell<DriverState<G>>>,
    _state_dir: tempfile::TempDir,
}

/// The node graph `topology!` generates for a topology, as a driver runs it. Its type cannot be
/// written out: name a driver as `TopologyTestDriver<impl Graph>` (a helper's argument or
/// return type).
pub trait Graph: TaskGraph {}

impl<G: TaskGraph> Graph for G {}

/// Settings of a [`TopologyTestDriver`].
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// The `application.id` (names changelog topics). Default `test-app`.
    pub application_id: String,
    /// The initial mock wall-clock time in ms. Default: now.
    pub initial_wall_clock_ms: i64,
    /// The capacity of the block cache the driver's RocksDB stores share
    /// ([`StreamsConfig::rocksdb_block_cache_bytes`](crate::config::StreamsConfig::rocksdb_block_cache_bytes)).
    /// Default [`DEFAULT_ROCKSDB_BLOCK_CACHE_BYTES`].
    pub rocksdb_block_cache_bytes: usize,
    /// The function adjusting the options of each RocksDB store, as under `KafkaStreams`
    /// ([`StreamsConfig::set_rocksdb_config_setter`](crate::config::StreamsConfig::set_rocksdb_config_setter)).
    /// Default: none.
    #[cfg(feature = "rocksdb")]
    pub rocksdb_config_setter: Option<crate::state::RocksDbConfigSetter>,
    /// `statestore.cache.max.bytes`: the record cache's budget (default 10 MiB, as in Java;
    /// the driver has one stream thread). The driver flushes the caches after every record,
    /// as Java's does, so the budget only matters when one record's updates exceed it.
    pub statestore_cache_max_bytes: u64,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            application_id: "test-app".to_owned(),
            initial_wall_clock_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64),
            rocksdb_block_cache_bytes: DEFAULT_ROCKSDB_BLOCK_CACHE_BYTES,
            #[cfg(feature = "rocksdb")]
            rocksdb_config_setter: None,
            statestore_cache_max_bytes: DEFAULT_CACHE_MAX_BYTES,
        }
    }
}

impl DriverConfig {
    /// Sets the function adjusting the options of each RocksDB store (see
    /// [`StreamsConfig::set_rocksdb_config_setter`](crate::config::StreamsConfig::set_rocksdb_config_setter)).
    #[cfg(feature = "rocksdb")]
    pub fn set_rocksdb_config_setter(
        &mut self,
        set_config: impl Fn(&str, &mut rocksdb::Options, &mut rocksdb::BlockBasedOptions) + Send + Sync + 'static,
    ) -> &mut Self {
        self.rocksdb_config_setter = Some(crate::state::RocksDbConfigSetter::new(set_config));
        self
    }
}

/// Creates a driver for `topology` with default settings.
pub fn test_driver<T: Topology>(topology: &T) -> Result<TopologyTestDriver<impl Graph + use<T>>, StreamsError> {
    test_driver_with(topology, DriverConfig::default())
}

/// Creates a driver for `topology` with these settings.
pub fn test_driver_with<T: Topology>(
    topology: &T,
    config: DriverConfig,
) -> Result<TopologyTestDriver<impl Graph + use<T>>, StreamsError> {
    let dir = tempfile::tempdir().map_err(|source| crate::error::StoreError::Io {
        store: "<state.dir>",
        source,
    })?;
    let task_id = TaskId {
        subtopology: 0,
        partition: 0,
    };
    let context = StoreContext {
        task_dir: dir.path().join(&config.application_id).join(task_id.to_string()),
        exactly_once: false,
        globals: Default::default(),
        #[cfg(feature = "rocksdb")]
        rocksdb: crate::state::RocksDbSettings::new(config.rocksdb_block_cache_bytes, config.rocksdb_config_setter),
        cache: ThreadCache::new(config.statestore_cache_max_bytes),
        store_metrics: false,
    };
    let mut task = create_task(
        topology,
        task_id,
        crate::topology::NodeSet::All,
        &config.application_id,
        &context,
        config.initial_wall_clock_ms,
    )?;
    // Java's driver looks for closed windows after every record.
    task.set_windowed_emit_interval(0);
    task.set_outer_join_emit_interval(0);
    // It flushes the record caches after every record, as Java's driver does.
    task.set_flushes_every_record();
    let mut state = DriverState {
        task,
        sources: T::SOURCES,
        outputs: Vec::new(),
        unread: 0,
        compact_check_at: COMPACT_MIN_BYTES,
        sink_outputs: Vec::new(),
        changelog_outputs: Vec::new(),
        repartition_outputs: Vec::new(),
        input_offsets: vec![0; T::SOURCES.len()],
        wall_clock_ms: config.initial_wall_clock_ms,
        key_buf: Vec::new(),
        value_buf: Vec::new(),
        pending: VecDeque::new(),
        feed_key: Vec::new(),
        feed_value: Vec::new(),
    };
    for node in T::NODES {
        if let NodeSpecKind::Sink { topic, internal: false } = node.kind {
            let index = state.output_index(topic);
            state.sink_outputs.push((topic, index));
        }
    }
    for store in T::STORES {
        let index = state.output_index(&store.changelog_topic(&config.application_id));
        state.changelog_outputs.push(index);
    }
    for (i, source) in T::SOURCES.iter().enumerate() {
        let output = source.internal.then(|| {
            let index = state.output_index(&source.topic_name(&config.application_id));
            state.outputs[index].feeds = Some(i);
            index
        });
        state.repartition_outputs.push(output);
    }
    state.capture();
    state.drain_pending()?;
    Ok(TopologyTestDriver {
        state: Rc::new(RefCell::new(state)),
        _state_dir: dir,
    })
}

impl<G: TaskGraph> TopologyTestDriver<G> {
    /// An input topic for a source, with timestamps starting at the wall-clock time and not
    /// advancing by themselves.
    pub fn input_topic<K, V, KS: Serde<K>, VS: Serde<V>>(
        &self,
        source: SourceRef<K, V, KS, VS>,
    ) -> TestInputTopic<G, K, V, KS, VS> {
        let start = self.state.borrow().wall_clock_ms;
        self.input_topic_with(source, start, Duration::ZERO)
    }

    /// An input topic whose records without a timestamp get `start_ms`, then `start_ms +
    /// advance`, and so on (Java's `createInputTopic(name, ks, vs, startTimestamp, autoAdvance)`).
    pub fn input_topic_with<K, V, KS: Serde<K>, VS: Serde<V>>(
        &self,
        source: SourceRef<K, V, KS, VS>,
        start_ms: i64,
        advance: Duration,
    ) -> TestInputTopic<G, K, V, KS, VS> {
        TestInputTopic {
            state: Rc::clone(&self.state),
            source: source.index(),
            next_timestamp: start_ms,
            advance_ms: advance.as_millis() as i64,
            key_serde: KS::default(),
            value_serde: VS::default(),
            types: PhantomData,
        }
    }

    /// The output topic of a sink: `MyTopology::sink_<name>()` of a Processor API sink, or
    /// `MyTopology::to_<topic>()` of a DSL `to`.
    #[allow(clippy::type_complexity)]
    pub fn output_topic<S: TypedSink>(
        &self,
        sink: S,
    ) -> TestOutputTopic<G, S::Key, S::Value, S::KeySerde, S::ValueSerde> {
        self.output_topic_named(sink.topic())
    }

    /// A topic the task writes, read with the default serdes of `K` and `V` (for DSL sinks,
    /// which have no typed accessor: `driver.output_topic_as::<String, Option<i64>>("counts")`).
    #[allow(clippy::type_complexity)]
    pub fn output_topic_as<K: DefaultSerde, V: DefaultSerde>(
        &self,
        topic: &str,
    ) -> TestOutputTopic<G, K, V, SerdeOf<K>, SerdeOf<V>> {
        self.output_topic_named(topic)
    }

    /// Any topic the task writes (a changelog topic, say), read with the serdes `KS` and `VS`.
    pub fn output_topic_named<K, V, KS: Serde<K>, VS: Serde<V>>(
        &self,
        topic: &str,
    ) -> TestOutputTopic<G, K, V, KS, VS> {
        TestOutputTopic {
            index: self.state.borrow_mut().output_index(topic),
            state: Rc::clone(&self.state),
            key_serde: KS::default(),
            value_serde: VS::default(),
            types: PhantomData,
        }
    }

    /// A store of the task, typed as the topology declares it: `MyTopology::store_<name>()`.
    pub fn store<S: TypedStore>(&self, store: S) -> S::Handle {
        self.state
            .borrow()
            .task
            .stores()
            .bind_index(store.index())
            .expect("a StoreRef generated by topology! names a store of its own kind")
    }

    /// A key-value store of the task by name, with the default serdes of `K` and `V` (Java's
    /// `getKeyValueStore`): the way to read the stores DSL aggregations and tables create.
    pub fn key_value_store<K: DefaultSerde, V: DefaultSerde>(
        &self,
        name: &str,
    ) -> Result<KeyValueStore<K, V>, StreamsError> {
        self.state.borrow().task.stores().bind(name)
    }

    /// A window store of the task by name, with the default serdes of `K` and `V` (Java's
    /// `getWindowStore`): the way to read the stores of windowed aggregations.
    pub fn window_store<K: DefaultSerde, V: DefaultSerde>(
        &self,
        name: &str,
    ) -> Result<WindowStore<K, V>, StreamsError> {
        self.state.borrow().task.stores().bind(name)
    }

    /// A session store of the task by name, with the default serdes of `K` and `V` (Java's
    /// `getSessionStore`): the way to read the stores of session aggregations.
    pub fn session_store<K: DefaultSerde, V: DefaultSerde>(
        &self,
        name: &str,
    ) -> Result<SessionStore<K, V>, StreamsError> {
        self.state.borrow().task.stores().bind(name)
    }

    /// How many records operators skipped so far (Java's dropped-records metric).
    pub fn dropped_records(&self) -> u64 {
        self.state.borrow().task.dropped_records()
    }

    /// Pipes a record of raw bytes into `topic` (any topic a source of the topology reads), as
    /// a producer that knows nothing of the topology's types would.
    pub fn pipe_raw(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        timestamp: i64,
    ) -> Result<(), StreamsError> {
        let mut state = self.state.borrow_mut();
        let source = state
            .sources
            .iter()
            .position(|s| !s.internal && s.topics.contains(&topic))
            .ok_or_else(|| StreamsError::UnknownTopic {
                topic: topic.to_owned(),
                hint: crate::names::did_you_mean(
                    topic,
                    state
                        .sources
                        .iter()
                        .filter(|s| !s.internal)
                        .flat_map(|s| s.topics.iter().copied()),
                    "its source topics are",
                ),
            })?;
        state.pipe(
            source,
            PipedRecord {
                key,
                value,
                timestamp,
                headers: Headers::new(),
            },
        )
    }

    /// Advances the mock wall clock and fires due wall-clock punctuations (then commits,
    /// flushing the record caches, as Java's driver does).
    pub fn advance_wall_clock_time(&self, by: Duration) -> Result<(), StreamsError> {
        let mut state = self.state.borrow_mut();
        state.wall_clock_ms += by.as_millis() as i64;
        let now = state.wall_clock_ms;
        let result = (state.task)
            .punctuate(PunctuationType::WallClockTime, now)
            .and_then(|()| state.task.flush_caches());
        state.capture();
        result?;
        state.drain_pending()
    }

    /// The task's stream time (-1 before any record).
    pub fn stream_time(&self) -> i64 {
        self.state.borrow().task.stream_time()
    }

    /// The names of every topic that received output so far, sorted.
    pub fn produced_topic_names(&self) -> Vec<String> {
        let mut names: Vec<_> = self
            .state
            .borrow()
            .outputs
            .iter()
            .filter(|o| o.next_offset > 0)
            .map(|o| o.name.clone())
            .collect();
        names.sort();
        names
    }

    /// Closes the task: runs every processor's `close` and flushes the stores.
    pub fn close(self) -> Result<(), StreamsError> {
        match Rc::try_unwrap(self.state) {
            Ok(state) => state.into_inner().task.close(),
            Err(_) => Ok(()),
        }
    }
}

/// A topic the test writes into (Java's `TestInputTopic`).
pub struct TestInputTopic<G, K, V, KS, VS> {
    state: Rc<RefCell<DriverState<G>>>,
    source: usize,
    next_timestamp: i64,
    advance_ms: i64,
    key_serde: KS,
    value_serde: VS,
    types: PhantomData<fn(K, V)>,
}

impl<G: TaskGraph, K, V, KS: Serde<K>, VS: Serde<V>> TestInputTopic<G, K, V, KS, VS> {
    fn next_time(&mut self) -> i64 {
        let t = self.next_timestamp;
        self.next_timestamp += self.advance_ms;
        t
    }

    /// Pipes a key and value with the topic's next timestamp.
    pub fn pipe_input(&mut self, key: K, value: V) -> Result<(), StreamsError> {
        let timestamp = self.next_time();
        self.pipe_record(Record::new(key, value, timestamp))
    }

    /// Pipes a key and value with this timestamp.
    pub fn pipe_input_at(&mut self, key: K, value: V, timestamp: i64) -> Result<(), StreamsError> {
        self.pipe_record(Record::new(key, value, timestamp))
    }

    /// Pipes a whole record (timestamp and headers included).
    pub fn pipe_record(&mut self, record: Record<K, V>) -> Result<(), StreamsError> {
        let mut state = self.state.borrow_mut();
        let state = &mut *state;
        let (mut key_buf, mut value_buf) = (std::mem::take(&mut state.key_buf), std::mem::take(&mut state.value_buf));
        let topic = state.sources[self.source].topics[0];
        let encode = |serde_out: Result<Encoded, crate::serde::SerdeError>, part| {
            serde_out.map_err(|source| StreamsError::Serialization {
                topic: topic.to_owned(),
                part,
                source,
            })
        };
        key_buf.clear();
        value_buf.clear();
        let result = (|| {
            let k = encode(self.key_serde.serialize(&record.key, &mut key_buf), RecordPart::Key)?;
            let v = encode(
                self.value_serde.serialize(&record.value, &mut value_buf),
                RecordPart::Value,
            )?;
            state.pipe(
                self.source,
                PipedRecord {
                    key: (k == Encoded::Bytes).then_some(key_buf.as_slice()),
                    value: (v == Encoded::Bytes).then_some(value_buf.as_slice()),
                    timestamp: record.timestamp,
                    headers: record.headers,
                },
            )
        })();
        state.key_buf = key_buf;
        state.value_buf = value_buf;
        result
    }

    /// Pipes every key and value in order, with the topic's timestamps.
    pub fn pipe_key_value_list(&mut self, entries: impl IntoIterator<Item = (K, V)>) -> Result<(), StreamsError> {
        entries.into_iter().try_for_each(|(k, v)| self.pipe_input(k, v))
    }

    /// Pipes raw key and value bytes, bypassing the serdes (to test bad input).
    pub fn pipe_raw(&mut self, key: Option<&[u8]>, value: Option<&[u8]>, timestamp: i64) -> Result<(), StreamsError> {
        self.state.borrow_mut().pipe(
            self.source,
            PipedRecord {
                key,
                value,
                timestamp,
                headers: Headers::new(),
            },
        )
    }
}

/// Why output topic `index` has no record to read: never written (with the closest topic that
/// was), or read to the end.
fn nothing_to_read(outputs: &[OutputTopic], index: usize) -> ReadError {
    let out = &outputs[index];
    if out.next_offset > 0 {
        return ReadError::Empty(out.name.clone());
    }
    let written = outputs.iter().filter(|o| o.next_offset > 0).map(|o| o.name.as_str());
    ReadError::NeverWritten {
        topic: out.name.clone(),
        hint: crate::names::did_you_mean(&out.name, written, "it wrote"),
    }
}

/// A topic the test reads from (Java's `TestOutputTopic`). Reading consumes.
pub struct TestOutputTopic<G, K, V, KS, VS> {
    state: Rc<RefCell<DriverState<G>>>,
    index: usize,
    key_serde: KS,
    value_serde: VS,
    types: PhantomData<fn(K, V)>,
}

impl<G, K, V, KS: Serde<K>, VS: Serde<V>> TestOutputTopic<G, K, V, KS, VS> {
    /// Takes the next record and hands its key and value bytes to `read` (with the topic name
    /// and offset for errors); returns what `read` made with the record's timestamp and headers.
    fn take<R>(
        &self,
        read: impl FnOnce(&Self, Option<&[u8]>, Option<&[u8]>, (&str, i64)) -> Result<R, StreamsError>,
    ) -> Result<(R, i64, Headers), ReadError> {
        let mut state = self.state.borrow_mut();
        let (result, timestamp, headers) = state.read_next(self.index, |key, value, at| read(self, key, value, at))?;
        Ok((result.map_err(ReadError::Deserialization)?, timestamp, headers))
    }

    fn decode<T, S: Serde<T>>(
        serde: &S,
        data: Option<&[u8]>,
        (topic, offset): (&str, i64),
        part: RecordPart,
    ) -> Result<T, StreamsError> {
        serde.deserialize(data).map_err(|source| StreamsError::Deserialization {
            topic: topic.to_owned(),
            partition: 0,
            offset,
            part,
            source,
        })
    }

    /// Reads the next record.
    pub fn read_record(&mut self) -> Result<Record<K, V>, ReadError> {
        let ((key, value), timestamp, headers) = self.take(|this, k, v, at| {
            let key = Self::decode(&this.key_serde, k, at, RecordPart::Key)?;
            Ok((key, Self::decode(&this.value_serde, v, at, RecordPart::Value)?))
        })?;
        Ok(Record {
            key,
            value,
            timestamp,
            headers,
        })
    }

    /// Reads the next value.
    pub fn read_value(&mut self) -> Result<V, ReadError> {
        Ok(self.read_record()?.value)
    }

    /// Reads the next key and value.
    pub fn read_key_value(&mut self) -> Result<(K, V), ReadError> {
        let r = self.read_record()?;
        Ok((r.key, r.value))
    }

    /// Reads every remaining record.
    pub fn read_records_to_list(&mut self) -> Result<Vec<Record<K, V>>, ReadError> {
        (0..self.queue_size()).map(|_| self.read_record()).collect()
    }

    /// Reads every remaining value.
    pub fn read_values_to_list(&mut self) -> Result<Vec<V>, ReadError> {
        (0..self.queue_size()).map(|_| self.read_value()).collect()
    }

    /// Reads every remaining key and value.
    pub fn read_key_values_to_list(&mut self) -> Result<Vec<(K, V)>, ReadError> {
        (0..self.queue_size()).map(|_| self.read_key_value()).collect()
    }

    /// Reads every remaining record into a map of the latest value per key; a record with a
    /// null value (a tombstone) removes its key.
    pub fn read_key_values_to_map(&mut self) -> Result<BTreeMap<K, V>, ReadError>
    where
        K: Ord,
    {
        let mut map = BTreeMap::new();
        while !self.is_empty() {
            let ((key, value), _, _) = self.take(|this, k, v, at| {
                let key = Self::decode(&this.key_serde, k, at, RecordPart::Key)?;
                let value = v
                    .map(|v| Self::decode(&this.value_serde, Some(v), at, RecordPart::Value))
                    .transpose()?;
                Ok((key, value))
            })?;
            match value {
                Some(value) => map.insert(key, value),
                None => map.remove(&key),
            };
        }
        Ok(map)
    }

    /// Whether there is nothing left to read.
    pub fn is_empty(&self) -> bool {
        self.queue_size() == 0
    }

    /// How many records are left to read.
    pub fn queue_size(&self) -> usize {
        self.state.borrow().outputs[self.index].records.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_finds_the_key_and_value_the_collector_wrote_side_by_side() {
        let arena = b"..keyvalue.v2k3".as_slice();
        let both = Span::of(Some(2..5), Some(5..10));
        assert_eq!(
            (both.key(arena), both.value(arena)),
            (Some(&b"key"[..]), Some(&b"value"[..]))
        );
        let null_key = Span::of(None, Some(11..13));
        assert_eq!((null_key.key(arena), null_key.value(arena)), (None, Some(&b"v2"[..])));
        let null_value = Span::of(Some(13..15), None);
        assert_eq!(
            (null_value.key(arena), null_value.value(arena)),
            (Some(&b"k3"[..]), None)
        );
        let empty = Span::of(Some(15..15), Some(15..15));
        assert_eq!((empty.key(arena), empty.value(arena)), (Some(&b""[..]), Some(&b""[..])));
        let nothing = Span::of(None, None);
        assert_eq!((nothing.key(arena), nothing.value(arena)), (None, None));
    }
}
