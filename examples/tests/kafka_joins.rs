//! Joins on the real Kafka broker (`support::kafka`): a global table that every instance reads in
//! full, bootstrapped before any record is processed and restored from its own topic (only the
//! tail after a restart, thanks to its checkpoint).

mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use streams_runtime::config::StreamsConfig;
use streams_runtime::kafka::KafkaStreams;
use streams_runtime::prelude::*;
use support::{app_id, await_running, kafka};

topology! {
    struct Enrich {
        stream orders { topic: "kj-orders", key: String, value: String }
        global_table products { topic: "kj-products", key: String, value: String, store: "kj-products-store" }
        orders
            .join(products, |_, order| order.split(':').next().unwrap_or_default().to_owned(), |order, product| {
                format!("{order}/{product}")
            })
            .to("kj-enriched");
    }
}

fn start(app: &str, state: &std::path::Path, restored: &Arc<Mutex<Vec<(String, u64)>>>) -> KafkaStreams<Enrich> {
    let bootstrap = kafka().bootstrap();
    let state = state.display().to_string();
    let config = StreamsConfig::from_properties([
        ("application.id", app),
        ("bootstrap.servers", bootstrap.as_str()),
        ("state.dir", state.as_str()),
        ("commit.interval.ms", "100"),
        // Every update is emitted (a zero record cache flushes each write at once, as Java does
        // with `statestore.cache.max.bytes=0`): the tests know how many to expect.
        ("statestore.cache.max.bytes", "0"),
    ])
    .unwrap();
    let streams = KafkaStreams::new(Enrich, config).unwrap();
    let log = Arc::clone(restored);
    streams.set_restore_listener(move |r| {
        if r.store == "kj-products-store" {
            log.lock().unwrap().push((r.store.to_owned(), r.records));
        }
    });
    streams
}

fn products(range: std::ops::Range<u32>) -> Vec<(String, String)> {
    range.map(|i| (format!("p{i}"), format!("product-{i}"))).collect()
}

fn send(topic: &str, records: &[(String, String)]) {
    let raw: Vec<support::RawRecord<'_>> = records
        .iter()
        .map(|(k, v)| (Some(k.as_bytes()), Some(v.as_bytes())))
        .collect();
    kafka().send(topic, None, &raw);
}

#[test]
fn every_instance_reads_the_whole_global_table_before_processing_and_restores_only_the_tail() {
    let app = app_id("kj-global");
    kafka().create_topics(&["kj-orders", "kj-products"], 2);
    kafka().create_topics(&["kj-enriched"], 1);
    // The table and the orders are all there before the instances start: an order processed
    // before its instance's global table was bootstrapped would find no product.
    send("kj-products", &products(0..6));
    let orders: Vec<(String, String)> = (0..12).map(|i| (format!("c{i}"), format!("p{}:o{i}", i % 6))).collect();
    send("kj-orders", &orders);

    let restored = Arc::new(Mutex::new(Vec::new()));
    let (first_dir, second_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut first = start(&app, first_dir.path(), &restored);
    let mut second = start(&app, second_dir.path(), &restored);
    first.start().unwrap();
    second.start().unwrap();
    await_running(&first);
    await_running(&second);
    let expected: BTreeSet<String> = (0..12).map(|i| format!("p{}:o{i}/product-{}", i % 6, i % 6)).collect();
    let read = |n: usize| -> BTreeSet<String> {
        kafka()
            .read("kj-enriched", "read_uncommitted", Duration::from_secs(1), |r| {
                r.len() >= n
            })
            .iter()
            .map(support::Read::value_str)
            .collect()
    };
    assert_eq!(read(12), expected);
    // Both instances bootstrapped all six rows (each reads every partition of the topic).
    assert_eq!(
        *restored.lock().unwrap(),
        [("kj-products-store".to_owned(), 6), ("kj-products-store".to_owned(), 6)]
    );
    // Both instances own one partition of the orders; each must see products of both
    // partitions of the table.
    let tasks: usize = [&first, &second]
        .iter()
        .map(|s| {
            s.metadata_for_local_threads()
                .iter()
                .map(|t| t.active_tasks.len())
                .sum::<usize>()
        })
        .sum();
    assert_eq!(tasks, 2);
    assert!(second.close(Duration::from_secs(10)));
    assert!(second.take_failure().is_none());

    // Updates reach the running instance's global store: an order sent after the update joins
    // the new row once the global thread has applied it (asked again until then, 30 s at most).
    send("kj-products", &[("p0".to_owned(), "renamed".to_owned())]);
    let mut joined = BTreeSet::new();
    for attempt in 0..30 {
        std::thread::sleep(Duration::from_millis(500));
        send("kj-orders", &[(format!("c2{attempt}"), format!("p0:o2{attempt}"))]);
        joined = read(13 + attempt);
        if joined.contains(&format!("p0:o2{attempt}/renamed")) {
            break;
        }
    }
    assert!(joined.iter().any(|v| v.ends_with("/renamed")), "{joined:?}");
    assert!(first.close(Duration::from_secs(10)));
    assert!(first.take_failure().is_none());

    // A restart on the same state directory reads only what came after its checkpoint.
    restored.lock().unwrap().clear();
    send("kj-products", &products(6..8));
    let mut again = start(&app, first_dir.path(), &restored);
    again.start().unwrap();
    await_running(&again);
    assert_eq!(*restored.lock().unwrap(), [("kj-products-store".to_owned(), 2)]);
    send("kj-orders", &[("c99".to_owned(), "p7:o99".to_owned())]);
    assert!(read(joined.len() + 1).contains("p7:o99/product-7"));
    assert!(again.close(Duration::from_secs(10)));
    assert!(again.take_failure().is_none());
}

topology! {
    struct Clicks {
        stream views { topic: "kj-views", key: String, value: String }
        stream clicks { topic: "kj-clicks", key: String, value: String }
        views
            .left_join(clicks, |v, c| format!("{v}+{}", c.map_or("none", String::as_str)), join_windows(1min))
            .to("kj-view-clicks");
    }
}

/// A minute boundary ten minutes ago: window stores' changelogs delete by time, so the test's
/// records must be recent.
fn recent() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    (now / 60_000 - 10) * 60_000
}

