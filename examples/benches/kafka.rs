//! Kafka runtime benchmarks on the real Apache Kafka broker (`scripts/kafka.sh`), each against
//! a baseline on the same broker in the same run:
//!
//! - P3: the pipe topology through `KafkaStreams` vs a raw rdkafka consume → produce loop (wall
//!   clock, and the CPU time of the thread that consumes and produces);
//! - P5: restoring a store from a changelog vs a raw consume of the same partition;
//! - P6: the DSL word count end to end under exactly_once_v2 vs at_least_once (words/s at both);
//! - recovery: from the SIGKILL of a word count instance to the first output of its
//!   replacement, with its local state kept and with it wiped;
//! - java: Java Kafka Streams 4.1.1 vs ours, each an application process (`examples/java`'s
//!   `WordCountApp`, our `bench-app`): the word count under both guarantees (throughput, latency
//!   at a fixed rate, peak RSS) and the pipe.
//!
//! `cargo bench -p examples --bench kafka` starts a broker of its own in `target/kafka-bench`
//! - the record cache: the word count as separate processes (ours and Java's) with the cache on
//!   (Java's default 10 MiB) and off, until every word's final count arrives (throughput and
//!   the number of count updates written).
//!
//! (stopped at the end), or uses `STREAMS_BENCH_BOOTSTRAP` if set; `STREAMS_BENCH_RECORDS` sets
//! the record count (default 200,000; P5 uses 1M unless set), `STREAMS_BENCH_ONLY=p3|p5|p6|recovery|java|cache`
//! runs one part (java and cache use 1M words unless set). Figures go to docs/BENCHMARKS.md.

mod common;

use common::broker::{self, create_topics, fill, producer};

use examples::process::{self, ChildApp};
use examples::word_count::WordCount;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use streams_runtime::config::StreamsConfig;
use streams_runtime::kafka::KafkaStreams;
use streams_runtime::prelude::*;

topology! {
    struct BenchPipe {
        stream input { topic: "p3-in", key: Option<Vec<u8>>, value: Vec<u8> }
        input.to("p3-out-streams");
    }
}

topology! {
    struct BenchTable {
        table rows { topic: "p5-in", key: String, value: String, store: "p5-store", persistent: false }
    }
}

fn config(app: &str, bootstrap: &str, state: &std::path::Path) -> StreamsConfig {
    StreamsConfig::from_properties([
        ("application.id", app),
        ("bootstrap.servers", bootstrap),
        ("state.dir", &state.display().to_string()),
        ("producer.linger.ms", "5"),
        // P5 starts an instance per round: a closed one leaves the group sooner.
        ("main.consumer.session.timeout.ms", "6000"),
        ("main.consumer.heartbeat.interval.ms", "500"),
    ])
    .unwrap()
}

/// When the records written to an (empty, one-partition) output topic arrived, seen by a
/// consumer assigned to it before the pipeline under test starts: the same observer for both
/// sides of P3.
struct Observer(BaseConsumer);

/// Arrival times of the first and of the `n`th output record.
struct Arrivals {
    first: Instant,
    last: Instant,
}

impl Observer {
    /// An observer of an empty topic, from its beginning, reading with `isolation`.
    fn new(bootstrap: &str, topic: &str, isolation: &str) -> Self {
        let consumer = Self::consumer(bootstrap, topic, isolation);
        Self::assigned(consumer, topic, Offset::Beginning)
    }

    /// An observer of what arrives after now.
    fn from_end(bootstrap: &str, topic: &str, isolation: &str) -> Self {
        let consumer = Self::consumer(bootstrap, topic, isolation);
        let (_, high) = consumer.fetch_watermarks(topic, 0, Duration::from_secs(10)).unwrap();
        Self::assigned(consumer, topic, Offset::Offset(high))
    }

    fn consumer(bootstrap: &str, topic: &str, isolation: &str) -> BaseConsumer {
        ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", format!("{topic}-observer"))
            .set("enable.auto.commit", "false")
            .set("isolation.level", isolation)
            .create()
            .unwrap()
    }

