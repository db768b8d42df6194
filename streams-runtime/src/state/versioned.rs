//! Versioned key-value stores (Java's `VersionedKeyValueStore`, KIP-889): every key keeps its
//! versions, each valid from its timestamp until the next one's, so a read can ask for the
//! value as of a time. Versions older than the history retention (by the store's observed
//! stream time) are dropped; a put older than that is refused (Java's `NOT_PUT`).
//!
//! The byte layout over an ordinary key-value backend (in memory or RocksDB, which gives both
//! backends and exactly-once rollback for free):
//! * the latest version: `0 ++ key` → `from ++ present ++ value`;
//! * older versions: `1 ++ len(key) ++ key ++ from` → `to ++ present ++ value`;
//! * their expiry index: `2 ++ to ++ len(key) ++ key ++ from` → empty,
//!
//! with 8-byte big-endian times, a 4-byte big-endian key length, and `present` 1 for a value and
//! 0 for a tombstone. The changelog carries Java's records: the key, the plain value (null for a
//! delete) and the put's timestamp as the record's; restoring replays the puts.

use super::changelog::ChangelogBuffer;
use super::key_value::KvStoreInner;
use super::{Instance, StoreContext, StoreHandle, StoreInstance, StoreKind, StoreSpec, serde_error};
use crate::error::StoreError;
use crate::serde::{Encoded, Serde, SerdeOf};
use crate::task::UNKNOWN_TIME;
use std::cell::RefCell;
use std::marker::PhantomData;
use std::ops::Bound;
use std::rc::Rc;

/// Java's `PUT_RETURN_CODE_VALID_TO_UNDEFINED`: the put made the latest version.
pub const PUT_LATEST: i64 = -1;
/// Java's `PUT_RETURN_CODE_NOT_PUT`: the put was older than the history retention.
pub const NOT_PUT: i64 = i64::MIN;

const LATEST: u8 = 0;
const HISTORY: u8 = 1;
const EXPIRY: u8 = 2;

/// One version as stored: when it became valid, and its value (`None`: a tombstone).
struct Version {
    from: i64,
    value: Option<Vec<u8>>,
}

fn encode_version(time: i64, value: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + value.map_or(0, <[u8]>::len));
    out.extend_from_slice(&time.to_be_bytes());
    out.push(u8::from(value.is_some()));
    out.extend_from_slice(value.unwrap_or_default());
    out
}

fn decode_version(store: &'static str, bytes: &[u8]) -> Result<(i64, Option<Vec<u8>>), StoreError> {
    let corrupt = || StoreError::Serde {
        store,
        source: crate::serde::SerdeError::WrongSize {
            type_name: "versioned value",
            expected: 9,
            actual: bytes.len(),
        },
    };
    let (time, rest) = bytes.split_first_chunk::<8>().ok_or_else(corrupt)?;
    let (&present, value) = rest.split_first().ok_or_else(corrupt)?;
    Ok((i64::from_be_bytes(*time), (present == 1).then(|| value.to_vec())))
}

fn latest_key(key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + key.len());
    k.push(LATEST);
    k.extend_from_slice(key);
    k
}

/// `1 ++ len ++ key` (the prefix of a key's older versions), then `from` if given.
fn history_key(key: &[u8], from: Option<i64>) -> Vec<u8> {
    let mut k = Vec::with_capacity(13 + key.len());
    k.push(HISTORY);
    k.extend_from_slice(&(key.len() as u32).to_be_bytes());
    k.extend_from_slice(key);
    if let Some(from) = from {
        k.extend_from_slice(&from.to_be_bytes());
    }
    k
}

fn expiry_key(to: i64, key: &[u8], from: i64) -> Vec<u8> {
    let mut k = Vec::with_capacity(21 + key.len());
    k.push(EXPIRY);
    k.extend_from_slice(&to.to_be_bytes());
    k.extend_from_slice(&(key.len() as u32).to_be_bytes());
    k.extend_from_slice(key);
    k.extend_from_slice(&from.to_be_bytes());
    k
}

/// A version as read: its value bytes, when it became valid, and when it stopped being valid
/// (`None`: it is the latest).
pub(super) type RawVersion = (Vec<u8>, i64, Option<i64>);

