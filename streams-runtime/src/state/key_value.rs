//! Key-value stores: the byte-level store of a task and the typed handle processors use
//! (Java's `KeyValueStore`).

use super::cache::{Below, EntryContext, NamedCache, Slot};
use super::memory::{Entry, InMemoryKvStore};
#[cfg(feature = "rocksdb")]
use super::rocks::RocksDbKvStore;
use super::store_ops::{Meter, StoreOp};
use super::uncommitted::Uncommitted;
use super::{
    CacheState, ChangelogBuffer, Instance, StoreContext, StoreHandle, StoreInstance, StoreKind, StoreSpec, serde_error,
};
use crate::dsl::Change;
use crate::error::{ProcessingError, StoreError};
use crate::serde::{Encoded, Serde, SerdeOf};
use std::cell::RefCell;
use std::marker::PhantomData;
use std::ops::Bound;
use std::rc::Rc;

#[derive(Debug)]
enum Backend {
    Memory(InMemoryKvStore),
    #[cfg(feature = "rocksdb")]
    RocksDb(RocksDbKvStore),
}

/// The byte-level key-value store of one task: a backend, its changelog buffer, and scratch
/// buffers for serialized keys and values (reused, so reads and writes do not allocate).
#[derive(Debug)]
pub struct KvStoreInner {
    name: &'static str,
    backend: Backend,
    changelog: Option<ChangelogBuffer>,
    /// Writes since the last commit, under exactly-once (`None` otherwise: writes go straight
    /// to the backend).
    uncommitted: Option<Uncommitted>,
    /// Values are stored behind their 8-byte timestamp (see [`StoreSpec::timestamped`]).
    timestamped: bool,
    /// Counts aborts: state kept beside the store (a suppression buffer's index) is rebuilt
    /// from the store when it changed.
    aborts: u64,
    /// The record cache writes go through, if the store caches (see [`StoreSpec::caching`]).
    cache: Option<NamedCache>,
    pub(super) key_buf: Vec<u8>,
    value_buf: Vec<u8>,
    /// The operations' calls and time, when the application records `DEBUG` metrics.
    pub(super) ops: Meter,
}

impl super::store_ops::Metered for KvStoreInner {
    fn meter(&mut self) -> &mut Meter {
        &mut self.ops
    }
}

/// The last write of an operator through its store's record cache, kept typed (with the bytes
/// written) so that the flush forwarding it need not deserialize it again.
pub(crate) struct LastWrite<K, V> {
    key: Vec<u8>,
    value: Vec<u8>,
    entry: Option<(K, V)>,
}

impl<K, V> Default for LastWrite<K, V> {
    fn default() -> Self {
        LastWrite {
            key: Vec::new(),
            value: Vec::new(),
            entry: None,
        }
    }
}

/// Java's `RecordBatch.NO_TIMESTAMP`: a value written without a timestamp (a plain `put` into a
/// timestamped store); its changelog record takes the current record's timestamp.
pub(super) const NO_TIMESTAMP: i64 = -1;

/// The length of the timestamp in front of a timestamped store's values.
const TIMESTAMP_LEN: usize = 8;

/// How a store's values are laid out, for reading them: its name (for errors) and whether a
/// timestamp comes first.
#[derive(Debug, Clone, Copy)]
pub(super) struct Layout {
    pub(super) store: &'static str,
    pub(super) timestamped: bool,
}

impl Layout {
    /// Stored bytes as (timestamp, value bytes): Java's `ValueAndTimestampSerializer` layout (the
    /// big-endian timestamp, then the value) in a timestamped store, else `NO_TIMESTAMP` and all.
    pub(super) fn split(self, stored: &[u8]) -> Result<(i64, &[u8]), StoreError> {
        if !self.timestamped {
            return Ok((NO_TIMESTAMP, stored));
        }
        let Some((ts, value)) = stored.split_first_chunk::<TIMESTAMP_LEN>() else {
            return Err(StoreError::Serde {
                store: self.store,
                source: crate::serde::SerdeError::WrongSize {
                    type_name: "timestamped value",
                    expected: TIMESTAMP_LEN,
                    actual: stored.len(),
                },
            });
        };
        Ok((i64::from_be_bytes(*ts), value))
    }
}

/// Logs a write. A timestamped store's value goes to the changelog without its timestamp, which
/// becomes the changelog record's timestamp, as in Java; other writes get `timestamp` (`None`:
/// the current record's).
pub(super) fn log_write(
    log: &mut ChangelogBuffer,
    timestamped: bool,
    key: &[u8],
    value: Option<&[u8]>,
    timestamp: Option<i64>,
) {
    match value.and_then(|v| v.split_first_chunk::<TIMESTAMP_LEN>()) {
        Some((ts, value)) if timestamped => {
            let ts = i64::from_be_bytes(*ts);
            log.record(key, Some(value), (ts != NO_TIMESTAMP).then_some(ts).or(timestamp));
        }
        _ => log.record(key, value, timestamp),
    }
}

/// A backend's bytes for `key`, with the transaction's writes over them.
fn read_stored<R>(
    backend: &Backend,
    uncommitted: Option<&Uncommitted>,
    key: &[u8],
    read: impl FnOnce(Option<&[u8]>) -> R,
) -> Result<R, StoreError> {
    if let Some(written) = uncommitted.and_then(|u| u.get(key)) {
        return Ok(read(written));
    }
    match backend {
        Backend::Memory(m) => Ok(read(m.get(key))),
        #[cfg(feature = "rocksdb")]
        Backend::RocksDb(db) => db.get(key, read),
    }
}

