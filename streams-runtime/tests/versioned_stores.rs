//! Versioned key-value store semantics (Java's `VersionedKeyValueStore` contract, as
//! `RocksDBVersionedStoreTest` exercises it), for both backends and under exactly-once.

use streams_runtime::state::{
    NOT_PUT, PUT_LATEST, StoreContext, StoreKind, StoreSet, StoreSpec, VersionedKeyValueStore, VersionedRecord,
};

const fn spec(persistent: bool) -> StoreSpec {
    StoreSpec {
        name: "v",
        kind: StoreKind::Versioned,
        persistent,
        logging: true,
        timestamped: false,
        retention_ms: 100,
        window_size_ms: 0,
        retain_duplicates: false,
        caching: false,
    }
}

static IN_MEMORY: [StoreSpec; 1] = [spec(false)];
static ROCKSDB: [StoreSpec; 1] = [spec(true)];

fn open(persistent: bool, exactly_once: bool, dir: &tempfile::TempDir) -> StoreSet {
    let specs: &'static [StoreSpec] = if persistent { &ROCKSDB } else { &IN_MEMORY };
    let context = StoreContext {
        task_dir: dir.path().to_owned(),
        exactly_once,
        globals: Default::default(),
        #[cfg(feature = "rocksdb")]
        rocksdb: Default::default(),
        cache: Default::default(),
        store_metrics: false,
    };
    StoreSet::open(specs, &context, |_| true).unwrap()
}

fn record(value: &str, timestamp: i64, valid_to: Option<i64>) -> Option<VersionedRecord<String>> {
    Some(VersionedRecord {
        value: value.to_owned(),
        timestamp,
        valid_to,
    })
}

fn contract(persistent: bool, exactly_once: bool) {
    let dir = tempfile::tempdir().unwrap();
    let set = open(persistent, exactly_once, &dir);
    let store: VersionedKeyValueStore<String, String> = set.bind("v").unwrap();
    let k = "k".to_owned();
    let v = |s: &str| s.to_owned();
    assert_eq!(store.put(&k, &v("a"), 10).unwrap(), PUT_LATEST);
    assert_eq!(store.put(&k, &v("c"), 30).unwrap(), PUT_LATEST);
    // Out of order: valid until the next version (30).
    assert_eq!(store.put(&k, &v("b"), 20).unwrap(), 30);
    // Older than all: valid until the oldest (10).
    assert_eq!(store.put(&k, &v("z"), 5).unwrap(), 10);
    // The same timestamp replaces.
    assert_eq!(store.put(&k, &v("b2"), 20).unwrap(), 30);
    assert_eq!(store.get(&k).unwrap(), record("c", 30, None));
    assert_eq!(store.get_as_of(&k, 4).unwrap(), None);
    assert_eq!(store.get_as_of(&k, 5).unwrap(), record("z", 5, Some(10)));
    assert_eq!(store.get_as_of(&k, 19).unwrap(), record("a", 10, Some(20)));
    assert_eq!(store.get_as_of(&k, 20).unwrap(), record("b2", 20, Some(30)));
    assert_eq!(store.get_as_of(&k, 1000).unwrap(), record("c", 30, None));
    // A delete is a tombstone version and returns what was valid then.
    assert_eq!(store.delete(&k, 40).unwrap(), record("c", 30, None));
    assert_eq!(store.get(&k).unwrap(), None);
    assert_eq!(store.get_as_of(&k, 35).unwrap(), record("c", 30, Some(40)));
    assert_eq!(store.get_as_of(&k, 45).unwrap(), None);
    // History retention 100: stream time 150 drops what ended at or before 50.
    assert_eq!(store.put(&"other".to_owned(), &v("x"), 150).unwrap(), PUT_LATEST);
    assert_eq!(
        store.get_as_of(&k, 35).unwrap(),
        None,
        "history before the horizon is gone"
    );
    assert_eq!(store.put(&k, &v("late"), 49).unwrap(), NOT_PUT);
    assert_eq!(store.expired_records(), 1);
    assert_eq!(store.put(&k, &v("in"), 50).unwrap(), PUT_LATEST);
    assert_eq!(store.get(&k).unwrap(), record("in", 50, None));
    assert_eq!(
        store.get_as_of(&k, 45).unwrap(),
        None,
        "before the horizon, only the latest answers"
    );
}

