//! Java's record cache through the test driver, which flushes it after every record (as Java's
//! driver commits after every record): updates of a key within one record collapse into one, a
//! table drops tombstones of rows it never had, a tight budget evicts (and so flushes) early,
//! `caching: false` forwards every update, and an exactly-once abort drops dirty entries.

use streams_runtime::__private::{Destination, RawRecord, Task, TaskGraph, create_task};
use streams_runtime::prelude::*;
use streams_runtime::processor::TaskId;
use streams_runtime::record::Headers;
use streams_runtime::state::{StoreContext, ThreadCache};
use streams_runtime::topology::NodeSet;

fn kv<V>(k: &str, v: V) -> (String, V) {
    (k.to_owned(), v)
}

topology! {
    /// The words of each record counted and concatenated per record key, cached and not.
    struct Words {
        stream events { topic: "events", key: String, value: String }
        let words = events.flat_map_values(|v| v.split(' ').map(str::to_owned).collect::<Vec<_>>());
        words.group_by_key().count(store: "counts").to_stream().to("counts-out");
        words
            .group_by_key()
            .reduce(|a, v| format!("{a},{v}"), store: "concat")
            .to_stream()
            .to("concat-out");
        words.group_by_key().count(store: "uncached-counts", caching: false).to_stream().to("uncached-out");
    }
}

fn pipe_words<G: TaskGraph>(driver: &TopologyTestDriver<G>, records: &[(&str, &str)]) {
    let mut input = driver.input_topic(Words::source_events());
    for (k, v) in records {
        input.pipe_input((*k).to_owned(), (*v).to_owned()).unwrap();
    }
}

#[test]
fn updates_of_a_key_within_one_record_collapse_into_one() {
    let driver = test_driver(&Words).unwrap();
    pipe_words(&driver, &[("k", "a b c"), ("j", "x"), ("k", "d e")]);
    let mut counts = driver.output_topic_as::<String, Option<i64>>("counts-out");
    assert_eq!(
        counts.read_key_values_to_list().unwrap(),
        [kv("k", Some(3)), kv("j", Some(1)), kv("k", Some(5))]
    );
    let mut concat = driver.output_topic_as::<String, Option<String>>("concat-out");
    assert_eq!(
        concat.read_key_values_to_list().unwrap(),
        [
            kv("k", Some("a,b,c".to_owned())),
            kv("j", Some("x".to_owned())),
            kv("k", Some("a,b,c,d,e".to_owned()))
        ]
    );
    // Without the cache, every update.
    let mut uncached = driver.output_topic_as::<String, Option<i64>>("uncached-out");
    assert_eq!(
        uncached.read_values_to_list().unwrap(),
        [Some(1), Some(2), Some(3), Some(1), Some(4), Some(5)]
    );
    // The changelog gets the flushed value only.
    let mut changelog = driver.output_topic_as::<String, i64>("test-app-counts-changelog");
    assert_eq!(
        changelog.read_key_values_to_list().unwrap(),
        [kv("k", 3), kv("j", 1), kv("k", 5)]
    );
    let uncached_log = driver.output_topic_as::<String, i64>("test-app-uncached-counts-changelog");
    assert_eq!(uncached_log.queue_size(), 6);
}

#[test]
fn a_budget_too_small_for_two_entries_evicts_and_flushes_them_as_they_are_written() {
    // Java's sizes: a count entry of key "k" is 1 + 24 + 1 + 16 (timestamp and count) + the
    // context 8 + 8 + 6 ("events") + 4 = 68 bytes; a concatenation of one letter 61. With
    // 100 bytes, the concatenation is evicted (so flushed and forwarded) as soon as it is
    // written; the count waits for the commit after the record.
    let config = DriverConfig {
        statestore_cache_max_bytes: 100,
        ..DriverConfig::default()
    };
    let driver = test_driver_with(&Words, config).unwrap();
    pipe_words(&driver, &[("k", "a b")]);
    let mut concat = driver.output_topic_as::<String, Option<String>>("concat-out");
    assert_eq!(
        concat.read_values_to_list().unwrap(),
        [Some("a".to_owned()), Some("a,b".to_owned())]
    );
    let mut counts = driver.output_topic_as::<String, Option<i64>>("counts-out");
    assert_eq!(counts.read_values_to_list().unwrap(), [Some(2)]);
}

topology! {
    /// A cached table (named with `store:`) and one that is not.
    struct Tables {
        table cached { topic: "cached-in", key: String, value: String, store: "cached-store" }
        table plain { topic: "plain-in", key: String, value: String, store: "plain-store", caching: false }
        cached.to_stream().to("cached-out");
        plain.to_stream().to("plain-out");
    }
}

#[test]
fn a_cached_table_forwards_no_tombstone_for_a_row_it_never_had() {
    let driver = test_driver(&Tables).unwrap();
    for (topic, source) in [
        ("cached-out", Tables::source_cached()),
        ("plain-out", Tables::source_plain()),
    ] {
        let mut input = driver.input_topic(source);
        let rows = [("a", Some("1")), ("b", None), ("a", None), ("a", None)];
        for (k, v) in rows {
            input.pipe_input(Some(k.to_owned()), v.map(str::to_owned)).unwrap();
        }
        let changes = driver
            .output_topic_as::<String, Option<String>>(topic)
            .read_key_values_to_list()
            .unwrap();
        if topic == "cached-out" {
            assert_eq!(changes, [kv("a", Some("1".to_owned())), kv("a", None)]);
        } else {
            assert_eq!(
                changes,
                [
                    kv("a", Some("1".to_owned())),
                    kv("b", None),
                    kv("a", None),
                    kv("a", None)
                ]
            );
        }
    }
}

