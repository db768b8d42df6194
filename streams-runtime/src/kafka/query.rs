//! Interactive queries (Java's `KafkaStreams.store`): read-only views of the stores of this
//! instance's tasks, usable from any thread while the stream threads run.
//!
//! A store belongs to the stream thread of its task (the per-record path takes no lock), so a
//! query is a job sent to every stream thread's mailbox. The thread runs it between two records
//! (after each fetch round, processing round and commit) over each of its tasks that holds the
//! store, and sends the answer back. A query therefore sees each task's store with every record
//! processed so far fully applied, never a torn write; under exactly-once it sees the open
//! transaction's writes, as Java's does. Range reads are snapshots taken on the thread and
//! deserialized by the caller; results of several tasks come task after task (in task order),
//! as Java's composite stores iterate store after store.

use super::{Shared, State};
use crate::error::{NotQueryable, StoreError, StreamsError};
use crate::processor::TaskId;
use crate::serde::Serde;
use crate::state::{
    KeyValueIterator, KeyValueStore, SessionStore, StoreHandle, StoreSet, WindowStore, WindowStoreIterator,
    WindowedIterator,
};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

/// A query as a stream thread runs it: over the thread's tasks, told whether the thread is
/// running (not suspended by a rebalance).
pub(crate) type QueryJob = Box<dyn FnOnce(&dyn LocalStores, bool) + Send>;

/// The stores of a stream thread's tasks, as a query job visits them.
pub(crate) trait LocalStores {
    /// Calls `visit` with each task's id and stores, in task order.
    fn each_task(&self, visit: &mut dyn FnMut(TaskId, &StoreSet));

    /// Whether these are standby replicas (a stale query prefers an active task's answer).
    fn standby(&self) -> bool {
        false
    }
}

/// How long a query waits for the stream threads by default.
pub const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// A new stream thread's query mailbox: the end the application sends to and the end the
/// thread answers from.
pub(crate) fn mailbox() -> (QuerySender, QueryMailbox) {
    let (jobs, receiver) = mpsc::channel();
    let available = Arc::new(AtomicBool::new(false));
    (
        QuerySender {
            jobs,
            available: Arc::clone(&available),
        },
        QueryMailbox {
            jobs: receiver,
            available,
            last_query: std::cell::Cell::new(None),
        },
    )
}

/// Sends queries to one stream thread.
#[derive(Clone)]
pub(crate) struct QuerySender {
    jobs: mpsc::Sender<QueryJob>,
    available: Arc<AtomicBool>,
}

/// A stream thread's end of its query mailbox.
pub(crate) struct QueryMailbox {
    jobs: mpsc::Receiver<QueryJob>,
    available: Arc<AtomicBool>,
    /// When the thread last answered a query.
    last_query: std::cell::Cell<Option<Instant>>,
}

/// How long after a query the thread keeps polling briefly (see [`QueryMailbox::poll_wait`]).
const QUERIED_RECENTLY: Duration = Duration::from_secs(1);

/// The poll wait of a thread that was asked recently.
const QUERY_POLL: Duration = Duration::from_millis(1);

impl QueryMailbox {
    /// Runs every waiting query over `stores`.
    pub(crate) fn answer(&self, stores: &dyn LocalStores) {
        let available = self.available.load(Ordering::Relaxed);
        let mut answered = false;
        while let Ok(job) = self.jobs.try_recv() {
            job(stores, available);
            answered = true;
        }
        if answered {
            self.last_query.set(Some(Instant::now()));
        }
    }

    /// How long the thread may wait in an idle consumer poll: `idle`, or 1 ms for a second after
    /// a query (nothing wakes a thread waiting in its poll, so queries of an idle application
    /// would wait up to `idle` each).
    pub(crate) fn poll_wait(&self, idle: Duration) -> Duration {
        match self.last_query.get() {
            Some(at) if at.elapsed() < QUERIED_RECENTLY => QUERY_POLL.min(idle),
            _ => idle,
        }
    }

    /// Marks the thread's tasks as queryable (assigned, restored and not suspended) or not.
    pub(crate) fn set_available(&self, available: bool) {
        self.available.store(available, Ordering::Relaxed);
    }
}

