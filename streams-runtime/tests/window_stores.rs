//! Window and session store semantics (Java's `WindowStore` / `SessionStore` contracts), for both
//! backends, with and without exactly-once, retention included.

use streams_runtime::prelude::*;
use streams_runtime::state::{StoreContext, StoreSet, StoreSpec};

const MINUTE: i64 = 60_000;

const fn spec(name: &'static str, kind: StoreKind, persistent: bool, retention_ms: i64) -> StoreSpec {
    StoreSpec {
        name,
        kind,
        persistent,
        logging: true,
        timestamped: false,
        retention_ms,
        window_size_ms: 10,
        retain_duplicates: false,
        caching: false,
    }
}

static MEMORY: [StoreSpec; 2] = [
    spec("w", StoreKind::Window, false, 2 * MINUTE),
    spec("s", StoreKind::Session, false, 2 * MINUTE),
];
static ROCKSDB: [StoreSpec; 2] = [
    spec("w", StoreKind::Window, true, 2 * MINUTE),
    spec("s", StoreKind::Session, true, 2 * MINUTE),
];

fn open(persistent: bool, exactly_once: bool, dir: &tempfile::TempDir) -> StoreSet {
    let specs: &'static [StoreSpec] = if persistent { &ROCKSDB } else { &MEMORY };
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

fn s(x: &str) -> String {
    x.to_owned()
}

type Entries = Vec<(String, i64, i64)>;

fn windowed(it: impl Iterator<Item = Result<(Windowed<String>, i64), streams_runtime::error::StoreError>>) -> Entries {
    it.map(|e| {
        let (k, v) = e.unwrap();
        (k.key, k.window.start, v)
    })
    .collect()
}

fn window_contract(persistent: bool, exactly_once: bool) {
    let dir = tempfile::tempdir().unwrap();
    let set = open(persistent, exactly_once, &dir);
    let store: WindowStore<String, i64> = set.bind("w").unwrap();
    // "a" and "ab" share a prefix: the key-schema must not mix them up.
    for (key, start, value) in [
        ("a", 10, 1),
        ("ab", 10, 2),
        ("a", 0, 3),
        ("a", 30, 4),
        ("b", 20, 5),
        ("ab", 0, 6),
    ] {
        store.put(&s(key), &value, start).unwrap();
    }
    assert_eq!(store.get(&s("a"), 10).unwrap(), Some(1));
    assert_eq!(store.get(&s("a"), 20).unwrap(), None);
    let fetched: Vec<(i64, i64)> = store.fetch(&s("a"), 0, 20).unwrap().map(Result::unwrap).collect();
    assert_eq!(fetched, [(0, 3), (10, 1)]);
    let backward: Vec<(i64, i64)> = store
        .backward_fetch(&s("a"), 0, 30)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(backward, [(30, 4), (10, 1), (0, 3)]);
    assert_eq!(
        windowed(store.fetch_range(Some(&s("ab")), Some(&s("b")), 0, 20).unwrap()),
        [(s("ab"), 0, 6), (s("ab"), 10, 2), (s("b"), 20, 5)]
    );
    assert_eq!(
        windowed(store.fetch_all(10, 20).unwrap()),
        [(s("a"), 10, 1), (s("ab"), 10, 2), (s("b"), 20, 5)]
    );
    assert_eq!(windowed(store.all().unwrap()).len(), 6);
    assert_eq!(windowed(store.backward_all().unwrap())[0], (s("b"), 20, 5));
    // A fetched window ends a window size after its start.
    let (first, _) = store.all().unwrap().next().unwrap().unwrap();
    assert_eq!(first.window, Window::new(0, 10));
    store.delete(&s("a"), 0).unwrap();
    assert_eq!(store.get(&s("a"), 0).unwrap(), None);
    // A null value deletes too.
    let nullable: WindowStore<String, Option<i64>> = set.bind("w").unwrap();
    nullable.put(&s("a"), &None, 10).unwrap();
    assert_eq!(store.get(&s("a"), 10).unwrap(), None);
}

#[test]
fn in_memory_window_store_follows_the_window_store_contract() {
    window_contract(false, false);
}

#[test]
fn rocksdb_window_store_follows_the_window_store_contract() {
    window_contract(true, false);
}

#[test]
fn uncommitted_window_writes_follow_the_contract_in_both_backends() {
    window_contract(false, true);
    window_contract(true, true);
}

/// Segments of half the retention (at least a minute) are dropped once stream time passes them by
/// the retention; reads never see expired windows and puts of expired windows are dropped.
fn retention(persistent: bool) {
    let dir = tempfile::tempdir().unwrap();
    let set = open(persistent, false, &dir);
    let store: WindowStore<String, i64> = set.bind("w").unwrap();
    store.put(&s("k"), &1, 0).unwrap();
    store.put(&s("k"), &2, MINUTE + 10).unwrap();
    assert_eq!(store.segment_count(), 2);
    // Stream time 130 001: windows up to 10 001 have expired; segment 0 still holds live time.
    store.put(&s("k"), &3, 2 * MINUTE + 10_001).unwrap();
    assert_eq!(store.segment_count(), 3);
    assert_eq!(store.get(&s("k"), 0).unwrap(), None);
    assert_eq!(store.get(&s("k"), MINUTE + 10).unwrap(), Some(2));
    // Stream time 200 000: segment 0 (0..60 000) is wholly expired and dropped.
    store.put(&s("k"), &4, 200_000).unwrap();
    assert_eq!(store.segment_count(), 3);
    assert_eq!(store.observed_stream_time(), 200_000);
    store.put(&s("k"), &5, 80_000).unwrap();
    assert_eq!(store.expired_records(), 1);
    let all: Vec<(i64, i64)> = store.fetch(&s("k"), 0, i64::MAX).unwrap().map(Result::unwrap).collect();
    assert_eq!(all, [(2 * MINUTE + 10_001, 3), (200_000, 4)]);
    if persistent {
        let segments = std::fs::read_dir(dir.path().join("rocksdb").join("w")).unwrap().count();
        assert_eq!(segments, 3);
    }
}

#[test]
fn window_stores_drop_expired_segments_in_both_backends() {
    retention(false);
    retention(true);
}

#[test]
fn rocksdb_window_segments_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let set = open(true, false, &dir);
        let store: WindowStore<String, i64> = set.bind("w").unwrap();
        store.put(&s("k"), &1, 5).unwrap();
        store.put(&s("k"), &2, MINUTE + 5).unwrap();
        set.flush().unwrap();
    }
    let set = open(true, false, &dir);
    let store: WindowStore<String, i64> = set.bind("w").unwrap();
    let all: Vec<(i64, i64)> = store.fetch(&s("k"), 0, i64::MAX).unwrap().map(Result::unwrap).collect();
    assert_eq!(all, [(5, 1), (MINUTE + 5, 2)]);
}

