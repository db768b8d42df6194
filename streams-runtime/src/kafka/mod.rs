//! The running application over Kafka (Java's `KafkaStreams`): stream threads that consume the
//! topology's source topics in the `application.id` consumer group, feed records into tasks,
//! produce what the tasks emit (sinks, repartition topics, changelogs), punctuate and commit.
//!
//! This is the first, at-least-once slice of the runtime: see `docs/DESIGN-DECISIONS.md`
//! ("The Kafka runtime") for what it does and does not do yet.

mod checkpoint;
mod control;
mod embedded;
mod exactly_once;
mod global_thread;
mod group_members;
mod metadata_state;
mod partition_group;
mod query;
mod rebalance;
mod record_collector;
mod restore;
mod routes;
mod routing_table;
mod standby;
mod standby_placement;
mod state_directory;
mod state_manager;
mod stream_task;
mod stream_thread;
mod task_manager;
mod thread_error;
mod thread_metrics;
mod topics;

pub use embedded::EmbeddedCluster;
pub use query::{DEFAULT_QUERY_TIMEOUT, QueryIter, StoreQuery};

use crate::config::StreamsConfig;
use crate::error::StreamsError;
use crate::metadata::{KeyQueryMetadata, StreamsMetadata};
use crate::processor::TaskId;
use crate::serde::{DefaultSerde, Serde};
use crate::state::{KeyValueStore, SessionStore, StoreHandle, ThreadCache, WindowStore};
use crate::topology::{Topology, TypedStore};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use thread_error::ThreadError;

/// Our consumers' `fetch.queue.backoff.ms` unless the user sets it. librdkafka's default
/// (1000) stops fetching every partition for a second whenever the consumer's one queue holds
/// `queued.min.messages` (100,000) records, which a topology re-reading its own repartition
/// topic reaches at once: on the broker, the word count of 1M words took 7.9 s with it and
/// 1.9 s with 20 ms (docs/BENCHMARKS.md). Java's consumer has no such pause: it fetches for
/// each partition whose buffer is drained.
const FETCH_QUEUE_BACKOFF_MS: &str = "20";

/// What every consumer that follows a topic's data starts from (stream, restore, standby and
/// global): `bootstrap.servers` and the security settings, and [`FETCH_QUEUE_BACKOFF_MS`].
/// The caller adds its own settings, then the user's.
fn consumer_base_config(config: &StreamsConfig) -> rdkafka::ClientConfig {
    let mut client = config.client_config(Vec::new());
    client.set("fetch.queue.backoff.ms", FETCH_QUEUE_BACKOFF_MS);
    client
}

pub use crate::lifecycle::State;

/// A topic's partition: (topic, partition).
pub(crate) type TopicPartition = (String, i32);

/// Called on every state change with the new and the old state.
pub type StateListener = Box<dyn Fn(State, State) + Send + Sync>;

/// One store's restoration from its changelog, as a restore listener sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restored {
    /// The store.
    pub store: &'static str,
    /// The changelog partition (the task's partition); -1 for a global table's store, which is
    /// restored from every partition of the table's topic.
    pub partition: i32,
    /// Changelog records applied (0 when the store was up to date).
    pub records: u64,
    /// How long reading and applying them took.
    pub duration: Duration,
}

/// Called when a store has been restored.
pub type RestoreListener = Box<dyn Fn(&Restored) + Send + Sync>;

/// How far a store's restoration has come, as a restore progress listener sees it (about once
/// a second while it runs; Java's `StateRestoreListener.onBatchRestored`, throttled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestoreProgress {
    /// The store.
    pub store: &'static str,
    /// The changelog partition (the task's partition).
    pub partition: i32,
    /// Changelog records applied so far.
    pub restored: u64,
    /// The changelog offsets the restoration covers: an upper bound of the records to apply
    /// (compaction and transaction markers leave gaps).
    pub total: u64,
    /// Since the restoration started.
    pub elapsed: Duration,
}

impl RestoreProgress {
    /// Records applied per second so far.
    pub fn rate(&self) -> f64 {
        self.restored as f64 / self.elapsed.as_secs_f64().max(1e-3)
    }

    /// The time left at the rate so far (`None` before the first record).
    pub fn eta(&self) -> Option<Duration> {
        let rate = self.rate();
        (self.restored > 0).then(|| Duration::from_secs_f64(self.total.saturating_sub(self.restored) as f64 / rate))
    }
}

/// Called about once a second while a store is restored.
pub type RestoreProgressListener = Box<dyn Fn(&RestoreProgress) + Send + Sync>;

/// What to do when a stream thread fails (Java's `StreamThreadExceptionResponse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadFailureResponse {
    /// Start a new thread in its place; its tasks are created again (restoring their stores).
    ReplaceThread,
    /// Stop every thread of this instance; the state becomes `Error` (the default, as in Java).
    ShutdownClient,
    /// Stop every instance of the application (each enters `Error`), through the internal
    /// topic `<application.id>-control`.
    ShutdownApplication,
}

/// Decides what happens after a stream thread failed with an error.
pub type UncaughtErrorHandler = Box<dyn Fn(&StreamsError) -> ThreadFailureResponse + Send + Sync>;