/// The byte-level versioned store of one task.
#[derive(Debug)]
pub struct VersionedStoreInner {
    name: &'static str,
    versions: KvStoreInner,
    changelog: Option<ChangelogBuffer>,
    history_retention_ms: i64,
    /// The largest timestamp accepted so far (Java's observed stream time), and its value at
    /// the last commit (restored on an exactly-once abort).
    observed: i64,
    committed_observed: i64,
    /// Puts refused as older than the history retention.
    expired: u64,
    /// The horizon at which expired versions are next looked for (Java drops whole segments;
    /// here the index is scanned once per segment interval of horizon progress).
    next_cleanup: i64,
}

/// Java's default segment interval of a versioned store with history retention `h` (ms).
fn segment_interval(h: i64) -> i64 {
    match h {
        h if h <= 60_000 => (h / 3).max(2_000),
        h if h <= 300_000 => (h / 5).max(20_000),
        h if h <= 3_600_000 => (h / 12).max(60_000),
        h => (h / 24).max(300_000),
    }
}

impl VersionedStoreInner {
    pub(super) fn open(spec: &StoreSpec, context: &StoreContext) -> Result<Self, StoreError> {
        let inner = StoreSpec {
            logging: false,
            timestamped: false,
            caching: false,
            ..*spec
        };
        Ok(Self::over(
            spec,
            // Without a cache, the store's index is not used.
            KvStoreInner::open(0, &inner, context)?,
            super::changelog_buffer(spec),
        ))
    }

    pub(super) fn unowned(spec: &StoreSpec) -> Self {
        Self::over(spec, KvStoreInner::unowned(spec), None)
    }

    fn over(spec: &StoreSpec, versions: KvStoreInner, changelog: Option<ChangelogBuffer>) -> Self {
        VersionedStoreInner {
            name: spec.name,
            versions,
            changelog,
            history_retention_ms: spec.retention_ms,
            observed: UNKNOWN_TIME,
            committed_observed: UNKNOWN_TIME,
            expired: 0,
            next_cleanup: i64::MIN,
        }
    }

    pub(super) fn changelog_mut(&mut self) -> Option<&mut ChangelogBuffer> {
        self.changelog.as_mut()
    }

    /// The oldest time history still answers for.
    fn horizon(&self) -> i64 {
        self.observed.saturating_sub(self.history_retention_ms)
    }

    fn latest(&self, key: &[u8]) -> Result<Option<Version>, StoreError> {
        self.versions
            .get_bytes(&latest_key(key))?
            .map(|bytes| decode_version(self.name, &bytes).map(|(from, value)| Version { from, value }))
            .transpose()
    }

    /// Writes `value` (`None`: a tombstone) for `key` valid from `timestamp`; returns when the
    /// version stops being valid (the next version's time), [`PUT_LATEST`] if it is the latest,
    /// or [`NOT_PUT`] if it is older than the history retention. Logged as Java logs it.
    pub(super) fn put(&mut self, key: &[u8], value: Option<&[u8]>, timestamp: i64) -> Result<i64, StoreError> {
        if let Some(log) = &mut self.changelog {
            log.record(key, value, Some(timestamp));
        }
        self.apply(key, value, timestamp)
    }

    fn apply(&mut self, key: &[u8], value: Option<&[u8]>, timestamp: i64) -> Result<i64, StoreError> {
        if self.observed != UNKNOWN_TIME && timestamp < self.horizon() {
            self.expired += 1;
            tracing::warn!(
                store = self.name,
                timestamp,
                observed = self.observed,
                "Skipping record for expired put."
            );
            return Ok(NOT_PUT);
        }
        if timestamp > self.observed {
            self.observed = timestamp;
            self.drop_expired()?;
        }
        let latest = self.latest(key)?;
        match latest {
            Some(latest) if timestamp < latest.from => self.put_in_history(key, value, timestamp, latest.from),
            latest => {
                if let Some(latest) = latest.filter(|l| l.from < timestamp) {
                    self.add_history(key, latest.from, timestamp, latest.value.as_deref())?;
                }
                self.versions
                    .put_bytes(&latest_key(key), Some(&encode_version(timestamp, value)))?;
                Ok(PUT_LATEST)
            }
        }
    }

    /// Adds the older version `[from, to)`, unless it has already expired.
    fn add_history(&mut self, key: &[u8], from: i64, to: i64, value: Option<&[u8]>) -> Result<(), StoreError> {
        if to <= self.horizon() {
            return Ok(());
        }
        self.versions
            .put_bytes(&history_key(key, Some(from)), Some(&encode_version(to, value)))?;
        self.versions.put_bytes(&expiry_key(to, key, from), Some(&[]))
    }

