//! RocksDB as Kafka Streams tunes it (issue #16): the config setter is called once per database
//! with the names Java gives them and what it sets takes effect, every database of an instance
//! shares one block cache of the configured capacity, and the defaults are Java's (bloom filter
//! included) — through `StoreSet` (the task's stores) and through the test driver.

#![cfg(feature = "rocksdb")]

use std::path::Path;
use std::sync::{Arc, Mutex};
use streams_runtime::prelude::*;
use streams_runtime::rocksdb::{BlockBasedOptions, Cache, Options};
use streams_runtime::state::{RocksDbConfigSetter, RocksDbSettings, StoreContext, StoreSet, StoreSpec};

const MIB: usize = 1024 * 1024;
const MINUTE: i64 = 60_000;

const fn spec(name: &'static str, kind: StoreKind, retention_ms: i64) -> StoreSpec {
    StoreSpec {
        name,
        kind,
        persistent: true,
        logging: false,
        timestamped: false,
        retention_ms,
        window_size_ms: if matches!(kind, StoreKind::Window) { MINUTE } else { 0 },
        retain_duplicates: false,
        caching: false,
    }
}

static STORES: [StoreSpec; 4] = [
    spec("a", StoreKind::KeyValue, 0),
    spec("b", StoreKind::KeyValue, 0),
    spec("w", StoreKind::Window, 2 * MINUTE),
    spec("s", StoreKind::Session, 2 * MINUTE),
];

/// A setter that records the name of every database it is called for, then applies `tune`.
fn recording(
    tune: impl Fn(&str, &mut Options, &mut BlockBasedOptions) + Send + Sync + 'static,
) -> (RocksDbConfigSetter, Arc<Mutex<Vec<String>>>) {
    let names = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&names);
    let setter = RocksDbConfigSetter::new(move |name, options, table| {
        log.lock().unwrap().push(name.to_owned());
        tune(name, options, table);
    });
    (setter, names)
}

fn open(dir: &Path, settings: RocksDbSettings) -> StoreSet {
    let context = StoreContext {
        task_dir: dir.to_owned(),
        exactly_once: false,
        globals: Default::default(),
        rocksdb: settings,
        cache: Default::default(),
        store_metrics: false,
    };
    StoreSet::open(&STORES, &context, |_| true).unwrap()
}

/// The options RocksDB wrote for the database in `dir` (its newest `OPTIONS-*` file), as
/// `name=value` lines of the section `section`.
fn persisted_options(dir: &Path, section: &str) -> Vec<String> {
    let newest = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("OPTIONS-"))
        .max()
        .unwrap_or_else(|| panic!("no OPTIONS file in {}", dir.display()));
    let text = std::fs::read_to_string(dir.join(newest)).unwrap();
    text.lines()
        .skip_while(|l| l.trim() != section)
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with('['))
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

fn has(lines: &[String], line: &str) -> bool {
    lines.iter().any(|l| l == line)
}

fn s(x: &str) -> String {
    x.to_owned()
}

const COLUMN_FAMILY: &str = "[CFOptions \"default\"]";
const TABLE: &str = "[TableOptions/BlockBasedTable \"default\"]";

#[test]
fn the_setter_is_called_once_per_database_with_java_s_names_and_its_changes_take_effect() {
    let dir = tempfile::tempdir().unwrap();
    let (setter, names) = recording(|name, options, table| {
        if name == "b" {
            options.set_write_buffer_size(2 * MIB);
        }
        if name.starts_with("w.") {
            table.set_block_size(8 * 1024);
        }
    });
    let set = open(dir.path(), RocksDbSettings::new(4 * MIB, Some(setter)));
    // The key-value stores open with the set; a segment opens when it is first written.
    assert_eq!(*names.lock().unwrap(), ["a", "b"]);
    let window: WindowStore<String, i64> = set.bind("w").unwrap();
    let session: SessionStore<String, i64> = set.bind("s").unwrap();
    window.put(&s("k"), &1, 0).unwrap();
    window.put(&s("k"), &2, 30_000).unwrap();
    window.put(&s("k"), &3, MINUTE).unwrap();
    session.put(&Windowed::new(s("k"), Window::new(0, 70_000)), &4).unwrap();
    // Java's segment names: `<store>.<segment start>`, segments of a minute (half the retention).
    assert_eq!(*names.lock().unwrap(), ["a", "b", "w.0", "w.60000", "s.60000"]);
    set.flush().unwrap();

    let rocksdb = dir.path().join("rocksdb");
    let b = persisted_options(&rocksdb.join("b"), COLUMN_FAMILY);
    assert!(has(&b, "write_buffer_size=2097152"), "{b:?}");
    let a = persisted_options(&rocksdb.join("a"), COLUMN_FAMILY);
    assert!(has(&a, "write_buffer_size=16777216"), "{a:?}");
    for segment in ["w.0", "w.60000"] {
        let table = persisted_options(&rocksdb.join("w").join(segment), TABLE);
        assert!(has(&table, "block_size=8192"), "{segment}: {table:?}");
    }
    let table = persisted_options(&rocksdb.join("s").join("s.60000"), TABLE);
    assert!(has(&table, "block_size=4096"), "{table:?}");
}