fn config(app: &str, state: &std::path::Path) -> StreamsConfig {
    let bootstrap = kafka().bootstrap();
    let state = state.display().to_string();
    StreamsConfig::from_properties([
        ("application.id", app),
        ("bootstrap.servers", bootstrap.as_str()),
        ("state.dir", state.as_str()),
        ("commit.interval.ms", "100"),
        // Every update is emitted (a zero record cache flushes each write at once, as Java does
        // with `statestore.cache.max.bytes=0`): the tests know how many to expect.
        ("statestore.cache.max.bytes", "0"),
    ])
    .unwrap()
}

fn timed(records: &[(&'static str, &'static str, i64)]) -> Vec<support::TimedRecord<'static>> {
    records
        .iter()
        .map(|&(k, v, ts)| (Some(k.as_bytes()), Some(v.as_bytes()), ts))
        .collect()
}

#[test]
fn a_stream_stream_join_restores_both_window_stores_and_its_unmatched_records() {
    let app = app_id("kj-clicks");
    kafka().create_topics(&["kj-views", "kj-clicks", "kj-view-clicks"], 1);
    let base = recent();
    kafka().send_at(
        "kj-views",
        None,
        &timed(&[("a", "va", base), ("b", "vb", base + 1_000)]),
    );
    let first_dir = tempfile::tempdir().unwrap();
    let mut first = KafkaStreams::new(Clicks, config(&app, first_dir.path())).unwrap();
    first.start().unwrap();
    await_running(&first);
    // Both views are buffered (and logged) before the instance stops: no partner yet.
    let changelog = format!("{app}-KSTREAM-JOINTHIS-0000000004-store-changelog");
    kafka().read(&changelog, "read_uncommitted", Duration::from_secs(1), |r| r.len() >= 2);
    std::thread::sleep(Duration::from_millis(500));
    assert!(first.close(Duration::from_secs(10)));
    assert!(first.take_failure().is_none());

    let restored = Arc::new(Mutex::new(Vec::new()));
    let second_dir = tempfile::tempdir().unwrap();
    let mut second = KafkaStreams::new(Clicks, config(&app, second_dir.path())).unwrap();
    let log = Arc::clone(&restored);
    second.set_restore_listener(move |r| log.lock().unwrap().push((r.store.to_owned(), r.records)));
    second.start().unwrap();
    await_running(&second);
    // A click joins the restored view of `a`; a later view closes `b`'s window, and `b`, left
    // unmatched in the restored outer-join store, is emitted joined with nothing.
    kafka().send_at("kj-clicks", None, &timed(&[("a", "ca", base + 10_000)]));
    // The view comes once the click is joined: records of the two topics are processed in the
    // order they are fetched, and a view five minutes later would close `a`'s window too.
    kafka().read("kj-view-clicks", "read_uncommitted", Duration::ZERO, |r| !r.is_empty());
    // Unmatched records are looked for at most once a second of wall-clock time (Java's
    // default `__emit.interval.ms.kstreams.outer.join.spurious.results.fix__`), and the click
    // just did.
    std::thread::sleep(Duration::from_millis(1_100));
    kafka().send_at("kj-views", None, &timed(&[("z", "vz", base + 300_000)]));
    let out: Vec<(String, String)> = kafka()
        .read("kj-view-clicks", "read_uncommitted", Duration::from_secs(1), |r| {
            r.len() >= 2
        })
        .iter()
        .map(|r| (r.key_str(), r.value_str()))
        .collect();
    assert_eq!(
        out,
        [
            ("a".to_owned(), "va+ca".to_owned()),
            ("b".to_owned(), "vb+none".to_owned())
        ]
    );
    assert!(second.close(Duration::from_secs(10)));
    assert!(second.take_failure().is_none());
    let mut restored = std::mem::take(&mut *restored.lock().unwrap());
    restored.sort();
    assert_eq!(
        restored,
        [
            ("KSTREAM-JOINTHIS-0000000004-store".to_owned(), 2),
            ("KSTREAM-OUTEROTHER-0000000005-store".to_owned(), 0),
            ("KSTREAM-OUTERSHARED-0000000004-store".to_owned(), 2),
        ]
    );
}

