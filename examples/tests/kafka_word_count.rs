//! The DSL word count on the real Kafka broker (`support::kafka`): end to end, after restarts
//! (with the local state kept and with it wiped), across rebalances (exactly one update per word
//! on clean handovers), with poison pills under each handler, with its stores restored at
//! assignment, and the startup checks of its topics. Each test declares the topology over topics
//! of its own.

mod support;

use examples::word_count_topology;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use streams_runtime::config::StreamsConfig;
use streams_runtime::kafka::{KafkaStreams, State, ThreadFailureResponse};
use streams_runtime::prelude::*;
use support::{RawRecord, Read, app_id, await_running, kafka};

const PARTITIONS: i32 = 2;

/// A configuration for `app` on the test broker.
fn config(app: &str, state_dir: &std::path::Path, extra: &[(&str, &str)]) -> StreamsConfig {
    let bootstrap = kafka().bootstrap();
    let state_dir = state_dir.display().to_string();
    let mut settings = vec![
        ("application.id", app),
        ("bootstrap.servers", bootstrap.as_str()),
        ("commit.interval.ms", "100"),
        ("state.dir", state_dir.as_str()),
        // Every update is emitted (a zero record cache flushes each write at once, as Java does
        // with `statestore.cache.max.bytes=0`): the tests know how many to expect.
        ("statestore.cache.max.bytes", "0"),
    ];
    settings.extend_from_slice(extra);
    StreamsConfig::from_properties(settings).unwrap()
}

/// Writes `text` as values with null keys to `topic` (partition `partition` if given).
fn write(topic: &str, partition: Option<i32>, text: &[String]) {
    let records: Vec<RawRecord<'_>> = text.iter().map(|l| (None, Some(l.as_bytes()))).collect();
    kafka().send(topic, partition, &records);
}

fn strings(text: &[&str]) -> Vec<String> {
    text.iter().map(|l| (*l).to_owned()).collect()
}

/// The latest count of every word in `records`.
fn latest(records: &[Read]) -> BTreeMap<String, i64> {
    records.iter().map(|r| (r.key_str(), r.long())).collect()
}

/// Reads `output` until the latest count of every word equals `expected` and nothing more comes
/// for a second; the number of count updates read.
fn await_counts(output: &str, expected: &BTreeMap<String, i64>) -> usize {
    kafka()
        .read(output, "read_uncommitted", Duration::from_secs(1), |r| {
            latest(r) == *expected
        })
        .len()
}

fn counts(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(w, c)| ((*w).to_owned(), *c)).collect()
}

/// Records the partitions of the restored stores of `streams`, in order.
fn restored_partitions<T: Topology + Clone + Send + 'static>(streams: &KafkaStreams<T>) -> Arc<Mutex<Vec<i32>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    streams.set_restore_listener(move |r| log.lock().unwrap().push(r.partition));
    seen
}

fn sorted(mut v: Vec<i32>) -> Vec<i32> {
    v.sort_unstable();
    v
}

word_count_topology!(struct EndToEnd { input: "wc-e2e-in", output: "wc-e2e-out" });

#[test]
fn word_count_runs_end_to_end() {
    let app = app_id("wc-e2e");
    kafka().create_topics(&["wc-e2e-in", "wc-e2e-out"], PARTITIONS);
    let state = tempfile::tempdir().unwrap();
    write(
        "wc-e2e-in",
        None,
        &strings(&["all streams lead to kafka", "hello kafka streams"]),
    );
    let mut streams = KafkaStreams::new(EndToEnd, config(&app, state.path(), &[])).unwrap();
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
    assert_eq!(await_counts("wc-e2e-out", &expected), 8, "one update per word");
    assert!(streams.close(Duration::from_secs(10)));
    assert!(streams.take_failure().is_none());
    assert_eq!(streams.state(), State::NotRunning);
    let states = states.lock().unwrap().clone();
    assert_eq!(
        states,
        [
            State::Rebalancing,
            State::Running,
            State::PendingShutdown,
            State::NotRunning
        ]
    );
}

