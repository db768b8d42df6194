//! The DSL word count on the embedded Kafka cluster: end to end, after restarts (with the
//! local state kept and with it wiped), across rebalances (exactly one update per word on
//! clean handovers), and with poison pills under each handler.

use examples::kafka_demo::{produce_lines, read_topic};
use examples::word_count::WordCount;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use streams_runtime::config::StreamsConfig;
use streams_runtime::kafka::{EmbeddedCluster, KafkaStreams, State, ThreadFailureResponse};
use streams_runtime::prelude::*;

const INPUT: &str = "streams-plaintext-input";
const OUTPUT: &str = "streams-wordcount-output";
const PARTITIONS: i32 = 2;

fn cluster(app: &str) -> EmbeddedCluster {
    let cluster = EmbeddedCluster::start(1).unwrap();
    let probe = KafkaStreams::new(WordCount, config(app, &cluster, std::path::Path::new("/unused"), &[])).unwrap();
    for topic in [INPUT.to_owned(), OUTPUT.to_owned()]
        .into_iter()
        .chain(probe.internal_topics())
    {
        cluster.create_topic(&topic, PARTITIONS).unwrap();
    }
    cluster
}

fn config(app: &str, cluster: &EmbeddedCluster, state_dir: &std::path::Path, extra: &[(&str, &str)]) -> StreamsConfig {
    let bootstrap = cluster.bootstrap_servers();
    let state_dir = state_dir.display().to_string();
    let mut settings = vec![
        ("application.id", app),
        ("bootstrap.servers", bootstrap.as_str()),
        ("commit.interval.ms", "100"),
        ("state.dir", state_dir.as_str()),
        // The embedded cluster evicts a closed member only at its session timeout, so a restarted
        // instance's join waits that long: keep it short.
        ("main.consumer.session.timeout.ms", "6000"),
        ("main.consumer.heartbeat.interval.ms", "500"),
    ];
    settings.extend_from_slice(extra);
    StreamsConfig::from_properties(settings).unwrap()
}

fn lines(text: &[&str]) -> Vec<String> {
    text.iter().map(|l| (*l).to_owned()).collect()
}

/// Reads the output topic until the latest count of every word equals `expected`; returns the
/// number of updates read.
fn await_counts(cluster: &EmbeddedCluster, group: &str, expected: &BTreeMap<String, i64>) -> usize {
    let mut latest = BTreeMap::new();
    let mut updates = 0;
    let done = read_topic(
        &cluster.bootstrap_servers(),
        OUTPUT,
        group,
        Duration::from_secs(60),
        |k, v| {
            let word = String::from_utf8(k.unwrap().to_vec()).unwrap();
            let count = i64::from_be_bytes(v.unwrap().try_into().unwrap());
            latest.insert(word, count);
            updates += 1;
            latest == *expected
        },
    )
    .unwrap();
    assert!(done, "timed out; latest counts {latest:?}, expected {expected:?}");
    updates
}

/// Reads the whole output topic once at least `expected` updates are there, and for two more
/// seconds to see any beyond them: the latest count of every word and the number of updates.
fn all_updates(cluster: &EmbeddedCluster, expected: usize) -> (BTreeMap<String, i64>, usize) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("group.id", "all-updates")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut partitions = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        partitions.add_partition_offset(OUTPUT, p, Offset::Beginning).unwrap();
    }
    consumer.assign(&partitions).unwrap();
    let (mut latest, mut updates) = (BTreeMap::new(), 0);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut extra: Option<std::time::Instant> = None;
    while extra.is_none_or(|until| std::time::Instant::now() < until) {
        assert!(
            std::time::Instant::now() < deadline,
            "only {updates} of {expected} updates"
        );
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            let m = m.unwrap();
            let word = String::from_utf8(m.key().unwrap().to_vec()).unwrap();
            latest.insert(word, i64::from_be_bytes(m.payload().unwrap().try_into().unwrap()));
            updates += 1;
        }
        if updates >= expected && extra.is_none() {
            extra = Some(std::time::Instant::now() + Duration::from_secs(2));
        }
    }
    (latest, updates)
}

fn counts(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(w, c)| ((*w).to_owned(), *c)).collect()
}

