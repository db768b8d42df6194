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

    // Updates reach the running instance's global store.
    send("kj-products", &[("p0".to_owned(), "renamed".to_owned())]);
    std::thread::sleep(Duration::from_secs(1));
    send("kj-orders", &[("c20".to_owned(), "p0:o20".to_owned())]);
    assert!(read(13).contains("p0:o20/renamed"));
    assert!(first.close(Duration::from_secs(10)));
    assert!(first.take_failure().is_none());

    // A restart on the same state directory reads only what came after its checkpoint.
    restored.lock().unwrap().clear();
    send("kj-products", &products(6..8));
    let mut again = start(&app, first_dir.path(), &restored);
    again.start().unwrap();
    await_running(&again);
    assert_eq!(*restored.lock().unwrap(), [("kj-products-store".to_owned(), 2)]);
    send("kj-orders", &[("c21".to_owned(), "p7:o21".to_owned())]);
    assert!(read(14).contains("p7:o21/product-7"));
    assert!(again.close(Duration::from_secs(10)));
    assert!(again.take_failure().is_none());
}