word_count_topology!(struct Tuned { input: "wc-rocks-in", output: "wc-rocks-out" });

/// The `name=value` lines of the newest `OPTIONS-*` file RocksDB wrote in `db`.
fn persisted_options(db: &std::path::Path) -> Vec<String> {
    let newest = std::fs::read_dir(db)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("OPTIONS-"))
        .max()
        .unwrap_or_else(|| panic!("no OPTIONS file in {}", db.display()));
    let text = std::fs::read_to_string(db.join(newest)).unwrap();
    text.lines().map(|l| l.trim().to_owned()).collect()
}

#[test]
fn the_rocksdb_config_setter_tunes_the_store_of_every_task() {
    let app = app_id("wc-rocks");
    kafka().create_topics(&["wc-rocks-in", "wc-rocks-out"], PARTITIONS);
    let state = tempfile::tempdir().unwrap();
    write(
        "wc-rocks-in",
        None,
        &strings(&["all streams lead to kafka", "hello kafka streams"]),
    );
    let mut config = config(&app, state.path(), &[]);
    let names = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&names);
    config.set_rocksdb_config_setter(move |name, options, table| {
        log.lock().unwrap().push(name.to_owned());
        options.set_write_buffer_size(2 * 1024 * 1024);
        table.set_block_size(8 * 1024);
    });
    let mut streams = KafkaStreams::new(Tuned, config).unwrap();
    let restored = restored_partitions(&streams);
    streams.start().unwrap();
    let expected = counts(&[
        ("all", 1),
        ("hello", 1),
        ("kafka", 2),
        ("lead", 1),
        ("streams", 2),
        ("to", 1),
    ]);
    assert_eq!(await_counts("wc-rocks-out", &expected), 8);
    assert!(streams.close(Duration::from_secs(10)));
    assert!(streams.take_failure().is_none());
    // Each task of the counting sub-topology opened its store once, through the setter.
    assert_eq!(sorted(restored.lock().unwrap().clone()), [0, 1]);
    assert_eq!(*names.lock().unwrap(), ["counts-store", "counts-store"]);
    for task in ["1_0", "1_1"] {
        let db = state.path().join(&app).join(task).join("rocksdb").join("counts-store");
        let options = persisted_options(&db);
        for line in ["write_buffer_size=2097152", "block_size=8192"] {
            assert!(options.iter().any(|l| l == line), "{task}: {line} not in {options:?}");
        }
    }
}

word_count_topology!(struct Restart { input: "wc-restart-in", output: "wc-restart-out" });

#[test]
fn counts_continue_after_restarts_with_and_without_local_state() {
    let app = app_id("wc-restart");
    kafka().create_topics(&["wc-restart-in", "wc-restart-out"], PARTITIONS);
    let state = tempfile::tempdir().unwrap();
    let restored = Arc::new(Mutex::new(Vec::new()));

    let run = |state_dir: &std::path::Path, text: &[&str], expected: &[(&str, i64)]| {
        write("wc-restart-in", None, &strings(text));
        let mut streams = KafkaStreams::new(Restart, config(&app, state_dir, &[])).unwrap();
        let log = Arc::clone(&restored);
        streams.set_restore_listener(move |r| {
            log.lock().unwrap().push((r.store.to_owned(), r.partition, r.records));
        });
        streams.start().unwrap();
        await_counts("wc-restart-out", &counts(expected));
        assert!(streams.close(Duration::from_secs(10)));
        assert!(streams.take_failure().is_none());
        let mut seen = std::mem::take(&mut *restored.lock().unwrap());
        seen.sort();
        seen
    };
    let store = |partition, records| ("counts-store".to_owned(), partition, records);

    // Both tasks of the counting sub-topology are created (and their stores restored) at
    // assignment, whether or not their partition has records.
    let first = run(state.path(), &["kafka streams"], &[("kafka", 1), ("streams", 1)]);
    assert_eq!(first, [store(0, 0), store(1, 0)], "nothing to restore at first");

    // Same state directory: the RocksDB stores survived and their checkpoints cover the
    // changelogs, so nothing is restored.
    let second = run(state.path(), &["kafka"], &[("kafka", 2), ("streams", 1)]);
    assert_eq!(second, [store(0, 0), store(1, 0)], "restored from the checkpoints on");

    // A new, empty state directory: the counts come back from the changelog (kafka=1,
    // streams=1, kafka=2: three records over the two partitions).
    let fresh = tempfile::tempdir().unwrap();
    let third = run(fresh.path(), &["streams kafka"], &[("kafka", 3), ("streams", 2)]);
    let total: u64 = third.iter().map(|(_, _, n)| n).sum();
    assert_eq!(total, 3, "the changelog's records: {third:?}");
    assert_eq!(third.iter().map(|(_, p, _)| *p).collect::<Vec<_>>(), [0, 1]);
}