/// The store below its record cache: the backend, the transaction's writes and the changelog.
/// A caching store's parts, borrowed apart (see `KvStoreInner::cache_parts`).
struct CacheParts<'a> {
    cache: &'a mut NamedCache,
    below: Stored<'a>,
    key: &'a mut Vec<u8>,
    value: &'a mut Vec<u8>,
}

struct Stored<'a> {
    backend: &'a mut Backend,
    uncommitted: &'a mut Option<Uncommitted>,
    changelog: &'a mut Option<ChangelogBuffer>,
    timestamped: bool,
}

impl Below for Stored<'_> {
    fn read(&self, key: &[u8], into: &mut Vec<u8>) -> Result<bool, StoreError> {
        into.clear();
        read_stored(self.backend, self.uncommitted.as_ref(), key, |v| {
            v.map(|v| into.extend_from_slice(v)).is_some()
        })
    }

    fn write(&mut self, key: &[u8], value: Option<&[u8]>, timestamp: i64) -> Result<(), StoreError> {
        match (self.uncommitted.as_mut(), &mut *self.backend, value) {
            (Some(u), _, value) => u.put(key, value),
            (None, Backend::Memory(m), Some(v)) => m.put(key, v),
            (None, Backend::Memory(m), None) => {
                m.delete(key);
            }
            #[cfg(feature = "rocksdb")]
            (None, Backend::RocksDb(db), Some(v)) => db.put(key, v)?,
            #[cfg(feature = "rocksdb")]
            (None, Backend::RocksDb(db), None) => {
                db.delete(key)?;
            }
        }
        if let Some(log) = self.changelog {
            log_write(log, self.timestamped, key, value, Some(timestamp));
        }
        Ok(())
    }
}

impl KvStoreInner {
    /// Opens the store at `index` of its topology's stores.
    pub(super) fn open(index: usize, spec: &StoreSpec, context: &StoreContext) -> Result<Self, StoreError> {
        let backend = if spec.persistent {
            Self::open_persistent(spec, context)?
        } else {
            Backend::Memory(InMemoryKvStore::default())
        };
        Ok(KvStoreInner {
            name: spec.name,
            backend,
            changelog: super::changelog_buffer(spec),
            uncommitted: context.exactly_once.then(Uncommitted::default),
            timestamped: spec.timestamped,
            aborts: 0,
            cache: spec.caching.then(|| NamedCache::new(context.cache.clone(), index)),
            key_buf: Vec::new(),
            value_buf: Vec::new(),
            ops: Meter::new(context.store_metrics),
        })
    }

    /// The store as a task that does not own it holds it: empty, in memory, unlogged.
    pub(super) fn unowned(spec: &StoreSpec) -> Self {
        KvStoreInner {
            name: spec.name,
            backend: Backend::Memory(InMemoryKvStore::default()),
            changelog: None,
            uncommitted: None,
            timestamped: spec.timestamped,
            aborts: 0,
            cache: None,
            key_buf: Vec::new(),
            value_buf: Vec::new(),
            ops: Meter::default(),
        }
    }

    #[cfg(feature = "rocksdb")]
    fn open_persistent(spec: &StoreSpec, context: &StoreContext) -> Result<Backend, StoreError> {
        let path = context.task_dir.join("rocksdb").join(spec.name);
        Ok(Backend::RocksDb(RocksDbKvStore::open(
            spec.name,
            spec.name,
            &path,
            &context.rocksdb,
        )?))
    }

    #[cfg(not(feature = "rocksdb"))]
    fn open_persistent(spec: &StoreSpec, _: &StoreContext) -> Result<Backend, StoreError> {
        Err(StoreError::Io {
            store: spec.name,
            source: std::io::Error::other(
                "persistent store needs streams-runtime's `rocksdb` feature; enable it or declare the store `persistent: false`",
            ),
        })
    }

    pub(super) fn layout(&self) -> Layout {
        Layout {
            store: self.name,
            timestamped: self.timestamped,
        }
    }

    pub(super) fn changelog_mut(&mut self) -> Option<&mut ChangelogBuffer> {
        self.changelog.as_mut()
    }

