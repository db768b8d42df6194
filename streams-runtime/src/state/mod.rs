//! State stores: specifications, the per-task store set, and typed store handles.
//!
//! Stores hold serialized bytes, ordered by the serialized key bytes as in Java. A handle such
//! as [`KeyValueStore<K, V>`] is the typed view a processor holds; the runtime binds handles to
//! a task's stores when it creates the task, so user code never looks a store up by name.

mod cache;
mod changelog;
mod global;
mod key_value;
mod memory;
#[cfg(feature = "rocksdb")]
mod rocks;
#[cfg(feature = "rocksdb")]
mod rocks_settings;
mod segmented;
mod session;
mod store_ops;
use store_ops::timed;
pub(crate) use store_ops::{OpTally, StoreOp};
mod uncommitted;
mod versioned;
mod window;

pub use cache::{DEFAULT_CACHE_MAX_BYTES, EntryContext, ThreadCache};
#[cfg(feature = "kafka")]
pub(crate) use global::GlobalStore;
pub use global::{GlobalKeyValueStore, GlobalStores};
pub use key_value::{KeyValueIterator, KeyValueStore};
#[cfg(feature = "rocksdb")]
pub use rocks_settings::{RocksDbConfigSetter, RocksDbSettings};
pub use session::SessionStore;
pub use versioned::{NOT_PUT, PUT_LATEST, VersionedKeyValueStore, VersionedRecord};
pub use window::{WindowStore, WindowStoreIterator, WindowedIterator};

use crate::error::{StoreError, StreamsError};
use changelog::ChangelogBuffer;
use key_value::KvStoreInner;
pub(crate) use key_value::LastWrite;
use segmented::{KeySchema, SegmentedStore};
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use versioned::VersionedStoreInner;

/// The hash map of the stores' and caches' point lookups: foldhash (randomly seeded per map, a
/// few instructions per key) instead of SipHash, whose cost showed in every cached update.
pub(crate) type ByteMap<V> = std::collections::HashMap<std::sync::Arc<[u8]>, V, foldhash::fast::RandomState>;

/// The kinds of state store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// A key-value store.
    KeyValue,
    /// A window store: values per key and window start, kept for a retention period.
    Window,
    /// A session store: values per key and session window, kept for a retention period.
    Session,
    /// A versioned key-value store: each key's values with the time they became valid, kept
    /// for a history retention.
    Versioned,
}

impl StoreKind {
    /// The kind's name in messages and `describe()`.
    pub const fn name(self) -> &'static str {
        match self {
            StoreKind::KeyValue => "key-value",
            StoreKind::Window => "window",
            StoreKind::Session => "session",
            StoreKind::Versioned => "versioned key-value",
        }
    }
}

/// A store as a topology declares it (Java's `StoreBuilder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreSpec {
    /// The store name, also the middle of its changelog topic name.
    pub name: &'static str,
    /// The kind of store.
    pub kind: StoreKind,
    /// RocksDB (`true`) or in-memory (`false`).
    pub persistent: bool,
    /// Whether writes go to the changelog topic.
    pub logging: bool,
    /// Whether each value is kept with a timestamp (Java's timestamped key-value store, what
    /// the DSL's tables and aggregations use): the backend holds the 8-byte big-endian
    /// timestamp before the value; the changelog carries the plain value, with that timestamp
    /// as the record's. Typed handles read and write the plain value.
    pub timestamped: bool,
    /// Window and session stores: how long (ms of the store's stream time) a window is kept;
    /// versioned stores: the history retention; 0 for key-value stores.
    pub retention_ms: i64,
    /// Window stores: the window size in ms, which gives fetched windows their end; 0 otherwise.
    pub window_size_ms: i64,
    /// Window stores: whether every put is kept, even of the same key and window start (the
    /// buffers of stream-stream joins); `false` otherwise.
    pub retain_duplicates: bool,
    /// Whether writes go through the record cache (Java's `withCachingEnabled`): a key-value
    /// store keeps the latest value of each key written since the last commit and writes it
    /// (and logs it) when its task commits or the thread's cache evicts it.
    pub caching: bool,
}

impl StoreSpec {
    /// The changelog topic of this store for an application: `<application.id>-<store>-changelog`.
    pub fn changelog_topic(&self, application_id: &str) -> String {
        format!("{application_id}-{}-changelog", self.name)
    }
}

/// A `#[store]` field of a processor: the store name it binds to and the kind it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreField {
    /// The store name (the field name unless `#[store("name")]` says otherwise).
    pub name: &'static str,
    /// The kind of the field's handle type.
    pub kind: StoreKind,
}

