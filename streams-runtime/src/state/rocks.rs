//! The persistent key-value backend on RocksDB (bytewise key order, WAL off: the changelog topic
//! is the source of truth, as in Java's `RocksDBStore`), with the options Java's `RocksDBStore`
//! sets by default, so a store takes the memory it takes in Java: 16 MiB write buffers (at most
//! 3), a 50 MiB LRU block cache of 4 KiB blocks with a bloom filter, universal compaction, no
//! compression.

use super::memory::Entry;
use crate::error::StoreError;
use rocksdb::{
    BlockBasedOptions, Cache, DB, DBCompactionStyle, DBCompressionType, Direction, IteratorMode, Options, WriteOptions,
};
use std::ops::Bound;
use std::path::Path;

/// Java's `RocksDBStore` defaults (`WRITE_BUFFER_SIZE`, `MAX_WRITE_BUFFERS`, `BLOCK_CACHE_SIZE`,
/// `BLOCK_SIZE`).
const WRITE_BUFFER_BYTES: usize = 16 * 1024 * 1024;
const MAX_WRITE_BUFFERS: i32 = 3;
const BLOCK_CACHE_BYTES: usize = 50 * 1024 * 1024;
const BLOCK_BYTES: usize = 4 * 1024;

/// One RocksDB database per store and task.
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
    pub(crate) fn open(name: &'static str, path: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(path).map_err(|source| StoreError::Io { store: name, source })?;
        let mut options = Options::default();
        options.create_if_missing(true);
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(&Cache::new_lru_cache(BLOCK_CACHE_BYTES));
        table.set_block_size(BLOCK_BYTES);
        table.set_bloom_filter(10.0, false);
        options.set_block_based_table_factory(&table);
        options.set_write_buffer_size(WRITE_BUFFER_BYTES);
        options.set_max_write_buffer_number(MAX_WRITE_BUFFERS);
        options.set_compaction_style(DBCompactionStyle::Universal);
        options.set_compression_type(DBCompressionType::None);
        let db = DB::open(&options, path).map_err(|source| StoreError::RocksDb { store: name, source })?;
        let mut write_options = WriteOptions::default();
        write_options.disable_wal(true);
        Ok(RocksDbKvStore {
            name,
            db,
            write_options,
        })
    }

    fn err(&self) -> impl Fn(rocksdb::Error) -> StoreError + '_ {
        move |source| StoreError::RocksDb {
            store: self.name,
            source,
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

    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(self.err())
    }
}