    fn remove_history(&mut self, key: &[u8], from: i64, to: i64) -> Result<(), StoreError> {
        self.versions.put_bytes(&history_key(key, Some(from)), None)?;
        self.versions.put_bytes(&expiry_key(to, key, from), None)
    }

    /// A put older than the latest version: it replaces the version starting at its time, or
    /// splits the version it falls in, or becomes the oldest.
    fn put_in_history(
        &mut self,
        key: &[u8],
        value: Option<&[u8]>,
        timestamp: i64,
        latest_from: i64,
    ) -> Result<i64, StoreError> {
        let prefix = history_key(key, None);
        let at = history_key(key, Some(timestamp));
        let older = self
            .versions
            .scan_bytes(Bound::Included(&prefix), Bound::Included(&at), true)?;
        if let Some((found_key, found)) = older.first() {
            let from = i64::from_be_bytes(found_key[found_key.len() - 8..].try_into().unwrap_or_default());
            let (to, old_value) = decode_version(self.name, found)?;
            if from == timestamp {
                self.add_history(key, from, to, value)?;
                return Ok(to);
            }
            if to > timestamp {
                // Split `[from, to)` at the put's time.
                self.remove_history(key, from, to)?;
                self.add_history(key, from, timestamp, old_value.as_deref())?;
                self.add_history(key, timestamp, to, value)?;
                return Ok(to);
            }
        }
        // Older than every older version (or there are none): valid until the next one.
        let mut end = prefix.clone();
        end.push(0xff);
        let newer = self
            .versions
            .scan_bytes(Bound::Excluded(&at), Bound::Excluded(&end), false)?;
        let to = newer
            .first()
            .map(|(k, _)| i64::from_be_bytes(k[k.len() - 8..].try_into().unwrap_or_default()))
            .unwrap_or(latest_from);
        self.add_history(key, timestamp, to, value)?;
        Ok(to)
    }

    /// Drops older versions whose validity ended at or before the history horizon.
    fn drop_expired(&mut self) -> Result<(), StoreError> {
        let horizon = self.horizon();
        if horizon < self.next_cleanup {
            return Ok(());
        }
        self.next_cleanup = horizon.saturating_add(segment_interval(self.history_retention_ms));
        let from = [EXPIRY];
        let mut to = vec![EXPIRY];
        to.extend_from_slice(&horizon.max(0).to_be_bytes());
        to.push(0xff);
        let expired = self
            .versions
            .scan_bytes(Bound::Included(&from[..]), Bound::Excluded(&to), false)?;
        for (index_key, _) in expired {
            let end = i64::from_be_bytes(index_key[1..9].try_into().unwrap_or_default());
            if end > horizon {
                break;
            }
            let len = u32::from_be_bytes(index_key[9..13].try_into().unwrap_or_default()) as usize;
            let key = &index_key[13..13 + len];
            let start = i64::from_be_bytes(index_key[13 + len..].try_into().unwrap_or_default());
            let key = key.to_vec();
            self.remove_history(&key, start, end)?;
        }
        Ok(())
    }

    /// The version of `key` valid at `as_of`.
    pub(super) fn get_as_of(&self, key: &[u8], as_of: i64) -> Result<Option<RawVersion>, StoreError> {
        let latest = self.latest(key)?;
        if let Some(latest) = &latest
            && latest.from <= as_of
        {
            return Ok(latest.value.clone().map(|v| (v, latest.from, None)));
        }
        if self.observed != UNKNOWN_TIME && as_of < self.horizon() {
            // History before the horizon is gone (Java: "Returning null for expired get.").
            return Ok(None);
        }
        let prefix = history_key(key, None);
        let at = history_key(key, Some(as_of));
        let older = self
            .versions
            .scan_bytes(Bound::Included(&prefix), Bound::Included(&at), true)?;
        let Some((found_key, found)) = older.first() else {
            return Ok(None);
        };
        let from = i64::from_be_bytes(found_key[found_key.len() - 8..].try_into().unwrap_or_default());
        let (to, value) = decode_version(self.name, found)?;
        Ok((as_of < to).then_some(value).flatten().map(|v| (v, from, Some(to))))
    }

    /// The latest version of `key`, if it is not a tombstone: (value, valid from).
    pub(super) fn get(&self, key: &[u8]) -> Result<Option<(Vec<u8>, i64)>, StoreError> {
        Ok(self.latest(key)?.and_then(|l| l.value.map(|v| (v, l.from))))
    }

