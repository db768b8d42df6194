//! `processing.guarantee=exactly_once_v2` on the real Kafka broker (`support::kafka`), read
//! back with `read_committed`: the word count's transactions; an aborted commit (store rolled
//! back, input rewound, the aborted update never read); a fenced thread; a rebalance between two
//! instances with exact counts; a processing error mid-transaction; a zombie producer.

mod support;

use examples::word_count_topology;
use rdkafka::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use streams_runtime::config::StreamsConfig;
use streams_runtime::kafka::{Fault, KafkaStreams, State, ThreadFailureResponse};
use streams_runtime::prelude::*;
use support::{Read, app_id, await_running, kafka};

/// Declares a topology counting events per key: one sub-topology (the key is not changed, so no
/// repartition topic), a logged RocksDB store, every update written out. Each test has its own
/// topics, so that tests sharing the broker do not read each other's records.
macro_rules! event_count_topology {
    ($name:ident, $input:tt, $output:tt) => {
        topology! {
            struct $name {
                stream events { topic: $input, key: String, value: String }
                events
                    .group_by_key()
                    .count(store: "event-counts")
                    .to_stream()
                    .to($output, key_serde: StringSerde, value_serde: OptionSerde<LongSerde>);
            }
        }
    };
}

fn send(topic: &str, key: &str, value: &str) {
    kafka().send(topic, None, &[(Some(key.as_bytes()), Some(value.as_bytes()))]);
}

/// Reads `topic` from the beginning with `isolation` until the values read (big-endian i64s, in
/// order of arrival) satisfy `done` and nothing more comes for a second.
fn read_counts_as(topic: &str, isolation: &str, done: impl Fn(&[i64]) -> bool) -> Vec<i64> {
    let longs = |records: &[Read]| records.iter().map(Read::long).collect::<Vec<_>>();
    longs(&kafka().read(topic, isolation, Duration::from_secs(1), |r| done(&longs(r))))
}

/// [`read_counts_as`] with `read_committed`.
fn read_counts(topic: &str, done: impl Fn(&[i64]) -> bool) -> Vec<i64> {
    read_counts_as(topic, "read_committed", done)
}

/// Installs an uncaught-error handler answering `response`; the count of its calls.
fn count_handler_calls<T: Topology + Clone + Send + 'static>(
    streams: &KafkaStreams<T>,
    response: ThreadFailureResponse,
) -> Arc<AtomicUsize> {
    let handled = Arc::new(AtomicUsize::new(0));
    let calls = Arc::clone(&handled);
    streams.set_uncaught_error_handler(move |_| {
        calls.fetch_add(1, Ordering::Relaxed);
        response
    });
    handled
}

/// An exactly-once instance of `topology` with application id `app` and `settings` added.
fn instance<T: Topology + Clone + Send + 'static>(
    topology: T,
    app: &str,
    settings: &[(&str, &str)],
    state_dir: &std::path::Path,
) -> KafkaStreams<T> {
    let bootstrap = kafka().bootstrap();
    let state_dir = state_dir.display().to_string();
    let mut properties = vec![
        ("application.id", app),
        ("bootstrap.servers", bootstrap.as_str()),
        ("processing.guarantee", "exactly_once_v2"),
        ("state.dir", state_dir.as_str()),
        // Every update is emitted (a zero record cache flushes each write at once, as Java does
        // with `statestore.cache.max.bytes=0`): the tests know how many to expect.
        ("statestore.cache.max.bytes", "0"),
    ];
    properties.extend_from_slice(settings);
    KafkaStreams::new(topology, StreamsConfig::from_properties(properties).unwrap()).unwrap()
}

/// [`instance`] over `topics` (created fresh, one partition each), started, once it runs.
fn start_on<T: Topology + Clone + Send + 'static>(
    topology: T,
    topics: [&str; 2],
    settings: &[(&str, &str)],
    state_dir: &std::path::Path,
) -> KafkaStreams<T> {
    let app = app_id(topics[0]);
    kafka().create_topics(&topics, 1);
    let mut streams = instance(topology, &app, settings, state_dir);
    streams.start().unwrap();
    await_running(&streams);
    streams
}

word_count_topology!(struct EosWordCount { input: "eos-wc-in", output: "eos-wc-out" });

#[test]
fn word_count_runs_in_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let streams = start_on(EosWordCount, ["eos-wc-in", "eos-wc-out"], &[], dir.path());
    let text = [&b"a b a"[..], b"b a"];
    let records: Vec<_> = text.iter().map(|l| (None, Some(*l))).collect();
    kafka().send("eos-wc-in", None, &records);
    let counts = read_counts("eos-wc-out", |v| v.len() >= 5);
    assert_eq!(counts, [1, 1, 2, 2, 3], "a=1 b=1 a=2 b=2 a=3");
    assert!(streams.close(Duration::from_secs(10)));
    assert!(streams.take_failure().is_none(), "every transaction committed");
}