/// A fault the runtime injects into itself, for fault tests.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Under exactly-once, the next commit with consumed offsets fails as an abortable error.
    AbortNextCommit,
    /// Under exactly-once, the next commit with consumed offsets finds the producer fenced, as
    /// when another instance took the thread's tasks over.
    FenceNextCommit,
}

/// What the application and its threads share.
pub(crate) struct Shared {
    stop: AtomicBool,
    /// This instance's id in transactional ids (Java's process id).
    process_id: String,
    fault: Mutex<Option<Fault>>,
    /// Records skipped by handlers or dropped by operators, over every thread.
    dropped: AtomicU64,
    /// The current state; async code watches it through [`KafkaStreams::state_changes`].
    state: tokio::sync::watch::Sender<State>,
    listener: Mutex<Option<StateListener>>,
    restore_listener: Mutex<Option<RestoreListener>>,
    restore_progress_listener: Mutex<Option<RestoreProgressListener>>,
    error_handler: Mutex<Option<UncaughtErrorHandler>>,
    failure: Mutex<Option<StreamsError>>,
    /// The live stream threads by index.
    stream_threads: Mutex<BTreeMap<usize, StreamThreadSlot>>,
    /// Counts the changes of the stream threads' assignments (what the instance announces).
    assignment_version: AtomicU64,
    /// Every instance's endpoint and partitions, from the control topic.
    metadata: Mutex<metadata_state::MetadataState>,
    /// Where to send stale queries for the standby tasks' stores.
    standby_queries: Mutex<Option<query::QuerySender>>,
    /// The standby tasks of this instance and their input partitions.
    standby_tasks: Mutex<(Vec<TaskId>, Vec<TopicPartition>)>,
    /// What every RocksDB store of the instance opens with: one block cache for all of them.
    #[cfg(feature = "rocksdb")]
    rocksdb: crate::state::RocksDbSettings,
}

impl Shared {
    #[cfg_attr(not(feature = "rocksdb"), allow(unused_variables))]
    fn new(config: &StreamsConfig, process_id: String) -> Self {
        Shared {
            stop: AtomicBool::new(false),
            process_id,
            fault: Mutex::new(None),
            dropped: AtomicU64::new(0),
            state: tokio::sync::watch::Sender::new(State::Created),
            listener: Mutex::new(None),
            restore_listener: Mutex::new(None),
            restore_progress_listener: Mutex::new(None),
            error_handler: Mutex::new(None),
            failure: Mutex::new(None),
            stream_threads: Mutex::new(BTreeMap::new()),
            assignment_version: AtomicU64::new(0),
            metadata: Mutex::new(metadata_state::MetadataState::default()),
            standby_queries: Mutex::new(None),
            standby_tasks: Mutex::new((Vec::new(), Vec::new())),
            #[cfg(feature = "rocksdb")]
            rocksdb: crate::state::RocksDbSettings::new(
                config.rocksdb_block_cache_bytes,
                config.rocksdb_config_setter.clone(),
            ),
        }
    }

