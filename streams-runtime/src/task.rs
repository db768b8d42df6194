//! A task: one instance of the node graph with its stores for one partition group (Java's
//! `StreamTask`), plus what it carries between calls: stream time, the punctuation queue and
//! the record collector. The test driver and the Kafka runtime both only feed records and time
//! into tasks.

use crate::error::{ProcessingError, StreamsError};
use crate::graph::{NodeLifecycle, RawRecord, TaskGraph};
use crate::processor::{PunctuationType, ScheduleId, TaskId};
use crate::record::{Headers, RecordMetadata};
use crate::serde::{Encoded, Serde, SerdeError};
use crate::state::{CacheState, StoreContext, StoreSet, StoreSpec, ThreadCache};
use crate::topology::{NodeSet, Topology};
use std::ops::Range;
use std::time::Duration;

/// Stream time before any record was processed, as in Java.
pub const UNKNOWN_TIME: i64 = -1;

#[derive(Debug)]
struct Schedule {
    id: ScheduleId,
    node: u32,
    kind: PunctuationType,
    interval_ms: i64,
    next: i64,
}

/// The scheduled punctuations of a task (Java's `PunctuationQueue`, one for both clocks).
#[derive(Debug, Default)]
pub(crate) struct PunctuationQueue {
    schedules: Vec<Schedule>,
    next_id: u32,
}

impl PunctuationQueue {
    fn schedule(&mut self, node: u32, kind: PunctuationType, interval: Duration, first: i64) -> ScheduleId {
        let id = ScheduleId(self.next_id);
        self.next_id += 1;
        let interval_ms = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX).max(1);
        self.schedules.push(Schedule {
            id,
            node,
            kind,
            interval_ms,
            next: first,
        });
        id
    }

    /// Drops every schedule; ids go on counting, so an id kept from before never names a new one.
    fn clear(&mut self) {
        self.schedules.clear();
    }

    fn cancel(&mut self, node: u32, id: ScheduleId) {
        self.schedules.retain(|s| !(s.id == id && s.node == node));
    }

    /// Whether a schedule of `kind` is due at `now` (the per-record check, before any work).
    #[inline]
    fn any_due(&self, kind: PunctuationType, now: i64) -> bool {
        self.schedules.iter().any(|s| s.kind == kind && s.next <= now)
    }

    /// The earliest schedule of `kind` due at `now`, moved to its next time (skipping missed
    /// intervals, as Java's `PunctuationSchedule.next` does).
    fn pop_due(&mut self, kind: PunctuationType, now: i64, fired: &[ScheduleId]) -> Option<(ScheduleId, u32)> {
        let s = self
            .schedules
            .iter_mut()
            .filter(|s| s.kind == kind && s.next <= now && !fired.contains(&s.id))
            .min_by_key(|s| (s.next, s.id))?;
        let missed = (now - s.next) / s.interval_ms;
        s.next += (missed + 1) * s.interval_ms;
        Some((s.id, s.node))
    }
}

/// Where a collected record goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// A sink's topic.
    Topic(&'static str),
    /// The changelog topic of the store at this index of the topology's stores.
    Changelog(usize),
    /// The repartition topic read by the source at this index of the topology's sources
    /// (`<application.id>-<name>-repartition`; the name is that source's topic).
    Repartition(usize),
}

/// A record in the collector: its key and value are ranges of the collector's arena.
#[derive(Debug)]
pub(crate) struct CollectedRecord {
    pub(crate) destination: Destination,
    pub(crate) partition: Option<i32>,
    pub(crate) key: Option<Range<usize>>,
    pub(crate) value: Option<Range<usize>>,
    pub(crate) timestamp: i64,
    pub(crate) headers: Headers,
}

/// A record a task produced, as handed to whoever drains the task.
#[derive(Debug)]
pub struct OutputRecord<'a> {
    /// Its topic.
    pub destination: Destination,
    /// The partition a custom partitioner chose; `None` leaves it to the default partitioner.
    pub partition: Option<i32>,
    /// Key bytes (`None` is null).
    pub key: Option<&'a [u8]>,
    /// Value bytes (`None` is null).
    pub value: Option<&'a [u8]>,
    /// Timestamp.
    pub timestamp: i64,
    /// Headers.
    pub headers: Headers,
}

/// The records a task produced since it was last drained, serialized into one reused arena
/// (Java's `RecordCollector`).
#[derive(Debug, Default)]
pub(crate) struct RecordCollector {
    bytes: Vec<u8>,
    records: Vec<CollectedRecord>,
}

