//! Kafka runtime benchmarks (issue #4) on a real broker, each against a raw rdkafka baseline on
//! the same broker in the same run:
//!
//! - P3: the pipe topology through `KafkaStreams` vs a raw consume → produce loop;
//! - P5: restoring a store from its changelog vs a raw consume of the same partition;
//! - the DSL word count end to end, in words per second;
//! - P6: the word count under exactly_once_v2 vs at_least_once (on the embedded cluster).
//!
//! `cargo bench -p examples --bench kafka` starts Tansu (`bash scripts/tansu.sh install` puts it
//! on the PATH) on a free loopback port, or uses `STREAMS_BENCH_BOOTSTRAP` if set;
//! `STREAMS_BENCH_RECORDS` sets the record count, `STREAMS_BENCH_ONLY=p3|p5|wc|p6` runs one part. Figures go to
//! docs/BENCHMARKS.md.

mod common;

use examples::word_count::WordCount;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
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

/// A Tansu broker started for the benchmark; killed on drop.
struct Tansu(Child);

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_tansu() -> (Tansu, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("tcp://127.0.0.1:{port}");
    let child = Command::new("tansu")
        .args([
            "broker",
            "--storage-engine",
            "memory://tansu/",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tansu on the PATH (bash scripts/tansu.sh install)");
    let bootstrap = format!("127.0.0.1:{port}");
    // Ready when it answers a metadata request.
    let probe: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while probe.fetch_metadata(None, Duration::from_secs(1)).is_err() {
        assert!(Instant::now() < deadline, "tansu did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    (Tansu(child), bootstrap)
}

fn create_topics(bootstrap: &str, topics: &[&str]) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|t| NewTopic::new(t, 1, TopicReplication::Fixed(1)))
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let options = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
    for result in runtime.block_on(admin.create_topics(new.iter(), &options)).unwrap() {
        result.unwrap();
    }
}

fn producer(bootstrap: &str) -> BaseProducer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        .create()
        .unwrap()
}

fn fill(bootstrap: &str, topic: &str, n: usize, key: impl Fn(usize) -> String, value: impl Fn(usize) -> String) {
    let p = producer(bootstrap);
    for i in 0..n {
        let (k, v) = (key(i), value(i));
        let mut record = BaseRecord::to(topic).key(&k).payload(&v);
        loop {
            match p.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    p.poll(Duration::from_millis(5));
                    record = back;
                }
            }
        }
    }
    p.flush(Duration::from_secs(60)).unwrap();
}

