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