/// Where a task keeps its persistent stores, and how it opens them (runtime plumbing: not part
/// of the public API).
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct StoreContext {
    /// The task's directory (`state.dir/<application.id>/<task>`).
    pub task_dir: PathBuf,
    /// Under exactly-once, writes are kept apart until the task commits (or aborts).
    pub exactly_once: bool,
    /// The instance's global stores, which global table joins read (none under the test
    /// driver: there a global table's store is the task's own).
    pub globals: GlobalStores,
    /// The instance's RocksDB settings: its shared block cache and config setter.
    #[cfg(feature = "rocksdb")]
    pub rocksdb: RocksDbSettings,
    /// The record cache of the stream thread running the task, which its caching stores share.
    pub cache: ThreadCache,
    /// Whether key-value stores count their operations' calls and time (the `DEBUG`
    /// `stream-state-metrics`).
    pub store_metrics: bool,
}

/// A store instance of one task (opaque; handles are bound to it).
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct StoreInstance(Instance);

#[derive(Debug, Clone)]
enum Instance {
    KeyValue(Rc<RefCell<KvStoreInner>>),
    Window(Rc<RefCell<SegmentedStore>>),
    Session(Rc<RefCell<SegmentedStore>>),
    Versioned(Rc<RefCell<VersionedStoreInner>>),
}

impl StoreInstance {
    fn kind(&self) -> StoreKind {
        match self.0 {
            Instance::KeyValue(_) => StoreKind::KeyValue,
            Instance::Window(_) => StoreKind::Window,
            Instance::Session(_) => StoreKind::Session,
            Instance::Versioned(_) => StoreKind::Versioned,
        }
    }

    /// Opens the store at `index` of the topology's stores (`owned`) or makes the empty,
    /// unlogged, uncached in-memory stand-in of a store the task does not own.
    fn open(index: usize, spec: &StoreSpec, context: &StoreContext, owned: bool) -> Result<Self, StreamsError> {
        let segmented = |schema| -> Result<Rc<RefCell<SegmentedStore>>, StreamsError> {
            let store = if owned {
                SegmentedStore::open(spec, schema, context)?
            } else {
                SegmentedStore::unowned(spec, schema)
            };
            Ok(Rc::new(RefCell::new(store)))
        };
        Ok(StoreInstance(match spec.kind {
            StoreKind::KeyValue => {
                let inner = if owned {
                    KvStoreInner::open(index, spec, context)?
                } else {
                    KvStoreInner::unowned(spec)
                };
                Instance::KeyValue(Rc::new(RefCell::new(inner)))
            }
            StoreKind::Window => Instance::Window(segmented(KeySchema::Window)?),
            StoreKind::Session => Instance::Session(segmented(KeySchema::Session)?),
            StoreKind::Versioned => {
                let inner = if owned {
                    VersionedStoreInner::open(spec, context)?
                } else {
                    VersionedStoreInner::unowned(spec)
                };
                Instance::Versioned(Rc::new(RefCell::new(inner)))
            }
        }))
    }
}

/// The stores of one task, in the order the topology declares them (runtime plumbing: not part
/// of the public API; generated code names it through `__private`).
#[doc(hidden)]
#[derive(Debug)]
pub struct StoreSet {
    specs: &'static [StoreSpec],
    instances: Vec<StoreInstance>,
    globals: GlobalStores,
    /// Whether the task owns each store (its sub-topology uses it).
    owned: Vec<bool>,
    /// Whether any store the task owns logs to a changelog (else nothing is ever drained).
    logs: bool,
}

impl StoreSet {
    /// Opens the stores of a topology that one task owns (`owns`). A store the task does not own
    /// is an empty, unlogged in-memory store that nothing uses: the DSL operators of other
    /// sub-topologies bind their stores while the graph's types are worked out, and are dropped
    /// without being built.
    pub fn open(
        specs: &'static [StoreSpec],
        context: &StoreContext,
        owns: impl Fn(&StoreSpec) -> bool,
    ) -> Result<Self, StreamsError> {
        let owned: Vec<bool> = specs.iter().map(owns).collect();
        let instances = specs
            .iter()
            .zip(&owned)
            .enumerate()
            .map(|(index, (spec, &owned))| StoreInstance::open(index, spec, context, owned))
            .collect::<Result<_, StreamsError>>()?;
        let logs = specs.iter().zip(&owned).any(|(spec, &owned)| spec.logging && owned);
        Ok(StoreSet {
            specs,
            instances,
            globals: context.globals.clone(),
            owned,
            logs,
        })
    }

