//! Key-value stores: the byte-level store of a task and the typed handle processors use
//! (Java's `KeyValueStore`).

use super::memory::{Entry, InMemoryKvStore};
#[cfg(feature = "rocksdb")]
use super::rocks::RocksDbKvStore;
use super::uncommitted::Uncommitted;
use super::{ChangelogBuffer, Instance, StoreContext, StoreHandle, StoreInstance, StoreKind, StoreSpec, serde_error};
use crate::dsl::Change;
use crate::error::StoreError;
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
    pub(super) key_buf: Vec<u8>,
    value_buf: Vec<u8>,
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
/// becomes the changelog record's timestamp, as in Java.
pub(super) fn log_write(log: &mut ChangelogBuffer, timestamped: bool, key: &[u8], value: Option<&[u8]>) {
    match value.and_then(|v| v.split_first_chunk::<TIMESTAMP_LEN>()) {
        Some((ts, value)) if timestamped => {
            let ts = i64::from_be_bytes(*ts);
            log.record(key, Some(value), (ts != NO_TIMESTAMP).then_some(ts));
        }
        _ => log.record(key, value, None),
    }
}

impl KvStoreInner {
    pub(super) fn open(spec: &StoreSpec, context: &StoreContext) -> Result<Self, StoreError> {
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
            key_buf: Vec::new(),
            value_buf: Vec::new(),
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
            key_buf: Vec::new(),
            value_buf: Vec::new(),
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
                "persistent store needs streams-runtime's `rocksdb` feature; enable it or declare the store in_memory",
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

    /// Drops the transaction's writes (exactly-once abort): the store is as at the last commit.
    pub(super) fn abort_writes(&mut self) {
        if let Some(uncommitted) = &mut self.uncommitted {
            uncommitted.clear();
            self.aborts += 1;
        }
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
        if let Some(written) = self.uncommitted.as_ref().and_then(|u| u.get(key)) {
            return Ok(read(written));
        }
        match &self.backend {
            Backend::Memory(m) => Ok(read(m.get(key))),
            #[cfg(feature = "rocksdb")]
            Backend::RocksDb(db) => db.get(key, read),
        }
    }

    /// Writes the scratch key and value (or deletes the key when `value` is `None`), logging it.
    fn write(&mut self, value: bool) -> Result<Option<Vec<u8>>, StoreError> {
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
    key_serde: KS,
    value_serde: VS,
    types: PhantomData<fn(K) -> V>,
}

impl<K, V, KS: Clone, VS: Clone> Clone for KeyValueStore<K, V, KS, VS> {
    fn clone(&self) -> Self {
        KeyValueStore {
            inner: Rc::clone(&self.inner),
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

    /// The value for `key`, if any.
    pub fn get(&self, key: &K) -> Result<Option<V>, StoreError> {
        let mut inner = self.inner.borrow_mut();
        self.encode_key(&mut inner, key)?;
        let layout = inner.layout();
        inner.get(&inner.key_buf, |bytes| self.decode_value(layout, bytes))?
    }

    /// The value for `key` with the timestamp kept with it (Java's `ValueAndTimestamp`; in a store
    /// without timestamps, or for a value written without one, the timestamp is -1).
    pub fn get_with_timestamp(&self, key: &K) -> Result<Option<(V, i64)>, StoreError> {
        let mut inner = self.inner.borrow_mut();
        self.encode_key(&mut inner, key)?;
        let layout = inner.layout();
        inner.get(&inner.key_buf, |bytes| self.decode_stored(layout, bytes))?
    }

    /// Writes `value` for `key` (deletes the key if the value serializes to null).
    pub fn put(&self, key: &K, value: &V) -> Result<(), StoreError> {
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
        let change = if matches!(inner.backend, Backend::Memory(_)) && inner.uncommitted.is_none() {
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
            log_write(log, *timestamped, key_buf, present.then_some(value_buf.as_slice()));
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
        let old = inner.get(&inner.key_buf, |bytes| self.decode_stored(layout, bytes))??;
        let (new, timestamp) = f(old.clone());
        let old = old.map(|(v, _)| v);
        let present = match &new {
            Some(v) => self.encode_value(inner, v, timestamp)?,
            None => false,
        };
        if present || old.is_some() {
            inner.write(present)?;
        }
        Ok((Change { new, old }, timestamp))
    }

    /// Writes `value` only if `key` has no value; returns the existing value otherwise.
    pub fn put_if_absent(&self, key: &K, value: &V) -> Result<Option<V>, StoreError> {
        let existing = self.get(key)?;
        if existing.is_none() {
            self.put(key, value)?;
        }
        Ok(existing)
    }

    /// Writes every entry, in order.
    pub fn put_all<'a>(&self, entries: impl IntoIterator<Item = &'a (K, V)>) -> Result<(), StoreError>
    where
        K: 'a,
        V: 'a,
    {
        entries.into_iter().try_for_each(|(k, v)| self.put(k, v))
    }

    /// Deletes `key`; returns the value it had.
    pub fn delete(&self, key: &K) -> Result<Option<V>, StoreError> {
        let mut inner = self.inner.borrow_mut();
        self.encode_key(&mut inner, key)?;
        let layout = inner.layout();
        let old = inner.write(false)?;
        self.decode_value(layout, old.as_deref())
    }

    /// Entries with `from <= key <= to` in serialized-key order; `None` leaves a side open.
    /// Empty when `from > to`, as in Java.
    pub fn range(&self, from: Option<&K>, to: Option<&K>) -> Result<KeyValueIterator<K, V, KS, VS>, StoreError> {
        self.scan(from, to, false)
    }

    /// Like [`range`](Self::range), in descending key order.
    pub fn reverse_range(
        &self,
        from: Option<&K>,
        to: Option<&K>,
    ) -> Result<KeyValueIterator<K, V, KS, VS>, StoreError> {
        self.scan(from, to, true)
    }

    /// Every entry in ascending serialized-key order.
    pub fn all(&self) -> Result<KeyValueIterator<K, V, KS, VS>, StoreError> {
        self.scan(None, None, false)
    }

    /// Every entry in descending serialized-key order.
    pub fn reverse_all(&self) -> Result<KeyValueIterator<K, V, KS, VS>, StoreError> {
        self.scan(None, None, true)
    }

    fn scan(
        &self,
        from: Option<&K>,
        to: Option<&K>,
        reverse: bool,
    ) -> Result<KeyValueIterator<K, V, KS, VS>, StoreError> {
        let inner = self.inner.borrow();
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
            inner.scan(bound(from, &from_bytes), bound(to, &to_bytes), reverse)?
        };
        Ok(self.iter(inner.layout(), entries))
    }

    /// Entries whose serialized key starts with the serialized `prefix`, in ascending order.
    pub fn prefix_scan<P, PS: Serde<P>>(
        &self,
        prefix: &P,
        prefix_serde: &PS,
    ) -> Result<KeyValueIterator<K, V, KS, VS>, StoreError> {
        let inner = self.inner.borrow();
        let mut buf = Vec::new();
        prefix_serde
            .serialize(prefix, &mut buf)
            .map_err(serde_error(inner.name))?;
        let entries = inner.prefix_scan(&buf)?;
        Ok(self.iter(inner.layout(), entries))
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

    /// Flushes buffered writes to the backend.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.inner.borrow().flush()
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