/// A read-only view of one store over every task of this instance that holds it (Java's
/// `ReadOnlyKeyValueStore`, `ReadOnlyWindowStore`, `ReadOnlySessionStore` from
/// `KafkaStreams.store`). Get one with [`KafkaStreams::store`](super::KafkaStreams::store) or by
/// name ([`key_value_store`](super::KafkaStreams::key_value_store), ...); it stays usable across
/// rebalances, and each call fails with [`StreamsError::StoreNotQueryable`] while the store
/// cannot be read here.
pub struct StoreQuery<H> {
    shared: Arc<Shared>,
    index: usize,
    name: &'static str,
    stale: bool,
    partition: Option<i32>,
    timeout: Duration,
    handle: PhantomData<fn() -> H>,
}

impl<H> Clone for StoreQuery<H> {
    fn clone(&self) -> Self {
        StoreQuery {
            shared: Arc::clone(&self.shared),
            handle: PhantomData,
            ..*self
        }
    }
}

impl<H> std::fmt::Debug for StoreQuery<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreQuery")
            .field("store", &self.name)
            .field("stale", &self.stale)
            .field("partition", &self.partition)
            .finish()
    }
}

impl<H: StoreHandle + 'static> StoreQuery<H> {
    pub(crate) fn new(shared: Arc<Shared>, index: usize, name: &'static str) -> Self {
        StoreQuery {
            shared,
            index,
            name,
            stale: false,
            partition: None,
            timeout: DEFAULT_QUERY_TIMEOUT,
            handle: PhantomData,
        }
    }

    /// The store's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Also reads stores that are not up to date (Java's `enableStaleStores`): the standby
    /// replicas of this instance, the tasks of a thread suspended by a rebalance, and tasks being
    /// restored (the query then waits for the restoration, up to the timeout).
    pub fn stale(mut self, enabled: bool) -> Self {
        self.stale = enabled;
        self
    }

    /// Reads only the task of this partition (Java's `withPartition`).
    pub fn partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// How long a call waits for the stream threads to answer (default
    /// [`DEFAULT_QUERY_TIMEOUT`]); a thread answers between two records.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn not_queryable(&self, reason: NotQueryable) -> StreamsError {
        StreamsError::StoreNotQueryable {
            store: self.name.to_owned(),
            reason,
        }
    }

    /// Runs `read` on every local task that holds the store; the answers in task order.
    fn ask<R: Send + 'static>(
        &self,
        read: impl Fn(&H) -> Result<R, StoreError> + Send + Sync + 'static,
    ) -> Result<Vec<R>, StreamsError> {
        match self.shared.state() {
            State::Created => return Err(self.not_queryable(NotQueryable::NotStarted)),
            state @ (State::PendingShutdown | State::NotRunning | State::Error) => {
                return Err(self.not_queryable(NotQueryable::NotAvailable(state)));
            }
            State::Rebalancing | State::Running => {}
        }
        type Answer<R> = Result<Vec<(TaskId, bool, Result<R, StreamsError>)>, NotQueryable>;
        let threads = self.shared.query_senders(self.stale);
        // Checked before any thread is asked: no work for an answer that cannot be used.
        if !self.stale && threads.iter().any(|t| !t.available.load(Ordering::Relaxed)) {
            return Err(self.not_queryable(NotQueryable::Migrated));
        }
        let read = Arc::new(read);
        let (reply, answers) = mpsc::channel::<Answer<R>>();
        let mut asked = 0;
        for thread in threads {
            let (read, reply) = (Arc::clone(&read), reply.clone());
            let (index, partition, stale) = (self.index, self.partition, self.stale);
            let job: QueryJob = Box::new(move |stores, available| {
                if !available && !stale {
                    let _ = reply.send(Err(NotQueryable::Migrated));
                    return;
                }
                let mut answers = Vec::new();
                let standby = stores.standby();
                stores.each_task(&mut |task, set| {
                    if !set.owns(index) || partition.is_some_and(|p| p != task.partition) {
                        return;
                    }
                    let answer = set
                        .bind_index::<H>(index)
                        .and_then(|store| read(&store).map_err(StreamsError::from));
                    answers.push((task, standby, answer));
                });
                let _ = reply.send(Ok(answers));
            });
            if thread.jobs.send(job).is_ok() {
                asked += 1;
            }
        }
        drop(reply);
        let deadline = Instant::now() + self.timeout;
        let mut all = Vec::new();
        for _ in 0..asked {
            match answers.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(Ok(answers)) => all.extend(answers),
                Ok(Err(reason)) => return Err(self.not_queryable(reason)),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(self.not_queryable(NotQueryable::Timeout(self.timeout)));
                }
                // A thread stopped with the query waiting: its tasks are elsewhere now.
                Err(mpsc::RecvTimeoutError::Disconnected) => return Err(self.not_queryable(NotQueryable::Migrated)),
            }
        }
        if all.is_empty() {
            return Err(self.not_queryable(match self.partition {
                Some(p) => NotQueryable::NoSuchPartition(p),
                None => NotQueryable::Migrated,
            }));
        }
        // A task answered by its active copy and a standby (a handover) counts once, active first.
        all.sort_by_key(|(task, standby, _)| (*task, *standby));
        all.dedup_by_key(|(task, _, _)| *task);
        all.into_iter().map(|(_, _, answer)| answer).collect()
    }
}