    /// The context stores of this instance open in: `dir`, exactly-once buffering or not, the
    /// instance's global stores, the record cache of the thread and the RocksDB settings.
    pub(crate) fn store_context(
        &self,
        dir: PathBuf,
        exactly_once: bool,
        globals: crate::state::GlobalStores,
        cache: crate::state::ThreadCache,
    ) -> crate::state::StoreContext {
        crate::state::StoreContext {
            task_dir: dir,
            exactly_once,
            globals,
            cache,
            #[cfg(feature = "rocksdb")]
            rocksdb: self.rocksdb.clone(),
            store_metrics: false,
        }
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    pub(crate) fn process_id(&self) -> &str {
        &self.process_id
    }

    /// Takes the injected fault `fault`, if it is pending.
    pub(crate) fn take_fault(&self, fault: Fault) -> bool {
        let mut pending = self.fault.lock().unwrap_or_else(|p| p.into_inner());
        if *pending == Some(fault) {
            *pending = None;
            return true;
        }
        false
    }

    /// Counts records skipped or dropped (Java's `dropped-records` metric).
    pub(crate) fn count_dropped(&self, records: u64) {
        self.dropped.fetch_add(records, Ordering::Relaxed);
    }

    pub(crate) fn transition(&self, to: State) {
        let mut from = to;
        self.state.send_if_modified(|state| {
            if *state == to || *state == State::Error && to != State::NotRunning {
                return false;
            }
            from = std::mem::replace(state, to);
            true
        });
        if from == to {
            return;
        }
        tracing::info!(?from, ?to, "state change");
        if let Some(listener) = &*self.listener.lock().unwrap_or_else(|p| p.into_inner()) {
            listener(to, from);
        }
    }

    fn stream_threads(&self) -> std::sync::MutexGuard<'_, BTreeMap<usize, StreamThreadSlot>> {
        self.stream_threads.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records the active tasks of stream thread `index` and their input partitions.
    pub(crate) fn set_active_tasks(&self, index: usize, tasks: Vec<TaskId>, partitions: Vec<(String, i32)>) {
        if let Some(slot) = self.stream_threads().get_mut(&index) {
            slot.claimed.clone_from(&tasks);
            slot.active_tasks = tasks;
            slot.partitions = partitions;
        }
        self.assignment_version.fetch_add(1, Ordering::Relaxed);
    }

    /// Records that stream thread `index` is about to create (or keeps) the tasks `tasks`: a
    /// standby of one of them lets go of its directory.
    pub(crate) fn claim_tasks(&self, index: usize, tasks: &[TaskId]) {
        if let Some(slot) = self.stream_threads().get_mut(&index) {
            slot.claimed = tasks.to_vec();
        }
    }

    /// The tasks the stream threads of this instance run or are about to create.
    pub(crate) fn claimed_tasks(&self) -> std::collections::BTreeSet<TaskId> {
        self.stream_threads()
            .values()
            .flat_map(|s| s.claimed.iter().copied())
            .collect()
    }

    /// Registers the standby thread's query mailbox (`None`: it stopped).
    pub(crate) fn set_standby_queries(&self, sender: Option<query::QuerySender>) {
        *self.standby_queries.lock().unwrap_or_else(|p| p.into_inner()) = sender;
    }

    /// Records this instance's standby tasks and their input partitions.
    pub(crate) fn set_standby_tasks(&self, tasks: Vec<TaskId>, partitions: Vec<(String, i32)>) {
        *self.standby_tasks.lock().unwrap_or_else(|p| p.into_inner()) = (tasks, partitions);
        self.assignment_version.fetch_add(1, Ordering::Relaxed);
    }

    fn standby_task_ids(&self) -> Vec<TaskId> {
        self.standby_tasks.lock().unwrap_or_else(|p| p.into_inner()).0.clone()
    }

    /// Forgets stream thread `index`, which stopped.
    fn remove_stream_thread(&self, index: usize) {
        self.stream_threads().remove(&index);
        self.assignment_version.fetch_add(1, Ordering::Relaxed);
    }

    /// The input partitions of every stream thread's tasks and of the standby tasks, sorted,
    /// with the assignment version they are of.
    pub(crate) fn local_partitions(&self) -> (u64, Vec<TopicPartition>, Vec<TopicPartition>) {
        let threads = self.stream_threads();
        let version = self.assignment_version.load(Ordering::Relaxed);
        let mut partitions: Vec<(String, i32)> = threads.values().flat_map(|t| t.partitions.iter().cloned()).collect();
        partitions.sort_unstable();
        let mut standby = self.standby_tasks.lock().unwrap_or_else(|p| p.into_inner()).1.clone();
        standby.sort_unstable();
        (version, partitions, standby)
    }

    pub(crate) fn metadata(&self) -> std::sync::MutexGuard<'_, metadata_state::MetadataState> {
        self.metadata.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Where to send queries: one sender per live stream thread.
    /// With `standbys`: and the standby thread, if there is one.
    pub(crate) fn query_senders(&self, standbys: bool) -> Vec<query::QuerySender> {
        let mut senders: Vec<query::QuerySender> = self
            .stream_threads()
            .values()
            .map(|slot| slot.queries.clone())
            .collect();
        if standbys {
            senders.extend(self.standby_queries.lock().unwrap_or_else(|p| p.into_inner()).clone());
        }
        senders
    }

    fn state(&self) -> State {
        *self.state.borrow()
    }

    pub(crate) fn restore_progress(&self, progress: &RestoreProgress) {
        if let Some(listener) = &*self.restore_progress_listener.lock().unwrap_or_else(|p| p.into_inner()) {
            listener(progress);
        }
    }

    pub(crate) fn restored(&self, restored: &Restored) {
        if let Some(listener) = &*self.restore_listener.lock().unwrap_or_else(|p| p.into_inner()) {
            listener(restored);
        }
    }

    /// The response to a thread's failure, from the user's handler or the default.
    fn respond(&self, error: &StreamsError) -> ThreadFailureResponse {
        match &*self.error_handler.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(handler) => handler(error),
            None => ThreadFailureResponse::ShutdownClient,
        }
    }

    pub(crate) fn fail(&self, error: StreamsError) {
        tracing::error!(%error, "stream thread failed; shutting down this instance");
        self.stop.store(true, Ordering::Relaxed);
        self.failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(error);
        self.transition(State::Error);
    }
}

/// A topology running against Kafka (Java's `KafkaStreams`).
///
/// ```no_run
/// use std::time::Duration;
/// use streams_runtime::config::StreamsConfig;
/// use streams_runtime::kafka::KafkaStreams;
/// use streams_runtime::prelude::*;
///
/// topology! {
///     struct Uppercase {
///         stream lines { topic: "lines", key: Option<String>, value: String }
///         lines.map_values(|line| line.to_uppercase()).to("upper");
///     }
/// }
///
/// let config = StreamsConfig::from_properties([
///     ("application.id", "uppercase"),
///     ("bootstrap.servers", "localhost:9092"),
/// ])?;
/// let mut streams = KafkaStreams::new(Uppercase, config)?;
/// streams.start()?; // threads join the group, restore their stores and process
/// // ... until shutdown:
/// streams.close(Duration::from_secs(30));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct KafkaStreams<T> {
    topology: T,
    config: Arc<StreamsConfig>,
    shared: Arc<Shared>,
    /// The control topic's watcher and the global stream thread.
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// The stream threads, by index.
    stream_threads: Mutex<BTreeMap<usize, JoinHandle<()>>>,
    /// What stream threads start with, from the start to the close (the global stores' RocksDB
    /// databases close with it).
    started: Mutex<Option<Started>>,
    /// Serializes adding and removing stream threads.
    resizing: Mutex<()>,
    /// The process id and the lock that keeps it this instance's.
    _identity: state_directory::ProcessIdentity,
}

