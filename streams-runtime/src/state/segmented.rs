//! The byte-level store under window and session stores: entries split into time segments
//! (Java's `AbstractRocksDBSegmentedBytesStore` with `KeyValueSegments`), each an in-memory B-tree
//! or a RocksDB database, so windows older than the retention period are dropped a segment at a
//! time as stream time advances.
//!
//! Keys are laid out as Java's key schemas lay them out, which is also the changelog's key:
//! a window store's `key ++ start ++ seqnum` (`WindowKeySchema.toStoreKeyBinary`: 8-byte and
//! 4-byte big-endian), a session store's `key ++ end ++ start` (`SessionKeySchema`). A window's
//! segment is chosen by its start, a session's by its end.
//!
//! Stream time here is the store's own: the largest timestamp put, as in Java. A record whose
//! timestamp is at or before `stream time - retention` is expired: a put of it is dropped (and
//! counted), and reads never return it.

use super::changelog::ChangelogBuffer;
use super::key_value::log_write;
use super::memory::{Entry, InMemoryKvStore};
#[cfg(feature = "rocksdb")]
use super::rocks::RocksDbKvStore;
#[cfg(feature = "rocksdb")]
use super::rocks_settings::RocksDbSettings;
use super::uncommitted::Uncommitted;
use super::{StoreContext, StoreSpec};
use crate::error::StoreError;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::PathBuf;

/// How a store key carries its timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeySchema {
    /// `key ++ start (8) ++ seqnum (4)`.
    Window,
    /// `key ++ end (8) ++ start (8)`.
    Session,
}

/// Bytes after the key in a window store key.
pub(crate) const WINDOW_SUFFIX: usize = 12;
/// Bytes after the key in a session store key.
pub(crate) const SESSION_SUFFIX: usize = 16;

fn be_i64(bytes: &[u8]) -> i64 {
    i64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"))
}

impl KeySchema {
    /// The bytes after the user's key.
    pub(crate) const fn suffix(self) -> usize {
        match self {
            KeySchema::Window => WINDOW_SUFFIX,
            KeySchema::Session => SESSION_SUFFIX,
        }
    }

    /// The user's key bytes of a store key (`None` when the key is too short to be one).
    pub(crate) fn key(self, store_key: &[u8]) -> Option<&[u8]> {
        store_key.len().checked_sub(self.suffix()).map(|n| &store_key[..n])
    }

    /// The timestamp that places a store key in its segment: a window's start, a session's end.
    pub(crate) fn segment_time(self, store_key: &[u8]) -> Option<i64> {
        let n = store_key.len().checked_sub(self.suffix())?;
        Some(be_i64(&store_key[n..]))
    }

    /// A session key's start (the last 8 bytes; 0 for a key too short to be a session key).
    pub(crate) fn session_start(store_key: &[u8]) -> i64 {
        store_key.len().checked_sub(8).map_or(0, |n| be_i64(&store_key[n..]))
    }
}

/// One time segment.
#[derive(Debug)]
enum Segment {
    Memory(InMemoryKvStore),
    #[cfg(feature = "rocksdb")]
    RocksDb(RocksDbKvStore),
}

impl Segment {
    fn get<R>(&self, key: &[u8], read: impl FnOnce(Option<&[u8]>) -> R) -> Result<R, StoreError> {
        match self {
            Segment::Memory(m) => Ok(read(m.get(key))),
            #[cfg(feature = "rocksdb")]
            Segment::RocksDb(db) => db.get(key, read),
        }
    }