/// Waits until `n` records can be read from `topic` (counted by consuming it: Tansu 0.6 reports
/// high watermarks that do not count records).
fn await_records(bootstrap: &str, topic: &str, n: i64) {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("{topic}-counter"))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    c.subscribe(&[topic]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut seen = 0;
    while seen < n {
        if let Some(Ok(_)) = c.poll(Duration::from_millis(50)) {
            seen += 1;
        }
        assert!(Instant::now() < deadline, "{topic} never reached {n} records ({seen})");
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
    /// An observer of an empty topic, from its beginning.
    fn new(bootstrap: &str, topic: &str) -> Self {
        let consumer = Self::consumer(bootstrap, topic);
        Self::assigned(consumer, topic, Offset::Beginning)
    }

    /// An observer of what arrives after now (a broker with real watermarks: the embedded one).
    fn from_end(bootstrap: &str, topic: &str) -> Self {
        let consumer = Self::consumer(bootstrap, topic);
        let (_, high) = consumer.fetch_watermarks(topic, 0, Duration::from_secs(10)).unwrap();
        Self::assigned(consumer, topic, Offset::Offset(high))
    }

    fn consumer(bootstrap: &str, topic: &str) -> BaseConsumer {
        ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", format!("{topic}-observer"))
            .set("enable.auto.commit", "false")
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
}

/// The raw baseline: consume `p3-in` in a group, produce each record to `p3-out-raw`.
fn raw_pipe(bootstrap: &str, n: usize) -> (Duration, Duration) {
    let observer = Observer::new(bootstrap, "p3-out-raw");
    let started = Instant::now();
    let bootstrap = bootstrap.to_owned();
    let pipe = std::thread::spawn(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", "p3-raw")
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
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
    });
    let arrivals = observer.await_records(n);
    pipe.join().unwrap();
    (arrivals.last - started, arrivals.last - arrivals.first)
}

/// The pipe topology through `KafkaStreams`, observed the same way.
fn streams_pipe(bootstrap: &str, n: usize) -> (Duration, Duration) {
    let observer = Observer::new(bootstrap, "p3-out-streams");
    let state = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut streams = KafkaStreams::new(BenchPipe, config("p3-streams", bootstrap, state.path())).unwrap();
    streams.start().unwrap();
    let arrivals = observer.await_records(n);
    streams.close(Duration::from_secs(30));
    (arrivals.last - started, arrivals.last - arrivals.first)
}

/// The raw baseline of P5, read the way a restore reads: the end offset first, then the
/// partition from offset 0 up to it.
/// The raw baseline of P5, read the way a restore reads: the offsets first, then the partition
/// from its first offset to its end; the number of records read and how long it took.
fn raw_read(bootstrap: &str, topic: &str) -> (u64, Duration) {
    let started = Instant::now();
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "p5-raw")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
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

fn streams_restore(bootstrap: &str) -> (u64, Duration) {
    let state = tempfile::tempdir().unwrap();
    let mut streams = KafkaStreams::new(BenchTable, config("p5", bootstrap, state.path())).unwrap();
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
    let n: usize = std::env::var("STREAMS_BENCH_RECORDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    // STREAMS_BENCH_ONLY=p3|p5|wc|p6 runs one of them.
    let only = std::env::var("STREAMS_BENCH_ONLY").ok();
    let runs = |part: &str| only.as_deref().is_none_or(|o| o == part);
    // Tansu only for the parts that run on it (P5 and P6 use the embedded cluster).
    let (_tansu, bootstrap) = match std::env::var("STREAMS_BENCH_BOOTSTRAP") {
        Ok(b) => (None, b),
        Err(_) if runs("p3") || runs("wc") => {
            let (t, b) = start_tansu();
            (Some(t), b)
        }
        Err(_) => (None, String::new()),
    };
    println!("broker {bootstrap}, {n} records");

    if runs("p3") {
        pipe_throughput(&bootstrap, n);
    }
    if runs("p5") {
        restore_speed(n);
    }
    if runs("wc") {
        word_count(&bootstrap, n);
    }
    if runs("p6") {
        exactly_once_cost(n / 2);
    }
}

/// P6 on the embedded cluster (Tansu 0.6 has no EndTxn): the DSL word count under
/// exactly_once_v2 vs at_least_once, best of 3 interleaved rounds, each a new application
/// reading the same `words` words from the start.
fn exactly_once_cost(words: usize) {
    let embedded = streams_runtime::kafka::EmbeddedCluster::start(1).unwrap();
    let mock = embedded.bootstrap_servers();
    for topic in ["streams-plaintext-input", "streams-wordcount-output"] {
        embedded.create_topic(topic, 1).unwrap();
    }
    let lines = words / 10;
    fill(&mock, "streams-plaintext-input", lines, |i| format!("{i}"), word_line);
    let run = |app: &str, guarantee: &str| -> Duration {
        let state = tempfile::tempdir().unwrap();
        let settings = StreamsConfig::from_properties([
            ("application.id", app),
            ("bootstrap.servers", mock.as_str()),
            ("state.dir", &state.path().display().to_string()),
            ("processing.guarantee", guarantee),
            ("producer.linger.ms", "5"),
        ])
        .unwrap();
        let mut streams = KafkaStreams::new(WordCount, settings).unwrap();
        for topic in streams.internal_topics() {
            embedded.create_topic(&topic, 1).unwrap();
        }
        let observer = Observer::from_end(&mock, "streams-wordcount-output");
        let started = Instant::now();
        streams.start().unwrap();
        let arrivals = observer.await_records(lines * 10);
        streams.close(Duration::from_secs(30));
        arrivals.last - started
    };
    let (mut alos, mut eos) = (Duration::MAX, Duration::MAX);
    for round in 0..3 {
        alos = alos.min(run(&format!("p6-alos-{round}"), "at_least_once"));
        eos = eos.min(run(&format!("p6-eos-{round}"), "exactly_once_v2"));
    }
    let rate = |d: Duration| (lines * 10) as f64 / d.as_secs_f64() / 1000.0;
    println!(
        "P6 word count (embedded cluster), {} words, best of 3: exactly_once_v2 (commit every 100 ms) {:.2} s ({:.0}k words/s), at_least_once (commit every 30 s) {:.2} s ({:.0}k words/s): {:.2}x (goal >= 0.7)",
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
    let (raw, raw_steady) = raw_pipe(bootstrap, n);
    let (ours, ours_steady) = streams_pipe(bootstrap, n);
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
}

/// P5 on the embedded cluster: restoring vs reading the changelog.
fn restore_speed(n: usize) {
    // P5: restore. Restoring reads a changelog up to its high watermark, which Tansu 0.6 does
    // not report per record, so this one runs on the embedded cluster.
    let embedded = streams_runtime::kafka::EmbeddedCluster::start(1).unwrap();
    let mock = embedded.bootstrap_servers();
    let changelog = "p5-p5-store-changelog";
    for topic in ["p5-in", changelog, "p5-control"] {
        embedded.create_topic(topic, 1).unwrap();
    }
    fill(
        &mock,
        changelog,
        n,
        |i| format!("row-{i:08}"),
        |i| format!("value-{i:08}"),
    );
    // The embedded cluster keeps a bounded log: both sides read what it still holds. Its fetches
    // now and then stall for a fetch wait (about 1 s), so this is the best of 5 interleaved
    // rounds; each round triggers the task with one more input record.
    let (mut raw_best, mut ours_best) = (Duration::MAX, Duration::MAX);
    let mut records = 0;
    for _ in 0..5 {
        let (raw_records, raw) = raw_read(&mock, changelog);
        fill(&mock, "p5-in", 1, |_| "trigger".to_owned(), |_| "x".to_owned());
        let (restored, ours) = streams_restore(&mock);
        assert_eq!(restored, raw_records);
        records = restored;
        raw_best = raw_best.min(raw);
        ours_best = ours_best.min(ours);
    }
    let (raw, ours) = (raw_best, ours_best);
    let rate5 = |d: Duration| records as f64 / d.as_secs_f64() / 1000.0;
    println!(
        "P5 restore (embedded cluster), {records} changelog records into an in-memory store, best of 5: {:.3} s ({:.0}k rec/s), raw consume {:.3} s ({:.0}k rec/s): {:.2}x the raw speed (goal >= 0.8)",
        ours.as_secs_f64(),
        rate5(ours),
        raw.as_secs_f64(),
        rate5(raw),
        raw.as_secs_f64() / ours.as_secs_f64()
    );
}

/// The DSL word count end to end on the broker.
fn word_count(bootstrap: &str, n: usize) {
    // Word count end to end.
    let lines = n / 10;
    let probe = KafkaStreams::new(
        WordCount,
        config("wc-bench", bootstrap, std::path::Path::new("/unused")),
    )
    .unwrap();
    let mut topics = vec![
        "streams-plaintext-input".to_owned(),
        "streams-wordcount-output".to_owned(),
    ];
    topics.extend(probe.internal_topics());
    drop(probe);
    create_topics(bootstrap, &topics.iter().map(String::as_str).collect::<Vec<_>>());
    fill(
        bootstrap,
        "streams-plaintext-input",
        lines,
        |i| format!("{i}"),
        word_line,
    );
    let state = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut streams = KafkaStreams::new(WordCount, config("wc-bench", bootstrap, state.path())).unwrap();
    streams.start().unwrap();
    await_records(bootstrap, "streams-wordcount-output", (lines * 10) as i64);
    let elapsed = started.elapsed();
    streams.close(Duration::from_secs(30));
    println!(
        "word count end to end, {} words ({lines} lines): {:.2} s, {:.0}k words/s (RocksDB store, changelog, repartition topic)",
        lines * 10,
        elapsed.as_secs_f64(),
        (lines * 10) as f64 / elapsed.as_secs_f64() / 1000.0
    );
}