impl RecordCollector {
    fn append<T, S: Serde<T>>(&mut self, serde: &S, value: &T) -> Result<Option<Range<usize>>, SerdeError> {
        let start = self.bytes.len();
        match serde.serialize(value, &mut self.bytes) {
            Ok(Encoded::Bytes) => Ok(Some(start..self.bytes.len())),
            Ok(Encoded::Null) => Ok(None),
            Err(e) => {
                self.bytes.truncate(start);
                Err(e)
            }
        }
    }

    fn push_bytes(&mut self, data: Option<&[u8]>) -> Option<Range<usize>> {
        data.map(|d| {
            let start = self.bytes.len();
            self.bytes.extend_from_slice(d);
            start..self.bytes.len()
        })
    }
}

/// The per-task state every node reaches through its context: time, current record metadata,
/// punctuation schedules and the record collector.
#[derive(Debug)]
pub struct TaskContext {
    task_id: TaskId,
    application_id: String,
    stream_time: i64,
    system_time_ms: i64,
    current: Option<RecordMetadata>,
    current_timestamp: i64,
    punctuations: PunctuationQueue,
    collector: RecordCollector,
    commit_requested: bool,
    /// Partition counts of the topics sinks name; a sink reads its entry by position.
    topic_partitions: Vec<(&'static str, i32)>,
    /// Partition counts of topics no sink names, for sinks that choose a topic per record.
    other_partitions: std::collections::HashMap<String, i32>,
    dropped_records: u64,
    /// How often (ms of wall-clock time) aggregations emitting on window close look for closed
    /// windows (Java's `__emit.interval.ms.kstreams.windowed.aggregation__`).
    windowed_emit_interval_ms: i64,
    outer_join_emit_interval_ms: i64,
    /// The stream thread's record cache, told which record is being processed when the task
    /// has Processor API stores that cache (`track_record`).
    cache: ThreadCache,
    track_record: bool,
    /// Whether the task's record caches are flushed after every record (the test driver, as
    /// Java's): an operator's last cached write is then the next flush's, worth keeping typed.
    flushes_every_record: bool,
}

impl TaskContext {
    /// Whether the task's record caches are flushed after every record (the test driver).
    pub(crate) fn flushes_every_record(&self) -> bool {
        self.flushes_every_record
    }

    pub(crate) fn task_id(&self) -> TaskId {
        self.task_id
    }

    pub(crate) fn application_id(&self) -> &str {
        &self.application_id
    }

    pub(crate) fn stream_time(&self) -> i64 {
        self.stream_time
    }

    pub(crate) fn system_time_ms(&self) -> i64 {
        self.system_time_ms
    }

    pub(crate) fn windowed_emit_interval_ms(&self) -> i64 {
        self.windowed_emit_interval_ms
    }

    /// How often (wall clock, ms) a left or outer stream-stream join looks for records whose
    /// window has closed (Java's `__emit.interval.ms.kstreams.outer.join.spurious.results.fix__`).
    pub(crate) fn outer_join_emit_interval_ms(&self) -> i64 {
        self.outer_join_emit_interval_ms
    }

    pub(crate) fn record_metadata(&self) -> Option<RecordMetadata> {
        self.current
    }

    pub(crate) fn request_commit(&mut self) {
        self.commit_requested = true;
    }

    /// Starts processing a source record: sets its metadata and advances stream time.
    #[inline]
    pub(crate) fn begin_record(&mut self, metadata: RecordMetadata, timestamp: i64) {
        self.set_record_context(Some(metadata), timestamp);
        self.stream_time = self.stream_time.max(timestamp);
    }

    /// Sets the record context: the metadata and timestamp of the record being processed
    /// (`None` and the time during punctuation).
    #[inline]
    fn set_record_context(&mut self, metadata: Option<RecordMetadata>, timestamp: i64) {
        self.current = metadata;
        self.current_timestamp = timestamp;
        if self.track_record {
            self.cache.set_record(metadata, timestamp);
        }
    }

    /// Runs `f` in the record context of a cached update being forwarded (Java sets the
    /// entry's context while a flush forwards it), then restores the current one.
    pub(crate) fn with_record_context<R>(
        &mut self,
        metadata: Option<RecordMetadata>,
        timestamp: i64,
        f: impl FnOnce(&mut Self) -> R,
    ) -> R {
        let (saved, saved_timestamp) = (self.current, self.current_timestamp);
        self.set_record_context(metadata, timestamp);
        let result = f(self);
        self.set_record_context(saved, saved_timestamp);
        result
    }