/// The entries of a range query over several tasks: each task's entries in the store's order,
/// task after task.
pub type QueryIter<I> = std::iter::Flatten<std::vec::IntoIter<I>>;

impl<K, V, KS, VS> StoreQuery<KeyValueStore<K, V, KS, VS>>
where
    K: Clone + Send + Sync + 'static,
    V: Send + 'static,
    KS: Serde<K> + Send + 'static,
    VS: Serde<V> + Send + 'static,
{
    /// The value for `key`, from whichever local task holds it.
    pub fn get(&self, key: &K) -> Result<Option<V>, StreamsError> {
        let key = key.clone();
        Ok(self.ask(move |store| store.get(&key))?.into_iter().flatten().next())
    }

    /// The value for `key` with its timestamp (Java's `ValueAndTimestamp`, from a
    /// timestamped store such as a DSL aggregation's; -1 in a plain store).
    pub fn get_with_timestamp(&self, key: &K) -> Result<Option<(V, i64)>, StreamsError> {
        let key = key.clone();
        Ok(self
            .ask(move |store| store.get_with_timestamp(&key))?
            .into_iter()
            .flatten()
            .next())
    }

    /// Entries with `from <= key <= to` (`None` leaves a side open), per task in key order.
    pub fn range(
        &self,
        from: Option<&K>,
        to: Option<&K>,
    ) -> Result<QueryIter<KeyValueIterator<K, V, KS, VS>>, StreamsError> {
        let (from, to) = (from.cloned(), to.cloned());
        Ok(self
            .ask(move |store| store.range(from.as_ref(), to.as_ref()))?
            .into_iter()
            .flatten())
    }

    /// Like [`range`](Self::range), each task's entries in descending key order.
    pub fn reverse_range(
        &self,
        from: Option<&K>,
        to: Option<&K>,
    ) -> Result<QueryIter<KeyValueIterator<K, V, KS, VS>>, StreamsError> {
        let (from, to) = (from.cloned(), to.cloned());
        Ok(self
            .ask(move |store| store.reverse_range(from.as_ref(), to.as_ref()))?
            .into_iter()
            .flatten())
    }

    /// Every entry, per task in key order.
    pub fn all(&self) -> Result<QueryIter<KeyValueIterator<K, V, KS, VS>>, StreamsError> {
        Ok(self.ask(|store| store.all())?.into_iter().flatten())
    }

    /// Every entry, each task's in descending key order.
    pub fn reverse_all(&self) -> Result<QueryIter<KeyValueIterator<K, V, KS, VS>>, StreamsError> {
        Ok(self.ask(|store| store.reverse_all())?.into_iter().flatten())
    }

    /// Entries whose serialized key starts with the serialized `prefix`.
    pub fn prefix_scan<P, PS>(
        &self,
        prefix: &P,
        prefix_serde: &PS,
    ) -> Result<QueryIter<KeyValueIterator<K, V, KS, VS>>, StreamsError>
    where
        P: Clone + Send + Sync + 'static,
        PS: Serde<P> + Clone + Send + Sync + 'static,
    {
        let (prefix, serde) = (prefix.clone(), prefix_serde.clone());
        Ok(self
            .ask(move |store| store.prefix_scan(&prefix, &serde))?
            .into_iter()
            .flatten())
    }

    /// The number of entries over the local tasks (exact in memory, RocksDB's estimate on disk).
    pub fn approximate_num_entries(&self) -> Result<u64, StreamsError> {
        Ok(self.ask(|store| store.approximate_num_entries())?.into_iter().sum())
    }
}