    fn assigned(consumer: BaseConsumer, topic: &str, from: Offset) -> Self {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, 0, from).unwrap();
        consumer.assign(&tpl).unwrap();
        Observer(consumer)
    }

    fn await_records(&self, n: usize) -> Arrivals {
        let deadline = Instant::now() + Duration::from_secs(600);
        let mut first = None;
        let mut seen = 0;
        while seen < n {
            if let Some(Ok(_)) = self.0.poll(Duration::from_millis(10)) {
                first.get_or_insert_with(Instant::now);
                seen += 1;
            }
            assert!(Instant::now() < deadline, "only {seen} of {n} output records");
        }
        Arrivals {
            first: first.unwrap_or_else(Instant::now),
            last: Instant::now(),
        }
    }

    /// Reads word counts until every word's latest count is its final one in `expected`: the
    /// arrivals of the first and the last update, and how many updates were read.
    fn await_counts(&self, expected: &HashMap<String, i64>) -> (Arrivals, usize) {
        let deadline = Instant::now() + Duration::from_secs(600);
        let mut latest: HashMap<String, i64> = HashMap::with_capacity(expected.len());
        let (mut first, mut updates, mut done) = (None, 0, 0);
        while done < expected.len() {
            if let Some(Ok(m)) = self.0.poll(Duration::from_millis(10)) {
                first.get_or_insert_with(Instant::now);
                updates += 1;
                let word = String::from_utf8_lossy(m.key().unwrap()).into_owned();
                let count = i64::from_be_bytes(m.payload().unwrap().try_into().unwrap());
                let want = expected[&word];
                match (latest.insert(word, count) == Some(want), count == want) {
                    (false, true) => done += 1,
                    (true, false) => done -= 1,
                    _ => {}
                }
            }
            assert!(
                Instant::now() < deadline,
                "{done} of {} words at their final count",
                expected.len()
            );
        }
        let arrivals = Arrivals {
            first: first.unwrap_or_else(Instant::now),
            last: Instant::now(),
        };
        (arrivals, updates)
    }
}

/// What one side of P3 took: from its start and from its first output record to its last, and
/// the CPU time of the thread that consumes and produces.
struct PipeRun {
    total: Duration,
    steady: Duration,
    cpu: Duration,
}

/// The CPU time a thread has used so far, from `/proc/.../schedstat` of its task (`path`).
fn thread_cpu(path: &std::path::Path) -> Duration {
    let stat = std::fs::read_to_string(path).unwrap();
    let ns = stat.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap();
    Duration::from_nanos(ns)
}

/// The `schedstat` of this process's thread named (as Linux truncates names) `name`.
fn thread_named(name: &str) -> std::path::PathBuf {
    let truncated = &name[..name.len().min(15)];
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .map(|t| t.unwrap().path())
        .find(|t| std::fs::read_to_string(t.join("comm")).is_ok_and(|c| c.trim_end() == truncated))
        .unwrap_or_else(|| panic!("no thread {name}"))
        .join("schedstat")
}

/// The raw baseline: consume `p3-in` in a group, produce each record to `p3-out-raw`.
fn raw_pipe(bootstrap: &str, n: usize) -> PipeRun {
    let observer = Observer::new(bootstrap, "p3-out-raw", "read_uncommitted");
    let started = Instant::now();
    let bootstrap = bootstrap.to_owned();
    let pipe = std::thread::spawn(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", "p3-raw")
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            // The runtime's consumer setting (librdkafka's 1 s default pauses fetching).
            .set("fetch.queue.backoff.ms", "20")
            .create()
            .unwrap();
        let cpu_at_start = thread_cpu("/proc/thread-self/schedstat".as_ref());
        consumer.subscribe(&["p3-in"]).unwrap();
        let p = producer(&bootstrap);
        let mut seen = 0;
        while seen < n {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(50)) {
                let mut record = BaseRecord::<[u8], [u8]>::to("p3-out-raw");
                if let Some(k) = m.key() {
                    record = record.key(k);
                }
                if let Some(v) = m.payload() {
                    record = record.payload(v);
                }
                while let Err((_, back)) = p.send(record) {
                    p.poll(Duration::from_millis(5));
                    record = back;
                }
                seen += 1;
            }
            p.poll(Duration::ZERO);
        }
        p.flush(Duration::from_secs(60)).unwrap();
        thread_cpu("/proc/thread-self/schedstat".as_ref()) - cpu_at_start
    });
    let arrivals = observer.await_records(n);
    let cpu = pipe.join().unwrap();
    PipeRun {
        total: arrivals.last - started,
        steady: arrivals.last - arrivals.first,
        cpu,
    }
}

