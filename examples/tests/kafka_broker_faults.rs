//! Broker failures on a three-broker cluster of each test's own (`support::OwnCluster`, every
//! topic replicated three times with `min.insync.replicas=2`): the word count rides out the stop
//! of the leader of an input partition with no loss under at-least-once, and the stop of its
//! transaction coordinator's broker under exactly-once with every update committed once.

mod support;

use examples::word_count_topology;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use streams_runtime::config::StreamsConfig;
use streams_runtime::kafka::{KafkaStreams, State};
use streams_runtime::prelude::*;
use support::{Kafka, OwnCluster, RawRecord, app_id, counted_once, repo_root, word_counts};

word_count_topology!(struct LeaderLoss { input: "fault-alo-in", output: "fault-alo-out" });
word_count_topology!(struct CoordinatorLoss { input: "fault-eos-in", output: "fault-eos-out" });

fn start<T: Topology + Clone + Send + 'static>(
    topology: T,
    cluster: &Kafka,
    guarantee: &str,
    state: &std::path::Path,
) -> KafkaStreams<T> {
    let (bootstrap, state, app) = (cluster.bootstrap(), state.display().to_string(), app_id(guarantee));
    let config = StreamsConfig::from_properties([
        ("application.id", app.as_str()),
        ("bootstrap.servers", bootstrap.as_str()),
        ("state.dir", state.as_str()),
        ("processing.guarantee", guarantee),
        ("commit.interval.ms", "200"),
        // Every update is emitted (a zero record cache flushes each write at once, as Java does
        // with `statestore.cache.max.bytes=0`): the tests know how many to expect.
        ("statestore.cache.max.bytes", "0"),
    ])
    .unwrap();
    let mut streams = KafkaStreams::new(topology, config).unwrap();
    streams.start().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while streams.state() != State::Running {
        assert!(Instant::now() < deadline, "still {:?}", streams.state());
        std::thread::sleep(Duration::from_millis(20));
    }
    streams
}

fn lines(from: usize, to: usize) -> Vec<String> {
    (from..to).map(|i| format!("w{} w{}", i % 7, (i * 3) % 5)).collect()
}

fn write(cluster: &Kafka, topic: &str, lines: &[String]) {
    let records: Vec<RawRecord<'_>> = lines.iter().map(|l| (None, Some(l.as_bytes()))).collect();
    cluster.send(topic, None, &records);
}

/// Every word's updates in `output` (with `isolation`) once each word's latest count reached
/// `expected` and nothing more came for two seconds.
fn updates(
    cluster: &Kafka,
    output: &str,
    isolation: &str,
    expected: &BTreeMap<String, i64>,
) -> BTreeMap<String, Vec<i64>> {
    cluster.count_updates(Duration::from_secs(60), output, isolation, expected)
}

/// The node id of the leader of `topic`'s `partition`.
fn leader(cluster: &Kafka, topic: &str, partition: i32) -> usize {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap())
        .create()
        .unwrap();
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).unwrap();
    let leader = metadata.topics()[0].partitions()[partition as usize].leader();
    usize::try_from(leader).unwrap()
}

/// The node id of the transaction coordinator of `transactional_id`, as Kafka's
/// `kafka-transactions describe` reports it.
fn coordinator(cluster: &Kafka, transactional_id: &str) -> usize {
    let output = std::process::Command::new("bash")
        .arg(repo_root().join("scripts/kafka.sh"))
        .args([
            "run",
            "org.apache.kafka.tools.TransactionsCommand",
            "--bootstrap-server",
        ])
        .arg(cluster.bootstrap())
        .args(["describe", "--transactional-id", transactional_id])
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    // A header line naming the columns, then one row: CoordinatorId is the first column.
    let row = text
        .lines()
        .nth(1)
        .unwrap_or_else(|| panic!("no transaction state: {text}"));
    row.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn the_application_rides_out_the_loss_of_an_input_partition_leader_under_at_least_once() {
    let own = OwnCluster::start(3, false);
    let cluster = &own.kafka;
    cluster.create_topics_replicated(&["fault-alo-in", "fault-alo-out"], 2, 3);
    let dir = tempfile::tempdir().unwrap();
    let streams = start(LeaderLoss, cluster, "at_least_once", dir.path());
    write(cluster, "fault-alo-in", &lines(0, 50));
    updates(
        cluster,
        "fault-alo-out",
        "read_uncommitted",
        &word_counts(&lines(0, 50)),
    );
    // The leader of input partition 0 stops mid-stream.
    let node = leader(cluster, "fault-alo-in", 0);
    own.node("stop-node", node);
    write(cluster, "fault-alo-in", &lines(50, 100));
    let expected = word_counts(&lines(0, 100));
    let seen = updates(cluster, "fault-alo-out", "read_uncommitted", &expected);
    for (word, n) in &expected {
        let last = *seen[word].last().unwrap();
        assert!(last >= *n, "{word}: counted {last} of {n}");
        for c in 1..=last {
            assert!(seen[word].contains(&c), "{word}: update {c} lost: {:?}", seen[word]);
        }
    }
    assert_ne!(streams.state(), State::Error, "{:?}", streams.take_failure());
    assert!(streams.close(Duration::from_secs(10)));
}

/// When librdkafka 2.12's `send_offsets_to_transaction` hangs on the lost group coordinator (its
/// bugs #5456 and #5511; docs/DESIGN-DECISIONS.md, "Exactly-once v2"), the thread gives its
/// producer up after 15 s and starts again: the committed updates are still exactly once.
#[test]
fn the_application_rides_out_the_loss_of_its_transaction_coordinator_under_exactly_once() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
    let own = OwnCluster::start(3, false);
    let cluster = &own.kafka;
    cluster.create_topics_replicated(&["fault-eos-in", "fault-eos-out"], 2, 3);
    let dir = tempfile::tempdir().unwrap();
    let streams = start(CoordinatorLoss, cluster, "exactly_once_v2", dir.path());
    write(cluster, "fault-eos-in", &lines(0, 50));
    updates(cluster, "fault-eos-out", "read_committed", &word_counts(&lines(0, 50)));
    // The broker of the thread's transaction coordinator stops mid-stream.
    let id = streams.metadata_for_local_threads()[0]
        .transactional_id
        .clone()
        .unwrap();
    let node = coordinator(cluster, &id);
    own.node("stop-node", node);
    write(cluster, "fault-eos-in", &lines(50, 100));
    let expected = word_counts(&lines(0, 100));
    // (A generous bound: when librdkafka's send_offsets_to_transaction hangs on the lost group
    // coordinator, the thread gives its producer up after 15 s and starts again.)
    let seen = cluster.count_updates(Duration::from_secs(120), "fault-eos-out", "read_committed", &expected);
    assert_eq!(seen, counted_once(&expected), "every update committed exactly once");
    assert_ne!(streams.state(), State::Error, "{:?}", streams.take_failure());
    assert!(streams.close(Duration::from_secs(10)));
}