    pub(super) fn flush(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Memory(_) => Ok(()),
            #[cfg(feature = "rocksdb")]
            Backend::RocksDb(db) => db.flush(),
        }
    }

    /// An integer property of the RocksDB database under the store; `None` in memory.
    #[cfg(feature = "rocksdb")]
    fn rocksdb_property(&self, property: &str) -> Result<Option<u64>, StoreError> {
        match &self.backend {
            Backend::Memory(_) => Ok(None),
            Backend::RocksDb(db) => db.property_int(property),
        }
    }

    /// Applies a changelog record (restoration): writes or deletes the bytes without logging; a
    /// timestamped store keeps the record's `timestamp` with the value.
    pub(super) fn restore(&mut self, key: &[u8], value: Option<&[u8]>, timestamp: i64) -> Result<(), StoreError> {
        let KvStoreInner {
            backend,
            timestamped,
            value_buf,
            ..
        } = self;
        let value = match value {
            Some(v) if *timestamped => {
                value_buf.clear();
                value_buf.extend_from_slice(&timestamp.to_be_bytes());
                value_buf.extend_from_slice(v);
                Some(value_buf.as_slice())
            }
            value => value,
        };
        match (backend, value) {
            (Backend::Memory(m), Some(v)) => m.put(key, v),
            (Backend::Memory(m), None) => {
                m.delete(key);
            }
            #[cfg(feature = "rocksdb")]
            (Backend::RocksDb(db), Some(v)) => db.put(key, v)?,
            #[cfg(feature = "rocksdb")]
            (Backend::RocksDb(db), None) => {
                db.delete(key)?;
            }
        }
        Ok(())
    }

    /// Applies the transaction's writes to the backend (exactly-once commit).
    pub(super) fn commit_writes(&mut self) -> Result<(), StoreError> {
        let Some(uncommitted) = &mut self.uncommitted else {
            return Ok(());
        };
        let writes = uncommitted.take();
        match &mut self.backend {
            Backend::Memory(m) => {
                for (key, value) in writes {
                    match value {
                        Some(v) => m.put(&key, &v),
                        None => {
                            m.delete(&key);
                        }
                    }
                }
            }
            // One atomic batch: a crash leaves the store at one commit or the other.
            #[cfg(feature = "rocksdb")]
            Backend::RocksDb(db) => db.write_batch(writes)?,
        }
        Ok(())
    }

    /// Drops the transaction's writes and the cache's entries (exactly-once abort): the store
    /// is as at the last commit.
    pub(super) fn abort_writes(&mut self) {
        if let Some(cache) = &mut self.cache {
            cache.clear();
        }
        if let Some(uncommitted) = &mut self.uncommitted {
            uncommitted.clear();
            self.aborts += 1;
        }
    }

    /// Whether the store's cache is flushed through its operator (`None`: it has no cache).
    pub(super) fn cache_forwards(&self) -> Option<bool> {
        self.cache.as_ref().map(NamedCache::forwards)
    }

    /// What a commit has to do for the store's cache (`None`: it has none).
    pub(super) fn cache_state(&self) -> Option<CacheState> {
        let cache = self.cache.as_ref()?;
        Some(match (cache.has_work(), cache.forwards()) {
            (false, _) => CacheState::Clean,
            (true, false) => CacheState::Dirty,
            (true, true) => CacheState::DirtyForwarding,
        })
    }

    /// The store's record cache apart from the store below it and the scratch key and value
    /// buffers, borrowed together; `None` for a store without a cache.
    fn cache_parts(&mut self) -> Option<CacheParts<'_>> {
        let KvStoreInner {
            cache,
            backend,
            uncommitted,
            changelog,
            timestamped,
            key_buf,
            value_buf,
            ..
        } = self;
        Some(CacheParts {
            cache: cache.as_mut()?,
            below: Stored {
                backend,
                uncommitted,
                changelog,
                timestamped: *timestamped,
            },
            key: key_buf,
            value: value_buf,
        })
    }

    /// [`cache_parts`](Self::cache_parts) of a store known to cache.
    fn cached(&mut self) -> CacheParts<'_> {
        self.cache_parts().expect("only called for a caching store")
    }

    /// Writes the cache's dirty entries to the store (Java's `flushCache` at commit).
    pub(super) fn flush_cache(&mut self) -> Result<(), StoreError> {
        match self.cache_parts() {
            Some(CacheParts { cache, mut below, .. }) => cache.flush(&mut below),
            None => Ok(()),
        }
    }

    /// Reads the key in the scratch key buffer through the cache, if the store has one (which
    /// keeps what it read, as Java's caching store does).
    fn read_key_buf<R>(&mut self, read: impl FnOnce(Option<&[u8]>) -> R) -> Result<R, StoreError> {
        if self.cache.is_none() {
            return read_stored(&self.backend, self.uncommitted.as_ref(), &self.key_buf, read);
        }
        let CacheParts {
            cache, mut below, key, ..
        } = self.cached();
        cache.read(key, &mut below, read)
    }

    /// The read of a caching store's read-modify-write: reads the key in the scratch key buffer
    /// through the cache, with where the cache has it for [`put_cached_at`](Self::put_cached_at).
    fn read_cached_slot<R>(&mut self, read: impl FnOnce(Option<&[u8]>) -> R) -> Result<(R, Slot), StoreError> {
        let CacheParts {
            cache, mut below, key, ..
        } = self.cached();
        cache.read_slot(key, &mut below, read)
    }

    /// The write of a caching store's read-modify-write: the scratch key and value (or a delete
    /// when `value` is `false`) into the cache at `slot`, with the context of the write.
    fn put_cached_at(&mut self, slot: Slot, value: bool, context: EntryContext) -> Result<(), StoreError> {
        let CacheParts {
            cache,
            mut below,
            key,
            value: bytes,
        } = self.cached();
        cache.put_at(slot, key, value.then_some(bytes.as_slice()), context, &mut below)
    }

    /// Writes the scratch key and value (or a delete when `value` is `false`) into the cache,
    /// with the context of the write; returns the old value of a delete (read through the
    /// cache, as Java's `CachingKeyValueStore.delete`).
    fn write_cached(&mut self, value: bool, context: EntryContext) -> Result<Option<Vec<u8>>, StoreError> {
        let old = if value {
            None
        } else {
            self.read_key_buf(|b| b.map(<[u8]>::to_vec))?
        };
        let CacheParts {
            cache,
            mut below,
            key,
            value: bytes,
        } = self.cached();
        cache.put(key, value.then_some(bytes.as_slice()), context, &mut below)?;
        Ok(old)
    }

    /// The store's name.
    pub(super) fn name(&self) -> &'static str {
        self.name
    }

    /// The stored bytes of `key` (the versioned store's access to its backend).
    pub(super) fn get_bytes(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(key, |v| v.map(<[u8]>::to_vec))
    }

    /// Writes (or with `None` deletes) `key`'s bytes as they are, logging the write if the store
    /// is logged.
    pub(super) fn put_bytes(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<(), StoreError> {
        self.key_buf.clear();
        self.key_buf.extend_from_slice(key);
        self.value_buf.clear();
        if let Some(v) = value {
            self.value_buf.extend_from_slice(v);
        }
        self.write(value.is_some())?;
        Ok(())
    }

    /// The entries with keys in `from..to`, in key order (or reversed).
    pub(super) fn scan_bytes(
        &self,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        reverse: bool,
    ) -> Result<Vec<Entry>, StoreError> {
        self.scan(from, to, reverse)
    }

    /// Reads the value of the key in the scratch key buffer.
    pub(super) fn get_at_key_buf<R>(&self, read: impl FnOnce(Option<&[u8]>) -> R) -> Result<R, StoreError> {
        self.get(&self.key_buf, read)
    }

    fn get<R>(&self, key: &[u8], read: impl FnOnce(Option<&[u8]>) -> R) -> Result<R, StoreError> {
        read_stored(&self.backend, self.uncommitted.as_ref(), key, read)
    }

    /// Writes the scratch key and value (or deletes the key when `value` is `false`), logging it;
    /// through the cache in a caching store, with the context of the record being processed.
    fn write(&mut self, value: bool) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(cache) = &self.cache {
            let context = cache.record_context();
            return self.write_cached(value, context);
        }
        let old = if self.uncommitted.is_some() {
            // Deletes return the old value; the transaction's view has it.
            let old = if value {
                None
            } else {
                self.get(&self.key_buf, |b| b.map(<[u8]>::to_vec))?
            };
            let KvStoreInner {
                uncommitted: Some(uncommitted),
                key_buf,
                value_buf,
                ..
            } = self
            else {
                unreachable!("checked above")
            };
            uncommitted.put(key_buf, value.then_some(value_buf.as_slice()));
            old
        } else {
            self.write_backend(value)?
        };
        if let Some(log) = &mut self.changelog {
            log_write(
                log,
                self.timestamped,
                &self.key_buf,
                value.then_some(self.value_buf.as_slice()),
                None,
            );
        }
        Ok(old)
    }

    /// Writes the scratch key and value straight to the backend.
    fn write_backend(&mut self, value: bool) -> Result<Option<Vec<u8>>, StoreError> {
        let KvStoreInner {
            backend,
            key_buf,
            value_buf,
            ..
        } = self;
        let old = match (backend, value) {
            (Backend::Memory(m), true) => {
                m.put(key_buf, value_buf);
                None
            }
            (Backend::Memory(m), false) => m.delete(key_buf),
            #[cfg(feature = "rocksdb")]
            (Backend::RocksDb(db), true) => {
                db.put(key_buf, value_buf)?;
                None
            }
            #[cfg(feature = "rocksdb")]
            (Backend::RocksDb(db), false) => db.delete(key_buf)?,
        };
        Ok(old)
    }

    fn scan(&self, from: Bound<&[u8]>, to: Bound<&[u8]>, reverse: bool) -> Result<Vec<Entry>, StoreError> {
        let committed = match &self.backend {
            Backend::Memory(m) => m.scan(from, to, reverse),
            #[cfg(feature = "rocksdb")]
            Backend::RocksDb(db) => db.scan(from, to, reverse)?,
        };
        Ok(match &self.uncommitted {
            Some(u) => u.overlay_range(committed, from, to, reverse),
            None => committed,
        })
    }

    fn prefix_scan(&self, prefix: &[u8]) -> Result<Vec<Entry>, StoreError> {
        let committed = match &self.backend {
            Backend::Memory(m) => m.prefix_scan(prefix),
            #[cfg(feature = "rocksdb")]
            Backend::RocksDb(db) => db.prefix_scan(prefix)?,
        };
        Ok(match &self.uncommitted {
            Some(u) => u.overlay_prefix(committed, prefix),
            None => committed,
        })
    }

    fn approximate_num_entries(&self) -> Result<u64, StoreError> {
        let committed = match &self.backend {
            Backend::Memory(m) => m.len(),
            #[cfg(feature = "rocksdb")]
            Backend::RocksDb(db) => db.approximate_num_entries()?,
        };
        let Some(uncommitted) = &self.uncommitted else {
            return Ok(committed);
        };
        let mut entries = committed;
        for (key, present) in uncommitted.keys() {
            let existed = match &self.backend {
                Backend::Memory(m) => m.get(key).is_some(),
                #[cfg(feature = "rocksdb")]
                Backend::RocksDb(db) => db.get(key, |v| v.is_some())?,
            };
            match (existed, present) {
                (false, true) => entries += 1,
                (true, false) => entries = entries.saturating_sub(1),
                _ => {}
            }
        }
        Ok(entries)
    }
}