#[test]
fn word_count_runs_end_to_end_on_the_embedded_cluster() {
    let app = "wc-e2e";
    let cluster = cluster(app);
    let state = tempfile::tempdir().unwrap();
    produce_lines(
        &cluster.bootstrap_servers(),
        INPUT,
        &lines(&["all streams lead to kafka", "hello kafka streams"]),
    )
    .unwrap();
    let mut streams = KafkaStreams::new(WordCount, config(app, &cluster, state.path(), &[])).unwrap();
    let states = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&states);
    streams.set_state_listener(move |new, _| seen.lock().unwrap().push(new));
    streams.start().unwrap();
    let expected = counts(&[
        ("all", 1),
        ("hello", 1),
        ("kafka", 2),
        ("lead", 1),
        ("streams", 2),
        ("to", 1),
    ]);
    assert_eq!(await_counts(&cluster, "reader", &expected), 8, "one update per word");
    assert!(streams.close(Duration::from_secs(10)));
    assert!(streams.take_failure().is_none());
    assert_eq!(streams.state(), State::NotRunning);
    let states = states.lock().unwrap().clone();
    assert_eq!(states.first(), Some(&State::Rebalancing));
    assert!(states.contains(&State::Running), "{states:?}");
    assert_eq!(states.last(), Some(&State::NotRunning));
}

#[test]
fn counts_continue_after_restarts_with_and_without_local_state() {
    let app = "wc-restart";
    let cluster = cluster(app);
    let bootstrap = cluster.bootstrap_servers();
    let state = tempfile::tempdir().unwrap();
    let restored = Arc::new(Mutex::new(Vec::new()));

    let run = |state_dir: &std::path::Path, text: &[&str], expected: &[(&str, i64)], reader: &str| {
        produce_lines(&bootstrap, INPUT, &lines(text)).unwrap();
        let mut streams = KafkaStreams::new(WordCount, config(app, &cluster, state_dir, &[])).unwrap();
        let log = Arc::clone(&restored);
        streams.set_restore_listener(move |r| {
            log.lock().unwrap().push((r.store.to_owned(), r.partition, r.records));
        });
        streams.start().unwrap();
        await_counts(&cluster, reader, &counts(expected));
        assert!(streams.close(Duration::from_secs(10)));
        assert!(streams.take_failure().is_none());
    };

    run(state.path(), &["kafka streams"], &[("kafka", 1), ("streams", 1)], "r1");
    assert!(
        restored.lock().unwrap().iter().all(|(_, _, n)| *n == 0),
        "nothing to restore at first"
    );

    // Same state directory: the RocksDB store survived and its checkpoint covers the changelog,
    // so nothing is restored.
    restored.lock().unwrap().clear();
    run(state.path(), &["kafka"], &[("kafka", 2), ("streams", 1)], "r2");
    let after_checkpoint = restored.lock().unwrap().clone();
    assert!(!after_checkpoint.is_empty(), "tasks were created");
    assert!(
        after_checkpoint.iter().all(|(_, _, n)| *n == 0),
        "restored from the checkpoint on: {after_checkpoint:?}"
    );

    // A new, empty state directory: the counts come back from the changelog.
    restored.lock().unwrap().clear();
    let fresh = tempfile::tempdir().unwrap();
    run(fresh.path(), &["streams kafka"], &[("kafka", 3), ("streams", 2)], "r3");
    let total: u64 = restored.lock().unwrap().iter().map(|(_, _, n)| n).sum();
    assert!(
        total >= 2,
        "the counts store was restored from its changelog: {:?}",
        restored.lock().unwrap()
    );
    assert!(
        restored
            .lock()
            .unwrap()
            .iter()
            .all(|(store, _, _)| store == "counts-store")
    );
}