event_count_topology!(AbortCount, "abort-events", "abort-counts");

#[test]
fn an_aborted_commit_rolls_the_store_back_rewinds_the_input_and_is_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let streams = start_on(AbortCount, ["abort-events", "abort-counts"], &[], dir.path());
    // a is counted three times and committed ...
    for _ in 0..3 {
        send("abort-events", "a", "x");
    }
    assert_eq!(read_counts("abort-counts", |v| v.len() >= 3), [1, 2, 3]);
    // ... then the next commit with input is aborted: its update a=4 (written to the store, the
    // changelog and the output) is rolled back and the input read again.
    streams.inject_fault(Fault::AbortNextCommit);
    send("abort-events", "a", "x");
    send("abort-events", "a", "x");
    let committed = read_counts("abort-counts", |v| v.ends_with(&[4, 5]));
    assert!(streams.close(Duration::from_secs(10)));
    assert!(streams.take_failure().is_none());
    assert_eq!(committed, [1, 2, 3, 4, 5], "the aborted update is not read");
    // What the aborted transaction wrote reached the log (a read_uncommitted reader sees it)
    // unless the abort purged it while still queued: a=4, or a=4 and a=5.
    let uncommitted = read_counts_as("abort-counts", "read_uncommitted", |v| v.ends_with(&[4, 5]));
    assert!(
        [&[1, 2, 3, 4, 5][..], &[1, 2, 3, 4, 4, 5], &[1, 2, 3, 4, 5, 4, 5]].contains(&uncommitted.as_slice()),
        "{uncommitted:?}"
    );
}

event_count_topology!(FencedCount, "fenced-events", "fenced-counts");

#[test]
fn a_fenced_thread_drops_its_tasks_and_starts_again_without_the_error_handler() {
    let dir = tempfile::tempdir().unwrap();
    let streams = start_on(FencedCount, ["fenced-events", "fenced-counts"], &[], dir.path());
    let handled = count_handler_calls(&streams, ThreadFailureResponse::ShutdownClient);
    send("fenced-events", "a", "x");
    assert_eq!(read_counts("fenced-counts", |v| !v.is_empty()), [1]);
    // b's transaction ends as a fenced producer's would: the thread drops its tasks
    // uncommitted and starts again with a new producer, which aborts it; b is counted again.
    streams.inject_fault(Fault::FenceNextCommit);
    send("fenced-events", "b", "x");
    send("fenced-events", "c", "x");
    let records = kafka().read("fenced-counts", "read_committed", Duration::from_secs(1), |r| {
        r.len() >= 3
    });
    let counts: Vec<(String, i64)> = records.iter().map(|r| (r.key_str(), r.long())).collect();
    let expected = [("a", 1), ("b", 1), ("c", 1)].map(|(k, n)| (k.to_owned(), n));
    assert_eq!(counts, expected, "each key counted once");
    assert_ne!(streams.state(), State::Error, "{:?}", streams.take_failure());
    assert!(streams.close(Duration::from_secs(10)));
    assert!(streams.take_failure().is_none());
    assert_eq!(handled.load(Ordering::Relaxed), 0, "fencing is not a failure");
}

event_count_topology!(RebalanceCount, "eos-rebalance-events", "eos-rebalance-counts");

#[test]
fn a_rebalance_under_exactly_once_commits_the_open_transaction_and_counts_every_event_once() {
    let app = app_id("eos-rebalance");
    let topics = ["eos-rebalance-events", "eos-rebalance-counts"];
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let slow = [("commit.interval.ms", "2000")];
    kafka().create_topics(&topics, 2);
    let mut a = instance(RebalanceCount, &app, &slow, dir_a.path());
    let mut b = instance(RebalanceCount, &app, &slow, dir_b.path());
    a.start().unwrap();
    await_running(&a);
    let keys = ["k0", "k1", "k2", "k3", "k4", "k5"];
    for key in keys {
        send(topics[0], key, "x");
    }
    // B joins while A's transaction (2 s) is open: A's revocation commits it.
    b.start().unwrap();
    await_running(&b);
    await_running(&a);
    for key in keys {
        send(topics[0], key, "x");
    }
    let records = kafka().read(topics[1], "read_committed", Duration::from_secs(2), |r| r.len() >= 12);
    let mut updates: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for r in &records {
        updates.entry(r.key_str()).or_default().push(r.long());
    }
    let expected: BTreeMap<String, Vec<i64>> = keys.iter().map(|k| ((*k).to_owned(), vec![1, 2])).collect();
    assert_eq!(updates, expected, "one committed update per event");
    for streams in [&a, &b] {
        assert_ne!(streams.state(), State::Error, "{:?}", streams.take_failure());
    }
    assert!(a.close(Duration::from_secs(10)) && b.close(Duration::from_secs(10)));
}

/// Fails on the first record with the value `boom` it sees in this process (a processing error
/// in the middle of a transaction); forwards everything else unchanged.
#[derive(Processor, Default)]
#[processor(input = (String, String), output = (String, String))]
struct FailOnFirstBoom;

