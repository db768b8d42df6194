//! The cooperative rebalance protocol on the real Kafka broker (`support::kafka`): instances of a
//! stream-table join (two co-partitioned input topics in one sub-topology) join one by one under
//! `partition.assignment.strategy=cooperative-sticky` (at-least-once and exactly-once); the group
//! assigns only the leading topic, each member takes the partner partitions with it, and every
//! click is joined with its user exactly once (a click whose user's partition sat elsewhere
//! would find no user).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use streams_runtime::config::StreamsConfig;
use streams_runtime::kafka::KafkaStreams;
use streams_runtime::prelude::*;
use support::{app_id, await_running, kafka};

const PARTITIONS: i32 = 4;

/// The join over topics `<prefix>-clicks`, `<prefix>-users`, `<prefix>-out` (one set per test).
macro_rules! greet_topology {
    (struct $name:ident { clicks: $clicks:tt, users: $users:tt, out: $out:tt }) => {
        topology! {
            struct $name {
                stream clicks { topic: $clicks, key: String, value: String }
                table users { topic: $users, key: String, value: String, store: "rb-users-store" }
                clicks.join(users, |click, name| format!("{name}:{click}")).to($out);
            }
        }
    };
}

greet_topology!(struct GreetAlo { clicks: "rb-alo-clicks", users: "rb-alo-users", out: "rb-alo-out" });
greet_topology!(struct GreetEos { clicks: "rb-eos-clicks", users: "rb-eos-users", out: "rb-eos-out" });

fn start<T: Topology + Clone + Send + 'static>(
    topology: T,
    app: &str,
    state: &std::path::Path,
    port: u16,
    guarantee: &str,
) -> KafkaStreams<T> {
    let bootstrap = kafka().bootstrap();
    let state = state.display().to_string();
    let endpoint = format!("127.0.0.1:{port}");
    let config = StreamsConfig::from_properties([
        ("application.id", app),
        ("bootstrap.servers", bootstrap.as_str()),
        ("state.dir", state.as_str()),
        ("commit.interval.ms", "100"),
        ("partition.assignment.strategy", "cooperative-sticky"),
        ("processing.guarantee", guarantee),
        ("application.server", endpoint.as_str()),
    ])
    .unwrap();
    let mut streams = KafkaStreams::new(topology, config).unwrap();
    streams.start().unwrap();
    await_running(&streams);
    streams
}

fn send(topic: &str, records: &[(String, String)]) {
    let raw: Vec<support::RawRecord<'_>> = records
        .iter()
        .map(|(k, v)| (Some(k.as_bytes()), Some(v.as_bytes())))
        .collect();
    kafka().send(topic, None, &raw);
}

/// `clicks` clicks of every one of 40 users, numbered from `first`.
fn clicks(first: usize, clicks: usize) -> Vec<(String, String)> {
    (first..first + clicks)
        .flat_map(|c| (0..40).map(move |u| (format!("u{u}"), format!("c{c}"))))
        .collect()
}

#[test]
fn instances_joining_a_cooperative_group_keep_co_partitioned_topics_together() {
    joining_one_by_one(GreetAlo, "rb-alo", "at_least_once", "read_uncommitted");
}

#[test]
fn instances_joining_a_cooperative_group_under_exactly_once_join_every_click_once() {
    joining_one_by_one(GreetEos, "rb-eos", "exactly_once_v2", "read_committed");
}

/// Three instances of `topology` (over the topics `<prefix>-*`) join one by one while clicks
/// come; every click is joined once.
fn joining_one_by_one<T: Topology + Clone + Send + 'static>(
    topology: T,
    prefix: &str,
    guarantee: &str,
    isolation: &str,
) {
    let app = app_id(prefix);
    let (clicks_topic, users_topic, out) = (
        format!("{prefix}-clicks"),
        format!("{prefix}-users"),
        format!("{prefix}-out"),
    );
    kafka().create_topics(&[&clicks_topic, &users_topic, &out], PARTITIONS);
    let users: Vec<(String, String)> = (0..40).map(|u| (format!("u{u}"), format!("name{u}"))).collect();
    send(&users_topic, &users);
    std::thread::sleep(Duration::from_millis(50)); // later timestamps for the clicks
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut instances = vec![start(topology.clone(), &app, dirs[0].path(), 7101, guarantee)];
    // The users are in the table before the first click (a click fetched before its user's row
    // would find no user: `max.task.idle.ms` is 0).
    let table = instances[0]
        .key_value_store::<String, String>("rb-users-store")
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while table.all().map(Iterator::count).ok() != Some(40) {
        assert!(Instant::now() < deadline, "the users table did not load");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut sent = clicks(0, 2);
    send(&clicks_topic, &sent);
    for (i, dir) in dirs.iter().enumerate().skip(1) {
        instances.push(start(topology.clone(), &app, dir.path(), 7101 + i as u16, guarantee));
        let more = clicks(sent.len() / 40, 2);
        send(&clicks_topic, &more);
        sent.extend(more);
    }
    // Every click joined exactly once with its user's name.
    let expected: BTreeMap<(String, String), usize> = sent
        .iter()
        .map(|(u, c)| ((u.clone(), format!("name{}:{c}", &u[1..])), 1))
        .collect();
    let read = kafka().read(&out, isolation, Duration::from_secs(2), |r| r.len() >= sent.len());
    let mut joined: BTreeMap<(String, String), usize> = BTreeMap::new();
    for r in &read {
        *joined.entry((r.key_str(), r.value_str())).or_default() += 1;
    }
    assert_eq!(joined, expected);

    // Each member holds partition p of both topics or of neither, and every partition is held.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let all = instances[0].all_metadata();
        let held: Vec<&BTreeSet<(String, i32)>> = all.iter().map(|m| &m.topic_partitions).collect();
        let together = held.iter().all(|partitions| {
            (0..PARTITIONS).all(|p| {
                partitions.contains(&(clicks_topic.clone(), p)) == partitions.contains(&(users_topic.clone(), p))
            })
        });
        let count: usize = held.iter().map(|p| p.len()).sum();
        if all.len() == 3 && together && count == 2 * PARTITIONS as usize {
            break;
        }
        assert!(Instant::now() < deadline, "{all:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    for streams in &instances {
        assert!(streams.close(Duration::from_secs(10)));
        assert!(streams.take_failure().is_none());
    }
}