topology! {
    struct Lines {
        table orders { topic: "kj-fk-orders", key: String, value: String, store: "kj-fk-orders-store" }
        table products { topic: "kj-fk-products", key: String, value: String, store: "kj-fk-products-store" }
        orders
            .join(products, |order| order.split(':').next().unwrap_or_default().to_owned(), |order, product| {
                format!("{order}/{product}")
            })
            .to_stream()
            .to("kj-fk-lines");
    }
}

#[test]
fn a_foreign_key_join_runs_over_tables_with_different_partition_counts() {
    let app = app_id("kj-fk");
    kafka().create_topics(&["kj-fk-orders", "kj-fk-lines"], 2);
    kafka().create_topics(&["kj-fk-products"], 3);
    let dir = tempfile::tempdir().unwrap();
    let mut streams = KafkaStreams::new(Lines, config(&app, dir.path())).unwrap();
    streams.start().unwrap();
    await_running(&streams);
    send("kj-fk-products", &products(0..4));
    let orders: Vec<(String, String)> = (0..8).map(|i| (format!("o{i}"), format!("p{}:{i}", i % 4))).collect();
    send("kj-fk-orders", &orders);
    let expected: BTreeSet<(String, String)> = (0..8)
        .map(|i| (format!("o{i}"), format!("p{}:{i}/product-{}", i % 4, i % 4)))
        .collect();
    let lines: BTreeSet<(String, String)> = kafka()
        .read("kj-fk-lines", "read_uncommitted", Duration::from_secs(2), |r| {
            r.len() >= 8
        })
        .iter()
        .map(|r| (r.key_str(), r.value_str()))
        .collect();
    assert_eq!(lines, expected);
    assert!(streams.close(Duration::from_secs(10)));
    assert!(streams.take_failure().is_none());
}

topology! {
    struct Mismatched {
        stream orders { topic: "kj-mis-orders", key: String, value: String }
        table customers { topic: "kj-mis-customers", key: String, value: String }
        orders.join(customers, |o, c| format!("{o}/{c}")).to("kj-mis-out");
    }
}

#[test]
fn a_join_of_topics_with_different_partition_counts_is_a_startup_error_naming_them() {
    kafka().create_topics(&["kj-mis-orders"], 2);
    kafka().create_topics(&["kj-mis-customers"], 3);
    let dir = tempfile::tempdir().unwrap();
    let mut streams = KafkaStreams::new(Mismatched, config(&app_id("kj-mis"), dir.path())).unwrap();
    let error = streams.start().unwrap_err().to_string();
    assert!(
        error.contains("kj-mis-orders (2)") && error.contains("kj-mis-customers (3)"),
        "{error}"
    );
}