word_count_topology!(struct PoisonContinue { input: "wc-pc-in", output: "wc-pc-out" });

#[test]
fn a_poison_pill_is_skipped_and_dead_lettered_under_log_and_continue() {
    let app = app_id("wc-pc");
    kafka().create_topics(&["wc-pc-in", "wc-pc-out"], PARTITIONS);
    kafka().create_topics(&["wc-pc-dlq"], 1);
    let state = tempfile::tempdir().unwrap();
    write("wc-pc-in", Some(0), &strings(&["kafka"]));
    kafka().send("wc-pc-in", Some(0), &[(None, Some(&[0xff, 0xfe]))]);
    write("wc-pc-in", Some(0), &strings(&["kafka streams"]));
    let extra = [
        ("deserialization.exception.handler", "LogAndContinueExceptionHandler"),
        ("errors.dead.letter.queue.topic.name", "wc-pc-dlq"),
    ];
    let mut streams = KafkaStreams::new(PoisonContinue, config(&app, state.path(), &extra)).unwrap();
    streams.start().unwrap();
    assert_eq!(await_counts("wc-pc-out", &counts(&[("kafka", 2), ("streams", 1)])), 3);
    let dead = kafka().read("wc-pc-dlq", "read_uncommitted", Duration::ZERO, |r| !r.is_empty());
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].value.as_deref(), Some(&[0xff, 0xfe][..]), "the raw record");
    assert!(streams.close(Duration::from_secs(10)));
    assert!(streams.take_failure().is_none());
    assert_eq!(streams.dropped_records(), 1, "the poison pill");
}

word_count_topology!(struct PoisonFail { input: "wc-pf-in", output: "wc-pf-out" });

#[test]
fn a_poison_pill_stops_the_application_under_log_and_fail() {
    let app = app_id("wc-pf");
    kafka().create_topics(&["wc-pf-in", "wc-pf-out"], PARTITIONS);
    let state = tempfile::tempdir().unwrap();
    kafka().send("wc-pf-in", Some(1), &[(None, Some(&[0xff]))]);
    let mut streams = KafkaStreams::new(PoisonFail, config(&app, state.path(), &[])).unwrap();
    streams.start().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while streams.state() != State::Error && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(streams.state(), State::Error);
    match streams.take_failure() {
        Some(StreamsError::Deserialization {
            topic,
            partition,
            offset,
            ..
        }) => assert_eq!((topic.as_str(), partition, offset), ("wc-pf-in", 1, 0)),
        other => panic!("expected a deserialization failure, got {other:?}"),
    }
    streams.close(Duration::from_secs(10));
}

word_count_topology!(struct ShutdownApp { input: "wc-sa-in", output: "wc-sa-out" });