    /// Replays a changelog record (restoration): the put it logged.
    pub(super) fn restore(&mut self, key: &[u8], value: Option<&[u8]>, timestamp: i64) -> Result<(), StoreError> {
        self.apply(key, value, timestamp).map(drop)
    }

    pub(super) fn commit_writes(&mut self) -> Result<(), StoreError> {
        self.versions.commit_writes()?;
        self.committed_observed = self.observed;
        Ok(())
    }

    pub(super) fn abort_writes(&mut self) {
        self.versions.abort_writes();
        self.observed = self.committed_observed;
    }

    pub(super) fn flush(&self) -> Result<(), StoreError> {
        self.versions.flush()
    }
}

/// A version read from a versioned store (Java's `VersionedRecord`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedRecord<V> {
    /// The value.
    pub value: V,
    /// When this version became valid.
    pub timestamp: i64,
    /// When it stopped being valid (`None`: it is the latest version).
    pub valid_to: Option<i64>,
}

/// A typed versioned key-value store handle (Java's `VersionedKeyValueStore<K, V>`).
pub struct VersionedKeyValueStore<K, V, KS = SerdeOf<K>, VS = SerdeOf<V>> {
    inner: Rc<RefCell<VersionedStoreInner>>,
    key_serde: KS,
    value_serde: VS,
    types: PhantomData<fn(K) -> V>,
}

impl<K, V, KS: Clone, VS: Clone> Clone for VersionedKeyValueStore<K, V, KS, VS> {
    fn clone(&self) -> Self {
        VersionedKeyValueStore {
            inner: Rc::clone(&self.inner),
            key_serde: self.key_serde.clone(),
            value_serde: self.value_serde.clone(),
            types: PhantomData,
        }
    }
}

impl<K, V, KS, VS> std::fmt::Debug for VersionedKeyValueStore<K, V, KS, VS> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VersionedKeyValueStore")
            .field("name", &self.inner.borrow().name)
            .finish()
    }
}

impl<K, V, KS: Default, VS: Default> StoreHandle for VersionedKeyValueStore<K, V, KS, VS> {
    const KIND: StoreKind = StoreKind::Versioned;

    fn bind(instance: &StoreInstance) -> Option<Self> {
        match &instance.0 {
            Instance::Versioned(inner) => Some(VersionedKeyValueStore {
                inner: Rc::clone(inner),
                key_serde: KS::default(),
                value_serde: VS::default(),
                types: PhantomData,
            }),
            _ => None,
        }
    }
}

