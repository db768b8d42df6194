//! A topology wider than a tuple of eight on the real broker (`support::kafka`): twelve source
//! topics, each its own sub-topology, and a stream with twenty children. The Kafka runtime routes
//! records by source index (topic → index → task → queue); nothing there stops at eight.

mod support;

use std::time::Duration;
use streams_runtime::config::StreamsConfig;
use streams_runtime::kafka::KafkaStreams;
use streams_runtime::prelude::*;
use support::{app_id, kafka};

topology! {
    /// Twelve streams tagged into one topic; the first also through twenty filters.
    struct WideOnKafka {
        stream n00 { topic: "kwide-in-00", key: String, value: String }
        stream n01 { topic: "kwide-in-01", key: String, value: String }
        stream n02 { topic: "kwide-in-02", key: String, value: String }
        stream n03 { topic: "kwide-in-03", key: String, value: String }
        stream n04 { topic: "kwide-in-04", key: String, value: String }
        stream n05 { topic: "kwide-in-05", key: String, value: String }
        stream n06 { topic: "kwide-in-06", key: String, value: String }
        stream n07 { topic: "kwide-in-07", key: String, value: String }
        stream n08 { topic: "kwide-in-08", key: String, value: String }
        stream n09 { topic: "kwide-in-09", key: String, value: String }
        stream n10 { topic: "kwide-in-10", key: String, value: String }
        stream n11 { topic: "kwide-in-11", key: String, value: String }
        n00.map_values(|v| format!("n00:{v}")).to("kwide-sources");
        n01.map_values(|v| format!("n01:{v}")).to("kwide-sources");
        n02.map_values(|v| format!("n02:{v}")).to("kwide-sources");
        n03.map_values(|v| format!("n03:{v}")).to("kwide-sources");
        n04.map_values(|v| format!("n04:{v}")).to("kwide-sources");
        n05.map_values(|v| format!("n05:{v}")).to("kwide-sources");
        n06.map_values(|v| format!("n06:{v}")).to("kwide-sources");
        n07.map_values(|v| format!("n07:{v}")).to("kwide-sources");
        n08.map_values(|v| format!("n08:{v}")).to("kwide-sources");
        n09.map_values(|v| format!("n09:{v}")).to("kwide-sources");
        n10.map_values(|v| format!("n10:{v}")).to("kwide-sources");
        n11.map_values(|v| format!("n11:{v}")).to("kwide-sources");
        n00.filter(|_, v| v.len() % 20 == 0).map_values(|v| format!("f00:{v}")).to("kwide-filtered");
        n00.filter(|_, v| v.len() % 20 == 1).map_values(|v| format!("f01:{v}")).to("kwide-filtered");
        n00.filter(|_, v| v.len() % 20 == 2).map_values(|v| format!("f02:{v}")).to("kwide-filtered");
        n00.filter(|_, v| v.len() % 20 == 3).map_values(|v| format!("f03:{v}")).to("kwide-filtered");
        n00.filter(|_, v| v.len() % 20 == 4).map_values(|v| format!("f04:{v}")).to("kwide-filtered");
        n00.filter(|_, v| v.len() % 20 == 5).map_values(|v| format!("f05:{v}")).to("kwide-filtered");
        n00.filter(|_, v| v.len() % 20 == 6).map_values(|v| format!("f06:{v}")).to("kwide-filtered");
        n00.filter(|_, v| v.len() % 20 == 7).map_values(|v| format!("f07:{v}")).to("kwide-filtered");
        n00.filter(|_, v| v.len() % 20 == 8).map_values(|v| format!("f08:{v}")).to("kwide-filtered");
        n00.filter(|_, v| v.len() % 20 == 9).map_values(|v| format!("f09:{v}")).to("kwide-filtered");
        n00.filter(|_, v| v.len() % 20 == 10).map_values(|v| format!("f10:{v}")).to("kwide-filtered");
        n00.filter(|_, v| v.len() % 20 == 11).map_values(|v| format!("f11:{v}")).to("kwide-filtered");
        n00.filter(|_, v| v.len() % 20 == 12).map_values(|v| format!("f12:{v}")).to("kwide-filtered");
        n00.filter(|_, v| v.len() % 20 == 13).map_values(|v| format!("f13:{v}")).to("kwide-filtered");
        n00.filter(|_, v| v.len() % 20 == 14).map_values(|v| format!("f14:{v}")).to("kwide-filtered");
        n00.filter(|_, v| v.len() % 20 == 15).map_values(|v| format!("f15:{v}")).to("kwide-filtered");
        n00.filter(|_, v| v.len() % 20 == 16).map_values(|v| format!("f16:{v}")).to("kwide-filtered");
        n00.filter(|_, v| v.len() % 20 == 17).map_values(|v| format!("f17:{v}")).to("kwide-filtered");
        n00.filter(|_, v| v.len() % 20 == 18).map_values(|v| format!("f18:{v}")).to("kwide-filtered");
        n00.filter(|_, v| v.len() % 20 == 19).map_values(|v| format!("f19:{v}")).to("kwide-filtered");
    }
}

#[test]
fn twelve_source_topics_and_twenty_children_run_on_the_broker() {
    let inputs: Vec<String> = (0..12).map(|s| format!("kwide-in-{s:02}")).collect();
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    kafka().create_topics(&inputs, 2);
    kafka().create_topics(&["kwide-sources", "kwide-filtered"], 1);
    let dir = tempfile::tempdir().unwrap();
    let bootstrap = kafka().bootstrap();
    let state = dir.path().display().to_string();
    let config = StreamsConfig::from_properties([
        ("application.id", app_id("kwide").as_str()),
        ("bootstrap.servers", bootstrap.as_str()),
        ("state.dir", state.as_str()),
        ("commit.interval.ms", "100"),
    ])
    .unwrap();
    let mut streams = KafkaStreams::new(WideOnKafka, config).unwrap();
    streams.start().unwrap();
    // Two records per topic, one on each partition; the first topic's values have lengths 1 and
    // 19, so one filter passes each.
    for (s, topic) in inputs.iter().enumerate() {
        let (first, second) = if s == 0 {
            ("a".to_owned(), "b".repeat(19))
        } else {
            (format!("{s}a"), format!("{s}b"))
        };
        kafka().send(topic, Some(0), &[(Some(b"k0".as_slice()), Some(first.as_bytes()))]);
        kafka().send(topic, Some(1), &[(Some(b"k1".as_slice()), Some(second.as_bytes()))]);
    }
    let sources = kafka().read("kwide-sources", "read_uncommitted", Duration::from_secs(1), |r| {
        r.len() >= 24
    });
    let mut values: Vec<String> = sources.iter().map(|r| r.value_str()).collect();
    values.sort();
    let mut expected = vec!["n00:a".to_owned(), format!("n00:{}", "b".repeat(19))];
    for s in 1..12 {
        expected.push(format!("n{s:02}:{s}a"));
        expected.push(format!("n{s:02}:{s}b"));
    }
    expected.sort();
    assert_eq!(values, expected);
    let filtered = kafka().read("kwide-filtered", "read_uncommitted", Duration::from_secs(1), |r| {
        r.len() >= 2
    });
    let mut values: Vec<String> = filtered.iter().map(|r| r.value_str()).collect();
    values.sort();
    assert_eq!(values, ["f01:a".to_owned(), format!("f19:{}", "b".repeat(19))]);
    assert!(streams.close(Duration::from_secs(10)));
    assert!(streams.take_failure().is_none());
    assert_eq!(streams.dropped_records(), 0);
}