#[test]
fn a_failed_thread_can_shut_down_every_instance_of_the_application() {
    let app = app_id("wc-sa");
    kafka().create_topics(&["wc-sa-in", "wc-sa-out"], PARTITIONS);
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = KafkaStreams::new(ShutdownApp, config(&app, dir_a.path(), &[])).unwrap();
    let mut b = KafkaStreams::new(ShutdownApp, config(&app, dir_b.path(), &[])).unwrap();
    for streams in [&a, &b] {
        streams.set_uncaught_error_handler(|_| ThreadFailureResponse::ShutdownApplication);
    }
    a.start().unwrap();
    await_running(&a);
    b.start().unwrap();
    await_running(&b);
    await_running(&a);
    // A poison pill in partition 0: its owner fails and asks the other instance to stop.
    kafka().send("wc-sa-in", Some(0), &[(None, Some(&[0xff]))]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while (a.state(), b.state()) != (State::Error, State::Error) {
        assert!(Instant::now() < deadline, "a {:?}, b {:?}", a.state(), b.state());
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut failures = [a.take_failure().unwrap(), b.take_failure().unwrap()].map(|e| e.to_string());
    failures.sort_by_key(|f| !f.contains("requested it"));
    assert!(
        failures[0].ends_with(&format!(
            "shutting down the application: instance {app}-StreamThread-1 requested it"
        )),
        "{failures:?}"
    );
    assert!(failures[1].contains("record at wc-sa-in-0 offset 0"), "{failures:?}");
    a.close(Duration::from_secs(10));
    b.close(Duration::from_secs(10));
}

word_count_topology!(struct TwoInstances { input: "wc-two-in", output: "wc-two-out" });

/// `n` lines of `per_line` words each, over the words w0..w4.
fn words(n: usize, per_line: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            (0..per_line)
                .map(|j| format!("w{}", (i + j) % 5))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[test]
fn two_instances_split_the_partitions_and_hand_over_without_duplicates() {
    let app = app_id("wc-two");
    kafka().create_topics(&["wc-two-in", "wc-two-out"], PARTITIONS);
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let slow_commits = [("commit.interval.ms", "1000")];
    let mut a = KafkaStreams::new(TwoInstances, config(&app, dir_a.path(), &slow_commits)).unwrap();
    let mut b = KafkaStreams::new(TwoInstances, config(&app, dir_b.path(), &slow_commits)).unwrap();
    let (tasks_a, tasks_b) = (restored_partitions(&a), restored_partitions(&b));

    // A alone counts the first 40 words; it runs both counting tasks.
    a.start().unwrap();
    write("wc-two-in", None, &words(20, 2));
    let expected = counts(&[("w0", 8), ("w1", 8), ("w2", 8), ("w3", 8), ("w4", 8)]);
    assert_eq!(await_counts("wc-two-out", &expected), 40);
    assert_eq!(sorted(tasks_a.lock().unwrap().clone()), [0, 1]);

    // B joins: A commits on revocation, each instance gets one partition of each topic, the
    // counts continue.
    b.start().unwrap();
    await_running(&b);
    await_running(&a);
    write("wc-two-in", None, &words(10, 1));
    let expected = counts(&[("w0", 10), ("w1", 10), ("w2", 10), ("w3", 10), ("w4", 10)]);
    assert_eq!(await_counts("wc-two-out", &expected), 50);
    let on_b = tasks_b.lock().unwrap().clone();
    assert_eq!(on_b.len(), 1, "B runs one counting task: {on_b:?}");
    assert_eq!(
        tasks_a.lock().unwrap().len(),
        2,
        "A keeps the other one without restoring it"
    );

    // B stops; A takes B's partition back and restores its counts from the changelog.
    assert!(b.close(Duration::from_secs(10)));
    write("wc-two-in", None, &words(10, 1));
    let expected = counts(&[("w0", 12), ("w1", 12), ("w2", 12), ("w3", 12), ("w4", 12)]);
    assert_eq!(await_counts("wc-two-out", &expected), 60);
    assert_eq!(
        tasks_a.lock().unwrap()[2..],
        on_b[..],
        "A created B's task after B stopped"
    );
    assert!(a.close(Duration::from_secs(10)));
    assert!(a.take_failure().is_none() && b.take_failure().is_none());
}

word_count_topology!(struct Resume { input: "wc-resume-in", output: "wc-resume-out" });

#[test]
fn a_rebalance_that_keeps_the_partitions_in_place_neither_loses_nor_redoes_work() {
    use rdkafka::ClientConfig;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let app = app_id("wc-resume");
    kafka().create_topics(&["wc-resume-in", "wc-resume-out"], PARTITIONS);
    kafka().create_topics(&["wc-resume-unrelated"], 1);
    let dir = tempfile::tempdir().unwrap();
    // Nothing is committed before the rebalance but what the revocation commits.
    let config = config(&app, dir.path(), &[("commit.interval.ms", "600000")]);
    let mut streams = KafkaStreams::new(Resume, config).unwrap();
    let states = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&states);
    streams.set_state_listener(move |new, _| log.lock().unwrap().push(new));
    streams.start().unwrap();
    let line = |n: usize| -> Vec<String> { (0..n).map(|i| format!("w{}", i % 4)).collect() };
    write("wc-resume-in", None, &line(20));
    let expected = counts(&[("w0", 5), ("w1", 5), ("w2", 5), ("w3", 5)]);
    assert_eq!(await_counts("wc-resume-out", &expected), 20);

    // Another member joins the group for a topic the application does not read: the eager
    // protocol revokes every partition and gives them all back.
    let member: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka().bootstrap())
        .set("group.id", &app)
        .set("partition.assignment.strategy", "range")
        .create()
        .unwrap();
    member.subscribe(&["wc-resume-unrelated"]).unwrap();
    let rebalanced = || {
        let states = states.lock().unwrap();
        let running = states.iter().position(|s| *s == State::Running);
        running.is_some_and(|r| states[r..].contains(&State::Rebalancing)) && states.last() == Some(&State::Running)
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !rebalanced() {
        assert!(Instant::now() < deadline, "no rebalance: {:?}", states.lock().unwrap());
        member.poll(Duration::from_millis(50));
    }
    write("wc-resume-in", None, &line(20));
    let expected = counts(&[("w0", 10), ("w1", 10), ("w2", 10), ("w3", 10)]);
    // Redone work would repeat the first counts' updates (and raise the counts past 10).
    assert_eq!(
        await_counts("wc-resume-out", &expected),
        40,
        "one count update per word"
    );
    assert!(streams.close(Duration::from_secs(10)));
    assert!(streams.take_failure().is_none());
}

word_count_topology!(struct Startup { input: "wc-startup-in", output: "wc-startup-out" });

#[test]
fn startup_checks_source_topics_and_co_partitioning() {
    let app = app_id("wc-startup");
    let state = tempfile::tempdir().unwrap();
    let mut streams = KafkaStreams::new(Startup, config(&app, state.path(), &[])).unwrap();
    let err = streams.start().unwrap_err().to_string();
    assert!(err.contains("source topic wc-startup-in does not exist"), "{err}");

    // Sub-topology 1 reads the repartition topic (3 partitions) and writes the changelog (2).
    kafka().create_topics(&["wc-startup-in"], 2);
    let repartition = format!("{app}-counts-store-repartition");
    let changelog = format!("{app}-counts-store-changelog");
    kafka().create_topics(&[&repartition], 3);
    kafka().create_topics(&[&changelog], 2);
    let mut streams = KafkaStreams::new(Startup, config(&app, state.path(), &[])).unwrap();
    let err = streams.start().unwrap_err().to_string();
    assert!(
        err.contains(&format!(
            "the source topics and changelogs of sub-topology 1 must have the same number of partitions: \
             {repartition} (3), {changelog} (2)"
        )),
        "{err}"
    );
}

word_count_topology!(struct SubTopologies { input: "wc-sub-in", output: "wc-sub-out" });

#[test]
fn each_sub_topology_runs_as_its_own_tasks_with_its_own_partition_count() {
    let app = app_id("wc-sub");
    kafka().create_topics(&["wc-sub-in", "wc-sub-out"], 2);
    // The repartition topic is created with 3 partitions; the runtime creates the changelog to
    // match it.
    kafka().create_topics(&[&format!("{app}-counts-store-repartition")], 3);
    let state = tempfile::tempdir().unwrap();
    let mut streams = KafkaStreams::new(SubTopologies, config(&app, state.path(), &[])).unwrap();
    let restored = restored_partitions(&streams);
    streams.start().unwrap();
    let text: Vec<String> = (0..30).map(|i| format!("w{} w{}", i % 7, i % 3)).collect();
    // Lines alternate between the two input partitions (null keys could all land in one).
    for (i, line) in text.iter().enumerate() {
        write("wc-sub-in", Some(i as i32 % 2), std::slice::from_ref(line));
    }
    let mut expected = BTreeMap::new();
    for word in text.iter().flat_map(|l| l.split(' ')) {
        *expected.entry(word.to_owned()).or_insert(0) += 1;
    }
    assert_eq!(await_counts("wc-sub-out", &expected), 60, "one update per word");
    assert!(streams.close(Duration::from_secs(10)));
    assert!(streams.take_failure().is_none());
    assert_eq!(sorted(restored.lock().unwrap().clone()), [0, 1, 2]);
    // Tasks 0_0 and 0_1 split the lines, 1_0, 1_1 and 1_2 count (Java's task directories,
    // beside the kept process id).
    let mut dirs: Vec<String> = std::fs::read_dir(state.path().join(&app))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_dir())
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    dirs.sort();
    assert_eq!(dirs, ["0_0", "0_1", "1_0", "1_1", "1_2"]);
}

word_count_topology!(struct Async { input: "wc-async-in", output: "wc-async-out" });

#[test]
fn async_code_awaits_state_changes_and_closes_without_blocking() {
    let app = app_id("wc-async");
    kafka().create_topics(&["wc-async-in", "wc-async-out"], PARTITIONS);
    let dir = tempfile::tempdir().unwrap();
    let mut streams = KafkaStreams::new(Async, config(&app, dir.path(), &[])).unwrap();
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
    write("wc-async-in", None, &strings(&["hello async", "hello"]));
    assert_eq!(await_counts("wc-async-out", &counts(&[("hello", 2), ("async", 1)])), 3);
    assert!(runtime.block_on(streams.close_async(Duration::from_secs(10))));
    assert_eq!(*states.borrow_and_update(), State::NotRunning);
}

word_count_topology!(struct TwoThreads { input: "wc-threads-in", output: "wc-threads-out" });

#[test]
fn two_stream_threads_in_one_instance_share_the_partitions() {
    let app = app_id("wc-threads");
    kafka().create_topics(&["wc-threads-in", "wc-threads-out"], PARTITIONS);
    let state = tempfile::tempdir().unwrap();
    let text: Vec<String> = (0..20).map(|i| format!("t{} t{}", i % 4, (i + 2) % 4)).collect();
    write("wc-threads-in", None, &text);
    let mut streams =
        KafkaStreams::new(TwoThreads, config(&app, state.path(), &[("num.stream.threads", "2")])).unwrap();
    streams.start().unwrap();
    let expected = counts(&[("t0", 10), ("t1", 10), ("t2", 10), ("t3", 10)]);
    assert_eq!(await_counts("wc-threads-out", &expected), 40);
    // The range assignor gives each thread one partition of each topic: one task of each
    // sub-topology. A thread that joins the group after the first one has counted everything
    // gets its share at the rebalance its joining starts: wait (bounded) for that.
    let tasks_per_thread = || {
        let threads = streams.metadata_for_local_threads();
        let mut tasks: Vec<Vec<String>> = threads.iter().map(|t| sorted_tasks(&t.active_tasks)).collect();
        tasks.sort();
        (tasks, threads)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let (mut tasks, mut threads) = tasks_per_thread();
    while tasks != [["0_0", "1_0"], ["0_1", "1_1"]] && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        (tasks, threads) = tasks_per_thread();
    }
    assert_eq!(tasks, [["0_0", "1_0"], ["0_1", "1_1"]], "{threads:?}");
    assert!(streams.close(Duration::from_secs(10)));
    assert!(streams.take_failure().is_none());
}

fn sorted_tasks(tasks: &[TaskId]) -> Vec<String> {
    let mut names: Vec<String> = tasks.iter().map(ToString::to_string).collect();
    names.sort();
    names
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
    kafka().create_topics(&["flaky-in", "flaky-out"], 1);
    write("flaky-in", None, &strings(&["a", "b", "c"]));
    let state = tempfile::tempdir().unwrap();
    let mut streams = KafkaStreams::new(Flaky, config(&app_id("flaky"), state.path(), &[])).unwrap();
    let failures = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&failures);
    streams.set_uncaught_error_handler(move |e| {
        seen.lock().unwrap().push(e.to_string());
        ThreadFailureResponse::ReplaceThread
    });
    streams.start().unwrap();
    let values: Vec<String> = kafka()
        .read("flaky-out", "read_uncommitted", Duration::from_secs(1), |r| {
            r.len() >= 3
        })
        .iter()
        .map(Read::value_str)
        .collect();
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

/// Forwards one record naming its task at its first wall-clock punctuation.
#[derive(Processor, Default)]
#[processor(input = (String, String), output = (String, String))]
struct Ticker {
    ticked: bool,
}

impl Processor for Ticker {
    fn init(&mut self, ctx: &mut impl ProcessorContext<String, String>) -> Result<(), ProcessingError> {
        ctx.schedule(Duration::from_millis(100), PunctuationType::WallClockTime);
        Ok(())
    }

    fn process(
        &mut self,
        _: Record<String, String>,
        _: &mut impl ProcessorContext<String, String>,
    ) -> Result<(), ProcessingError> {
        Ok(())
    }

    fn punctuate(
        &mut self,
        _: ScheduleId,
        timestamp: i64,
        ctx: &mut impl ProcessorContext<String, String>,
    ) -> Result<(), ProcessingError> {
        if !std::mem::replace(&mut self.ticked, true) {
            ctx.forward(Record::new(ctx.task_id().to_string(), "tick".to_owned(), timestamp))?;
        }
        Ok(())
    }
}

topology! {
    struct Ticks {
        stream idle { topic: "idle-in", key: String, value: String }
        idle.process(Ticker).to("idle-ticks");
    }
}

#[test]
fn tasks_of_idle_partitions_are_created_at_assignment_and_punctuate() {
    kafka().create_topics(&["idle-in"], 2);
    kafka().create_topics(&["idle-ticks"], 1);
    let state = tempfile::tempdir().unwrap();
    let mut streams = KafkaStreams::new(Ticks, config(&app_id("idle"), state.path(), &[])).unwrap();
    streams.start().unwrap();
    // No record was ever written to idle-in: both tasks exist, ran `init` and punctuate.
    let mut ticks: Vec<String> = kafka()
        .read("idle-ticks", "read_uncommitted", Duration::from_secs(1), |r| {
            r.len() >= 2
        })
        .iter()
        .map(Read::key_str)
        .collect();
    ticks.sort();
    assert_eq!(ticks, ["0_0", "0_1"]);
    assert!(streams.close(Duration::from_secs(10)));
    assert!(streams.take_failure().is_none());
}

/// A word count with each counted word also written to a `seen` topic, after the counting task
/// counted it: once that topic holds every word, a test knows the counts are all in the store
/// (or its cache).
macro_rules! counted_words_topology {
    (struct $name:ident { input: $input:tt, words: $words:tt, counts: $counts:tt, output: $output:tt, seen: $seen:tt }) => {
        topology! {
            struct $name {
                stream lines { topic: $input, key: Option<String>, value: String }
                let words = lines
                    .flat_map_values(|line| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
                    .select_key(|_, word| word.clone())
                    .repartition(name: $words);
                words.group_by_key().count(store: $counts).to_stream().to($output);
                words.to($seen);
            }
        }
    };
}

counted_words_topology!(struct CountedWords {
    input: "wc-cache-in",
    words: "wc-cache-words",
    counts: "wc-cache-counts",
    output: "wc-cache-out",
    seen: "wc-cache-seen"
});

#[test]
fn the_record_cache_writes_one_update_per_word_and_commit_and_every_update_without_it() {
    let lines = strings(&["kafka streams kafka", "streams of kafka records", "kafka", "of kafka"]);
    let expected = counts(&[("kafka", 5), ("of", 2), ("records", 1), ("streams", 2)]);
    // Commits only when the instance closes: the cache holds every update until then.
    let rare_commits = ("commit.interval.ms", "600000");
    for (cache, updates) in [("0", 10), ("10485760", 4)] {
        let app = app_id(&format!("wc-cache-{cache}"));
        kafka().create_topics(&["wc-cache-in", "wc-cache-out", "wc-cache-seen"], PARTITIONS);
        write("wc-cache-in", None, &lines);
        let state = tempfile::tempdir().unwrap();
        let settings = [rare_commits, ("statestore.cache.max.bytes", cache)];
        let mut streams = KafkaStreams::new(CountedWords, config(&app, state.path(), &settings)).unwrap();
        streams.start().unwrap();
        let seen = kafka().read("wc-cache-seen", "read_uncommitted", Duration::from_secs(1), |r| {
            r.len() == 10
        });
        assert_eq!(seen.len(), 10, "every word counted");
        assert!(streams.close(Duration::from_secs(10)));
        assert!(streams.take_failure().is_none());
        let output = kafka().read("wc-cache-out", "read_uncommitted", Duration::from_secs(1), |r| {
            latest(r) == expected
        });
        assert_eq!(latest(&output), expected, "cache {cache}: the final counts");
        assert_eq!(output.len(), updates, "cache {cache}: {output:?}");
    }
}

counted_words_topology!(struct CachedHandOver {
    input: "wc-cached-two-in",
    words: "wc-cached-two-words",
    counts: "wc-cached-two-counts",
    output: "wc-cached-two-out",
    seen: "wc-cached-two-seen"
});

#[test]
fn a_revocation_flushes_the_record_caches_before_it_commits() {
    let app = app_id("wc-cached-two");
    kafka().create_topics(
        &["wc-cached-two-in", "wc-cached-two-out", "wc-cached-two-seen"],
        PARTITIONS,
    );
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Java's default cache and no commit before the instances close: counts leave the caches
    // only when a rebalance revokes their tasks (or the instance closes).
    let settings = [
        ("commit.interval.ms", "600000"),
        ("statestore.cache.max.bytes", "10485760"),
    ];
    let mut a = KafkaStreams::new(CachedHandOver, config(&app, dir_a.path(), &settings)).unwrap();
    let mut b = KafkaStreams::new(CachedHandOver, config(&app, dir_b.path(), &settings)).unwrap();
    a.start().unwrap();
    write("wc-cached-two-in", None, &words(20, 2));
    let seen = kafka().read("wc-cached-two-seen", "read_uncommitted", Duration::from_secs(1), |r| {
        r.len() == 40
    });
    assert_eq!(seen.len(), 40, "every word processed by A");
    // Whatever arrives within two quiet seconds.
    let output = kafka().read("wc-cached-two-out", "read_uncommitted", Duration::from_secs(2), |_| {
        true
    });
    assert_eq!(output, [], "the counts are still in A's cache");
    // B joins: A's tasks are revoked, so A flushes its caches (output and changelog) first.
    b.start().unwrap();
    await_running(&b);
    await_running(&a);
    let expected = counts(&[("w0", 8), ("w1", 8), ("w2", 8), ("w3", 8), ("w4", 8)]);
    assert_eq!(await_counts("wc-cached-two-out", &expected), 5, "one update per word");
    // Both instances count on from the state handed over through the changelog.
    // Each instance closes once what was written is processed (its words seen): a close flushes.
    let await_seen = |n: usize| {
        let seen = kafka().read("wc-cached-two-seen", "read_uncommitted", Duration::from_secs(1), |r| {
            r.len() == n
        });
        assert_eq!(seen.len(), n, "every word processed");
    };
    write("wc-cached-two-in", None, &words(10, 1));
    await_seen(50);
    assert!(b.close(Duration::from_secs(10)));
    write("wc-cached-two-in", None, &words(5, 1));
    await_seen(55);
    assert!(a.close(Duration::from_secs(10)));
    let expected = counts(&[("w0", 11), ("w1", 11), ("w2", 11), ("w3", 11), ("w4", 11)]);
    await_counts("wc-cached-two-out", &expected);
    assert!(a.take_failure().is_none() && b.take_failure().is_none());
}