    /// The logged stores the task owns, with their indices: what restores from changelogs.
    pub fn logged(&self) -> impl Iterator<Item = (usize, &'static StoreSpec)> + '_ {
        self.specs
            .iter()
            .enumerate()
            .filter(|(i, s)| s.logging && self.owned[*i])
    }

    /// Whether the task owns the store at `index` (its sub-topology uses it).
    pub(crate) fn owns(&self, index: usize) -> bool {
        self.owned.get(index).copied().unwrap_or(false)
    }

    /// Binds a typed handle to the store with this name (done once, when a task is created).
    pub fn bind<H: StoreHandle>(&self, name: &str) -> Result<H, StreamsError> {
        let index = self
            .specs
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| StreamsError::UnknownStore {
                name: name.to_owned(),
                hint: crate::names::did_you_mean(name, self.specs.iter().map(|s| s.name), "its stores are"),
            })?;
        self.bind_index(index)
    }

    /// Binds a typed handle to the store at this position of the topology's declaration.
    pub fn bind_index<H: StoreHandle>(&self, index: usize) -> Result<H, StreamsError> {
        let instance = &self.instances[index];
        H::bind(instance).ok_or_else(|| StreamsError::StoreKind {
            store: self.specs[index].name.to_owned(),
            expected: H::KIND.name(),
            actual: instance.kind().name(),
        })
    }

    /// Binds a read-only view of the global table store at `index`: the instance's global store
    /// under the Kafka runtime, the task's own store under the test driver.
    pub fn bind_global<K, V, KS: Default, VS: Default>(
        &self,
        index: usize,
    ) -> Result<GlobalKeyValueStore<K, V, KS, VS>, StreamsError> {
        GlobalKeyValueStore::bind(&self.globals, index, &self.instances[index].0).ok_or_else(|| {
            StreamsError::StoreKind {
                store: self.specs[index].name.to_owned(),
                expected: StoreKind::KeyValue.name(),
                actual: self.instances[index].kind().name(),
            }
        })
    }

    /// Whether any store the task owns logs to a changelog.
    #[inline]
    pub(crate) fn logs(&self) -> bool {
        self.logs
    }

    /// Hands every logged write since the last call to `sink` as (store index, key, value,
    /// timestamp if the write has its own).
    pub(crate) fn drain_changelogs(&self, mut sink: impl FnMut(usize, &[u8], Option<&[u8]>, Option<i64>)) {
        for (index, instance) in self.instances.iter().enumerate() {
            let mut sink = |k: &[u8], v: Option<&[u8]>, ts| sink(index, k, v, ts);
            match &instance.0 {
                Instance::KeyValue(inner) => {
                    if let Some(log) = inner.borrow_mut().changelog_mut().filter(|l| !l.is_empty()) {
                        log.drain(&mut sink);
                    }
                }
                Instance::Window(inner) | Instance::Session(inner) => {
                    if let Some(log) = inner.borrow_mut().changelog_mut().filter(|l| !l.is_empty()) {
                        log.drain(&mut sink);
                    }
                }
                Instance::Versioned(inner) => {
                    if let Some(log) = inner.borrow_mut().changelog_mut().filter(|l| !l.is_empty()) {
                        log.drain(&mut sink);
                    }
                }
            }
        }
    }

    /// Applies one changelog record to the store at `index` without logging it (restoration
    /// from `<application.id>-<store>-changelog`; `None` deletes); `timestamp` is the changelog
    /// record's.
    pub fn restore(&self, index: usize, key: &[u8], value: Option<&[u8]>, timestamp: i64) -> Result<(), StreamsError> {
        match &self.instances[index].0 {
            Instance::KeyValue(inner) => inner.borrow_mut().restore(key, value, timestamp)?,
            Instance::Window(inner) | Instance::Session(inner) => inner.borrow_mut().restore(key, value, timestamp)?,
            Instance::Versioned(inner) => inner.borrow_mut().restore(key, value, timestamp)?,
        }
        Ok(())
    }

    /// Applies every store's uncommitted writes (an exactly-once commit succeeded).
    pub fn commit_writes(&self) -> Result<(), StreamsError> {
        for instance in &self.instances {
            match &instance.0 {
                Instance::KeyValue(inner) => inner.borrow_mut().commit_writes()?,
                Instance::Window(inner) | Instance::Session(inner) => inner.borrow_mut().commit_writes()?,
                Instance::Versioned(inner) => inner.borrow_mut().commit_writes()?,
            }
        }
        Ok(())
    }

    /// Whether the store at `index` has a record cache (`None`: it has not) whose flushes its
    /// operator forwards (`Some(true)`: a DSL operator's store).
    pub(crate) fn cache_forwards(&self, index: usize) -> Option<bool> {
        match &self.instances[index].0 {
            Instance::KeyValue(inner) => inner.borrow().cache_forwards(),
            _ => None,
        }
    }