impl<K, V, KS: Serde<K>, VS: Serde<V>> VersionedKeyValueStore<K, V, KS, VS> {
    /// The store's name.
    pub fn name(&self) -> &'static str {
        self.inner.borrow().name
    }

    fn key_bytes(&self, key: &K) -> Result<Option<Vec<u8>>, StoreError> {
        let name = self.inner.borrow().name;
        let mut bytes = Vec::new();
        let encoded = self.key_serde.serialize(key, &mut bytes).map_err(serde_error(name))?;
        Ok((encoded == Encoded::Bytes).then_some(bytes))
    }

    fn value(&self, bytes: &[u8]) -> Result<V, StoreError> {
        let name = self.inner.borrow().name;
        self.value_serde.deserialize(Some(bytes)).map_err(serde_error(name))
    }

    /// Writes `value` for `key` valid from `timestamp` (a value that serializes to null is a
    /// delete); returns when this version stops being valid (the next version's time),
    /// [`PUT_LATEST`] if it is the latest, or [`NOT_PUT`] if it is older than the history
    /// retention (or the key serializes to null) and was not written.
    pub fn put(&self, key: &K, value: &V, timestamp: i64) -> Result<i64, StoreError> {
        self.write(key, Some(value), timestamp)
    }

    /// [`put`](Self::put) of a value or (`None`) a tombstone, with the same return codes (Java's
    /// `put(key, null, timestamp)`).
    pub fn write(&self, key: &K, value: Option<&V>, timestamp: i64) -> Result<i64, StoreError> {
        let Some(key) = self.key_bytes(key)? else {
            return Ok(NOT_PUT);
        };
        let name = self.inner.borrow().name;
        let mut bytes = Vec::new();
        let value = match value {
            Some(value) => {
                let encoded = self
                    .value_serde
                    .serialize(value, &mut bytes)
                    .map_err(serde_error(name))?;
                (encoded == Encoded::Bytes).then_some(bytes.as_slice())
            }
            None => None,
        };
        self.inner.borrow_mut().put(&key, value, timestamp)
    }

    /// Deletes `key` as of `timestamp` (a tombstone version) and returns the version that was
    /// valid then, as Java's `delete`.
    pub fn delete(&self, key: &K, timestamp: i64) -> Result<Option<VersionedRecord<V>>, StoreError> {
        let Some(bytes) = self.key_bytes(key)? else {
            return Ok(None);
        };
        let before = self.get_as_of(key, timestamp)?;
        let mut inner = self.inner.borrow_mut();
        if inner.observed != UNKNOWN_TIME && timestamp < inner.horizon() {
            return Ok(None);
        }
        inner.put(&bytes, None, timestamp)?;
        Ok(before)
    }

    /// The latest version of `key`, unless it was deleted.
    pub fn get(&self, key: &K) -> Result<Option<VersionedRecord<V>>, StoreError> {
        let Some(key) = self.key_bytes(key)? else {
            return Ok(None);
        };
        let found = self.inner.borrow().get(&key)?;
        found
            .map(|(value, timestamp)| {
                Ok(VersionedRecord {
                    value: self.value(&value)?,
                    timestamp,
                    valid_to: None,
                })
            })
            .transpose()
    }

    /// The version of `key` valid at `as_of` (the one with the latest timestamp not after it),
    /// unless it was a delete or is older than the history retention.
    pub fn get_as_of(&self, key: &K, as_of: i64) -> Result<Option<VersionedRecord<V>>, StoreError> {
        let Some(key) = self.key_bytes(key)? else {
            return Ok(None);
        };
        let found = self.inner.borrow().get_as_of(&key, as_of)?;
        found
            .map(|(value, timestamp, valid_to)| {
                Ok(VersionedRecord {
                    value: self.value(&value)?,
                    timestamp,
                    valid_to,
                })
            })
            .transpose()
    }

    /// Puts refused because they were older than the history retention.
    pub fn expired_records(&self) -> u64 {
        self.inner.borrow().expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(persistent: bool, dir: &tempfile::TempDir) -> VersionedStoreInner {
        let spec = StoreSpec {
            name: "v",
            kind: StoreKind::Versioned,
            persistent,
            logging: true,
            timestamped: false,
            retention_ms: 100,
            window_size_ms: 0,
            retain_duplicates: false,
            caching: false,
        };
        let context = StoreContext {
            task_dir: dir.path().to_owned(),
            exactly_once: false,
            globals: Default::default(),
            #[cfg(feature = "rocksdb")]
            rocksdb: Default::default(),
            cache: Default::default(),
            store_metrics: false,
        };
        VersionedStoreInner::open(&spec, &context).unwrap()
    }

    #[test]
    fn the_changelog_holds_each_put_with_its_timestamp_and_replays_into_the_same_versions() {
        for persistent in [false, true] {
            let (dir, restored_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            let mut original = store(persistent, &dir);
            type Put<'a> = (&'a [u8], Option<&'a [u8]>, i64);
            let puts: [Put<'_>; 6] = [
                (b"k", Some(b"a"), 10),
                (b"k", Some(b"c"), 30),
                (b"k", Some(b"b"), 20),
                (b"j", Some(b"x"), 25),
                (b"k", None, 40),
                (b"k", Some(b"old"), 5),
            ];
            for (key, value, ts) in puts {
                original.put(key, value, ts).unwrap();
            }
            let mut log = Vec::new();
            original
                .changelog_mut()
                .unwrap()
                .drain(|k, v, ts| log.push((k.to_vec(), v.map(<[u8]>::to_vec), ts)));
            let expected: Vec<_> = puts
                .iter()
                .map(|(k, v, ts)| (k.to_vec(), v.map(<[u8]>::to_vec), Some(*ts)))
                .collect();
            assert_eq!(log, expected, "the key, the plain value and the put's timestamp");
            let mut restored = store(persistent, &restored_dir);
            for (key, value, ts) in &log {
                restored.restore(key, value.as_deref(), ts.unwrap()).unwrap();
            }
            for as_of in [0, 5, 9, 10, 19, 20, 29, 30, 39, 40, 100] {
                assert_eq!(
                    restored.get_as_of(b"k", as_of).unwrap(),
                    original.get_as_of(b"k", as_of).unwrap()
                );
            }
            assert_eq!(restored.get(b"j").unwrap(), Some((b"x".to_vec(), 25)));
        }
    }
}