    pub(crate) fn schedule(&mut self, node: u32, interval: Duration, kind: PunctuationType) -> ScheduleId {
        let first = match kind {
            // Aligned to 0: punctuates as soon as there is data (Java).
            PunctuationType::StreamTime => 0,
            PunctuationType::WallClockTime => {
                self.system_time_ms + i64::try_from(interval.as_millis()).unwrap_or(i64::MAX)
            }
        };
        self.punctuations.schedule(node, kind, interval, first)
    }

    pub(crate) fn cancel(&mut self, node: u32, id: ScheduleId) {
        self.punctuations.cancel(node, id);
    }

    /// The position of `topic`'s entry among the sink topics' partition counts (added, with
    /// 1 partition until the runtime sets it, if the topic has none yet): a sink resolves it
    /// once, in `init`, and reads its count with [`partition_count_at`](Self::partition_count_at).
    pub(crate) fn sink_topic_slot(&mut self, topic: &'static str) -> usize {
        match self.sink_topic_position(topic) {
            Some(slot) => slot,
            None => {
                self.topic_partitions.push((topic, 1));
                self.topic_partitions.len() - 1
            }
        }
    }

    fn sink_topic_position(&self, topic: &str) -> Option<usize> {
        (self.topic_partitions.iter()).position(|(t, _)| std::ptr::eq(*t, topic) || *t == topic)
    }

    /// The partition count of the sink topic at `slot` (from
    /// [`sink_topic_slot`](Self::sink_topic_slot)); 1 for an unknown slot.
    #[inline]
    pub(crate) fn partition_count_at(&self, slot: usize) -> i32 {
        self.topic_partitions.get(slot).map_or(1, |(_, n)| *n)
    }

    /// The partition count of a topic a sink chose for one record, for custom partitioners (1
    /// unless the runtime set it).
    pub(crate) fn partition_count(&self, topic: &'static str) -> i32 {
        match self.sink_topic_position(topic) {
            Some(slot) => self.topic_partitions[slot].1,
            None => self.other_partitions.get(topic).copied().unwrap_or(1),
        }
    }

    /// Counts and logs a record an operator skips (Java's dropped-records metric), naming the
    /// node, the reason and the record's topic, partition and offset.
    pub(crate) fn skip_record(&mut self, node: &'static str, reason: &str) {
        self.dropped_records += 1;
        match self.current {
            Some(m) => tracing::warn!(
                node,
                topic = m.topic,
                partition = m.partition,
                offset = m.offset,
                "skipping record: {reason}"
            ),
            None => tracing::warn!(node, "skipping record: {reason}"),
        }
    }

    /// Serializes a record into the collector unless its key serializes to null; `false` when
    /// it was not written for that reason.
    pub(crate) fn send_keyed<K, V, KS: Serde<K>, VS: Serde<V>>(
        &mut self,
        destination: Destination,
        (key_serde, key): (&KS, &K),
        (value_serde, value): (&VS, &V),
        timestamp: i64,
        headers: Headers,
    ) -> Result<bool, SerdeError> {
        let mark = self.collector.bytes.len();
        let Some(key) = self.collector.append(key_serde, key)? else {
            return Ok(false);
        };
        let value = match self.collector.append(value_serde, value) {
            Ok(v) => v,
            Err(e) => {
                self.collector.bytes.truncate(mark);
                return Err(e);
            }
        };
        self.collector.records.push(CollectedRecord {
            destination,
            partition: None,
            key: Some(key),
            value,
            timestamp,
            headers,
        });
        Ok(true)
    }

