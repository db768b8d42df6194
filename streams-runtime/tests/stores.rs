//! Key-value store semantics (Java's `KeyValueStore` contract), for both backends.

use streams_runtime::prelude::*;
use streams_runtime::state::{StoreContext, StoreSet, StoreSpec};

fn open(persistent: bool, dir: &tempfile::TempDir) -> StoreSet {
    open_with(persistent, false, dir)
}

/// A task's store set; `exactly_once` keeps writes apart until they are committed.
fn open_with(persistent: bool, exactly_once: bool, dir: &tempfile::TempDir) -> StoreSet {
    let specs: &'static [StoreSpec] = if persistent {
        &[StoreSpec {
            name: "s",
            kind: StoreKind::KeyValue,
            persistent: true,
            logging: true,
            timestamped: false,
            retention_ms: 0,
            window_size_ms: 0,
            retain_duplicates: false,
            caching: false,
        }]
    } else {
        &[StoreSpec {
            name: "s",
            kind: StoreKind::KeyValue,
            persistent: false,
            logging: true,
            timestamped: false,
            retention_ms: 0,
            window_size_ms: 0,
            retain_duplicates: false,
            caching: false,
        }]
    };
    StoreSet::open(
        specs,
        &StoreContext {
            task_dir: dir.path().to_owned(),
            exactly_once,
            globals: Default::default(),
            #[cfg(feature = "rocksdb")]
            rocksdb: Default::default(),
            cache: Default::default(),
            store_metrics: false,
        },
        |_| true,
    )
    .unwrap()
}

fn keys(it: impl Iterator<Item = Result<(String, i64), streams_runtime::error::StoreError>>) -> Vec<String> {
    it.map(|e| e.unwrap().0).collect()
}

fn contract(persistent: bool, exactly_once: bool) {
    let dir = tempfile::tempdir().unwrap();
    let set = open_with(persistent, exactly_once, &dir);
    let store: KeyValueStore<String, i64> = set.bind("s").unwrap();
    for (i, k) in ["b", "d", "a", "c", "e", "ab"].iter().enumerate() {
        store.put(&k.to_string(), &(i as i64)).unwrap();
    }
    let s = |x: &str| x.to_owned();
    assert_eq!(store.get(&s("d")).unwrap(), Some(1));
    assert_eq!(store.get(&s("zz")).unwrap(), None);
    // Inclusive on both ends, ordered by the serialized key bytes.
    assert_eq!(
        keys(store.range(Some(&s("ab")), Some(&s("d"))).unwrap()),
        ["ab", "b", "c", "d"]
    );
    assert_eq!(
        keys(store.reverse_range(Some(&s("ab")), Some(&s("d"))).unwrap()),
        ["d", "c", "b", "ab"]
    );
    assert_eq!(keys(store.range(None, Some(&s("b"))).unwrap()), ["a", "ab", "b"]);
    assert_eq!(keys(store.range(Some(&s("d")), None).unwrap()), ["d", "e"]);
    // from > to gives nothing, as in Java.
    assert!(keys(store.range(Some(&s("d")), Some(&s("a"))).unwrap()).is_empty());
    assert_eq!(keys(store.all().unwrap()), ["a", "ab", "b", "c", "d", "e"]);
    assert_eq!(keys(store.reverse_all().unwrap()), ["e", "d", "c", "b", "ab", "a"]);
    assert_eq!(keys(store.prefix_scan(&s("a"), &StringSerde).unwrap()), ["a", "ab"]);
    assert_eq!(store.put_if_absent(&s("a"), &99).unwrap(), Some(2));
    assert_eq!(store.put_if_absent(&s("f"), &5).unwrap(), None);
    assert_eq!(store.get(&s("f")).unwrap(), Some(5));
    assert_eq!(store.delete(&s("f")).unwrap(), Some(5));
    assert_eq!(store.delete(&s("f")).unwrap(), None);
    store.put_all(&[(s("x"), 1), (s("y"), 2)]).unwrap();
    assert_eq!(store.approximate_num_entries().unwrap(), 8);
    store.flush().unwrap();

    // Writing null (an Option value of None) deletes, like put(key, null) in Java.
    let nullable: KeyValueStore<String, Option<i64>> = set.bind("s").unwrap();
    nullable.put(&s("x"), &None).unwrap();
    assert_eq!(store.get(&s("x")).unwrap(), None);
}