#[test]
fn a_poison_pill_is_skipped_and_dead_lettered_under_log_and_continue() {
    let app = "wc-poison-continue";
    let cluster = cluster(app);
    cluster.create_topic("wc-dlq", 1).unwrap();
    let state = tempfile::tempdir().unwrap();
    let bootstrap = cluster.bootstrap_servers();
    produce_lines(&bootstrap, INPUT, &lines(&["kafka"])).unwrap();
    produce_raw(&bootstrap, INPUT, &[0xff, 0xfe]);
    produce_lines(&bootstrap, INPUT, &lines(&["kafka streams"])).unwrap();
    let extra = [
        ("deserialization.exception.handler", "LogAndContinueExceptionHandler"),
        ("errors.dead.letter.queue.topic.name", "wc-dlq"),
    ];
    let mut streams = KafkaStreams::new(WordCount, config(app, &cluster, state.path(), &extra)).unwrap();
    streams.start().unwrap();
    await_counts(&cluster, "reader", &counts(&[("kafka", 2), ("streams", 1)]));
    let mut dead = Vec::new();
    let found = read_topic(&bootstrap, "wc-dlq", "dlq-reader", Duration::from_secs(30), |_, v| {
        dead.push(v.map(<[u8]>::to_vec));
        true
    })
    .unwrap();
    assert!(found, "the dead-letter topic holds the raw record");
    assert_eq!(dead, [Some(vec![0xff, 0xfe])]);
    assert!(streams.close(Duration::from_secs(10)));
    assert!(streams.take_failure().is_none());
    assert_eq!(streams.dropped_records(), 1, "the poison pill");
}

#[test]
fn a_poison_pill_stops_the_application_under_log_and_fail() {
    let app = "wc-poison-fail";
    let cluster = cluster(app);
    let state = tempfile::tempdir().unwrap();
    let bootstrap = cluster.bootstrap_servers();
    produce_raw(&bootstrap, INPUT, &[0xff]);
    let mut streams = KafkaStreams::new(WordCount, config(app, &cluster, state.path(), &[])).unwrap();
    streams.start().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while streams.state() != State::Error && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(streams.state(), State::Error);
    match streams.take_failure() {
        Some(StreamsError::Deserialization { topic, offset, .. }) => {
            assert_eq!(topic, INPUT);
            assert_eq!(offset, 0);
        }
        other => panic!("expected a deserialization failure, got {other:?}"),
    }
    streams.close(Duration::from_secs(10));
}

