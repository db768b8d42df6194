//! The persistent key-value backend on RocksDB (bytewise key order, WAL off: the changelog topic
//! is the source of truth, as in Java's `RocksDBStore`), opened with the instance's
//! [`RocksDbSettings`](super::RocksDbSettings).

use super::memory::Entry;
use super::rocks_settings::RocksDbSettings;
use crate::error::StoreError;
use rocksdb::{DB, Direction, IteratorMode, WriteOptions};
use std::ops::Bound;
use std::path::Path;

/// One RocksDB database: a store of one task, or one segment of a window or session store.
pub(crate) struct RocksDbKvStore {
    name: &'static str,
    db: DB,
    write_options: WriteOptions,
}

impl std::fmt::Debug for RocksDbKvStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksDbKvStore").field("path", &self.db.path()).finish()
    }
}

impl RocksDbKvStore {
    /// Opens (or creates) the database `name` of `store` in `path`: the store itself, or one
    /// of its segments.
    pub(crate) fn open(
        store: &'static str,
        name: &str,
        path: &Path,
        settings: &RocksDbSettings,
    ) -> Result<Self, StoreError> {
        std::fs::create_dir_all(path).map_err(|source| StoreError::Io { store, source })?;
        let options = settings.options(name);
        let db = DB::open(&options, path).map_err(|source| StoreError::RocksDb {
            store,
            source: Box::new(source),
        })?;
        let mut write_options = WriteOptions::default();
        write_options.disable_wal(true);
        Ok(RocksDbKvStore {
            name: store,
            db,
            write_options,
        })
    }

    fn err(&self) -> impl Fn(rocksdb::Error) -> StoreError + '_ {
        move |source| StoreError::RocksDb {
            store: self.name,
            source: Box::new(source),
        }
    }

    pub(crate) fn get<R>(&self, key: &[u8], read: impl FnOnce(Option<&[u8]>) -> R) -> Result<R, StoreError> {
        let value = self.db.get_pinned(key).map_err(self.err())?;
        Ok(read(value.as_deref()))
    }

    pub(crate) fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.db.put_opt(key, value, &self.write_options).map_err(self.err())
    }

    /// Writes and deletes (`None`) in one atomic batch.
    pub(crate) fn write_batch(
        &mut self,
        writes: impl IntoIterator<Item = (Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<(), StoreError> {
        let mut batch = rocksdb::WriteBatch::default();
        for (key, value) in writes {
            match value {
                Some(v) => batch.put(key, v),
                None => batch.delete(key),
            }
        }
        self.db.write_opt(batch, &self.write_options).map_err(self.err())
    }

    pub(crate) fn delete(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let old = self.db.get(key).map_err(self.err())?;
        if old.is_some() {
            self.db.delete_opt(key, &self.write_options).map_err(self.err())?;
        }
        Ok(old)
    }

    /// Entries with keys within the bounds (the caller ensures `from <= to`).
    pub(crate) fn scan(&self, from: Bound<&[u8]>, to: Bound<&[u8]>, reverse: bool) -> Result<Vec<Entry>, StoreError> {
        let mode = match (reverse, from, to) {
            (false, Bound::Included(k) | Bound::Excluded(k), _) => IteratorMode::From(k, Direction::Forward),
            (false, Bound::Unbounded, _) => IteratorMode::Start,
            (true, _, Bound::Included(k) | Bound::Excluded(k)) => IteratorMode::From(k, Direction::Reverse),
            (true, _, Bound::Unbounded) => IteratorMode::End,
        };
        let below_end = |k: &[u8]| match to {
            Bound::Included(t) => k <= t,
            Bound::Excluded(t) => k < t,
            Bound::Unbounded => true,
        };
        let above_start = |k: &[u8]| match from {
            Bound::Included(f) => k >= f,
            Bound::Excluded(f) => k > f,
            Bound::Unbounded => true,
        };
        let mut out = Vec::new();
        for item in self.db.iterator(mode) {
            let (k, v) = item.map_err(self.err())?;
            let (inside, past) = if reverse {
                (below_end(&k), !above_start(&k))
            } else {
                (above_start(&k), !below_end(&k))
            };
            if past {
                break;
            }
            if inside {
                out.push((k.into_vec(), v.into_vec()));
            }
        }
        Ok(out)
    }

    pub(crate) fn prefix_scan(&self, prefix: &[u8]) -> Result<Vec<Entry>, StoreError> {
        let mut out = Vec::new();
        for item in self.db.iterator(IteratorMode::From(prefix, Direction::Forward)) {
            let (k, v) = item.map_err(self.err())?;
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.into_vec(), v.into_vec()));
        }
        Ok(out)
    }

    pub(crate) fn approximate_num_entries(&self) -> Result<u64, StoreError> {
        Ok(self
            .db
            .property_int_value("rocksdb.estimate-num-keys")
            .map_err(self.err())?
            .unwrap_or(0))
    }

    /// An integer property of the database (`rocksdb.block-cache-usage`, say); `None` when
    /// RocksDB does not know it.
    pub(crate) fn property_int(&self, property: &str) -> Result<Option<u64>, StoreError> {
        self.db.property_int_value(property).map_err(self.err())
    }

    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(self.err())
    }
}