/// A typed key-value store handle (Java's `KeyValueStore<K, V>`).
///
/// Declare it as a `#[store]` field of a processor; the serdes default to the key and value
/// types' default serdes. Clones share the same store. Writing a value that serializes to null
/// (`None` of an `Option` value) deletes the key, as `put(key, null)` does in Java.
pub struct KeyValueStore<K, V, KS = SerdeOf<K>, VS = SerdeOf<V>> {
    inner: Rc<RefCell<KvStoreInner>>,
    /// Whether the store counts its operations (read once: no borrow per call to find out).
    metered: bool,
    key_serde: KS,
    value_serde: VS,
    types: PhantomData<fn(K) -> V>,
}

impl<K, V, KS: Clone, VS: Clone> Clone for KeyValueStore<K, V, KS, VS> {
    fn clone(&self) -> Self {
        KeyValueStore {
            inner: Rc::clone(&self.inner),
            metered: self.metered,
            key_serde: self.key_serde.clone(),
            value_serde: self.value_serde.clone(),
            types: PhantomData,
        }
    }
}

impl<K, V, KS, VS> std::fmt::Debug for KeyValueStore<K, V, KS, VS> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyValueStore")
            .field("name", &self.inner.borrow().name)
            .finish()
    }
}

impl<K, V, KS: Serde<K>, VS: Serde<V>> StoreHandle for KeyValueStore<K, V, KS, VS> {
    const KIND: StoreKind = StoreKind::KeyValue;