#[test]
fn every_database_opens_with_java_s_options_and_a_bloom_filter() {
    let dir = tempfile::tempdir().unwrap();
    let set = open(dir.path(), RocksDbSettings::new(4 * MIB, None));
    let window: WindowStore<String, i64> = set.bind("w").unwrap();
    window.put(&s("k"), &1, 0).unwrap();
    set.flush().unwrap();
    let rocksdb = dir.path().join("rocksdb");
    for db in [rocksdb.join("a"), rocksdb.join("w").join("w.0")] {
        let column_family = persisted_options(&db, COLUMN_FAMILY);
        for line in [
            "write_buffer_size=16777216",
            "max_write_buffer_number=3",
            "compaction_style=kCompactionStyleUniversal",
            "compression=kNoCompression",
            "optimize_filters_for_hits=false",
        ] {
            assert!(
                has(&column_family, line),
                "{}: {line} not in {column_family:?}",
                db.display()
            );
        }
        let table = persisted_options(&db, TABLE);
        // (RocksDB does not write the bits per key down.)
        for line in ["block_size=4096", "filter_policy=bloomfilter"] {
            assert!(has(&table, line), "{}: {line} not in {table:?}", db.display());
        }
    }
}

/// Puts 2 000 keys in `store` and flushes them to a table file, so reads go through the block
/// cache.
fn fill(store: &KeyValueStore<String, i64>) {
    for i in 0..2_000 {
        store.put(&format!("key-{i:05}"), &i).unwrap();
    }
    store.flush().unwrap();
}

fn property(store: &KeyValueStore<String, i64>, name: &str) -> u64 {
    store.rocksdb_property(name).unwrap().unwrap()
}

#[test]
fn the_stores_of_an_instance_share_one_block_cache_of_the_configured_capacity() {
    let dir = tempfile::tempdir().unwrap();
    let own_cache = Cache::new_lru_cache(MIB);
    let setter = {
        let own_cache = own_cache.clone();
        RocksDbConfigSetter::new(move |name, _, table| {
            if name == "b" {
                table.set_block_cache(&own_cache);
            }
        })
    };
    // Two tasks of one instance: the same settings, so the same cache.
    let settings = RocksDbSettings::new(3 * MIB, Some(setter));
    let task_1 = open(&dir.path().join("0_0"), settings.clone());
    let task_2 = open(&dir.path().join("0_1"), settings);
    let a1: KeyValueStore<String, i64> = task_1.bind("a").unwrap();
    let a2: KeyValueStore<String, i64> = task_2.bind("a").unwrap();
    let b1: KeyValueStore<String, i64> = task_1.bind("b").unwrap();
    assert_eq!(property(&a1, "rocksdb.block-cache-capacity"), 3 * MIB as u64);
    assert_eq!(property(&a2, "rocksdb.block-cache-capacity"), 3 * MIB as u64);
    // The setter gave `b` a cache of its own.
    assert_eq!(property(&b1, "rocksdb.block-cache-capacity"), MIB as u64);

    fill(&a1);
    fill(&a2);
    fill(&b1);
    // What both tasks' `a` report as their cache's usage: the same number.
    let shared_usage = || {
        let usage = property(&a1, "rocksdb.block-cache-usage");
        assert_eq!(property(&a2, "rocksdb.block-cache-usage"), usage);
        usage
    };
    let before = shared_usage();
    // A read of task 1's store fills the cache task 2's store reports.
    assert_eq!(a1.get(&s("key-00042")).unwrap(), Some(42));
    let after_one = shared_usage();
    assert!(after_one > before, "{after_one} after {before}");
    assert_eq!(a2.get(&s("key-01042")).unwrap(), Some(1042));
    let after_both = shared_usage();
    assert!(after_both > after_one, "{after_both} after {after_one}");
    // `b`'s reads go to its own cache.
    assert_eq!(b1.get(&s("key-00007")).unwrap(), Some(7));
    assert_eq!(shared_usage(), after_both);
    assert_eq!(property(&b1, "rocksdb.block-cache-usage"), own_cache.get_usage() as u64);
    assert!(own_cache.get_usage() > 0);
}