/// What every stream thread of a started application shares.
#[derive(Clone)]
struct Started {
    routes: Arc<routes::Routes>,
    globals: crate::state::GlobalStores,
}

/// A live stream thread as the application reaches it.
pub(crate) struct StreamThreadSlot {
    queries: query::QuerySender,
    stop: Arc<AtomicBool>,
    cache: ThreadCache,
    /// The tasks the thread runs now.
    active_tasks: Vec<TaskId>,
    /// Their input partitions: (topic, partition).
    partitions: Vec<(String, i32)>,
    /// The tasks it runs or is about to create (see [`Shared::claim_tasks`]).
    claimed: Vec<TaskId>,
    /// What it measures.
    metrics: Arc<thread_metrics::ThreadMetrics>,
}

impl<T: Topology + Clone + Send + 'static> KafkaStreams<T> {
    /// An application of `topology` with `config`; `config.bootstrap_servers` must be set (use
    /// [`EmbeddedCluster`] for an in-process cluster).
    pub fn new(topology: T, config: StreamsConfig) -> Result<Self, StreamsError> {
        if config.bootstrap_servers.is_none() {
            return Err(crate::config::ConfigError::Missing("bootstrap.servers").into());
        }
        let identity = state_directory::process_id(&config, has_persistent_stores::<T>())?;
        Ok(KafkaStreams {
            topology,
            shared: Arc::new(Shared::new(&config, identity.id.clone())),
            _identity: identity,
            config: Arc::new(config),
            threads: Mutex::new(Vec::new()),
            stream_threads: Mutex::new(BTreeMap::new()),
            started: Mutex::new(None),
            resizing: Mutex::new(()),
        })
    }

    /// The internal topics the application writes and reads: repartition topics
    /// (`<application.id>-<name>-repartition`), the changelogs of logged stores and the
    /// control topic for shutdown requests (`<application.id>-control`, one partition).
    pub fn internal_topics(&self) -> Vec<String> {
        let app = &self.config.application_id;
        let repartition = T::SOURCES.iter().filter(|s| s.internal).map(|s| s.topic_name(app));
        let changelogs = T::STORES.iter().filter(|s| s.logging).map(|s| s.changelog_topic(app));
        repartition
            .chain(changelogs)
            .chain([control::control_topic(app)])
            .collect()
    }

    /// Sets the listener called on every state change.
    pub fn set_state_listener(&self, listener: impl Fn(State, State) + Send + Sync + 'static) {
        *self.shared.listener.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(listener));
    }

    /// Sets the listener called whenever a task's store has been restored from its changelog
    /// (Java's `StateRestoreListener.onRestoreEnd`), with 0 records when there was nothing to
    /// restore.
    pub fn set_restore_listener(&self, listener: impl Fn(&Restored) + Send + Sync + 'static) {
        *self.shared.restore_listener.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(listener));
    }

    /// Sets the listener called about once a second while a task's store is restored from its
    /// changelog, with the records applied so far, the total and the time taken (the rate and
    /// the time left follow: [`RestoreProgress::rate`], [`RestoreProgress::eta`]). Restorations
    /// are also logged (`tracing`, INFO) every 10 seconds.
    pub fn set_restore_progress_listener(&self, listener: impl Fn(&RestoreProgress) + Send + Sync + 'static) {
        *self
            .shared
            .restore_progress_listener
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Box::new(listener));
    }

    /// Sets the handler deciding what happens when a stream thread fails (Java's
    /// `setUncaughtExceptionHandler`); without one, the instance shuts down.
    pub fn set_uncaught_error_handler(
        &self,
        handler: impl Fn(&StreamsError) -> ThreadFailureResponse + Send + Sync + 'static,
    ) {
        *self.shared.error_handler.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(handler));
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.shared.state()
    }

    /// A receiver of state changes for async code, e.g.
    /// `streams.state_changes().wait_for(|s| *s == State::Running).await`.
    pub fn state_changes(&self) -> tokio::sync::watch::Receiver<State> {
        self.shared.state.subscribe()
    }

    /// How many records were not processed to the end: skipped by the deserialization or
    /// processing handler (each logged with topic, partition and offset), dropped by an
    /// operator (a null key where one is required), or fetched for a partition none of the
    /// thread's tasks reads (logged likewise; not expected); Java's `dropped-records` metric
    /// summed over tasks.
    pub fn dropped_records(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// The application's metrics now (Java's `KafkaStreams.metrics()`), under Java's names,
    /// groups and tags, as far as `metrics.recording.level` records them: the client's
    /// (`stream-metrics`: `alive-stream-threads`), each live stream thread's
    /// (`stream-thread-metrics`: `process-`, `poll-`, `commit-` and `punctuate-rate`,
    /// `-total`, `-latency-avg` and `-latency-max`, `poll-records-avg/max`,
    /// `task-created-`/`task-closed-rate/total`, `thread-start-time`), each task's
    /// (`stream-task-metrics`: `dropped-records-rate/total`; at `DEBUG` also `process-rate/total`
    /// and `record-lateness-avg/max`), each thread consumer's partition lags
    /// (`consumer-fetch-manager-metrics`: `records-lag` per partition, `records-lag-max`) and,
    /// at `DEBUG`, each key-value, window and session store's operations
    /// (`stream-state-metrics`: `put`, `get`, `range`, `fetch`, `remove`, ... as `-rate` and
    /// `-latency-avg/max` in nanoseconds; up to a second old).
    /// The same metrics go to the `metrics` crate's facade once a second (see
    /// [`crate::metrics`]).
    ///
    /// ```no_run
    /// # fn show<T: streams_runtime::topology::Topology + Clone + Send + 'static>(
    /// #     streams: &streams_runtime::kafka::KafkaStreams<T>) {
    /// for metric in streams.metrics() {
    ///     if metric.name.group == "stream-thread-metrics" && metric.name.name == "process-total" {
    ///         println!("{}: {} records", metric.name.tag("thread-id").unwrap_or("?"), metric.value);
    ///     }
    /// }
    /// # }
    /// ```
    pub fn metrics(&self) -> Vec<crate::metrics::Metric> {
        let mut out = vec![alive_stream_threads(&self.config, &self.shared)];
        for slot in self.shared.stream_threads().values() {
            slot.metrics.snapshot(self.config.metrics_recording_level, &mut out);
        }
        out
    }

    /// The live stream threads of this instance, their clients and tasks (Java's
    /// `metadataForLocalThreads`, without thread states and standby tasks).
    pub fn metadata_for_local_threads(&self) -> Vec<ThreadMetadata> {
        let app = &self.config.application_id;
        self.shared
            .stream_threads()
            .iter()
            .map(|(&index, slot)| {
                let (consumer_client_id, producer_client_id) =
                    self.config.thread_client_ids(index, self.shared.process_id());
                ThreadMetadata {
                    thread_name: thread_name(app, index),
                    consumer_client_id,
                    producer_client_id,
                    transactional_id: self
                        .config
                        .exactly_once()
                        .then(|| exactly_once::transactional_id(app, self.shared.process_id(), index)),
                    active_tasks: slot.active_tasks.clone(),
                }
            })
            .collect()
    }

    /// Deletes this application's local state, `state.dir/<application.id>` (Java's
    /// `cleanUp`): the next start restores every store from its changelog. Only before
    /// [`start`](Self::start) or after [`close`](Self::close).
    pub fn clean_up(&self) -> Result<(), StreamsError> {
        let state = self.state();
        if !matches!(state, State::Created | State::NotRunning | State::Error) || self.threads_alive() {
            return Err(StreamsError::IllegalState {
                state,
                reason: "the local state is cleaned up before the application starts or after it closed",
            });
        }
        let dir = self.config.state_dir.join(&self.config.application_id);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(StreamsError::Io {
                    context: format!("deleting the state directory {}", dir.display()).into(),
                    source,
                });
            }
        }
        // The instance keeps its id: a restart after this one comes back as it.
        if has_persistent_stores::<T>() {
            state_directory::keep_process_id(&self.config, self.shared.process_id())?;
        }
        Ok(())
    }

    /// Whether a thread of this instance still runs (one that did not stop within `close`'s
    /// timeout holds task directories).
    fn threads_alive(&self) -> bool {
        !self.other_threads().is_empty() || !self.stream_threads().is_empty()
    }

    /// The standby tasks this instance keeps (Java's `ThreadMetadata.standbyTasks`, over all
    /// threads: here one standby thread keeps them all; see `num.standby.replicas`).
    pub fn local_standby_tasks(&self) -> Vec<TaskId> {
        self.shared.standby_task_ids()
    }

    /// A read-only view of a store of the topology over this instance's tasks (Java's
    /// `KafkaStreams.store`), typed as the topology declares it:
    /// `streams.store(MyTopology::store_counts()).get(&key)`.
    pub fn store<S: TypedStore>(&self, store: S) -> StoreQuery<S::Handle>
    where
        S::Handle: 'static,
    {
        StoreQuery::new(Arc::clone(&self.shared), store.index(), T::STORES[store.index()].name)
    }

    /// A read-only view of the key-value store `name` with the default serdes of `K` and `V`:
    /// the way to query the stores of DSL aggregations and tables.
    pub fn key_value_store<K: DefaultSerde, V: DefaultSerde>(
        &self,
        name: &str,
    ) -> Result<StoreQuery<KeyValueStore<K, V>>, StreamsError>
    where
        KeyValueStore<K, V>: 'static,
    {
        self.store_named(name)
    }

    /// A read-only view of the window store `name` with the default serdes of `K` and `V`.
    pub fn window_store<K: DefaultSerde, V: DefaultSerde>(
        &self,
        name: &str,
    ) -> Result<StoreQuery<WindowStore<K, V>>, StreamsError>
    where
        WindowStore<K, V>: 'static,
    {
        self.store_named(name)
    }

    /// A read-only view of the session store `name` with the default serdes of `K` and `V`.
    pub fn session_store<K: DefaultSerde, V: DefaultSerde>(
        &self,
        name: &str,
    ) -> Result<StoreQuery<SessionStore<K, V>>, StreamsError>
    where
        SessionStore<K, V>: 'static,
    {
        self.store_named(name)
    }

    /// Every live instance of the application with `application.server` set, its endpoint,
    /// stores and partitions (Java's `metadataForAllStreamsClients`), as the control topic
    /// announced them; empty until the first announcements are read.
    pub fn all_metadata(&self) -> Vec<StreamsMetadata> {
        self.shared.metadata().all_metadata()
    }

    /// The live instances whose active tasks hold the store `store` (Java's
    /// `streamsMetadataForStore`).
    pub fn all_metadata_for_store(&self, store: &str) -> Vec<StreamsMetadata> {
        self.shared.metadata().for_store(store)
    }

    /// The instance that holds `key` of the store `store` (Java's `queryMetadataForKey`): the
    /// key is serialized with `key_serde` and partitioned with Kafka's default partitioner
    /// among the partitions of the store's input topics. `Ok(None)` while no instance holds the
    /// partition (a rebalance), or for a global store (every instance holds it).
    pub fn query_metadata_for_key<K, KS: Serde<K>>(
        &self,
        store: &str,
        key: &K,
        key_serde: &KS,
    ) -> Result<Option<KeyQueryMetadata>, StreamsError> {
        let index = self.store_index(store)?;
        let mut bytes = Vec::new();
        key_serde
            .serialize(key, &mut bytes)
            .map_err(|source| crate::error::StoreError::Serde {
                store: T::STORES[index].name,
                source,
            })?;
        Ok(self.shared.metadata().for_key(index, &bytes))
    }

    fn store_index(&self, name: &str) -> Result<usize, StreamsError> {
        T::STORES
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| StreamsError::UnknownStore {
                name: name.to_owned(),
                hint: crate::names::did_you_mean(name, T::STORES.iter().map(|s| s.name), "its stores are"),
            })
    }

    fn store_named<H: StoreHandle + 'static>(&self, name: &str) -> Result<StoreQuery<H>, StreamsError> {
        let index = self.store_index(name)?;
        let spec = &T::STORES[index];
        if spec.kind != H::KIND {
            return Err(StreamsError::StoreKind {
                store: spec.name.to_owned(),
                expected: H::KIND.name(),
                actual: spec.kind.name(),
            });
        }
        Ok(StoreQuery::new(Arc::clone(&self.shared), index, spec.name))
    }

    /// Makes the runtime fail once in the given way (fault tests).
    #[doc(hidden)]
    pub fn inject_fault(&self, fault: Fault) {
        *self.shared.fault.lock().unwrap_or_else(|p| p.into_inner()) = Some(fault);
    }

    /// The error that stopped a stream thread, if one did.
    pub fn take_failure(&self) -> Option<StreamsError> {
        self.shared.failure.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Starts `num.stream.threads` stream threads.
    pub fn start(&mut self) -> Result<(), StreamsError> {
        if self.state() != State::Created {
            return Err(StreamsError::IllegalState {
                state: self.state(),
                reason: "an application starts once",
            });
        }
        topics::prepare::<T>(&self.config)?;
        let routes = Arc::new(routes::Routes::new::<T>(&self.config.application_id));
        let partitions = topics::partition_counts(&self.config)?;
        *self.shared.metadata() = metadata_state::MetadataState::new::<T>(&routes, &partitions);
        self.shared.transition(State::Rebalancing);
        self.other_threads().extend(control::watch(&self.config, &self.shared));
        // Global tables are bootstrapped before any stream thread processes (as in Java).
        let globals = match global_thread::bootstrap::<T>(&self.config, &self.shared)? {
            Some(state) => {
                let stores = state.stores();
                let thread = global_thread::spawn(state, Arc::clone(&self.config), Arc::clone(&self.shared)).map_err(
                    |source| StreamsError::Io {
                        context: "spawning the global stream thread".into(),
                        source,
                    },
                )?;
                self.other_threads().push(thread);
                stores
            }
            None => crate::state::GlobalStores::default(),
        };
        if self.config.num_standby_replicas > 0
            && let Some(layout) = standby::StandbyLayout::of::<T>(&routes, &partitions)
        {
            let thread = standby::spawn::<T>(
                layout,
                Arc::clone(&routes),
                Arc::clone(&self.config),
                Arc::clone(&self.shared),
            )
            .map_err(|source| StreamsError::Io {
                context: "spawning the standby thread".into(),
                source,
            })?;
            self.other_threads().push(thread);
        }
        *self.started.lock().unwrap_or_else(|p| p.into_inner()) = Some(Started { routes, globals });
        for index in 0..self.config.num_stream_threads {
            self.spawn_stream_thread(index)?;
        }
        Ok(())
    }

    /// Starts one more stream thread on the running application (Java's `addStreamThread`): it
    /// joins the group, and the rebalance gives it its share of the tasks. The record cache is
    /// divided anew among the threads. Returns the new thread's name, which reuses the lowest
    /// free thread number.
    pub fn add_stream_thread(&self) -> Result<String, StreamsError> {
        if !matches!(self.state(), State::Running | State::Rebalancing) {
            return Err(StreamsError::IllegalState {
                state: self.state(),
                reason: "stream threads are added to a running application",
            });
        }
        let index = {
            let (live, handles) = (self.shared.stream_threads(), self.stream_threads());
            (0..)
                .find(|i| !live.contains_key(i) && !handles.contains_key(i))
                .unwrap_or_default()
        };
        self.spawn_stream_thread(index)?;
        self.resize_caches();
        Ok(thread_name(&self.config.application_id, index))
    }

    /// Stops one stream thread of the running application (Java's `removeStreamThread`): it
    /// commits, closes its tasks and leaves the group, whose rebalance moves its tasks to the
    /// other threads and instances. Waits up to `timeout` for it to stop; returns its name.
    pub fn remove_stream_thread(&self, timeout: Duration) -> Result<String, StreamsError> {
        if !matches!(self.state(), State::Running | State::Rebalancing) {
            return Err(StreamsError::IllegalState {
                state: self.state(),
                reason: "stream threads are removed from a running application",
            });
        }
        let _resizing = self.resizing.lock().unwrap_or_else(|p| p.into_inner());
        // Java removes the first live thread (one already stopping is not live).
        let Some((index, stop)) = (self.shared.stream_threads().iter())
            .find(|(_, slot)| !slot.stop.load(Ordering::Relaxed))
            .map(|(&index, slot)| (index, Arc::clone(&slot.stop)))
        else {
            return Err(StreamsError::IllegalState {
                state: self.state(),
                reason: "the application has no stream thread left to remove",
            });
        };
        stop.store(true, Ordering::Relaxed);
        let name = thread_name(&self.config.application_id, index);
        let deadline = Instant::now() + timeout;
        // A thread that does not stop in time stays in the table, for close to join.
        while !self.stream_threads().get(&index).is_none_or(JoinHandle::is_finished) {
            if Instant::now() >= deadline {
                return Err(StreamsError::Timeout {
                    context: format!("removing stream thread {name}").into(),
                    message: format!("the thread did not stop within {timeout:?}"),
                });
            }
            std::thread::sleep(CLOSE_POLL);
        }
        if let Some(handle) = self.stream_threads().remove(&index) {
            let _ = handle.join();
        }
        self.resize_caches();
        Ok(name)
    }

    fn started(&self) -> Option<Started> {
        self.started.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn stream_threads(&self) -> std::sync::MutexGuard<'_, BTreeMap<usize, JoinHandle<()>>> {
        self.stream_threads.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Divides the record cache among the live stream threads (and the global thread).
    fn resize_caches(&self) {
        let threads = self.shared.stream_threads();
        let global = self.started().is_some_and(|s| !s.globals.0.is_empty());
        let share = self.config.statestore_cache_max_bytes / (threads.len() as u64 + u64::from(global)).max(1);
        for slot in threads.values() {
            slot.cache.resize(share);
        }
    }

    /// Spawns stream thread `index` and registers it with the application.
    fn spawn_stream_thread(&self, index: usize) -> Result<(), StreamsError> {
        let Some(started) = self.started() else {
            return Err(StreamsError::IllegalState {
                state: self.state(),
                reason: "stream threads run once the application started",
            });
        };
        let (queries, mailbox) = query::mailbox();
        let stop = Arc::new(AtomicBool::new(false));
        let global = !started.globals.0.is_empty();
        let cache = ThreadCache::new(self.config.cache_max_bytes_per_thread(global));
        let metrics = Arc::new(thread_metrics::ThreadMetrics::default());
        self.shared.stream_threads().insert(
            index,
            StreamThreadSlot {
                queries,
                stop: Arc::clone(&stop),
                cache: cache.clone(),
                active_tasks: Vec::new(),
                partitions: Vec::new(),
                claimed: Vec::new(),
                metrics: Arc::clone(&metrics),
            },
        );
        let own = stream_thread::ThreadOwn {
            index,
            mailbox,
            stop,
            cache,
            metrics,
        };
        let (topology, config, shared, routes, globals) = (
            self.topology.clone(),
            Arc::clone(&self.config),
            Arc::clone(&self.shared),
            Arc::clone(&started.routes),
            started.globals.clone(),
        );
        let name = thread_name(&config.application_id, index);
        let handle = std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                // A replaced thread runs again under the same name, with new clients and tasks.
                while let Err(e) = stream_thread::run(topology.clone(), &config, &routes, &globals, &own, &shared) {
                    let e = match e {
                        ThreadError::Failed(e) => e,
                        // Java rejoins without asking the handler: the tasks are elsewhere.
                        ThreadError::Migrated(reason) if !own.stopping(&shared) => {
                            tracing::warn!(%reason, thread = %name, "tasks migrated; the thread starts again");
                            continue;
                        }
                        // Stopping: the tasks are elsewhere, nothing is left to commit.
                        ThreadError::Migrated(reason) => {
                            tracing::info!(%reason, thread = %name, "tasks migrated while stopping");
                            break;
                        }
                    };
                    match shared.respond(&e) {
                        ThreadFailureResponse::ReplaceThread if !own.stopping(&shared) => {
                            tracing::warn!(error = %e, thread = %name, "replacing the failed stream thread");
                        }
                        ThreadFailureResponse::ShutdownApplication => {
                            // The failure is recorded first: this instance's own watcher
                            // reads the request too.
                            let request = e.to_string();
                            shared.fail(e);
                            control::request_shutdown(&config, &name, &request);
                            break;
                        }
                        _ => {
                            shared.fail(e);
                            break;
                        }
                    }
                }
                shared.remove_stream_thread(own.index);
            })
            .map_err(|source| StreamsError::Io {
                context: "spawning a stream thread".into(),
                source,
            })?;
        self.stream_threads().insert(index, handle);
        Ok(())
    }

    /// Stops the threads (each commits, flushes and closes its stores) and waits up to
    /// `timeout`; `true` if every thread stopped in time.
    pub fn close(&self, timeout: Duration) -> bool {
        self.begin_close();
        let deadline = Instant::now() + timeout;
        while !self.threads_finished() && Instant::now() < deadline {
            std::thread::sleep(CLOSE_POLL);
        }
        self.end_close()
    }

    /// [`close`](Self::close) for async code: waits without blocking the executor's thread.
    pub async fn close_async(&self, timeout: Duration) -> bool {
        self.begin_close();
        let deadline = Instant::now() + timeout;
        while !self.threads_finished() && Instant::now() < deadline {
            tokio::time::sleep(CLOSE_POLL).await;
        }
        self.end_close()
    }

    fn begin_close(&self) {
        self.shared.transition(State::PendingShutdown);
        self.shared.stop.store(true, Ordering::Relaxed);
    }

    fn other_threads(&self) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.threads.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn threads_finished(&self) -> bool {
        self.other_threads().iter().all(JoinHandle::is_finished)
            && self.stream_threads().values().all(JoinHandle::is_finished)
    }

    fn end_close(&self) -> bool {
        let all = self.threads_finished();
        // Threads that did not stop in time stay, so that `clean_up` knows they hold state.
        self.stream_threads().retain(|_, t| !t.is_finished());
        self.other_threads().retain(|t| !t.is_finished());
        // The global stores' databases close with the application.
        *self.started.lock().unwrap_or_else(|p| p.into_inner()) = None;
        if self.state() != State::Error {
            self.shared.transition(State::NotRunning);
        }
        all
    }
}