    fn bind(instance: &StoreInstance) -> Option<Self> {
        match &instance.0 {
            Instance::KeyValue(inner) => Some(KeyValueStore {
                inner: Rc::clone(inner),
                metered: inner.borrow().ops.is_on(),
                key_serde: KS::default(),
                value_serde: VS::default(),
                types: PhantomData,
            }),
            _ => None,
        }
    }
}

fn bound<'a, T>(b: Option<&T>, buf: &'a [u8]) -> Bound<&'a [u8]> {
    match b {
        Some(_) => Bound::Included(buf),
        None => Bound::Unbounded,
    }
}

impl<K, V, KS: Serde<K>, VS: Serde<V>> KeyValueStore<K, V, KS, VS> {
    /// The store's name.
    pub fn name(&self) -> &'static str {
        self.inner.borrow().name
    }

    fn encode_key(&self, inner: &mut KvStoreInner, key: &K) -> Result<(), StoreError> {
        inner.key_buf.clear();
        self.key_serde
            .serialize(key, &mut inner.key_buf)
            .map_err(serde_error(inner.name))?;
        Ok(())
    }

    /// Serializes the value into the scratch buffer (behind `timestamp` in a timestamped store);
    /// `false` when it is null.
    fn encode_value(&self, inner: &mut KvStoreInner, value: &V, timestamp: i64) -> Result<bool, StoreError> {
        inner.value_buf.clear();
        if inner.timestamped {
            inner.value_buf.extend_from_slice(&timestamp.to_be_bytes());
        }
        let encoded = self
            .value_serde
            .serialize(value, &mut inner.value_buf)
            .map_err(serde_error(inner.name))?;
        Ok(encoded == Encoded::Bytes)
    }

    fn decode_value(&self, layout: Layout, bytes: Option<&[u8]>) -> Result<Option<V>, StoreError> {
        Ok(self.decode_stored(layout, bytes)?.map(|(value, _)| value))
    }

    /// A stored value and its timestamp (`NO_TIMESTAMP` in a store without timestamps).
    fn decode_stored(&self, layout: Layout, bytes: Option<&[u8]>) -> Result<Option<(V, i64)>, StoreError> {
        let Some(stored) = bytes else { return Ok(None) };
        let (timestamp, bytes) = layout.split(stored)?;
        let value = self
            .value_serde
            .deserialize(Some(bytes))
            .map_err(serde_error(layout.store))?;
        Ok(Some((value, timestamp)))
    }

    /// Runs `run`, counted as a call of `op` when the store counts its operations.
    #[inline]
    fn metered<R>(&self, op: StoreOp, run: impl FnOnce() -> R) -> R {
        super::store_ops::metered(self.metered, &self.inner, op, run)
    }

    /// The value for `key`, if any.
    pub fn get(&self, key: &K) -> Result<Option<V>, StoreError> {
        self.metered(StoreOp::Get, || self.get_unmetered(key))
    }

    fn get_unmetered(&self, key: &K) -> Result<Option<V>, StoreError> {
        let mut inner = self.inner.borrow_mut();
        self.encode_key(&mut inner, key)?;
        let layout = inner.layout();
        inner.read_key_buf(|bytes| self.decode_value(layout, bytes))?
    }

    /// The value for `key` with the timestamp kept with it (Java's `ValueAndTimestamp`; in a store
    /// without timestamps, or for a value written without one, the timestamp is -1).
    pub fn get_with_timestamp(&self, key: &K) -> Result<Option<(V, i64)>, StoreError> {
        self.metered(StoreOp::Get, || {
            let mut inner = self.inner.borrow_mut();
            self.encode_key(&mut inner, key)?;
            let layout = inner.layout();
            inner.read_key_buf(|bytes| self.decode_stored(layout, bytes))?
        })
    }

    /// Writes `value` for `key` (deletes the key if the value serializes to null).
    pub fn put(&self, key: &K, value: &V) -> Result<(), StoreError> {
        self.metered(StoreOp::Put, || self.put_unmetered(key, value))
    }

    fn put_unmetered(&self, key: &K, value: &V) -> Result<(), StoreError> {
        let mut inner = self.inner.borrow_mut();
        self.encode_key(&mut inner, key)?;
        let present = self.encode_value(&mut inner, value, NO_TIMESTAMP)?;
        inner.write(present)?;
        Ok(())
    }

    /// Reads the value for `key`, computes the new one from it with `f`, writes that (`None`
    /// deletes), and returns the change from old to new; the key is serialized once. `Ok(None)` when the key
    /// serializes to null: such a record cannot be stored and is skipped, as in Java.
    pub fn update(&self, key: &K, f: impl FnOnce(Option<V>) -> Option<V>) -> Result<Option<Change<V>>, StoreError>
    where
        V: Clone,
    {
        let change = self.update_timestamped(key, |old| (f(old.map(|(v, _)| v)), NO_TIMESTAMP))?;
        Ok(change.map(|(change, _)| change))
    }

    /// Like [`update`](Self::update), for a store that keeps a timestamp with each value (the
    /// DSL's tables and aggregations): `f` gets the old value with its timestamp and returns the
    /// new value with the timestamp to keep; the change comes back with that timestamp.
    pub fn update_timestamped(
        &self,
        key: &K,
        f: impl FnOnce(Option<(V, i64)>) -> (Option<V>, i64),
    ) -> Result<Option<(Change<V>, i64)>, StoreError>
    where
        V: Clone,
    {
        let mut inner = self.inner.borrow_mut();
        inner.key_buf.clear();
        let encoded = self
            .key_serde
            .serialize(key, &mut inner.key_buf)
            .map_err(serde_error(inner.name))?;
        if encoded == Encoded::Null {
            return Ok(None);
        }
        // (A store counting its operations reads and writes apart, each counted as Java's
        // aggregations count their `get` and `put`.)
        let in_place = matches!(inner.backend, Backend::Memory(_))
            && inner.uncommitted.is_none()
            && inner.cache.is_none()
            && !inner.ops.is_on();
        let change = if in_place {
            self.update_in_memory(&mut inner, f)?
        } else {
            self.update_by_get_put(&mut inner, f)?
        };
        Ok(Some(change))
    }

    /// The in-memory update: reads and rewrites an existing entry with one B-tree lookup.
    #[allow(irrefutable_let_patterns)] // without the `rocksdb` feature, memory is the only backend
    fn update_in_memory(
        &self,
        inner: &mut KvStoreInner,
        f: impl FnOnce(Option<(V, i64)>) -> (Option<V>, i64),
    ) -> Result<(Change<V>, i64), StoreError>
    where
        V: Clone,
    {
        let KvStoreInner {
            name,
            backend: Backend::Memory(map),
            changelog,
            key_buf,
            value_buf,
            uncommitted: None,
            cache: None,
            timestamped,
            ..
        } = inner
        else {
            return self.update_by_get_put(inner, f);
        };
        let name = *name;
        let (old, slot) = match map.slot(key_buf) {
            Some(slot) => (
                self.decode_stored(
                    Layout {
                        store: name,
                        timestamped: *timestamped,
                    },
                    Some(slot),
                )?,
                Some(slot),
            ),
            None => (None, None),
        };
        let (new, timestamp) = f(old.clone());
        let old = old.map(|(v, _)| v);
        value_buf.clear();
        if *timestamped {
            value_buf.extend_from_slice(&timestamp.to_be_bytes());
        }
        let present = match &new {
            Some(v) => self.value_serde.serialize(v, value_buf).map_err(serde_error(name))? == Encoded::Bytes,
            None => false,
        };
        match (slot, present) {
            (Some(slot), true) => {
                slot.clear();
                slot.extend_from_slice(value_buf);
            }
            (None, true) => map.put(key_buf, value_buf),
            (Some(_), false) => {
                map.delete(key_buf);
            }
            (None, false) => return Ok((Change { new, old }, timestamp)),
        }
        if let Some(log) = changelog {
            log_write(
                log,
                *timestamped,
                key_buf,
                present.then_some(value_buf.as_slice()),
                None,
            );
        }
        Ok((Change { new, old }, timestamp))
    }

    /// The backend-independent update: a lookup, then a write.
    fn update_by_get_put(
        &self,
        inner: &mut KvStoreInner,
        f: impl FnOnce(Option<(V, i64)>) -> (Option<V>, i64),
    ) -> Result<(Change<V>, i64), StoreError>
    where
        V: Clone,
    {
        let layout = inner.layout();
        let started = inner.ops.started();
        let old = inner.read_key_buf(|bytes| self.decode_stored(layout, bytes))??;
        inner.ops.done(StoreOp::Get, started);
        let (new, timestamp) = f(old.clone());
        let old = old.map(|(v, _)| v);
        let started = inner.ops.started();
        let present = match &new {
            Some(v) => self.encode_value(inner, v, timestamp)?,
            None => false,
        };
        if present || old.is_some() {
            inner.write(present)?;
            inner.ops.done(StoreOp::Put, started);
        }
        Ok((Change { new, old }, timestamp))
    }

    /// Writes `value` only if `key` has no value; returns the existing value otherwise.
    pub fn put_if_absent(&self, key: &K, value: &V) -> Result<Option<V>, StoreError> {
        self.metered(StoreOp::PutIfAbsent, || {
            let existing = self.get_unmetered(key)?;
            if existing.is_none() {
                self.put_unmetered(key, value)?;
            }
            Ok(existing)
        })
    }

    /// Writes every entry, in order.
    pub fn put_all<'a>(&self, entries: impl IntoIterator<Item = &'a (K, V)>) -> Result<(), StoreError>
    where
        K: 'a,
        V: 'a,
    {
        self.metered(StoreOp::PutAll, || {
            entries.into_iter().try_for_each(|(k, v)| self.put_unmetered(k, v))
        })
    }

    /// Deletes `key`; returns the value it had.
    pub fn delete(&self, key: &K) -> Result<Option<V>, StoreError> {
        self.metered(StoreOp::Delete, || {
            let mut inner = self.inner.borrow_mut();
            self.encode_key(&mut inner, key)?;
            let layout = inner.layout();
            let old = inner.write(false)?;
            self.decode_value(layout, old.as_deref())
        })
    }

    /// Entries with `from <= key <= to` in serialized-key order; `None` leaves a side open.
    /// Empty when `from > to`, as in Java.
    pub fn range(&self, from: Option<&K>, to: Option<&K>) -> Result<KeyValueIterator<K, V, KS, VS>, StoreError> {
        self.metered(StoreOp::Range, || self.scan(from, to, false))
    }

    /// Like [`range`](Self::range), in descending key order.
    pub fn reverse_range(
        &self,
        from: Option<&K>,
        to: Option<&K>,
    ) -> Result<KeyValueIterator<K, V, KS, VS>, StoreError> {
        self.metered(StoreOp::Range, || self.scan(from, to, true))
    }

    /// Every entry in ascending serialized-key order.
    pub fn all(&self) -> Result<KeyValueIterator<K, V, KS, VS>, StoreError> {
        self.metered(StoreOp::All, || self.scan(None, None, false))
    }

    /// Every entry in descending serialized-key order.
    pub fn reverse_all(&self) -> Result<KeyValueIterator<K, V, KS, VS>, StoreError> {
        self.metered(StoreOp::All, || self.scan(None, None, true))
    }

    fn scan(
        &self,
        from: Option<&K>,
        to: Option<&K>,
        reverse: bool,
    ) -> Result<KeyValueIterator<K, V, KS, VS>, StoreError> {
        let mut inner = self.inner.borrow_mut();
        let name = inner.name;
        let encode = |k: Option<&K>| -> Result<Vec<u8>, StoreError> {
            let mut buf = Vec::new();
            if let Some(k) = k {
                self.key_serde.serialize(k, &mut buf).map_err(serde_error(name))?;
            }
            Ok(buf)
        };
        let (from_bytes, to_bytes) = (encode(from)?, encode(to)?);
        let entries = if from.is_some() && to.is_some() && from_bytes > to_bytes {
            Vec::new()
        } else {
            let range = (bound(from, &from_bytes), bound(to, &to_bytes));
            let entries = inner.scan(range.0, range.1, reverse)?;
            match &mut inner.cache {
                Some(cache) => cache.overlay(entries, range, reverse),
                None => entries,
            }
        };
        Ok(self.iter(inner.layout(), entries))
    }

    /// Entries whose serialized key starts with the serialized `prefix`, in ascending order.
    pub fn prefix_scan<P, PS: Serde<P>>(
        &self,
        prefix: &P,
        prefix_serde: &PS,
    ) -> Result<KeyValueIterator<K, V, KS, VS>, StoreError> {
        self.metered(StoreOp::PrefixScan, || {
            let mut inner = self.inner.borrow_mut();
            let mut buf = Vec::new();
            prefix_serde
                .serialize(prefix, &mut buf)
                .map_err(serde_error(inner.name))?;
            let entries = inner.prefix_scan(&buf)?;
            let entries = match &mut inner.cache {
                Some(cache) => cache.overlay_prefix(entries, &buf),
                None => entries,
            };
            Ok(self.iter(inner.layout(), entries))
        })
    }

    /// The number of entries (exact in memory, RocksDB's estimate on disk).
    pub fn approximate_num_entries(&self) -> Result<u64, StoreError> {
        self.inner.borrow().approximate_num_entries()
    }

    /// An integer property of the store's RocksDB database, as Java's RocksDB store metrics
    /// read them (`rocksdb.block-cache-capacity`, `rocksdb.block-cache-usage`,
    /// `rocksdb.estimate-num-keys`, `rocksdb.cur-size-all-mem-tables`, ...); `None` for an
    /// in-memory store or a property RocksDB does not know.
    #[cfg(feature = "rocksdb")]
    pub fn rocksdb_property(&self, property: &str) -> Result<Option<u64>, StoreError> {
        self.inner.borrow().rocksdb_property(property)
    }

    /// How many times the store's uncommitted writes were dropped (exactly-once aborts): state
    /// kept beside the store must be rebuilt when this changes.
    pub(crate) fn aborts(&self) -> u64 {
        self.inner.borrow().aborts
    }

    /// Flushes the store's record cache (if it caches) and then buffered writes to the backend,
    /// as Java's caching store's `flush` does.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.metered(StoreOp::Flush, || {
            let mut inner = self.inner.borrow_mut();
            inner.flush_cache()?;
            inner.flush()
        })
    }

    fn iter(&self, layout: Layout, entries: Vec<Entry>) -> KeyValueIterator<K, V, KS, VS> {
        KeyValueIterator {
            layout,
            entries: entries.into_iter(),
            key_serde: self.key_serde.clone(),
            value_serde: self.value_serde.clone(),
            types: PhantomData,
        }
    }
}