#[test]
fn a_failed_thread_can_shut_down_every_instance_of_the_application() {
    let app = "wc-shutdown-app";
    let cluster = cluster(app);
    let bootstrap = cluster.bootstrap_servers();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = KafkaStreams::new(WordCount, config(app, &cluster, dir_a.path(), &[])).unwrap();
    let mut b = KafkaStreams::new(WordCount, config(app, &cluster, dir_b.path(), &[])).unwrap();
    for streams in [&a, &b] {
        streams.set_uncaught_error_handler(|_| ThreadFailureResponse::ShutdownApplication);
    }
    a.start().unwrap();
    b.start().unwrap();
    await_running(&a);
    await_running(&b);
    // A poison pill in partition 0: its owner fails and asks the other instance to stop.
    produce_raw_to(&bootstrap, INPUT, 0, &[0xff]);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while (a.state(), b.state()) != (State::Error, State::Error) {
        assert!(
            std::time::Instant::now() < deadline,
            "a {:?}, b {:?}",
            a.state(),
            b.state()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut failures = [a.take_failure().unwrap(), b.take_failure().unwrap()].map(|e| e.to_string());
    failures.sort_by_key(|f| !f.contains("requested it"));
    assert!(
        failures[0].ends_with("shutting down the application: instance wc-shutdown-app-StreamThread-1 requested it"),
        "{failures:?}"
    );
    assert!(
        failures[1].contains(&format!("record at {INPUT}-0 offset 0")),
        "{failures:?}"
    );
    a.close(Duration::from_secs(10));
    b.close(Duration::from_secs(10));
}

fn produce_raw_to(bootstrap: &str, topic: &str, partition: i32, value: &[u8]) {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    producer
        .send(BaseRecord::<[u8], [u8]>::to(topic).partition(partition).payload(value))
        .unwrap();
    producer.flush(Duration::from_secs(10)).unwrap();
}

fn produce_raw(bootstrap: &str, topic: &str, value: &[u8]) {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let producer: BaseProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    producer
        .send(BaseRecord::<[u8], [u8]>::to(topic).payload(value))
        .unwrap();
    producer.flush(Duration::from_secs(10)).unwrap();
}

/// Waits until `streams` is running (its thread has an assignment).
fn await_running(streams: &KafkaStreams<WordCount>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while streams.state() != State::Running {
        assert_ne!(streams.state(), State::Error, "{:?}", streams.take_failure());
        assert!(std::time::Instant::now() < deadline, "still {:?}", streams.state());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_instances_split_the_partitions_and_hand_over_without_duplicates() {
    let app = "wc-two";
    let cluster = cluster(app);
    let bootstrap = cluster.bootstrap_servers();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let partitions_of = |streams: &KafkaStreams<WordCount>| {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        streams.set_restore_listener(move |r| log.lock().unwrap().push(r.partition));
        seen
    };
    // Commits once a second: the first phase ends committed (the embedded cluster refuses
    // commits once a rebalance has begun, so A's uncommitted work on partitions that move to B
    // would be redone there); the last phase usually ends with A's positions uncommitted,
    // which A resumes from when its partitions come back to it.
    let slow_commits = [("commit.interval.ms", "1000")];
    let mut a = KafkaStreams::new(WordCount, config(app, &cluster, dir_a.path(), &slow_commits)).unwrap();
    let mut b = KafkaStreams::new(WordCount, config(app, &cluster, dir_b.path(), &slow_commits)).unwrap();
    let (tasks_a, tasks_b) = (partitions_of(&a), partitions_of(&b));
    let words = |n: usize, per_line: usize| -> Vec<String> {
        (0..n)
            .map(|i| {
                (0..per_line)
                    .map(|j| format!("w{}", (i + j) % 5))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };

    // A alone counts the first 40 words.
    a.start().unwrap();
    produce_lines(&bootstrap, INPUT, &words(20, 2)).unwrap();
    let expected = counts(&[("w0", 8), ("w1", 8), ("w2", 8), ("w3", 8), ("w4", 8)]);
    assert_eq!(await_counts(&cluster, "reader-1", &expected), 40);
    std::thread::sleep(Duration::from_secs(2));

    // B joins: A commits on revocation, the partitions are split, the counts continue.
    b.start().unwrap();
    await_running(&b);
    await_running(&a);
    produce_lines(&bootstrap, INPUT, &words(10, 1)).unwrap();
    let expected = counts(&[("w0", 10), ("w1", 10), ("w2", 10), ("w3", 10), ("w4", 10)]);
    assert_eq!(await_counts(&cluster, "reader-2", &expected), 50);
    let (on_a, on_b) = (tasks_a.lock().unwrap().clone(), tasks_b.lock().unwrap().clone());
    assert!(!on_b.is_empty(), "B runs tasks: a {on_a:?}, b {on_b:?}");

    // B stops; A takes B's partitions back and restores their counts from the changelog.
    assert!(b.close(Duration::from_secs(10)));
    produce_lines(&bootstrap, INPUT, &words(10, 1)).unwrap();
    let expected = counts(&[("w0", 12), ("w1", 12), ("w2", 12), ("w3", 12), ("w4", 12)]);
    await_counts(&cluster, "reader-3", &expected);
    let restored_by_a = tasks_a.lock().unwrap().len();
    assert!(restored_by_a > on_a.len(), "A created B's tasks after B stopped");
    assert!(a.close(Duration::from_secs(10)));
    assert!(a.take_failure().is_none() && b.take_failure().is_none());
    // Exactly one count update per word: both handovers lost nothing and redid nothing.
    assert_eq!(all_updates(&cluster, 60), (expected, 60), "count updates for 60 words");
}

#[test]
fn a_rebalance_that_keeps_the_partitions_in_place_neither_loses_nor_redoes_work() {
    let app = "wc-resume";
    let cluster = cluster(app);
    let bootstrap = cluster.bootstrap_servers();
    cluster.create_topic("unrelated", 1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Nothing is committed before the instance closes.
    let config = config(app, &cluster, dir.path(), &[("commit.interval.ms", "600000")]);
    let mut streams = KafkaStreams::new(WordCount, config).unwrap();
    let states = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&states);
    streams.set_state_listener(move |new, _| log.lock().unwrap().push(new));
    streams.start().unwrap();
    let line = |n: usize| -> Vec<String> { (0..n).map(|i| format!("w{}", i % 4)).collect() };
    produce_lines(&bootstrap, INPUT, &line(20)).unwrap();
    let expected = counts(&[("w0", 5), ("w1", 5), ("w2", 5), ("w3", 5)]);
    assert_eq!(await_counts(&cluster, "reader-1", &expected), 20);

    // Another member joins the group for a topic the application does not read: the eager
    // protocol revokes every partition and gives them all back.
    let member: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", app)
        .set("session.timeout.ms", "6000")
        .set("partition.assignment.strategy", "range")
        .create()
        .unwrap();
    member.subscribe(&["unrelated"]).unwrap();
    let rebalanced = || {
        let states = states.lock().unwrap();
        let running = states.iter().position(|s| *s == State::Running);
        running.is_some_and(|r| states[r..].contains(&State::Rebalancing)) && states.last() == Some(&State::Running)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !rebalanced() {
        assert!(
            std::time::Instant::now() < deadline,
            "no rebalance: {:?}",
            states.lock().unwrap()
        );
        member.poll(Duration::from_millis(50));
    }
    produce_lines(&bootstrap, INPUT, &line(20)).unwrap();
    let expected = counts(&[("w0", 10), ("w1", 10), ("w2", 10), ("w3", 10)]);
    await_counts(&cluster, "reader-2", &expected);
    assert!(streams.close(Duration::from_secs(10)));
    assert!(streams.take_failure().is_none());
    // Redone work would repeat the first counts' updates (and raise the counts past 10).
    assert_eq!(all_updates(&cluster, 40), (expected, 40), "one count update per word");
}

#[test]
fn startup_checks_source_topics_and_co_partitioning() {
    let app = "wc-startup";
    let cluster = EmbeddedCluster::start(1).unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut streams = KafkaStreams::new(WordCount, config(app, &cluster, state.path(), &[])).unwrap();
    let err = streams.start().unwrap_err().to_string();
    assert!(
        err.contains("source topic streams-plaintext-input does not exist"),
        "{err}"
    );

    // Sub-topology 1 reads the repartition topic (3 partitions) and writes the changelog (2).
    cluster.create_topic(INPUT, 2).unwrap();
    cluster.create_topic("wc-startup-counts-store-repartition", 3).unwrap();
    cluster.create_topic("wc-startup-counts-store-changelog", 2).unwrap();
    let mut streams = KafkaStreams::new(WordCount, config(app, &cluster, state.path(), &[])).unwrap();
    let err = streams.start().unwrap_err().to_string();
    assert!(
        err.contains(
            "the source topics and changelogs of sub-topology 1 must have the same number of partitions: \
             wc-startup-counts-store-repartition (3), wc-startup-counts-store-changelog (2)"
        ),
        "{err}"
    );
}

#[test]
fn each_sub_topology_runs_as_its_own_tasks_with_its_own_partition_count() {
    let app = "wc-subtopologies";
    let cluster = EmbeddedCluster::start(1).unwrap();
    cluster.create_topic(INPUT, 2).unwrap();
    cluster.create_topic(OUTPUT, 2).unwrap();
    cluster
        .create_topic("wc-subtopologies-counts-store-repartition", 3)
        .unwrap();
    cluster
        .create_topic("wc-subtopologies-counts-store-changelog", 3)
        .unwrap();
    cluster.create_topic("wc-subtopologies-control", 1).unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut streams = KafkaStreams::new(WordCount, config(app, &cluster, state.path(), &[])).unwrap();
    streams.start().unwrap();
    let text: Vec<String> = (0..30).map(|i| format!("w{} w{}", i % 7, i % 3)).collect();
    // Lines alternate between the two input partitions (null keys could all land in one).
    for (i, line) in text.iter().enumerate() {
        produce_raw_to(&cluster.bootstrap_servers(), INPUT, i as i32 % 2, line.as_bytes());
    }
    let mut expected = BTreeMap::new();
    for line in &text {
        for word in line.split(' ') {
            *expected.entry(word.to_owned()).or_insert(0) += 1;
        }
    }
    assert_eq!(await_counts(&cluster, "reader", &expected), 60, "one update per word");
    assert!(streams.close(Duration::from_secs(10)));
    assert!(streams.take_failure().is_none());
    // Tasks 0_0 and 0_1 split the lines, 1_0, 1_1 and 1_2 count (Java's task directories).
    let mut dirs: Vec<String> = std::fs::read_dir(state.path().join(app))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    dirs.sort();
    assert_eq!(dirs, ["0_0", "0_1", "1_0", "1_1", "1_2"]);
}

#[test]
fn async_code_awaits_state_changes_and_closes_without_blocking() {
    let app = "wc-async";
    let cluster = cluster(app);
    let dir = tempfile::tempdir().unwrap();
    let mut streams = KafkaStreams::new(WordCount, config(app, &cluster, dir.path(), &[])).unwrap();
    let mut states = streams.state_changes();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    streams.start().unwrap();
    runtime.block_on(async {
        let running = states.wait_for(|s| *s == State::Running);
        tokio::time::timeout(Duration::from_secs(60), running)
            .await
            .expect("running within a minute")
            .unwrap();
    });
    produce_lines(&cluster.bootstrap_servers(), INPUT, &lines(&["hello async", "hello"])).unwrap();
    assert_eq!(
        await_counts(&cluster, "reader", &counts(&[("hello", 2), ("async", 1)])),
        3
    );
    assert!(runtime.block_on(streams.close_async(Duration::from_secs(10))));
    assert_eq!(*states.borrow_and_update(), State::NotRunning);
}

#[test]
fn two_stream_threads_in_one_instance_share_the_partitions() {
    let app = "wc-threads";
    let cluster = cluster(app);
    let state = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..20).map(|i| format!("t{} t{}", i % 4, (i + 2) % 4)).collect();
    produce_lines(&cluster.bootstrap_servers(), INPUT, &lines).unwrap();
    let mut streams = KafkaStreams::new(
        WordCount,
        config(app, &cluster, state.path(), &[("num.stream.threads", "2")]),
    )
    .unwrap();
    streams.start().unwrap();
    await_counts(
        &cluster,
        "reader",
        &counts(&[("t0", 10), ("t1", 10), ("t2", 10), ("t3", 10)]),
    );
    assert!(streams.close(Duration::from_secs(10)));
    assert!(streams.take_failure().is_none());
}

static FAILED_ONCE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[derive(Processor)]
#[processor(input = (Option<String>, String), output = (Option<String>, String))]
struct FailOnce {}

impl Processor for FailOnce {
    fn process(
        &mut self,
        record: Record<Option<String>, String>,
        ctx: &mut impl ProcessorContext<Option<String>, String>,
    ) -> Result<(), ProcessingError> {
        if !FAILED_ONCE.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(ProcessingError::msg("failing once"));
        }
        ctx.forward(record)
    }
}

topology! {
    struct Flaky {
        stream lines { topic: "flaky-in", key: Option<String>, value: String }
        lines.process(FailOnce).to("flaky-out");
    }
}

#[test]
fn a_failed_thread_is_replaced_when_the_handler_says_so() {
    use streams_runtime::kafka::ThreadFailureResponse;
    let cluster = EmbeddedCluster::start(1).unwrap();
    cluster.create_topic("flaky-in", 1).unwrap();
    cluster.create_topic("flaky-out", 1).unwrap();
    let bootstrap = cluster.bootstrap_servers();
    produce_lines(&bootstrap, "flaky-in", &lines(&["a", "b", "c"])).unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut streams = KafkaStreams::new(Flaky, config("flaky", &cluster, state.path(), &[])).unwrap();
    let failures = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&failures);
    streams.set_uncaught_error_handler(move |e| {
        seen.lock().unwrap().push(e.to_string());
        ThreadFailureResponse::ReplaceThread
    });
    streams.start().unwrap();
    let mut values = Vec::new();
    let done = read_topic(&bootstrap, "flaky-out", "reader", Duration::from_secs(60), |_, v| {
        values.push(String::from_utf8(v.unwrap().to_vec()).unwrap());
        values.len() == 3
    })
    .unwrap();
    assert!(done, "got {values:?}");
    assert_eq!(
        values,
        ["a", "b", "c"],
        "the replacement thread reprocessed from the last commit"
    );
    let failures = failures.lock().unwrap().clone();
    assert_eq!(failures.len(), 1);
    assert!(failures[0].contains("failing once"), "{failures:?}");
    assert!(streams.close(Duration::from_secs(10)));
    assert_eq!(streams.state(), State::NotRunning);
}