    /// Serializes a sink's record into the collector.
    pub(crate) fn send<K, V, KS: Serde<K>, VS: Serde<V>>(
        &mut self,
        destination: Destination,
        partition: Option<i32>,
        (key_serde, key): (&KS, &K),
        (value_serde, value): (&VS, &V),
        timestamp: i64,
        headers: Headers,
    ) -> Result<(), SerdeError> {
        let mark = self.collector.bytes.len();
        let key = self.collector.append(key_serde, key)?;
        let value = match self.collector.append(value_serde, value) {
            Ok(v) => v,
            Err(e) => {
                self.collector.bytes.truncate(mark);
                return Err(e);
            }
        };
        self.collector.records.push(CollectedRecord {
            destination,
            partition,
            key,
            value,
            timestamp,
            headers,
        });
        Ok(())
    }
}

/// A task: the graph built from a topology, its stores and its context.
pub struct Task<G> {
    graph: G,
    stores: StoreSet,
    context: TaskContext,
    /// Stream time at the last commit (exactly-once rolls back to it).
    committed_stream_time: i64,
    /// The caching stores the task owns, in the order a commit flushes them: Java's order of
    /// registration, by the first node (in declaration order) that uses each, so a flush that
    /// forwards into a caching store downstream is flushed in the same commit.
    cached_stores: Vec<usize>,
    /// Punctuations fired and the nanoseconds they took, since the last
    /// [`take_punctuation_counts`](Self::take_punctuation_counts).
    punctuations: (u64, u64),
}

/// Creates a task of `topology` running `nodes`: opens their stores, builds their part of the
/// graph, runs every `init`.
pub fn create_task<T: Topology>(
    topology: &T,
    task_id: TaskId,
    nodes: NodeSet<'_>,
    application_id: &str,
    stores: &StoreContext,
    system_time_ms: i64,
) -> Result<Task<impl TaskGraph + use<T>>, StreamsError> {
    let used =
        |store: &StoreSpec| (T::NODES.iter().enumerate()).any(|(i, n)| nodes.contains(i) && n.uses_store(store.name));
    let cache = stores.cache.clone();
    let stores = StoreSet::open(T::STORES, stores, used)?;
    let graph = topology.build(&stores, nodes)?;
    let mut cached_stores = Vec::new();
    for (_, node) in T::NODES.iter().enumerate().filter(|(i, _)| nodes.contains(*i)) {
        if let crate::topology::NodeSpecKind::Processor { stores: fields } = node.kind {
            for field in fields {
                let index = T::STORES.iter().position(|s| s.name == field.name);
                if let Some(index) = index.filter(|i| !cached_stores.contains(i))
                    && stores.cache_forwards(index).is_some()
                {
                    cached_stores.push(index);
                }
            }
        }
    }
    let mut task = Task {
        graph,
        stores,
        cached_stores,
        punctuations: (0, 0),
        committed_stream_time: UNKNOWN_TIME,
        context: TaskContext {
            task_id,
            application_id: application_id.to_owned(),
            stream_time: UNKNOWN_TIME,
            system_time_ms,
            current: None,
            current_timestamp: system_time_ms,
            punctuations: PunctuationQueue::default(),
            collector: RecordCollector::default(),
            commit_requested: false,
            topic_partitions: Vec::new(),
            other_partitions: std::collections::HashMap::new(),
            dropped_records: 0,
            windowed_emit_interval_ms: crate::dsl::DEFAULT_EMIT_INTERVAL_MS,
            outer_join_emit_interval_ms: crate::dsl::DEFAULT_EMIT_INTERVAL_MS,
            cache,
            track_record: false,
            flushes_every_record: false,
        },
    };
    let result = task.graph.init(&mut task.context);
    task.after(result)?;
    // `init` told the stores whose flushes are forwarded; the others keep the record context.
    task.context.track_record = (task.cached_stores.iter()).any(|&i| task.stores.cache_forwards(i) == Some(false));
    Ok(task)
}

impl<G> Task<G> {
    /// The output arena the ranges of [`take_output`](Self::take_output) point into.
    pub(crate) fn output_bytes(&self) -> &[u8] {
        &self.context.collector.bytes
    }

    /// Empties the output arena (every range taken is read).
    pub(crate) fn clear_output_bytes(&mut self) {
        debug_assert!(self.context.collector.records.is_empty());
        self.context.collector.bytes.clear();
    }

    /// Replaces the output arena (the test driver compacts it: `bytes` holds what the driver
    /// still keeps, at the spans it rewrote).
    pub(crate) fn replace_output_bytes(&mut self, bytes: Vec<u8>) {
        debug_assert!(self.context.collector.records.is_empty());
        self.context.collector.bytes = bytes;
    }
}

impl<G: TaskGraph> Task<G> {
    /// Processes one record of the source at `source` (an index into the topology's sources).
    pub fn process(&mut self, source: usize, raw: RawRecord<'_>) -> Result<(), StreamsError> {
        // Matched, not kept: an error is moved only when there is one.
        match self.graph.process(source, raw, &mut self.context) {
            Ok(()) => {
                self.drain_changelogs();
                Ok(())
            }
            Err(e) => {
                self.drain_changelogs();
                Err(e)
            }
        }
    }

