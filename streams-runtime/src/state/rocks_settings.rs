//! How an instance opens its RocksDB databases: the options Java's `RocksDBStore` sets, one
//! block cache shared by every database of the instance (all tasks, all threads, every segment
//! of window and session stores, the global stores), and the user's config setter (Java's
//! `rocksdb.config.setter`), called once per database with its name.

use rocksdb::{BlockBasedOptions, Cache, DBCompactionStyle, DBCompressionType, LogLevel, Options};
use std::sync::Arc;

/// Java's `RocksDBStore` defaults (`WRITE_BUFFER_SIZE`, `MAX_WRITE_BUFFERS`, `BLOCK_SIZE`) and
/// the bits per key of its `BloomFilter()`.
const WRITE_BUFFER_BYTES: usize = 16 * 1024 * 1024;
const MAX_WRITE_BUFFERS: i32 = 3;
const BLOCK_BYTES: usize = 4 * 1024;
const BLOOM_BITS_PER_KEY: f64 = 10.0;

/// The signature of a config setter: the database's name, its options and its block-based
/// table options.
type SetConfig = dyn Fn(&str, &mut Options, &mut BlockBasedOptions) + Send + Sync;

/// A user function adjusting the options of every RocksDB database the instance opens (Java's
/// `RocksDBConfigSetter.setConfig`), set with
/// [`StreamsConfig::set_rocksdb_config_setter`](crate::config::StreamsConfig::set_rocksdb_config_setter)
/// or [`DriverConfig::set_rocksdb_config_setter`](crate::test_driver::DriverConfig::set_rocksdb_config_setter).
///
/// It is called once per database, before it opens, with the name Java passes: the store's name
/// for a key-value (or versioned) store, `<store>.<segment start>` for each segment of a window
/// or session store. It gets the options with this library's defaults already set and the
/// block-based table options holding the instance's shared block cache and a bloom filter; the
/// table options are installed as the table factory after it returns (so change them there, not
/// with `Options::set_block_based_table_factory`). `table.set_block_cache(..)` gives a store a
/// cache of its own. What Java's setter reads from `configs`, a closure captures; what Java's
/// `close` frees, Rust frees when the database drops.
#[derive(Clone)]
pub struct RocksDbConfigSetter(Arc<SetConfig>);

impl RocksDbConfigSetter {
    /// A setter calling `set_config(name, options, table_options)`.
    pub fn new(set_config: impl Fn(&str, &mut Options, &mut BlockBasedOptions) + Send + Sync + 'static) -> Self {
        RocksDbConfigSetter(Arc::new(set_config))
    }
}

impl std::fmt::Debug for RocksDbConfigSetter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RocksDbConfigSetter(..)")
    }
}

impl PartialEq for RocksDbConfigSetter {
    /// The same function (the same `Arc`).
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// What every RocksDB database of one instance (a `KafkaStreams`, a test driver) opens with:
/// the shared block cache and the config setter. Cloning shares the cache.
#[derive(Clone)]
pub struct RocksDbSettings {
    block_cache: Cache,
    /// The capacity `block_cache` was made with.
    block_cache_bytes: usize,
    config_setter: Option<RocksDbConfigSetter>,
    /// Java's `setIncreaseParallelism` argument: the available cores, at least 2.
    parallelism: i32,
}

impl std::fmt::Debug for RocksDbSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksDbSettings")
            .field("block_cache_bytes", &self.block_cache_bytes)
            .field("config_setter", &self.config_setter)
            .finish_non_exhaustive()
    }
}

impl Default for RocksDbSettings {
    /// A cache of [`DEFAULT_ROCKSDB_BLOCK_CACHE_BYTES`](crate::config::DEFAULT_ROCKSDB_BLOCK_CACHE_BYTES),
    /// no setter.
    fn default() -> Self {
        RocksDbSettings::new(crate::config::DEFAULT_ROCKSDB_BLOCK_CACHE_BYTES, None)
    }
}

impl RocksDbSettings {
    /// Settings with a new LRU block cache of `block_cache_bytes` for the instance's databases.
    pub fn new(block_cache_bytes: usize, config_setter: Option<RocksDbConfigSetter>) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        RocksDbSettings {
            block_cache: Cache::new_lru_cache(block_cache_bytes),
            block_cache_bytes,
            config_setter,
            parallelism: i32::try_from(cores).unwrap_or(i32::MAX).max(2),
        }
    }

    /// The options of the database `name`: Java's `RocksDBStore` options (16 MiB write
    /// buffers, at most 3, 4 KiB blocks with a bloom filter of 10 bits per key, universal
    /// compaction, no compression, errors-only log), the shared block cache, then whatever the
    /// config setter changes. (Java's `openDB` also calls `optimizeFiltersForHits()`, RocksJava's
    /// getter: a no-op, so the last level keeps its filters here too.)
    pub(crate) fn options(&self, name: &str) -> Options {
        let mut options = Options::default();
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(&self.block_cache);
        table.set_block_size(BLOCK_BYTES);
        table.set_bloom_filter(BLOOM_BITS_PER_KEY, false);
        options.set_write_buffer_size(WRITE_BUFFER_BYTES);
        options.set_compression_type(DBCompressionType::None);
        options.set_compaction_style(DBCompactionStyle::Universal);
        options.set_max_write_buffer_number(MAX_WRITE_BUFFERS);
        options.create_if_missing(true);
        options.set_log_level(LogLevel::Error);
        options.increase_parallelism(self.parallelism);
        if let Some(RocksDbConfigSetter(set_config)) = &self.config_setter {
            set_config(name, &mut options, &mut table);
        }
        options.set_block_based_table_factory(&table);
        options
    }
}