    fn write(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<(), StoreError> {
        match (self, value) {
            (Segment::Memory(m), Some(v)) => m.put(key, v),
            (Segment::Memory(m), None) => {
                m.delete(key);
            }
            #[cfg(feature = "rocksdb")]
            (Segment::RocksDb(db), Some(v)) => db.put(key, v)?,
            #[cfg(feature = "rocksdb")]
            (Segment::RocksDb(db), None) => {
                db.delete(key)?;
            }
        }
        Ok(())
    }

    fn write_all(&mut self, writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>) -> Result<(), StoreError> {
        match self {
            Segment::Memory(m) => {
                for (key, value) in writes {
                    match value {
                        Some(v) => m.put(&key, &v),
                        None => {
                            m.delete(&key);
                        }
                    }
                }
                Ok(())
            }
            #[cfg(feature = "rocksdb")]
            Segment::RocksDb(db) => db.write_batch(writes),
        }
    }

    fn scan(&self, from: Bound<&[u8]>, to: Bound<&[u8]>, reverse: bool) -> Result<Vec<Entry>, StoreError> {
        match self {
            Segment::Memory(m) => Ok(m.scan(from, to, reverse)),
            #[cfg(feature = "rocksdb")]
            Segment::RocksDb(db) => db.scan(from, to, reverse),
        }
    }

    fn flush(&self) -> Result<(), StoreError> {
        match self {
            Segment::Memory(_) => Ok(()),
            #[cfg(feature = "rocksdb")]
            Segment::RocksDb(db) => db.flush(),
        }
    }
}

/// Java's segment interval for a retention period: half of it, at least one minute.
pub(crate) const fn segment_interval(retention_ms: i64) -> i64 {
    let half = retention_ms / 2;
    if half > 60_000 { half } else { 60_000 }
}

/// Where a persistent store's segments live, and the settings they open with.
#[derive(Debug)]
struct Disk {
    /// `<task dir>/rocksdb/<store>`: a database per segment, `<store>.<segment start>`.
    dir: PathBuf,
    #[cfg(feature = "rocksdb")]
    rocksdb: RocksDbSettings,
}

/// A window or session store's bytes, segmented by time.
#[derive(Debug)]
pub(crate) struct SegmentedStore {
    pub(crate) name: &'static str,
    pub(crate) schema: KeySchema,
    retention_ms: i64,
    interval_ms: i64,
    /// Window stores: the window size, to give fetched windows their end.
    pub(crate) window_size_ms: i64,
    /// Window stores: every put gets its own sequence number (duplicates are kept).
    retain_duplicates: bool,
    seqnum: u32,
    pub(crate) timestamped: bool,
    segments: BTreeMap<i64, Segment>,
    /// Where RocksDB segments live (`None`: in memory).
    disk: Option<Disk>,
    observed: i64,
    /// Stream time at the last commit, to go back to on an abort (exactly-once).
    committed_observed: i64,
    /// Uncommitted writes per segment under exactly-once.
    uncommitted: Option<BTreeMap<i64, Uncommitted>>,
    changelog: Option<ChangelogBuffer>,
    expired: u64,
    /// The close time an aggregation emitting on window close last emitted at, and its value at
    /// the last commit (an exactly-once abort goes back to it with the windows).
    emitted_close_time: i64,
    committed_emitted_close_time: i64,
    pub(crate) key_buf: Vec<u8>,
    pub(crate) value_buf: Vec<u8>,
    /// The operations' calls and time, when the application records `DEBUG` metrics.
    pub(crate) ops: super::store_ops::Meter,
}

impl super::store_ops::Metered for SegmentedStore {
    fn meter(&mut self) -> &mut super::store_ops::Meter {
        &mut self.ops
    }
}

impl SegmentedStore {
    /// Opens the store for a task (RocksDB segments found on disk are opened again).
    pub(crate) fn open(spec: &StoreSpec, schema: KeySchema, context: &StoreContext) -> Result<Self, StoreError> {
        let mut store = Self::unowned(spec, schema);
        store.changelog = super::changelog_buffer(spec);
        store.uncommitted = context.exactly_once.then(BTreeMap::new);
        store.ops = super::store_ops::Meter::new(context.store_metrics);
        if spec.persistent {
            let disk = Disk {
                dir: context.task_dir.join("rocksdb").join(spec.name),
                #[cfg(feature = "rocksdb")]
                rocksdb: context.rocksdb.clone(),
            };
            store.open_existing(&disk)?;
            store.disk = Some(disk);
        }
        Ok(store)
    }

    /// The store as a task that does not own it holds it: empty, in memory, unlogged.
    pub(crate) fn unowned(spec: &StoreSpec, schema: KeySchema) -> Self {
        SegmentedStore {
            name: spec.name,
            schema,
            retention_ms: spec.retention_ms,
            interval_ms: segment_interval(spec.retention_ms),
            window_size_ms: spec.window_size_ms,
            retain_duplicates: spec.retain_duplicates,
            seqnum: 0,
            timestamped: spec.timestamped,
            segments: BTreeMap::new(),
            disk: None,
            observed: crate::task::UNKNOWN_TIME,
            committed_observed: crate::task::UNKNOWN_TIME,
            uncommitted: None,
            changelog: None,
            expired: 0,
            emitted_close_time: crate::task::UNKNOWN_TIME,
            committed_emitted_close_time: crate::task::UNKNOWN_TIME,
            key_buf: Vec::new(),
            value_buf: Vec::new(),
            ops: super::store_ops::Meter::default(),
        }
    }

