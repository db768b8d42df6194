//! The DSL word count on the embedded Kafka cluster: end to end, after restarts (with the
//! local state kept and with it wiped), and with poison pills under each handler.

use examples::kafka_demo::{produce_lines, read_topic};
use examples::word_count::WordCount;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use streams_runtime::config::StreamsConfig;
use streams_runtime::kafka::{EmbeddedCluster, KafkaStreams, State};
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

#[test]
#[ignore = "flaky: when the second instance joins after the first has processed, the revoked task's uncommitted work is redone (no commit on revocation yet), so counts can exceed the exact values asserted; run with --ignored"]
fn two_instances_split_the_partitions_and_one_takes_over_when_the_other_stops() {
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
    let mut a = KafkaStreams::new(WordCount, config(app, &cluster, dir_a.path(), &[])).unwrap();
    let mut b = KafkaStreams::new(WordCount, config(app, &cluster, dir_b.path(), &[])).unwrap();
    let (tasks_a, tasks_b) = (partitions_of(&a), partitions_of(&b));
    a.start().unwrap();
    b.start().unwrap();
    let first: Vec<String> = (0..20).map(|i| format!("w{} w{}", i % 5, (i + 1) % 5)).collect();
    produce_lines(&bootstrap, INPUT, &first).unwrap();
    let expected = counts(&[("w0", 8), ("w1", 8), ("w2", 8), ("w3", 8), ("w4", 8)]);
    let updates = await_counts(&cluster, "reader-1", &expected);
    let (mut on_a, mut on_b) = (tasks_a.lock().unwrap().clone(), tasks_b.lock().unwrap().clone());
    on_a.dedup();
    on_b.dedup();
    assert!(
        !on_a.is_empty() && !on_b.is_empty(),
        "both instances run tasks: a {on_a:?}, b {on_b:?}"
    );
    // B stops; A takes over B's partitions and restores their counts from the changelog.
    assert!(b.close(Duration::from_secs(10)));
    let second: Vec<String> = (0..10).map(|i| format!("w{}", i % 5)).collect();
    produce_lines(&bootstrap, INPUT, &second).unwrap();
    let expected = counts(&[("w0", 10), ("w1", 10), ("w2", 10), ("w3", 10), ("w4", 10)]);
    let more = await_counts(&cluster, "reader-2", &expected);
    let taken_over: Vec<i32> = tasks_a
        .lock()
        .unwrap()
        .iter()
        .copied()
        .filter(|p| !on_a.contains(p))
        .collect();
    assert!(!taken_over.is_empty(), "A created B's tasks after B stopped");
    assert!(a.close(Duration::from_secs(10)));
    assert!(a.take_failure().is_none() && b.take_failure().is_none());
    // At-least-once: every word is counted; updates beyond one per word are duplicates (the
    // second reader reads the output topic from the beginning: 40 + 10 words).
    let words = 50;
    println!(
        "count updates: {updates} after the first lines, {more} in all for {words} words: {} duplicates",
        more - words
    );
    assert!(more >= words, "every input word produced an update");
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

    cluster.create_topic(INPUT, 2).unwrap();
    cluster.create_topic("wc-startup-counts-store-repartition", 3).unwrap();
    cluster.create_topic("wc-startup-counts-store-changelog", 2).unwrap();
    let mut streams = KafkaStreams::new(WordCount, config(app, &cluster, state.path(), &[])).unwrap();
    let err = streams.start().unwrap_err().to_string();
    assert!(
        err.contains("same number of partitions: streams-plaintext-input (2), wc-startup-counts-store-repartition (3)"),
        "{err}"
    );
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