/// The pipe topology through `KafkaStreams`, observed the same way.
fn streams_pipe(bootstrap: &str, n: usize) -> PipeRun {
    let observer = Observer::new(bootstrap, "p3-out-streams", "read_uncommitted");
    let state = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut streams = KafkaStreams::new(BenchPipe, config("p3-streams", bootstrap, state.path())).unwrap();
    streams.start().unwrap();
    let arrivals = observer.await_records(n);
    let cpu = thread_cpu(&thread_named("p3-streams-StreamThread-1"));
    streams.close(Duration::from_secs(30));
    PipeRun {
        total: arrivals.last - started,
        steady: arrivals.last - arrivals.first,
        cpu,
    }
}

/// The raw baseline of P5, read the way a restore reads: the offsets first, then the partition
/// from its first offset to its end; the number of records read and how long it took.
fn raw_read(bootstrap: &str, topic: &str) -> (u64, Duration) {
    let started = Instant::now();
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "p5-raw")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        // The runtime's consumer setting (librdkafka's 1 s default pauses fetching).
        .set("fetch.queue.backoff.ms", "20")
        .create()
        .unwrap();
    let (low, high) = consumer.fetch_watermarks(topic, 0, Duration::from_secs(10)).unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Offset(low)).unwrap();
    consumer.assign(&tpl).unwrap();
    let mut read = 0;
    loop {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            std::hint::black_box((m.key(), m.payload()));
            read += 1;
            if m.offset() + 1 >= high {
                break;
            }
        }
    }
    (read, started.elapsed())
}