    /// Whether the store at `index` has a record cache, and if so whether a commit has work for
    /// it (dirty entries, or flushed updates its operator has not forwarded yet).
    pub(crate) fn cache_state(&self, index: usize) -> Option<CacheState> {
        match &self.instances[index].0 {
            Instance::KeyValue(inner) => inner.borrow().cache_state(),
            _ => None,
        }
    }

    /// Writes the dirty entries of the record cache of the store at `index` to the store (a
    /// store whose operator does not forward its flushes: Processor API stores).
    pub(crate) fn flush_cache(&self, index: usize) -> Result<(), StreamsError> {
        if let Instance::KeyValue(inner) = &self.instances[index].0 {
            inner.borrow_mut().flush_cache()?;
        }
        Ok(())
    }

    /// Drops every store's uncommitted writes and cached entries (the exactly-once transaction
    /// aborted).
    pub fn abort_writes(&self) {
        for instance in &self.instances {
            match &instance.0 {
                Instance::KeyValue(inner) => inner.borrow_mut().abort_writes(),
                Instance::Window(inner) | Instance::Session(inner) => inner.borrow_mut().abort_writes(),
                Instance::Versioned(inner) => inner.borrow_mut().abort_writes(),
            }
        }
    }

    /// Flushes every store to its backend (Java's `flush` at commit).
    pub fn flush(&self) -> Result<(), StreamsError> {
        for instance in &self.instances {
            match &instance.0 {
                Instance::KeyValue(inner) => timed(&mut *inner.borrow_mut(), StoreOp::Flush, |s| s.flush())?,
                Instance::Window(inner) | Instance::Session(inner) => {
                    timed(&mut *inner.borrow_mut(), StoreOp::Flush, |s| s.flush())?
                }
                Instance::Versioned(inner) => inner.borrow().flush()?,
            }
        }
        Ok(())
    }

    /// Hands the operations each key-value, window and session store counted since the last
    /// call (stores count them when the application records `DEBUG` metrics) to `visit`: the
    /// store's name, its Java metrics scope (`rocksdb-window-state-id`, ...), the operation and
    /// its tally (calls, total and largest nanoseconds).
    pub(crate) fn take_store_ops(&self, mut visit: impl FnMut(&'static str, &'static str, StoreOp, OpTally)) {
        for (spec, instance) in self.specs.iter().zip(&self.instances) {
            let (tallies, scopes) = match &instance.0 {
                Instance::KeyValue(inner) => (
                    inner.borrow_mut().ops.take(),
                    ("rocksdb-state-id", "in-memory-state-id"),
                ),
                Instance::Window(inner) => (
                    inner.borrow_mut().ops.take(),
                    ("rocksdb-window-state-id", "in-memory-window-state-id"),
                ),
                Instance::Session(inner) => (
                    inner.borrow_mut().ops.take(),
                    ("rocksdb-session-state-id", "in-memory-session-state-id"),
                ),
                Instance::Versioned(_) => continue,
            };
            let Some(tallies) = tallies else { continue };
            let scope = if spec.persistent { scopes.0 } else { scopes.1 };
            for (op, tally) in StoreOp::ALL.into_iter().zip(tallies) {
                visit(spec.name, scope, op, tally);
            }
        }
    }
}

/// A typed view of a state store that a processor may hold in a `#[store]` field.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a state store handle",
    label = "a `#[store]` field must have a store handle type",
    note = "use `KeyValueStore<K, V>`, `WindowStore<K, V>`, `SessionStore<K, V>` or `VersionedKeyValueStore<K, V>` (optionally with serdes: `KeyValueStore<K, V, KS, VS>`)"
)]
pub trait StoreHandle: Sized {
    /// The kind of store this handle views.
    const KIND: StoreKind;
    /// Makes the handle over a store instance, or `None` if the store is of another kind.
    #[doc(hidden)]
    fn bind(instance: &StoreInstance) -> Option<Self>;
}

/// What a commit has to do for a store's record cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CacheState {
    /// Nothing: no dirty entries, nothing flushed waits to be forwarded.
    Clean,
    /// Flush it: the store writes its dirty entries.
    Dirty,
    /// Flush it through the operator that owns it, which forwards what the flush writes.
    DirtyForwarding,
}

pub(crate) fn changelog_buffer(spec: &StoreSpec) -> Option<ChangelogBuffer> {
    spec.logging.then(ChangelogBuffer::default)
}

pub(crate) fn serde_error(store: &'static str) -> impl Fn(crate::serde::SerdeError) -> StoreError {
    move |source| StoreError::Serde { store, source }
}