/// Exactly-once: writes wait for the commit; an abort drops them and goes back to the stream time
/// of the last commit, so segments an aborted write would have expired are still there.
fn window_rollback(persistent: bool) {
    let dir = tempfile::tempdir().unwrap();
    let set = open(persistent, true, &dir);
    let store: WindowStore<String, i64> = set.bind("w").unwrap();
    store.put(&s("k"), &1, 0).unwrap();
    set.commit_writes().unwrap();
    store.put(&s("k"), &2, 0).unwrap();
    store.put(&s("k"), &3, 10 * MINUTE).unwrap();
    assert_eq!(
        store.get(&s("k"), 0).unwrap(),
        None,
        "expired by the uncommitted stream time"
    );
    set.abort_writes();
    assert_eq!(store.get(&s("k"), 0).unwrap(), Some(1));
    assert_eq!(store.get(&s("k"), 10 * MINUTE).unwrap(), None);
    assert_eq!(store.observed_stream_time(), 0);
}

#[test]
fn window_store_aborts_roll_back_in_both_backends() {
    window_rollback(false);
    window_rollback(true);
}

#[test]
fn window_store_restores_java_changelog_records() {
    let dir = tempfile::tempdir().unwrap();
    let set = open(false, false, &dir);
    // Java's changelog key: key bytes, 8-byte start, 4-byte sequence number.
    let mut key = b"a".to_vec();
    key.extend_from_slice(&10i64.to_be_bytes());
    key.extend_from_slice(&0u32.to_be_bytes());
    set.restore(0, &key, Some(&7i64.to_be_bytes()), 12).unwrap();
    let store: WindowStore<String, i64> = set.bind("w").unwrap();
    assert_eq!(store.get(&s("a"), 10).unwrap(), Some(7));
    set.restore(0, &key, None, 13).unwrap();
    assert_eq!(store.get(&s("a"), 10).unwrap(), None);
}

fn sessions(it: impl Iterator<Item = Result<(Windowed<String>, i64), streams_runtime::error::StoreError>>) -> Entries {
    it.map(|e| {
        let (k, v) = e.unwrap();
        assert!(k.window.start <= k.window.end);
        (k.key, k.window.end, v)
    })
    .collect()
}

fn session(key: &str, start: i64, end: i64) -> Windowed<String> {
    Windowed::new(s(key), Window::new(start, end))
}

fn session_contract(persistent: bool, exactly_once: bool) {
    let dir = tempfile::tempdir().unwrap();
    let set = open(persistent, exactly_once, &dir);
    let store: SessionStore<String, i64> = set.bind("s").unwrap();
    store.put(&session("a", 0, 5), &1).unwrap();
    store.put(&session("a", 20, 30), &2).unwrap();
    store.put(&session("ab", 10, 10), &3).unwrap();
    store.put(&session("a", 40, 40), &4).unwrap();
    assert_eq!(store.fetch_session(&s("a"), 20, 30).unwrap(), Some(2));
    assert_eq!(store.fetch_session(&s("a"), 20, 31).unwrap(), None);
    // Sessions ending at or after 5 and starting at or before 20, by end time.
    assert_eq!(
        sessions(store.find_sessions(&s("a"), 5, 20).unwrap()),
        [(s("a"), 5, 1), (s("a"), 30, 2)]
    );
    assert_eq!(
        sessions(store.backward_find_sessions(&s("a"), 0, 100).unwrap()),
        [(s("a"), 40, 4), (s("a"), 30, 2), (s("a"), 5, 1)]
    );
    assert_eq!(sessions(store.fetch(&s("ab")).unwrap()), [(s("ab"), 10, 3)]);
    store.remove(&session("a", 20, 30)).unwrap();
    assert_eq!(
        sessions(store.fetch(&s("a")).unwrap()),
        [(s("a"), 5, 1), (s("a"), 40, 4)]
    );
    assert_eq!(sessions(store.all().unwrap()).len(), 3);
}

#[test]
fn session_stores_follow_the_session_store_contract() {
    session_contract(false, false);
    session_contract(true, false);
    session_contract(false, true);
    session_contract(true, true);
}

#[test]
fn session_stores_forget_sessions_ended_before_the_retention_period() {
    for persistent in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let set = open(persistent, false, &dir);
        let store: SessionStore<String, i64> = set.bind("s").unwrap();
        store.put(&session("a", 0, 10), &1).unwrap();
        store.put(&session("a", 100, 2 * MINUTE + 10), &2).unwrap();
        assert_eq!(sessions(store.fetch(&s("a")).unwrap()), [(s("a"), 2 * MINUTE + 10, 2)]);
    }
}