/// Restores `BenchTable` of application `app` into an empty state directory: the records
/// restored and how long it took.
fn streams_restore(bootstrap: &str, app: &str) -> (u64, Duration) {
    let state = tempfile::tempdir().unwrap();
    let mut streams = KafkaStreams::new(BenchTable, config(app, bootstrap, state.path())).unwrap();
    let restored = Arc::new(Mutex::new(None));
    let seen = Arc::clone(&restored);
    streams.set_restore_listener(move |r| *seen.lock().unwrap() = Some((r.records, r.duration)));
    streams.start().unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if let Some(r) = *restored.lock().unwrap() {
            streams.close(Duration::from_secs(30));
            return r;
        }
        assert!(Instant::now() < deadline, "no restore");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn main() {
    if !common::measuring() {
        return;
    }
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let records = std::env::var("STREAMS_BENCH_RECORDS").ok().and_then(|s| s.parse().ok());
    let n: usize = records.unwrap_or(200_000);
    // STREAMS_BENCH_ONLY=p3|p5|p6|recovery runs one of them.
    let only = std::env::var("STREAMS_BENCH_ONLY").ok();
    let runs = |part: &str| only.as_deref().is_none_or(|o| o == part);
    let (_broker, bootstrap) = broker::broker();
    println!("Apache Kafka 4.1.1 at {bootstrap}, {n} records");
    if runs("p3") {
        pipe_throughput(&bootstrap, n);
    }
    if runs("p5") {
        restore_speed(&bootstrap, records.unwrap_or(1_000_000));
    }
    if runs("p6") {
        exactly_once_cost(&bootstrap, n);
    }
    if runs("recovery") {
        recovery(&bootstrap);
    }
    if runs("java") {
        versus_java(&bootstrap, records.unwrap_or(1_000_000));
    }
    if runs("cache") {
        record_cache(&bootstrap, records.unwrap_or(1_000_000));
    }
}

/// P6: the DSL word count under exactly_once_v2 (commit every 100 ms, Java's default) vs
/// at_least_once (every 30 s), best of 3 interleaved rounds, each a new application reading the
/// same `words` words from the start and writing every count update.
fn exactly_once_cost(bootstrap: &str, words: usize) {
    create_topics(bootstrap, &["streams-plaintext-input", "streams-wordcount-output"]);
    let lines = words / 10;
    fill(
        bootstrap,
        "streams-plaintext-input",
        lines,
        |i| format!("{i}"),
        word_line,
    );
    let run = |app: &str, guarantee: &str| -> Duration {
        let state = tempfile::tempdir().unwrap();
        let settings = StreamsConfig::from_properties([
            ("application.id", app),
            ("bootstrap.servers", bootstrap),
            ("state.dir", &state.path().display().to_string()),
            ("processing.guarantee", guarantee),
            ("producer.linger.ms", "5"),
            // Every count update is written (a zero record cache).
            ("statestore.cache.max.bytes", "0"),
        ])
        .unwrap();
        let mut streams = KafkaStreams::new(WordCount, settings).unwrap();
        let observer = Observer::from_end(bootstrap, "streams-wordcount-output", "read_committed");
        let started = Instant::now();
        streams.start().unwrap();
        let arrivals = observer.await_records(lines * 10);
        streams.close(Duration::from_secs(30));
        arrivals.last - started
    };
    let (mut alos, mut eos) = (Duration::MAX, Duration::MAX);
    let nonce = std::process::id();
    for round in 0..3 {
        alos = alos.min(run(&format!("p6-alos-{nonce}-{round}"), "at_least_once"));
        eos = eos.min(run(&format!("p6-eos-{nonce}-{round}"), "exactly_once_v2"));
    }
    let rate = |d: Duration| (lines * 10) as f64 / d.as_secs_f64() / 1000.0;
    println!(
        "P6 word count end to end, {} words, best of 3: exactly_once_v2 (commit every 100 ms) {:.2} s ({:.0}k words/s), at_least_once (commit every 30 s) {:.2} s ({:.0}k words/s): {:.2}x (goal >= 0.7)",
        lines * 10,
        eos.as_secs_f64(),
        rate(eos),
        alos.as_secs_f64(),
        rate(alos),
        alos.as_secs_f64() / eos.as_secs_f64()
    );
}

/// Input line `i` of the word count benchmarks: ten words of 10,000 distinct ones.
fn word_line(i: usize) -> String {
    (0..10)
        .map(|w| format!("word{}", (i * 7 + w * 13) % 10_000))
        .collect::<Vec<_>>()
        .join(" ")
}

/// P3 on the broker: the pipe through `KafkaStreams` vs the raw loop.
fn pipe_throughput(bootstrap: &str, n: usize) {
    // P3: pipe.
    create_topics(bootstrap, &["p3-in", "p3-out-raw", "p3-out-streams"]);
    fill(
        bootstrap,
        "p3-in",
        n,
        |i| format!("key-{}", i % 1000),
        |i| format!("value-{i:08}"),
    );
    let raw_run = raw_pipe(bootstrap, n);
    let ours_run = streams_pipe(bootstrap, n);
    let (raw, raw_steady) = (raw_run.total, raw_run.steady);
    let (ours, ours_steady) = (ours_run.total, ours_run.steady);
    let rate = |d: Duration| n as f64 / d.as_secs_f64() / 1000.0;
    println!(
        "P3 pipe, {n} records, start-up included: KafkaStreams {:.2} s ({:.0}k rec/s), raw consume->produce {:.2} s ({:.0}k rec/s): {:.2}x the raw throughput (goal >= 0.9)",
        ours.as_secs_f64(),
        rate(ours),
        raw.as_secs_f64(),
        rate(raw),
        raw.as_secs_f64() / ours.as_secs_f64()
    );
    println!(
        "P3 pipe, {n} records, first to last output record: KafkaStreams {:.2} s ({:.0}k rec/s), raw {:.2} s ({:.0}k rec/s): {:.2}x",
        ours_steady.as_secs_f64(),
        rate(ours_steady),
        raw_steady.as_secs_f64(),
        rate(raw_steady),
        raw_steady.as_secs_f64() / ours_steady.as_secs_f64()
    );
    let per_record = |d: Duration| d.as_secs_f64() * 1e9 / n as f64;
    println!(
        "P3 pipe, {n} records, CPU of the thread that consumes and produces: KafkaStreams {:.0} ns/record, raw {:.0} ns/record: {:.2}x",
        per_record(ours_run.cpu),
        per_record(raw_run.cpu),
        raw_run.cpu.as_secs_f64() / ours_run.cpu.as_secs_f64()
    );
}

/// P5: restoring an in-memory store from an `n`-record changelog vs a raw consume of the same
/// partition, best of 3 interleaved rounds.
fn restore_speed(bootstrap: &str, n: usize) {
    let nonce = std::process::id();
    let app = format!("p5-{nonce}");
    let changelog = format!("{app}-p5-store-changelog");
    create_topics(bootstrap, &["p5-in", &changelog]);
    fill(
        bootstrap,
        &changelog,
        n,
        |i| format!("row-{i:08}"),
        |i| format!("value-{i:08}"),
    );
    let (mut raw_best, mut ours_best) = (Duration::MAX, Duration::MAX);
    let mut records = 0;
    for _ in 0..3 {
        let (raw_records, raw) = raw_read(bootstrap, &changelog);
        let (restored, ours) = streams_restore(bootstrap, &app);
        assert_eq!(restored, raw_records);
        records = restored;
        raw_best = raw_best.min(raw);
        ours_best = ours_best.min(ours);
    }
    let (raw, ours) = (raw_best, ours_best);
    let rate5 = |d: Duration| records as f64 / d.as_secs_f64() / 1000.0;
    println!(
        "P5 restore, {records} changelog records into an in-memory store, best of 3: {:.3} s ({:.0}k rec/s), raw consume {:.3} s ({:.0}k rec/s): {:.2}x the raw speed (goal >= 0.8)",
        ours.as_secs_f64(),
        rate5(ours),
        raw.as_secs_f64(),
        rate5(raw),
        raw.as_secs_f64() / ours.as_secs_f64()
    );
}

/// A word count instance as a child process (`word-count-instance`), killed on drop.
struct Instance(Child);

impl Instance {
    /// Starts an instance and waits until it has its partitions.
    fn start(bootstrap: &str, state: &std::path::Path, guarantee: &str, app: &str) -> Self {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_word-count-instance"))
            .args([bootstrap, &state.display().to_string(), guarantee, app, "crash-loop"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        // The first assignment's restorations come first.
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap())
            .lines()
            .map_while(Result::ok);
        assert!(lines.any(|l| l == "running"), "the instance stopped before it ran");
        Instance(child)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Recovery after a SIGKILL: a word count instance counts 200k words (its store and changelog
/// hold 10,000 words), is killed while input flows, and a new instance starts at once, on the
/// same state directory or on an empty one; the time from the kill to the first output record of
/// the new instance. The dead member leaves the group at its session timeout (3 s here).
fn recovery(bootstrap: &str) {
    for guarantee in ["at_least_once", "exactly_once_v2"] {
        for keep_state in [true, false] {
            create_topics(bootstrap, &["crash-loop-in", "crash-loop-out"]);
            let app = format!("recovery-{}-{guarantee}-{keep_state}", std::process::id());
            fill(bootstrap, "crash-loop-in", 20_000, |i| format!("{i}"), word_line);
            let state = tempfile::tempdir().unwrap();
            let isolation = if guarantee == "at_least_once" {
                "read_uncommitted"
            } else {
                "read_committed"
            };
            let observer = Observer::new(bootstrap, "crash-loop-out", isolation);
            let mut first = Instance::start(bootstrap, state.path(), guarantee, &app);
            observer.await_records(200_000);
            fill(bootstrap, "crash-loop-in", 1, |_| "more".to_owned(), word_line);
            let _ = first.0.kill();
            let _ = first.0.wait();
            let killed = Instant::now();
            let after = Observer::from_end(bootstrap, "crash-loop-out", isolation);
            let fresh = tempfile::tempdir().unwrap();
            let dir = if keep_state { state.path() } else { fresh.path() };
            let _second = Instance::start(bootstrap, dir, guarantee, &app);
            let arrival = after.await_records(1).first;
            println!(
                "recovery after SIGKILL ({guarantee}, {} local state): {:.2} s from the kill to the first new output",
                if keep_state { "with" } else { "without" },
                (arrival - killed).as_secs_f64()
            );
        }
    }
}

/// Starts one application process of the Java comparison and waits until it runs: Java's
/// (`streamsrs.WordCountApp`) or ours (`bench-app`), `topology` "wordcount" or "pipe", with
/// an empty state directory (kept until the returned guard drops) and a record cache of
/// `cache_bytes`.
fn start_app(
    side: &str,
    topology: &str,
    bootstrap: &str,
    app: &str,
    guarantee: &str,
    cache_bytes: &str,
) -> (ChildApp, tempfile::TempDir) {
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().display().to_string();
    let (input, output) = match topology {
        "wordcount" => ("bench-wc-in", "bench-wc-out"),
        _ => ("bench-pipe-in", "bench-pipe-out"),
    };
    let mut command = if side == "java" {
        let mut c = process::java("streamsrs.WordCountApp");
        c.args([
            topology,
            bootstrap,
            app,
            input,
            output,
            &dir,
            guarantee,
            "100",
            "1",
            cache_bytes,
        ]);
        c
    } else {
        let mut c = Command::new(env!("CARGO_BIN_EXE_bench-app"));
        c.args([topology, bootstrap, app, &dir, guarantee, "100", cache_bytes]);
        c
    };
    (ChildApp::start(&mut command), state)
}

/// The peak resident set size of process `pid` so far (`VmHWM`), in MiB.
fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib / 1024.0
}

/// What one run of the Java comparison measured.
struct Measured {
    /// From the process start to the last output record.
    total: Duration,
    /// From the first output record to the last.
    steady: Duration,
    /// p50 and p99 of the end-to-end latency at the fixed rate, in ms (word count only).
    latency: Option<(f64, f64)>,
    peak_rss_mib: f64,
}

/// Input rate of the latency phase: lines of ten words per second, and how long it lasts.
const LATENCY_LINES_PER_SEC: usize = 1_000;
const LATENCY_SECS: usize = 20;

/// Sends lines at the fixed rate with their send time as timestamp while an observer takes each
/// output record's arrival time minus its timestamp (the count's timestamp is the latest input
/// record's, so that is the end-to-end latency of the update); p50 and p99 in ms.
fn latency_at_fixed_rate(bootstrap: &str, isolation: &str) -> (f64, f64) {
    let observer = Observer::from_end(bootstrap, "bench-wc-out", isolation);
    let expected = LATENCY_LINES_PER_SEC * LATENCY_SECS * 10;
    let bootstrap_owned = bootstrap.to_owned();
    let sender = std::thread::spawn(move || {
        let p = producer(&bootstrap_owned);
        let start = Instant::now();
        for i in 0..LATENCY_LINES_PER_SEC * LATENCY_SECS {
            let due = start + Duration::from_secs_f64(i as f64 / LATENCY_LINES_PER_SEC as f64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let line = word_line(i + 1_000_000);
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64;
            let mut record = BaseRecord::<str, str>::to("bench-wc-in")
                .payload(&line)
                .timestamp(now_ms);
            while let Err((_, back)) = p.send(record) {
                p.poll(Duration::from_millis(1));
                record = back;
            }
            p.poll(Duration::ZERO);
        }
        p.flush(Duration::from_secs(60)).unwrap();
    });
    let mut latencies = Vec::with_capacity(expected);
    let deadline = Instant::now() + Duration::from_secs(LATENCY_SECS as u64 + 120);
    while latencies.len() < expected && Instant::now() < deadline {
        if let Some(Ok(m)) = observer.0.poll(Duration::from_millis(10)) {
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64;
            if let Some(ts) = m.timestamp().to_millis() {
                latencies.push((now_ms - ts) as f64);
            }
        }
    }
    sender.join().unwrap();
    assert_eq!(latencies.len(), expected, "output records of the latency phase");
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    (at(0.50), at(0.99))
}

/// Runs one side of the comparison over a new input topic of `topology` holding `lines` lines
/// (each run reads only its own input): `outputs` records.
fn measure(side: &str, topology: &str, bootstrap: &str, guarantee: &str, lines: usize, outputs: usize) -> Measured {
    let isolation = if guarantee == "at_least_once" {
        "read_uncommitted"
    } else {
        "read_committed"
    };
    let (input, output) = if topology == "wordcount" {
        ("bench-wc-in", "bench-wc-out")
    } else {
        ("bench-pipe-in", "bench-pipe-out")
    };
    create_topics(bootstrap, &[input, output]);
    fill(bootstrap, input, lines, |i| format!("{i}"), word_line);
    let observer = Observer::from_end(bootstrap, output, isolation);
    let app = format!("bench-{side}-{topology}-{guarantee}-{}", std::process::id());
    let started = Instant::now();
    // Every update is written: no record cache.
    let (process, _state) = start_app(side, topology, bootstrap, &app, guarantee, "0");
    let arrivals = observer.await_records(outputs);
    let latency = (topology == "wordcount").then(|| latency_at_fixed_rate(bootstrap, isolation));
    let peak_rss_mib = peak_rss_mib(process.id());
    process.stop();
    Measured {
        total: arrivals.last - started,
        steady: arrivals.last - arrivals.first,
        latency,
        peak_rss_mib,
    }
}

/// Java Kafka Streams 4.1.1 vs ours on the same broker and input, as separate processes: the
/// word count (`words` words, RocksDB store and changelog, every update emitted, commit every
/// 100 ms) under at_least_once and exactly_once_v2, then the pipe (`words / 10` records of ~100
/// bytes) under both.
fn versus_java(bootstrap: &str, words: usize) {
    let lines = words / 10;
    let line_bytes: usize = (0..lines).map(|i| word_line(i).len()).sum();
    let report = |what: &str, unit: &str, n: usize, java: &Measured, ours: &Measured| {
        let rate = |d: Duration| n as f64 / d.as_secs_f64() / 1000.0;
        println!(
            "{what}: Java {:.2} s ({:.0}k {unit}/s; first to last output {:.0}k/s), peak RSS {:.0} MiB{} | ours {:.2} s ({:.0}k {unit}/s; first to last {:.0}k/s), peak RSS {:.0} MiB{} | throughput {:.2}x, memory 1/{:.1}",
            java.total.as_secs_f64(),
            rate(java.total),
            rate(java.steady),
            java.peak_rss_mib,
            java.latency.map_or(String::new(), |(p50, p99)| format!(
                ", latency p50 {p50:.0} ms p99 {p99:.0} ms"
            )),
            ours.total.as_secs_f64(),
            rate(ours.total),
            rate(ours.steady),
            ours.peak_rss_mib,
            ours.latency.map_or(String::new(), |(p50, p99)| format!(
                ", latency p50 {p50:.0} ms p99 {p99:.0} ms"
            )),
            java.total.as_secs_f64() / ours.total.as_secs_f64(),
            java.peak_rss_mib / ours.peak_rss_mib,
        );
    };
    for guarantee in ["at_least_once", "exactly_once_v2"] {
        let java = measure("java", "wordcount", bootstrap, guarantee, lines, lines * 10);
        let ours = measure("ours", "wordcount", bootstrap, guarantee, lines, lines * 10);
        report(
            &format!("Java comparison, word count, {} words, {guarantee}", lines * 10),
            "words",
            lines * 10,
            &java,
            &ours,
        );
    }
    for guarantee in ["at_least_once", "exactly_once_v2"] {
        let java = measure("java", "pipe", bootstrap, guarantee, lines, lines);
        let ours = measure("ours", "pipe", bootstrap, guarantee, lines, lines);
        report(
            &format!(
                "Java comparison, pipe, {lines} records ({:.1} MB of values), {guarantee}",
                line_bytes as f64 / 1e6
            ),
            "records",
            lines,
            &java,
            &ours,
        );
    }
}

/// The record cache: the word count (`words` words of 10,000 distinct ones, RocksDB store and
/// changelog, at_least_once, commit every 100 ms) as separate processes, ours (`bench-app`) and
/// Java's (`WordCountApp`), with the cache on (10 MiB, Java's default) and off (0: every update
/// written), best of 3 interleaved rounds: from starting the process until every word's final
/// count arrives, and how many count updates were written.
fn record_cache(bootstrap: &str, words: usize) {
    let lines = words / 10;
    let mut expected: HashMap<String, i64> = HashMap::new();
    for i in 0..lines {
        for word in word_line(i).split(' ') {
            *expected.entry(word.to_owned()).or_default() += 1;
        }
    }
    let nonce = std::process::id();
    let run = |side: &str, cache: &str, round: usize| -> (Duration, usize) {
        create_topics(bootstrap, &["bench-wc-in", "bench-wc-out"]);
        fill(bootstrap, "bench-wc-in", lines, |i| format!("{i}"), word_line);
        let observer = Observer::from_end(bootstrap, "bench-wc-out", "read_uncommitted");
        let app = format!("bench-cache-{side}-{cache}-{nonce}-{round}");
        let started = Instant::now();
        let (process, _state) = start_app(side, "wordcount", bootstrap, &app, "at_least_once", cache);
        let (arrivals, updates) = observer.await_counts(&expected);
        process.stop();
        (arrivals.last - started, updates)
    };
    let on = "10485760";
    let mut best: HashMap<(&str, &str), (Duration, usize)> = HashMap::new();
    for round in 0..3 {
        for side in ["ours", "java"] {
            for cache in [on, "0"] {
                let (time, updates) = run(side, cache, round);
                println!(
                    "  round {round}: {side}, cache {cache}: {:.2} s, {updates} updates",
                    time.as_secs_f64()
                );
                let slot = best.entry((side, cache)).or_insert((Duration::MAX, 0));
                if time < slot.0 {
                    *slot = (time, updates);
                }
            }
        }
    }
    let rate = |d: Duration| words as f64 / d.as_secs_f64() / 1000.0;
    for side in ["ours", "java"] {
        let (on_time, on_updates) = best[&(side, on)];
        let (off_time, off_updates) = best[&(side, "0")];
        println!(
            "Record cache, word count, {words} words, at_least_once, commit every 100 ms, {side}, best of 3: cache on (10 MiB) {:.2} s ({:.0}k words/s), {on_updates} updates | cache off {:.2} s ({:.0}k words/s), {off_updates} updates | on/off throughput {:.2}x, updates 1/{:.1}",
            on_time.as_secs_f64(),
            rate(on_time),
            off_time.as_secs_f64(),
            rate(off_time),
            off_time.as_secs_f64() / on_time.as_secs_f64(),
            off_updates as f64 / on_updates as f64,
        );
    }
    let ours = best[&("ours", on)].0;
    let java = best[&("java", on)].0;
    println!(
        "Record cache, word count, cache on: ours {:.2} s, Java {:.2} s: ours {:.2}x Java's throughput",
        ours.as_secs_f64(),
        java.as_secs_f64(),
        java.as_secs_f64() / ours.as_secs_f64()
    );
}