impl<K, V, KS, VS> StoreQuery<WindowStore<K, V, KS, VS>>
where
    K: Clone + Send + Sync + 'static,
    V: Send + 'static,
    KS: Serde<K> + Send + 'static,
    VS: Serde<V> + Send + 'static,
{
    /// The value of `key`'s window that starts at `window_start` (Java's `fetch(key, time)`).
    pub fn get(&self, key: &K, window_start: i64) -> Result<Option<V>, StreamsError> {
        let key = key.clone();
        Ok(self
            .ask(move |store| store.get(&key, window_start))?
            .into_iter()
            .flatten()
            .next())
    }

    /// `key`'s windows starting in `time_from..=time_to`: (window start, value), by start time.
    pub fn fetch(
        &self,
        key: &K,
        time_from: i64,
        time_to: i64,
    ) -> Result<QueryIter<WindowStoreIterator<V, VS>>, StreamsError> {
        let key = key.clone();
        Ok(self
            .ask(move |store| store.fetch(&key, time_from, time_to))?
            .into_iter()
            .flatten())
    }

    /// Like [`fetch`](Self::fetch), latest first.
    pub fn backward_fetch(
        &self,
        key: &K,
        time_from: i64,
        time_to: i64,
    ) -> Result<QueryIter<WindowStoreIterator<V, VS>>, StreamsError> {
        let key = key.clone();
        Ok(self
            .ask(move |store| store.backward_fetch(&key, time_from, time_to))?
            .into_iter()
            .flatten())
    }

    /// The windows of keys in `key_from..=key_to` (`None` leaves a side open) starting in
    /// `time_from..=time_to`.
    pub fn fetch_range(
        &self,
        key_from: Option<&K>,
        key_to: Option<&K>,
        time_from: i64,
        time_to: i64,
    ) -> Result<QueryIter<WindowedIterator<K, V, KS, VS>>, StreamsError> {
        let (from, to) = (key_from.cloned(), key_to.cloned());
        Ok(self
            .ask(move |store| store.fetch_range(from.as_ref(), to.as_ref(), time_from, time_to))?
            .into_iter()
            .flatten())
    }

    /// Every key's windows starting in `time_from..=time_to`.
    pub fn fetch_all(
        &self,
        time_from: i64,
        time_to: i64,
    ) -> Result<QueryIter<WindowedIterator<K, V, KS, VS>>, StreamsError> {
        Ok(self
            .ask(move |store| store.fetch_all(time_from, time_to))?
            .into_iter()
            .flatten())
    }

    /// Every window of every key.
    pub fn all(&self) -> Result<QueryIter<WindowedIterator<K, V, KS, VS>>, StreamsError> {
        Ok(self.ask(|store| store.all())?.into_iter().flatten())
    }
}

impl<K, V, KS, VS> StoreQuery<SessionStore<K, V, KS, VS>>
where
    K: Clone + Send + Sync + 'static,
    V: Send + 'static,
    KS: Serde<K> + Send + 'static,
    VS: Serde<V> + Send + 'static,
{
    /// Every session of `key`, by end time.
    pub fn fetch(&self, key: &K) -> Result<QueryIter<WindowedIterator<K, V, KS, VS>>, StreamsError> {
        let key = key.clone();
        Ok(self.ask(move |store| store.fetch(&key))?.into_iter().flatten())
    }

    /// `key`'s sessions that end at or after `earliest_end` and start at or before
    /// `latest_start` (Java's `findSessions`).
    pub fn find_sessions(
        &self,
        key: &K,
        earliest_end: i64,
        latest_start: i64,
    ) -> Result<QueryIter<WindowedIterator<K, V, KS, VS>>, StreamsError> {
        let key = key.clone();
        Ok(self
            .ask(move |store| store.find_sessions(&key, earliest_end, latest_start))?
            .into_iter()
            .flatten())
    }

    /// The aggregate of `key`'s session `start..=end`, if it exists.
    pub fn fetch_session(&self, key: &K, start: i64, end: i64) -> Result<Option<V>, StreamsError> {
        let key = key.clone();
        Ok(self
            .ask(move |store| store.fetch_session(&key, start, end))?
            .into_iter()
            .flatten()
            .next())
    }

    /// Every live session of every key.
    pub fn all(&self) -> Result<QueryIter<WindowedIterator<K, V, KS, VS>>, StreamsError> {
        Ok(self.ask(|store| store.all())?.into_iter().flatten())
    }
}