    #[cfg(feature = "rocksdb")]
    fn open_existing(&mut self, disk: &Disk) -> Result<(), StoreError> {
        let io = |source| StoreError::Io {
            store: self.name,
            source,
        };
        std::fs::create_dir_all(&disk.dir).map_err(io)?;
        let prefix = format!("{}.", self.name);
        for entry in std::fs::read_dir(&disk.dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let file_name = entry.file_name();
            let Some((segment, start)) = file_name.to_str().and_then(|n| {
                let start = n.strip_prefix(&prefix)?.parse::<i64>().ok()?;
                Some((n, start))
            }) else {
                continue;
            };
            let db = RocksDbKvStore::open(self.name, segment, &entry.path(), &disk.rocksdb)?;
            self.segments
                .insert(start.div_euclid(self.interval_ms), Segment::RocksDb(db));
        }
        Ok(())
    }

    #[cfg(not(feature = "rocksdb"))]
    fn open_existing(&mut self, _: &Disk) -> Result<(), StoreError> {
        Err(StoreError::Io {
            store: self.name,
            source: std::io::Error::other(
                "persistent store needs streams-runtime's `rocksdb` feature; enable it or declare the store `persistent: false`",
            ),
        })
    }

    pub(crate) fn changelog_mut(&mut self) -> Option<&mut ChangelogBuffer> {
        self.changelog.as_mut()
    }

    /// The store's stream time: the largest timestamp put or restored.
    pub(crate) fn observed_stream_time(&self) -> i64 {
        self.observed
    }

    /// Puts dropped because they were already expired.
    pub(crate) fn expired_records(&self) -> u64 {
        self.expired
    }

    /// The earliest timestamp still visible.
    pub(crate) fn min_live_time(&self) -> i64 {
        self.observed.saturating_sub(self.retention_ms).saturating_add(1)
    }

    fn segment_id(&self, timestamp: i64) -> i64 {
        timestamp.div_euclid(self.interval_ms)
    }

    fn segment_start(&self, id: i64) -> i64 {
        id.saturating_mul(self.interval_ms)
    }

    /// A segment's database name (and directory), as Java names it: `<store>.<segment start>`.
    fn segment_name(&self, id: i64) -> String {
        format!("{}.{}", self.name, self.segment_start(id))
    }

    /// Appends the window store key of `start` to the serialized key in `key_buf`.
    pub(crate) fn push_window_suffix(&mut self, start: i64) {
        let seqnum = if self.retain_duplicates {
            self.seqnum = self.seqnum.wrapping_add(1) & 0x7fff_ffff;
            self.seqnum
        } else {
            0
        };
        self.key_buf.extend_from_slice(&start.to_be_bytes());
        self.key_buf.extend_from_slice(&seqnum.to_be_bytes());
    }

    fn segment_or_create(&mut self, id: i64) -> Result<&mut Segment, StoreError> {
        if !self.segments.contains_key(&id) {
            let segment = match &self.disk {
                None => Segment::Memory(InMemoryKvStore::default()),
                #[cfg(feature = "rocksdb")]
                Some(disk) => {
                    let name = self.segment_name(id);
                    let path = disk.dir.join(&name);
                    Segment::RocksDb(RocksDbKvStore::open(self.name, &name, &path, &disk.rocksdb)?)
                }
                #[cfg(not(feature = "rocksdb"))]
                Some(_) => unreachable!("persistent stores need the rocksdb feature to open"),
            };
            self.segments.insert(id, segment);
        }
        Ok(self.segments.get_mut(&id).expect("inserted above"))
    }

    /// Drops the segments wholly before the retention period (deferred to the commit under
    /// exactly-once, so an abort finds them again).
    fn drop_expired_segments(&mut self) -> Result<(), StoreError> {
        // The segment of `stream time - retention` stays: emit-on-close reads back to it.
        let min_live = self.segment_id(self.min_live_time() - 1);
        while let Some(entry) = self.segments.first_entry() {
            if *entry.key() >= min_live {
                break;
            }
            let id = *entry.key();
            drop(entry.remove());
            if let Some(disk) = &self.disk {
                let path = disk.dir.join(self.segment_name(id));
                std::fs::remove_dir_all(&path).map_err(|source| StoreError::Io {
                    store: self.name,
                    source,
                })?;
            }
        }
        Ok(())
    }

