//! Where records land on the real Kafka broker (`support::kafka`): the default partitioner puts
//! each key where a Java producer would (murmur2 of the key bytes), a custom
//! `StreamPartitioner` is told the real partition count of its topic, and every record of every
//! partition of a task's input topics reaches the sink once, with its headers.

mod support;

use examples::word_count_topology;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers as _, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
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
    let streams = start(Murmur, &app_id("part-wc"), dir.path());
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
    let streams = start(ToLast, &app_id("part-custom"), dir.path());
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

topology! {
    struct CarryHeaders {
        stream input { topics: ["part-headers-a", "part-headers-b"], key: Option<Vec<u8>>, value: Vec<u8> }
        input.to("part-headers-out");
    }
}

/// A record as produced and read back here: key, value and headers (key, value; `None`: null).
type WithHeaders = (Vec<u8>, Vec<u8>, Vec<(String, Option<Vec<u8>>)>);

#[test]
fn every_partition_of_every_input_topic_reaches_the_sink_once_with_its_headers() {
    kafka().create_topics(&["part-headers-a", "part-headers-b"], 2);
    kafka().create_topics(&["part-headers-out"], 1);
    let bootstrap = kafka().bootstrap();
    // Tasks 0_0 and 0_1 each read partition p of both topics (two queues per task).
    let mut sent: Vec<WithHeaders> = Vec::new();
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    for (topic, partition, i) in (0..40).map(|i| (["part-headers-a", "part-headers-b"][i % 2], (i / 2 % 2) as i32, i)) {
        let key = format!("k{i}").into_bytes();
        let value = format!("v{i}").into_bytes();
        let mut headers = vec![("trace".to_owned(), Some(format!("t{i}").into_bytes()))];
        if i % 3 == 0 {
            headers.push(("null".to_owned(), None));
            headers.push(("trace".to_owned(), Some(Vec::new())));
        }
        let mut owned = OwnedHeaders::new();
        for (k, v) in &headers {
            owned = owned.insert(Header {
                key: k,
                value: v.as_deref(),
            });
        }
        let record = BaseRecord::<[u8], [u8]>::to(topic)
            .partition(partition)
            .key(&key)
            .payload(&value)
            .headers(owned);
        producer.send(record).map_err(|(e, _)| e).unwrap();
        sent.push((key, value, headers));
    }
    producer.flush(Duration::from_secs(30)).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let streams = start(CarryHeaders, &app_id("part-headers"), dir.path());
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", app_id("part-headers-reader"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("part-headers-out", 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let mut read: Vec<WithHeaders> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    // The count is known: wait for it, then for anything more for a second.
    let mut quiet_since = None;
    while quiet_since.is_none_or(|t: Instant| t.elapsed() < Duration::from_secs(1)) {
        assert!(
            Instant::now() < deadline,
            "only {} of {} records",
            read.len(),
            sent.len()
        );
        match consumer.poll(Duration::from_millis(50)) {
            Some(Ok(m)) => {
                let headers = m.headers().map_or(Vec::new(), |hs| {
                    hs.iter()
                        .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                        .collect()
                });
                read.push((m.key().unwrap().to_vec(), m.payload().unwrap().to_vec(), headers));
            }
            Some(Err(e)) => panic!("reading: {e}"),
            None if read.len() >= sent.len() => {
                quiet_since.get_or_insert_with(Instant::now);
            }
            None => {}
        }
    }
    read.sort();
    sent.sort();
    assert_eq!(read, sent);
    assert_eq!(streams.dropped_records(), 0);
    assert!(streams.close(Duration::from_secs(10)));
    assert!(streams.take_failure().is_none());
}