/// How often `close` checks whether the threads have stopped.
const CLOSE_POLL: Duration = Duration::from_millis(10);

impl<T> Drop for KafkaStreams<T> {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        let stream_threads = std::mem::take(self.stream_threads.get_mut().unwrap_or_else(|p| p.into_inner()));
        let other_threads = std::mem::take(self.threads.get_mut().unwrap_or_else(|p| p.into_inner()));
        for t in other_threads.into_iter().chain(stream_threads.into_values()) {
            let _ = t.join();
        }
    }
}

/// Whether topology `T` has a persistent store (local state worth coming back to: the process
/// id is then kept in the state directory).
fn has_persistent_stores<T: Topology>() -> bool {
    T::STORES.iter().any(|s| s.persistent)
}

/// The client metric `alive-stream-threads` of this instance now.
fn alive_stream_threads(config: &StreamsConfig, shared: &Shared) -> crate::metrics::Metric {
    crate::metrics::Metric {
        name: crate::metrics::MetricName {
            name: "alive-stream-threads",
            group: "stream-metrics",
            tags: vec![("client-id", config.client_id_prefix(shared.process_id()))],
        },
        value: shared.stream_threads().len() as f64,
    }
}

/// A stream thread's name: `<application.id>-StreamThread-<n>`, counted from 1.
fn thread_name(application_id: &str, index: usize) -> String {
    format!("{application_id}-StreamThread-{}", index + 1)
}

/// A stream thread of this instance (see [`KafkaStreams::metadata_for_local_threads`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadMetadata {
    /// `<application.id>-StreamThread-<n>`.
    pub thread_name: String,
    /// The `client.id` of the thread's consumer.
    pub consumer_client_id: String,
    /// The `client.id` of the thread's producer.
    pub producer_client_id: String,
    /// Under exactly-once v2, the producer's `transactional.id`
    /// (`<application.id>-<process id>-<thread index>`).
    pub transactional_id: Option<String>,
    /// The tasks the thread runs now (Java's `ThreadMetadata.activeTasks`).
    pub active_tasks: Vec<TaskId>,
}

pub(crate) fn kafka_error(
    context: impl Into<Cow<'static, str>>,
) -> impl FnOnce(rdkafka::error::KafkaError) -> StreamsError {
    move |e| StreamsError::Kafka {
        context: context.into(),
        source: Box::new(e),
    }
}