#[test]
fn an_aborted_transaction_leaves_the_versions_as_committed() {
    let dir = tempfile::tempdir().unwrap();
    let set = open(true, true, &dir);
    let store: VersionedKeyValueStore<String, String> = set.bind("v").unwrap();
    let k = "k".to_owned();
    store.put(&k, &"a".to_owned(), 10).unwrap();
    set.commit_writes().unwrap();
    store.put(&k, &"b".to_owned(), 500).unwrap();
    set.abort_writes();
    assert_eq!(store.get(&k).unwrap(), record("a", 10, None));
    // Stream time went back with the abort: 20 is not older than the history retention.
    assert_eq!(store.put(&k, &"c".to_owned(), 20).unwrap(), PUT_LATEST);
    assert_eq!(store.get_as_of(&k, 15).unwrap(), record("a", 10, Some(20)));
}

#[test]
fn versions_answer_as_of_a_time_in_memory() {
    contract(false, false);
}

#[test]
fn versions_answer_as_of_a_time_in_rocksdb() {
    contract(true, false);
}

#[test]
fn versions_answer_as_of_a_time_under_exactly_once() {
    contract(false, true);
    contract(true, true);
}

mod processor_api {
    use streams_runtime::prelude::*;

    /// Records each price as a version and answers each query `key@time` with the price then.
    #[derive(Processor)]
    #[processor(input = (String, String), output = (String, String))]
    struct PriceHistory {
        #[store("prices")]
        prices: VersionedKeyValueStore<String, i64>,
    }

    impl Processor for PriceHistory {
        fn process(
            &mut self,
            record: Record<String, String>,
            ctx: &mut impl ProcessorContext<String, String>,
        ) -> Result<(), ProcessingError> {
            if let Some(at) = record.value.strip_prefix('@') {
                let at: i64 = at.parse().unwrap_or_default();
                let price = self.prices.get_as_of(&record.key, at)?;
                let answer = price.map_or("none".to_owned(), |p| format!("{}@{}", p.value, p.timestamp));
                return ctx.forward(Record::new(record.key, answer, record.timestamp));
            }
            let price: i64 = record.value.parse().unwrap_or_default();
            self.prices.put(&record.key, &price, record.timestamp)?;
            Ok(())
        }
    }

    topology! {
        struct Prices {
            source input { topic: "prices-in", key: String, value: String }
            processor history: PriceHistory { parents: [input] }
            store prices { kind: versioned, key: String, value: i64, history_retention: 1h }
            sink output { topic: "prices-out", parents: [history] }
        }
    }

    #[test]
    fn a_processor_reads_its_versioned_store_as_of_a_time() {
        let driver = test_driver(&Prices).unwrap();
        let mut input = driver.input_topic(Prices::source_input());
        for (value, ts) in [
            ("10", 100),
            ("12", 200),
            ("11", 150),
            ("@120", 300),
            ("@99", 301),
            ("@500", 302),
        ] {
            input.pipe_input_at("k".to_owned(), value.to_owned(), ts).unwrap();
        }
        let mut output = driver.output_topic_as::<String, String>("prices-out");
        assert_eq!(output.read_values_to_list().unwrap(), ["10@100", "none", "12@200"]);
        let store = driver.store(Prices::store_prices());
        assert_eq!(
            store.get_as_of(&"k".to_owned(), 160).unwrap().map(|r| r.value),
            Some(11)
        );
        let mut changelog = driver.output_topic_as::<String, Option<i64>>("test-app-prices-changelog");
        let versions: Vec<(Option<i64>, i64)> = changelog
            .read_records_to_list()
            .unwrap()
            .into_iter()
            .map(|r| (r.value, r.timestamp))
            .collect();
        assert_eq!(versions, [(Some(10), 100), (Some(12), 200), (Some(11), 150)]);
    }
}
