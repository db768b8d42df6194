//! Where records land on the real Kafka broker (`support::kafka`): the default partitioner puts
//! each key where a Java producer would (murmur2 of the key bytes), and a custom
//! `StreamPartitioner` is told the real partition count of its topic.

mod support;

use examples::word_count_topology;
use std::collections::BTreeMap;
use std::time::Duration;
use streams_runtime::config::StreamsConfig;
use streams_runtime::kafka::KafkaStreams;
use streams_runtime::prelude::*;
use support::{app_id, kafka};

fn start<T: Topology + Clone + Send + 'static>(topology: T, app: &str, state: &std::path::Path) -> KafkaStreams<T> {
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
    let mut streams = KafkaStreams::new(topology, config).unwrap();
    streams.start().unwrap();
    streams
}

word_count_topology!(struct Murmur { input: "part-wc-in", output: "part-wc-out" });

#[test]
fn the_default_partitioner_puts_each_key_where_a_java_producer_would() {
    kafka().create_topics(&["part-wc-in"], 1);
    kafka().create_topics(&["part-wc-out"], 3);
    let dir = tempfile::tempdir().unwrap();
    let mut streams = start(Murmur, &app_id("part-wc"), dir.path());
    kafka().send("part-wc-in", None, &[(None, Some(b"kafka streams hello all lead to"))]);
    let records = kafka().read("part-wc-out", "read_uncommitted", Duration::from_secs(1), |r| {
        r.len() >= 6
    });
    let partitions: BTreeMap<String, i32> = records.iter().map(|r| (r.key_str(), r.partition)).collect();
    // `Utils.toPositive(Utils.murmur2(key)) % 3`, as Java's kafka-clients 4.1.1 computes it.
    let java: BTreeMap<String, i32> = [
        ("all", 0),
        ("hello", 0),
        ("kafka", 1),
        ("lead", 2),
        ("streams", 2),
        ("to", 0),
    ]
    .into_iter()
    .map(|(w, p)| (w.to_owned(), p))
    .collect();
    assert_eq!(partitions, java);
    assert!(streams.close(Duration::from_secs(10)));
    assert!(streams.take_failure().is_none());
}

/// Sends every record to the last partition of its topic.
#[derive(Default)]
struct LastPartition;

impl StreamPartitioner<String, String> for LastPartition {
    fn partition(&self, _: &str, _: &String, _: &String, num_partitions: i32) -> Option<i32> {
        Some(num_partitions - 1)
    }
}

topology! {
    struct ToLast {
        stream lines { topic: "part-custom-in", key: String, value: String }
        lines.to("part-custom-out", partitioner: LastPartition);
    }
}

#[test]
fn a_custom_partitioner_is_told_the_sink_topic_partition_count() {
    kafka().create_topics(&["part-custom-in"], 1);
    kafka().create_topics(&["part-custom-out"], 5);
    let dir = tempfile::tempdir().unwrap();
    let mut streams = start(ToLast, &app_id("part-custom"), dir.path());
    kafka().send(
        "part-custom-in",
        None,
        &[
            (Some(b"a"), Some(b"1")),
            (Some(b"b"), Some(b"2")),
            (Some(b"c"), Some(b"3")),
        ],
    );
    let records = kafka().read("part-custom-out", "read_uncommitted", Duration::from_secs(1), |r| {
        r.len() >= 3
    });
    let placed: Vec<(String, i32)> = records.iter().map(|r| (r.key_str(), r.partition)).collect();
    assert_eq!(placed, [("a", 4), ("b", 4), ("c", 4)].map(|(k, p)| (k.to_owned(), p)));
    assert!(streams.close(Duration::from_secs(10)));
    assert!(streams.take_failure().is_none());
}