/// The record cache seen from the DSL operator that owns a caching store (Java's
/// `TimestampedTupleForwarder` with a flush listener): its updates go into the cache, and what a
/// flush writes is forwarded by the operator.
impl<K, V, KS: Serde<K>, VS: Serde<V>> KeyValueStore<K, V, KS, VS> {
    /// The store's index in its task's store set if it caches (`None`: writes go to the store).
    pub(crate) fn cache_index(&self) -> Option<usize> {
        self.inner.borrow().cache.as_ref().map(NamedCache::store)
    }

    /// Keeps what flushes of the store's cache write, for [`drain_flushed`](Self::drain_flushed),
    /// with the store's previous values if `send_old_values` (else only a delete's).
    pub(crate) fn forward_cache_flushes(&self, send_old_values: bool) {
        if let Some(cache) = &mut self.inner.borrow_mut().cache {
            cache.forward_flushes(send_old_values);
        }
    }

    /// Like [`update_timestamped`](Self::update_timestamped) for a caching store: the new value
    /// (a delete too, as Java's caching store keeps it) goes into the cache with the context of
    /// the write, and is forwarded when a flush writes it. `false` when the key serializes to
    /// null (the record is skipped).
    pub(crate) fn update_in_cache(
        &self,
        key: &K,
        f: impl FnOnce(Option<(V, i64)>) -> (Option<V>, i64),
        context: EntryContext,
    ) -> Result<bool, StoreError> {
        let mut inner = self.inner.borrow_mut();
        inner.key_buf.clear();
        let encoded = self
            .key_serde
            .serialize(key, &mut inner.key_buf)
            .map_err(serde_error(inner.name))?;
        if encoded == Encoded::Null {
            return Ok(false);
        }
        let layout = inner.layout();
        let started = inner.ops.started();
        let (old, slot) = inner.read_cached_slot(|bytes| self.decode_stored(layout, bytes))?;
        inner.ops.done(StoreOp::Get, started);
        let (new, timestamp) = f(old?);
        let started = inner.ops.started();
        let present = match &new {
            Some(v) => self.encode_value(&mut inner, v, timestamp)?,
            None => false,
        };
        inner.put_cached_at(slot, present, context)?;
        inner.ops.done(StoreOp::Put, started);
        Ok(true)
    }