/// Puts every record's value twice under its key (the second time upper-cased).
#[derive(Processor)]
#[processor(input = (String, String), output = (String, String))]
struct TwicePut {
    #[store("papi-cached")]
    cached: KeyValueStore<String, String>,
    #[store("papi-plain")]
    plain: KeyValueStore<String, String>,
}

impl Processor for TwicePut {
    fn process(
        &mut self,
        record: Record<String, String>,
        ctx: &mut impl ProcessorContext<String, String>,
    ) -> Result<(), ProcessingError> {
        for store in [&self.cached, &self.plain] {
            store.put(&record.key, &record.value)?;
            store.put(&record.key, &record.value.to_uppercase())?;
        }
        // Reads see the cached write.
        let read = self.cached.get(&record.key)?.unwrap_or_default();
        ctx.forward(Record::new(record.key, read, record.timestamp))
    }
}

topology! {
    struct ProcessorStores {
        source input { topic: "papi-in", key: String, value: String }
        processor twice: TwicePut { parents: [input] }
        sink output { topic: "papi-out", parents: [twice] }
        store papi_cached { name: "papi-cached", key: String, value: String, caching: true }
        store papi_plain { name: "papi-plain", key: String, value: String }
    }
}

#[test]
fn a_processor_store_with_caching_logs_the_latest_write_of_a_key_at_the_commit() {
    let driver = test_driver(&ProcessorStores).unwrap();
    let mut input = driver.input_topic(ProcessorStores::source_input());
    input.pipe_input_at("k".to_owned(), "v".to_owned(), 42).unwrap();
    let mut out = driver.output_topic_as::<String, String>("papi-out");
    assert_eq!(out.read_key_values_to_list().unwrap(), [kv("k", "V".to_owned())]);
    let mut cached = driver.output_topic_as::<String, String>("test-app-papi-cached-changelog");
    let logged = cached.read_records_to_list().unwrap();
    assert_eq!(
        logged
            .iter()
            .map(|r| (&r.key[..], &r.value[..], r.timestamp))
            .collect::<Vec<_>>(),
        [("k", "V", 42)],
        "one changelog record, with the timestamp of the record that wrote it"
    );
    let plain = driver.output_topic_as::<String, String>("test-app-papi-plain-changelog");
    assert_eq!(plain.queue_size(), 2);
}

fn raw(key: &'static [u8], value: &'static [u8], offset: i64) -> RawRecord<'static> {
    RawRecord {
        topic: "events",
        partition: 0,
        offset,
        timestamp: offset,
        key: Some(key),
        value: Some(value),
        headers: Headers::new(),
    }
}

/// The `counts-out` values the task sent since the last call.
fn counts<G: TaskGraph>(task: &mut Task<G>) -> Vec<i64> {
    let mut values = Vec::new();
    task.drain_output(|r| {
        if matches!(r.destination, Destination::Topic("counts-out")) {
            values.push(i64::from_be_bytes(r.value.unwrap().try_into().unwrap()));
        }
    });
    values
}

#[test]
fn an_exactly_once_abort_drops_the_dirty_entries_of_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = ThreadCache::default();
    let stores = StoreContext {
        task_dir: dir.path().to_owned(),
        exactly_once: true,
        globals: Default::default(),
        #[cfg(feature = "rocksdb")]
        rocksdb: Default::default(),
        cache: cache.clone(),
        store_metrics: false,
    };
    let id = TaskId {
        subtopology: 0,
        partition: 0,
    };
    let mut task = create_task(&Words, id, NodeSet::All, "abort", &stores, 0).unwrap();
    task.process(0, raw(b"k", b"a b", 0)).unwrap();
    assert_eq!(counts(&mut task), [] as [i64; 0], "cached until the commit");
    task.flush_caches().unwrap();
    assert_eq!(counts(&mut task), [2]);
    task.commit_state().unwrap();
    task.process(0, raw(b"k", b"c d e", 1)).unwrap();
    task.process(0, raw(b"k", b"f", 2)).unwrap();
    // Java's sizes: the count of "k" (68 bytes) and its concatenation "a,b,c,d,e,f" (71).
    assert_eq!(cache.size_bytes(), 139);
    task.revive().unwrap();
    assert_eq!(cache.size_bytes(), 0);
    task.flush_caches().unwrap();
    assert_eq!(counts(&mut task), [] as [i64; 0], "the dirty entries are gone");
    // Processed again from the committed state: one update for both records.
    task.process(0, raw(b"k", b"c d e", 1)).unwrap();
    task.process(0, raw(b"k", b"f", 2)).unwrap();
    task.flush_caches().unwrap();
    assert_eq!(counts(&mut task), [6]);
    task.close().unwrap();
}