    /// Advances stream time to `timestamp`; `false` if the record is already expired (then it is
    /// counted and logged, and must not be written).
    fn admit(&mut self, timestamp: i64) -> bool {
        if timestamp > self.observed {
            self.observed = timestamp;
        }
        if timestamp < self.min_live_time() {
            self.expired += 1;
            tracing::warn!(
                store = self.name,
                timestamp,
                stream_time = self.observed,
                "Skipping record for expired segment"
            );
            return false;
        }
        true
    }

    /// Writes `key_buf` → `value_buf` (`present`) or deletes `key_buf`, logging it. An expired
    /// write is dropped (and still logged).
    pub(crate) fn write(&mut self, present: bool) -> Result<(), StoreError> {
        let Some(time) = self.schema.segment_time(&self.key_buf) else {
            return Ok(());
        };
        let id = self.segment_id(time);
        let (key, value) = (std::mem::take(&mut self.key_buf), std::mem::take(&mut self.value_buf));
        // An expired write is not applied, but it is logged all the same, as Java's changelogging
        // layer (above the segmented store) does.
        let result = if self.admit(time) {
            self.write_bytes(id, &key, present.then_some(value.as_slice()))
        } else {
            Ok(())
        };
        if result.is_ok()
            && let Some(log) = &mut self.changelog
        {
            log_write(log, self.timestamped, &key, present.then_some(value.as_slice()), None);
        }
        (self.key_buf, self.value_buf) = (key, value);
        result
    }

    fn write_bytes(&mut self, id: i64, key: &[u8], value: Option<&[u8]>) -> Result<(), StoreError> {
        match &mut self.uncommitted {
            Some(writes) => {
                writes.entry(id).or_default().put(key, value);
                Ok(())
            }
            None => {
                self.segment_or_create(id)?.write(key, value)?;
                self.drop_expired_segments()
            }
        }
    }

    /// Applies a changelog record without logging it; a timestamped store keeps `timestamp` with
    /// the value. Expired records are skipped, as in Java.
    pub(crate) fn restore(&mut self, key: &[u8], value: Option<&[u8]>, timestamp: i64) -> Result<(), StoreError> {
        let Some(time) = self.schema.segment_time(key) else {
            return Ok(());
        };
        if time > self.observed {
            self.observed = time;
            self.committed_observed = time;
        }
        if time < self.min_live_time() {
            return Ok(());
        }
        let id = self.segment_id(time);
        let mut scratch = std::mem::take(&mut self.value_buf);
        let value = match value {
            Some(v) if self.timestamped => {
                scratch.clear();
                scratch.extend_from_slice(&timestamp.to_be_bytes());
                scratch.extend_from_slice(v);
                Some(scratch.as_slice())
            }
            value => value,
        };
        let result = self.segment_or_create(id).and_then(|segment| segment.write(key, value));
        self.value_buf = scratch;
        result?;
        self.drop_expired_segments()
    }

    /// The stored bytes of `key_buf`, if live.
    pub(crate) fn get<R>(&self, read: impl FnOnce(Option<&[u8]>) -> R) -> Result<R, StoreError> {
        let key = self.key_buf.as_slice();
        let Some(time) = self.schema.segment_time(key) else {
            return Ok(read(None));
        };
        if time < self.min_live_time() {
            return Ok(read(None));
        }
        let id = self.segment_id(time);
        if let Some(written) = self
            .uncommitted
            .as_ref()
            .and_then(|u| u.get(&id))
            .and_then(|u| u.get(key))
        {
            return Ok(read(written));
        }
        match self.segments.get(&id) {
            Some(segment) => segment.get(key, read),
            None => Ok(read(None)),
        }
    }

    /// Entries with store keys in `from..=to` in the segments holding times `time_from..=time_to`
    /// (clamped to what is live), segment by segment in time order (reversed when `reverse`).
    pub(crate) fn scan(
        &self,
        time_from: i64,
        time_to: i64,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        reverse: bool,
    ) -> Result<Vec<Entry>, StoreError> {
        self.scan_from(self.min_live_time(), time_from, time_to, from, to, reverse)
    }

    /// The entries of one serialized `key` with store keys in `from..=to` whose segment time
    /// (a window's start, a session's end) is in `time_from..=time_to`: [`scan`](Self::scan)
    /// without the other keys that share `key` as a prefix.
    pub(crate) fn scan_key(
        &self,
        key: &[u8],
        (time_from, time_to): (i64, i64),
        (from, to): (&[u8], &[u8]),
        reverse: bool,
    ) -> Result<Vec<Entry>, StoreError> {
        let schema = self.schema;
        let mut entries = self.scan(time_from, time_to, Bound::Included(from), Bound::Included(to), reverse)?;
        entries.retain(|(k, _)| {
            schema.key(k) == Some(key)
                && schema
                    .segment_time(k)
                    .is_some_and(|t| (time_from..=time_to).contains(&t))
        });
        Ok(entries)
    }