    /// Fires every punctuation of `kind` due at `now` (stream time or wall-clock time).
    #[inline]
    pub fn punctuate(&mut self, kind: PunctuationType, now: i64) -> Result<(), StreamsError> {
        if kind == PunctuationType::StreamTime && now == UNKNOWN_TIME {
            return Ok(());
        }
        if kind == PunctuationType::WallClockTime {
            self.context.system_time_ms = now;
        }
        if !self.context.punctuations.any_due(kind, now) {
            return Ok(());
        }
        self.fire_due(kind, now)
    }

    /// Fires the punctuations of `kind` due at `now`, earliest first.
    fn fire_due(&mut self, kind: PunctuationType, now: i64) -> Result<(), StreamsError> {
        let mut fired = Vec::new();
        let started = std::time::Instant::now();
        while let Some((id, node)) = self.context.punctuations.pop_due(kind, now, &fired) {
            fired.push(id);
            self.context.set_record_context(None, now);
            let result = self.graph.punctuate(node, id, now, &mut self.context).unwrap_or(Ok(()));
            self.after(result)?;
        }
        self.punctuations.0 += fired.len() as u64;
        self.punctuations.1 += started.elapsed().as_nanos() as u64;
        Ok(())
    }

    /// The timestamp of the record processed last, as its source's extractor gave it (the
    /// `record-lateness` metric compares it with stream time).
    pub(crate) fn record_timestamp(&self) -> i64 {
        self.context.current_timestamp
    }

    /// The punctuations fired since the last call and the nanoseconds they took (the
    /// `punctuate-*` metrics).
    pub fn take_punctuation_counts(&mut self) -> (u64, u64) {
        std::mem::take(&mut self.punctuations)
    }

    /// Flushes the record caches of the task's stores, as Java's commit does before anything
    /// is sent: each caching store writes its dirty entries (latest value per key) to the store
    /// and its changelog, and a DSL operator's store forwards them downstream.
    #[inline]
    pub fn flush_caches(&mut self) -> Result<(), StreamsError> {
        if self.cached_stores.is_empty() {
            return Ok(());
        }
        self.flush_dirty_caches()
    }

    fn flush_dirty_caches(&mut self) -> Result<(), StreamsError> {
        for i in 0..self.cached_stores.len() {
            let store = self.cached_stores[i];
            match self.stores.cache_state(store) {
                Some(CacheState::Dirty) => {
                    let result = self.stores.flush_cache(store);
                    self.drain_changelogs();
                    result?;
                }
                Some(CacheState::DirtyForwarding) => {
                    let result = (self.graph)
                        .flush_cache(store, &mut self.context)
                        .unwrap_or_else(|| Err(ProcessingError::msg("no operator owns the caching store")));
                    self.after(result)?;
                }
                Some(CacheState::Clean) | None => {}
            }
        }
        Ok(())
    }

    fn after(&mut self, result: Result<(), ProcessingError>) -> Result<(), StreamsError> {
        self.drain_changelogs();
        result.map_err(|e| StreamsError::processing(e, self.context.current))
    }

    /// Moves what the stores logged into the collector (nothing to do, inline, for a task
    /// without logged stores).
    #[inline]
    fn drain_changelogs(&mut self) {
        if self.stores.logs() {
            self.drain_logged_writes();
        }
    }

    fn drain_logged_writes(&mut self) {
        let Task { stores, context, .. } = self;
        let timestamp = context.current_timestamp;
        let collector = &mut context.collector;
        stores.drain_changelogs(|store, key, value, own_timestamp| {
            let key = collector.push_bytes(Some(key));
            let value = collector.push_bytes(value);
            collector.records.push(CollectedRecord {
                destination: Destination::Changelog(store),
                partition: None,
                key,
                value,
                timestamp: own_timestamp.unwrap_or(timestamp),
                headers: Headers::new(),
            });
        });
    }