    /// Writes the dirty entries of the store's cache to the store.
    pub(crate) fn flush_cache(&self) -> Result<(), StoreError> {
        self.inner.borrow_mut().flush_cache()
    }

    /// Keeps `key` and `value`, just written through the cache by
    /// [`update_in_cache`](Self::update_in_cache), in `last` with their bytes, for
    /// [`drain_flushed`](Self::drain_flushed). The typed value is forwarded as it was computed,
    /// as the uncached path forwards it (a serde that does not round-trip a value gives the same
    /// output both ways).
    pub(crate) fn remember_write(&self, last: &mut LastWrite<K, V>, key: K, value: V) {
        let inner = self.inner.borrow();
        last.key.clear();
        last.key.extend_from_slice(&inner.key_buf);
        last.value.clear();
        last.value.extend_from_slice(&inner.value_buf);
        last.entry = Some((key, value));
    }

    /// Hands every update flushes of the store's cache wrote since the last call to `forward`,
    /// in flush order: the key, the change (from the store's previous value if old values are
    /// sent), the timestamp (the new value's own, else that of the write) and the context of the
    /// write. The update that is `last`'s write (same key and value bytes) is forwarded with
    /// `last`'s typed key and value.
    pub(crate) fn drain_flushed(
        &self,
        last: &mut LastWrite<K, V>,
        mut forward: impl FnMut(K, Change<V>, i64, EntryContext) -> Result<(), ProcessingError>,
    ) -> Result<(), ProcessingError> {
        let (mut flushed, layout) = {
            let mut inner = self.inner.borrow_mut();
            let layout = inner.layout();
            match &mut inner.cache {
                Some(cache) if cache.has_flushed() => (std::mem::take(cache.flushed_mut()), layout),
                _ => return Ok(()),
            }
        };
        // The store is not borrowed while forwarding: operators downstream may read it.
        let mut result = Ok(());
        for update in &mut flushed.updates {
            let bytes = |r: &std::ops::Range<usize>| &flushed.bytes[r.clone()];
            // The operator's last write, when this is it (same key and value bytes): forwarded
            // as written, without deserializing it again.
            let written = match (&update.new, &last.entry) {
                (Some(new), Some(_)) if last.key == bytes(&update.key) && last.value == bytes(new) => last.entry.take(),
                _ => None,
            };
            let decode = || -> Result<(K, Change<V>, i64), StoreError> {
                let (key, new) = match written {
                    Some((key, value)) => {
                        let stored = update.new.as_ref().map(bytes).unwrap_or_default();
                        (key, Some((value, layout.split(stored)?.0)))
                    }
                    None => (
                        self.key_serde
                            .deserialize(Some(bytes(&update.key)))
                            .map_err(serde_error(layout.store))?,
                        self.decode_stored(layout, update.new.as_ref().map(bytes))?,
                    ),
                };
                let old = self.decode_stored(layout, update.old.as_ref().map(bytes))?;
                let timestamp = match &new {
                    Some((_, ts)) if layout.timestamped => *ts,
                    _ => update.context.timestamp,
                };
                let change = Change::new(new.map(|(v, _)| v), old.map(|(v, _)| v));
                Ok((key, change, timestamp))
            };
            let context = EntryContext {
                headers: std::mem::take(&mut update.context.headers),
                ..update.context
            };
            result = decode()
                .map_err(ProcessingError::from)
                .and_then(|(key, change, timestamp)| forward(key, change, timestamp, context));
            if result.is_err() {
                break;
            }
        }
        flushed.clear();
        if let Some(cache) = &mut self.inner.borrow_mut().cache
            && !cache.has_flushed()
        {
            *cache.flushed_mut() = flushed;
        }
        result
    }
}

/// The entries of a range, deserialized as they are read. It holds a snapshot taken when the
/// range was asked for, so the store may be written while iterating.
pub struct KeyValueIterator<K, V, KS, VS> {
    layout: Layout,
    entries: std::vec::IntoIter<Entry>,
    key_serde: KS,
    value_serde: VS,
    types: PhantomData<fn(K) -> V>,
}

impl<K, V, KS: Serde<K>, VS: Serde<V>> Iterator for KeyValueIterator<K, V, KS, VS> {
    type Item = Result<(K, V), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (k, v) = self.entries.next()?;
        let decode = || -> Result<(K, V), StoreError> {
            let store = self.layout.store;
            let key = self.key_serde.deserialize(Some(&k)).map_err(serde_error(store))?;
            let (_, v) = self.layout.split(&v)?;
            let value = self.value_serde.deserialize(Some(v)).map_err(serde_error(store))?;
            Ok((key, value))
        };
        Some(decode())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}