    /// Like [`scan`](Self::scan), seeing back to `floor` instead of the live period. The
    /// aggregations emitting on window close read their closed windows this way, as Java's
    /// time-ordered stores let them: a window at exactly `stream time - retention` (and any
    /// session whose segment is still there) is still emitted.
    pub(crate) fn scan_from(
        &self,
        floor: i64,
        time_from: i64,
        time_to: i64,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        reverse: bool,
    ) -> Result<Vec<Entry>, StoreError> {
        let time_from = time_from.max(floor);
        if time_from > time_to {
            return Ok(Vec::new());
        }
        let ids = self.segment_id(time_from)..=self.segment_id(time_to);
        let mut segment_ids: Vec<i64> = self.segments.range(ids.clone()).map(|(id, _)| *id).collect();
        if let Some(u) = &self.uncommitted {
            segment_ids.extend(u.range(ids).map(|(id, _)| *id));
            segment_ids.sort_unstable();
            segment_ids.dedup();
        }
        if reverse {
            segment_ids.reverse();
        }
        let mut out = Vec::new();
        for id in segment_ids {
            let committed = match self.segments.get(&id) {
                Some(segment) => segment.scan(from, to, reverse)?,
                None => Vec::new(),
            };
            let entries = match self.uncommitted.as_ref().and_then(|u| u.get(&id)) {
                Some(u) => u.overlay_range(committed, from, to, reverse),
                None => committed,
            };
            // A live segment may still hold expired windows at its start.
            let schema = self.schema;
            out.extend(
                entries
                    .into_iter()
                    .filter(|(k, _)| schema.segment_time(k).is_some_and(|t| t >= time_from)),
            );
        }
        Ok(out)
    }

    /// Applies the transaction's writes (exactly-once commit), then drops expired segments.
    pub(crate) fn commit_writes(&mut self) -> Result<(), StoreError> {
        let Some(uncommitted) = &mut self.uncommitted else {
            return Ok(());
        };
        let writes = std::mem::take(uncommitted);
        for (id, mut segment_writes) in writes {
            self.segment_or_create(id)?.write_all(segment_writes.take())?;
        }
        self.committed_observed = self.observed;
        self.committed_emitted_close_time = self.emitted_close_time;
        self.drop_expired_segments()
    }

    /// Drops the transaction's writes and goes back to the stream time of the last commit.
    pub(crate) fn abort_writes(&mut self) {
        if let Some(uncommitted) = &mut self.uncommitted {
            uncommitted.clear();
            self.observed = self.committed_observed;
            self.emitted_close_time = self.committed_emitted_close_time;
        }
    }

    /// The close time an aggregation emitting on window close last emitted at.
    pub(crate) fn emitted_close_time(&self) -> i64 {
        self.emitted_close_time
    }

    /// Records an emission on window close.
    pub(crate) fn set_emitted_close_time(&mut self, close_time: i64) {
        self.emitted_close_time = close_time;
    }

    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        self.segments.values().try_for_each(Segment::flush)
    }

    /// The number of live segments (for tests of retention).
    pub(crate) fn segment_count(&self) -> usize {
        self.segments.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::StoreKind;

    #[test]
    fn an_abort_rolls_back_the_last_emission_with_the_windows() {
        let spec = StoreSpec {
            name: "w",
            kind: StoreKind::Window,
            persistent: false,
            logging: false,
            timestamped: true,
            retention_ms: 100,
            window_size_ms: 10,
            retain_duplicates: false,
            caching: false,
        };
        let context = StoreContext {
            task_dir: std::env::temp_dir(),
            exactly_once: true,
            globals: Default::default(),
            #[cfg(feature = "rocksdb")]
            rocksdb: Default::default(),
            cache: Default::default(),
            store_metrics: false,
        };
        let mut store = SegmentedStore::open(&spec, KeySchema::Window, &context).unwrap();
        store.set_emitted_close_time(10);
        store.commit_writes().unwrap();
        store.set_emitted_close_time(20);
        store.abort_writes();
        assert_eq!(store.emitted_close_time(), 10);
        store.set_emitted_close_time(30);
        store.commit_writes().unwrap();
        assert_eq!(store.emitted_close_time(), 30);
    }
}