static BOOMED: AtomicBool = AtomicBool::new(false);

impl Processor for FailOnFirstBoom {
    fn process(
        &mut self,
        record: Record<String, String>,
        ctx: &mut impl ProcessorContext<String, String>,
    ) -> Result<(), ProcessingError> {
        if record.value == "boom" && !BOOMED.swap(true, Ordering::Relaxed) {
            return Err(ProcessingError::msg("boom"));
        }
        ctx.forward(record)
    }
}

topology! {
    /// `EventCount` behind a processor that fails once.
    struct FailingCount {
        stream events { topic: "failing-events", key: String, value: String }
        events
            .process(FailOnFirstBoom)
            .group_by_key()
            .count(store: "event-counts")
            .to_stream()
            .to("failing-counts", key_serde: StringSerde, value_serde: OptionSerde<LongSerde>);
    }
}

#[test]
fn a_processing_error_mid_transaction_aborts_it_and_the_new_thread_resumes_at_the_last_commit() {
    let dir = tempfile::tempdir().unwrap();
    // Long transactions (8 s; the transaction timeout is then 16 s), so that the failing one
    // still holds an update the test has seen written to the broker (a few seconds).
    let streams = start_on(
        FailingCount,
        ["failing-events", "failing-counts"],
        &[("commit.interval.ms", "8000")],
        dir.path(),
    );
    let replaced = count_handler_calls(&streams, ThreadFailureResponse::ReplaceThread);
    for _ in 0..3 {
        send("failing-events", "a", "x");
    }
    assert_eq!(read_counts("failing-counts", |v| v.len() >= 3), [1, 2, 3]);
    // a=4 is written inside the open transaction (a read_uncommitted reader sees it) ...
    send("failing-events", "a", "x");
    let written = read_counts_as("failing-counts", "read_uncommitted", |v| v.len() >= 4);
    assert_eq!(written, [1, 2, 3, 4], "a=4 written in the open transaction");
    // ... then the next record fails the thread: the transaction is aborted, the new thread
    // restores a=3 from the changelog and resumes at the committed offset, so a=4 is counted
    // again and the record that failed once is counted after it.
    send("failing-events", "a", "boom");
    let committed = read_counts("failing-counts", |v| v.ends_with(&[4, 5]));
    let (state, failure) = (streams.state(), streams.take_failure());
    assert!(streams.close(Duration::from_secs(10)));
    let uncommitted = read_counts_as("failing-counts", "read_uncommitted", |v| v.len() >= 6);
    assert_eq!(replaced.load(Ordering::Relaxed), 1, "{state:?} {failure:?}");
    assert_eq!(committed, [1, 2, 3, 4, 5]);
    assert_eq!(
        uncommitted,
        [1, 2, 3, 4, 4, 5],
        "the aborted a=4 was written, then a=4 and a=5 again"
    );
}

event_count_topology!(ZombieCount, "zombie-events", "zombie-counts");

#[test]
fn a_zombie_producer_with_the_thread_transactional_id_is_fenced() {
    let dir = tempfile::tempdir().unwrap();
    let streams = start_on(ZombieCount, ["zombie-events", "zombie-counts"], &[], dir.path());
    let handled = count_handler_calls(&streams, ThreadFailureResponse::ShutdownClient);
    let bootstrap = kafka().bootstrap();
    send("zombie-events", "a", "x");
    assert_eq!(read_counts("zombie-counts", |v| !v.is_empty()), [1]);
    let id = streams.metadata_for_local_threads()[0]
        .transactional_id
        .clone()
        .unwrap();
    // A second producer with the thread's transactional id: it bumps the epoch, so the thread's
    // producer is now the zombie and its next transaction is fenced; the thread starts again
    // with a new producer, whose initialization fences this one in turn.
    let other: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("transactional.id", &id)
        .create()
        .unwrap();
    other.init_transactions(Duration::from_secs(30)).unwrap();
    send("zombie-events", "b", "x");
    let committed = read_counts("zombie-counts", |v| v.len() >= 2);
    assert_eq!(committed, [1, 1], "a=1, then b=1 from the restarted thread");
    other.begin_transaction().unwrap();
    other
        .send(
            BaseRecord::to("zombie-counts")
                .key("zombie")
                .payload(&99i64.to_be_bytes()[..]),
        )
        .unwrap();
    let zombie = other.commit_transaction(Duration::from_secs(30));
    assert!(zombie.is_err(), "the older producer cannot commit: {zombie:?}");
    let after = read_counts("zombie-counts", |v| v.len() >= 2);
    assert_ne!(streams.state(), State::Error, "{:?}", streams.take_failure());
    assert!(streams.close(Duration::from_secs(10)));
    assert_eq!(after, [1, 1], "nothing of the zombie's is read");
    assert_eq!(handled.load(Ordering::Relaxed), 0, "fencing is not a failure");
}