#[test]
fn in_memory_stores_have_no_rocksdb_options_nor_properties() {
    static MEMORY: [StoreSpec; 2] = [
        StoreSpec {
            persistent: false,
            ..spec("m", StoreKind::KeyValue, 0)
        },
        StoreSpec {
            persistent: false,
            ..spec("w", StoreKind::Window, 2 * MINUTE)
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    let (setter, names) = recording(|_, _, _| {});
    let context = StoreContext {
        task_dir: dir.path().to_owned(),
        exactly_once: false,
        globals: Default::default(),
        rocksdb: RocksDbSettings::new(MIB, Some(setter)),
        cache: Default::default(),
        store_metrics: false,
    };
    let set = StoreSet::open(&MEMORY, &context, |_| true).unwrap();
    let window: WindowStore<String, i64> = set.bind("w").unwrap();
    window.put(&s("k"), &1, 0).unwrap();
    let store: KeyValueStore<String, i64> = set.bind("m").unwrap();
    assert_eq!(store.rocksdb_property("rocksdb.block-cache-capacity").unwrap(), None);
    assert!(names.lock().unwrap().is_empty());
}

// ---------- through the test driver ----------

/// Writes each record into a key-value, a window and a session store.
#[derive(Processor)]
#[processor(input = (String, String), output = (String, String))]
struct Keeper {
    #[store]
    kv: KeyValueStore<String, i64>,
    #[store]
    recent: WindowStore<String, i64>,
    #[store]
    visits: SessionStore<String, i64>,
}

impl Processor for Keeper {
    fn process(
        &mut self,
        record: Record<String, String>,
        _: &mut impl ProcessorContext<String, String>,
    ) -> Result<(), ProcessingError> {
        let t = record.timestamp;
        self.kv.put(&record.key, &t)?;
        self.recent.put(&record.key, &t, t)?;
        self.visits.put(&Windowed::new(record.key, Window::new(t, t)), &t)?;
        Ok(())
    }
}

topology! {
    struct Keeping {
        source input { topic: "in", key: String, value: String }
        processor keeper: Keeper { parents: [input] }
        store kv { key: String, value: i64 }
        store recent { kind: window, key: String, value: i64, retention: 2min, window_size: 1min }
        store visits { kind: session, key: String, value: i64, retention: 2min }
    }
}

#[test]
fn the_driver_calls_the_setter_for_each_database_and_shares_its_cache() {
    let (setter, names) = recording(|_, _, _| {});
    let driver = test_driver_with(
        &Keeping,
        DriverConfig {
            rocksdb_block_cache_bytes: 5 * MIB,
            rocksdb_config_setter: Some(setter),
            ..DriverConfig::default()
        },
    )
    .unwrap();
    assert_eq!(*names.lock().unwrap(), ["kv"]);
    let mut input = driver.input_topic(Keeping::source_input());
    input.pipe_input_at(s("k"), s("v"), 0).unwrap();
    input.pipe_input_at(s("k"), s("v"), 70_000).unwrap();
    assert_eq!(
        *names.lock().unwrap(),
        ["kv", "recent.0", "visits.0", "recent.60000", "visits.60000"]
    );
    let kv = driver.store(Keeping::store_kv());
    assert_eq!(property(&kv, "rocksdb.block-cache-capacity"), 5 * MIB as u64);
}

#[test]
fn the_driver_s_default_cache_is_50_mib_and_set_rocksdb_config_setter_installs_the_setter() {
    let driver = test_driver(&Keeping).unwrap();
    let kv = driver.store(Keeping::store_kv());
    assert_eq!(property(&kv, "rocksdb.block-cache-capacity"), 50 * MIB as u64);

    let names = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&names);
    let mut config = DriverConfig::default();
    config.set_rocksdb_config_setter(move |name, _, _| log.lock().unwrap().push(name.to_owned()));
    let _driver = test_driver_with(&Keeping, config).unwrap();
    assert_eq!(*names.lock().unwrap(), ["kv"]);
}