#[test]
fn in_memory_store_follows_the_key_value_contract() {
    contract(false, false);
}

#[test]
fn rocksdb_store_follows_the_key_value_contract() {
    contract(true, false);
}

#[test]
fn uncommitted_writes_follow_the_key_value_contract_in_both_backends() {
    // Under exactly-once every read above sees the task's own uncommitted writes.
    contract(false, true);
    contract(true, true);
}

/// Commits apply a transaction's writes, aborts drop them: the store is back at the last
/// commit without being wiped.
fn rollback(persistent: bool) {
    let dir = tempfile::tempdir().unwrap();
    let s = |x: &str| x.to_owned();
    {
        let set = open_with(persistent, true, &dir);
        let store: KeyValueStore<String, i64> = set.bind("s").unwrap();
        store.put(&s("a"), &1).unwrap();
        store.put(&s("b"), &2).unwrap();
        set.commit_writes().unwrap();

        store.put(&s("a"), &10).unwrap();
        assert_eq!(store.delete(&s("b")).unwrap(), Some(2));
        store.put(&s("c"), &3).unwrap();
        let change = store.update(&s("c"), |old| old.map(|n| n + 1)).unwrap().unwrap();
        assert_eq!((change.old, change.new), (Some(3), Some(4)));
        assert_eq!(keys(store.all().unwrap()), ["a", "c"]);
        set.abort_writes();
        assert_eq!(store.get(&s("a")).unwrap(), Some(1));
        assert_eq!(store.get(&s("b")).unwrap(), Some(2));
        assert_eq!(store.get(&s("c")).unwrap(), None);
        assert_eq!(keys(store.all().unwrap()), ["a", "b"]);

        store.put(&s("a"), &100).unwrap();
        store.delete(&s("b")).unwrap();
        set.commit_writes().unwrap();
        assert_eq!(keys(store.all().unwrap()), ["a"]);
        // Written, never committed: not in the backend.
        store.put(&s("z"), &26).unwrap();
        set.flush().unwrap();
    }
    if persistent {
        let set = open_with(true, true, &dir);
        let store: KeyValueStore<String, i64> = set.bind("s").unwrap();
        assert_eq!(keys(store.all().unwrap()), ["a"]);
        assert_eq!(store.get(&s("a")).unwrap(), Some(100));
    }
}

#[test]
fn an_abort_rolls_an_in_memory_store_back_to_the_last_commit() {
    rollback(false);
}

#[test]
fn an_abort_rolls_a_rocksdb_store_back_to_the_last_commit() {
    rollback(true);
}

#[test]
fn binding_an_unknown_store_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let set = open(false, &dir);
    let err = set.bind::<KeyValueStore<String, i64>>("nope").unwrap_err();
    assert_eq!(
        err.to_string(),
        "no store named nope in this topology; its stores are: s"
    );
}

#[test]
fn rocksdb_state_survives_reopening_the_task_directory() {
    let dir = tempfile::tempdir().unwrap();
    {
        let set = open(true, &dir);
        let store: KeyValueStore<String, i64> = set.bind("s").unwrap();
        store.put(&"k".to_owned(), &42).unwrap();
        set.flush().unwrap();
    }
    let set = open(true, &dir);
    let store: KeyValueStore<String, i64> = set.bind("s").unwrap();
    assert_eq!(store.get(&"k".to_owned()).unwrap(), Some(42));
}