    /// Hands every record produced since the last call to `sink`, in production order.
    pub fn drain_output(&mut self, mut sink: impl FnMut(OutputRecord<'_>)) {
        let collector = &mut self.context.collector;
        for r in collector.records.drain(..) {
            sink(OutputRecord {
                destination: r.destination,
                partition: r.partition,
                key: r.key.map(|k| &collector.bytes[k]),
                value: r.value.map(|v| &collector.bytes[v]),
                timestamp: r.timestamp,
                headers: r.headers,
            });
        }
        collector.bytes.clear();
    }

    /// Hands every record produced since the last call to `sink`, in production order, with
    /// its bytes left in the task's output arena ([`output_bytes`](Self::output_bytes)) until
    /// [`clear_output_bytes`](Self::clear_output_bytes): the test driver's output topics keep
    /// the ranges, so a record's bytes are written once, by its sink.
    pub(crate) fn take_output(&mut self, sink: impl FnMut(CollectedRecord)) {
        self.context.collector.records.drain(..).for_each(sink);
    }

    /// Sets how often (ms of wall-clock time) aggregations emitting on window close look for
    /// closed windows (the test driver uses 0, as Java's does).
    pub fn set_windowed_emit_interval(&mut self, interval_ms: i64) {
        self.context.windowed_emit_interval_ms = interval_ms;
    }

    /// Has the task's record caches flushed after every record (the test driver does).
    pub fn set_flushes_every_record(&mut self) {
        self.context.flushes_every_record = true;
    }

    /// Sets how often a left or outer stream-stream join emits records whose window closed
    /// (ms of wall clock; the test driver uses 0, as Java's).
    pub fn set_outer_join_emit_interval(&mut self, interval_ms: i64) {
        self.context.outer_join_emit_interval_ms = interval_ms;
    }

    /// The task's stream time.
    pub fn stream_time(&self) -> i64 {
        self.context.stream_time
    }

    /// Sets the wall-clock time without punctuating.
    pub fn set_system_time(&mut self, now_ms: i64) {
        self.context.system_time_ms = now_ms;
    }

    /// Tells custom partitioners how many partitions a sink topic has.
    pub fn set_partition_count(&mut self, topic: &'static str, partitions: i32) {
        let slot = self.context.sink_topic_slot(topic);
        self.context.topic_partitions[slot].1 = partitions;
    }

    /// Tells sinks that choose their topic per record how many partitions `topic` has.
    pub fn set_other_partition_count(&mut self, topic: &str, partitions: i32) {
        self.context.other_partitions.insert(topic.to_owned(), partitions);
    }

    /// Whether a processor asked for a commit since the last call; clears the request.
    pub fn take_commit_request(&mut self) -> bool {
        std::mem::take(&mut self.context.commit_requested)
    }

    /// The task's stores.
    pub fn stores(&self) -> &StoreSet {
        &self.stores
    }

    /// How many records operators skipped (null keys where a key is required, and the like).
    pub fn dropped_records(&self) -> u64 {
        self.context.dropped_records
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.context.task_id
    }

    /// Exactly-once commit succeeded: applies the stores' uncommitted writes and remembers stream
    /// time as of now.
    pub fn commit_state(&mut self) -> Result<(), StreamsError> {
        self.stores.commit_writes()?;
        self.committed_stream_time = self.context.stream_time;
        Ok(())
    }

    /// Exactly-once abort (Java closes the task dirty and revives it): the stores drop their
    /// uncommitted writes, stream time goes back to the last commit, output not yet sent is
    /// dropped, and every processor is closed and initialized again, so the records processed
    /// again meet the committed state. Punctuations are those the processors' `init` schedules:
    /// schedules made elsewhere are gone (Java keeps its punctuation queues across a revive, so
    /// `init` adds its schedules again beside the old ones).
    pub fn revive(&mut self) -> Result<(), StreamsError> {
        // Closed first: whatever a processor's `close` writes is dropped with the rest.
        self.graph.close();
        self.stores.abort_writes();
        self.stores.drain_changelogs(|_, _, _, _| {});
        let context = &mut self.context;
        context.commit_requested = false;
        context.stream_time = self.committed_stream_time;
        context.punctuations.clear();
        context.collector.records.clear();
        context.collector.bytes.clear();
        context.set_record_context(None, context.system_time_ms);
        let result = self.graph.init(&mut self.context);
        self.after(result)
    }

    /// Flushes the stores (before offsets are committed).
    pub fn flush(&mut self) -> Result<(), StreamsError> {
        self.stores.flush()
    }

    /// Runs every processor's `close` and flushes the stores.
    pub fn close(mut self) -> Result<(), StreamsError> {
        self.graph.close();
        self.stores.flush()
    }
}
