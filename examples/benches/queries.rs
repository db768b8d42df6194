//! Interactive queries and failover on the real Apache Kafka broker (issue #15), each against a
//! baseline in the same run:
//!
//! - iq: point queries (`KafkaStreams::key_value_store(..).get`) on a RocksDB store of 1M keys:
//!   latency (p50, p99) from one client thread and throughput from four, while the application
//!   works through a backlog of 3M records at full speed, and the same once it is idle;
//! - failover: three word count instances (`word-count-instance`, child processes) have counted
//!   1M distinct words; one is killed (SIGKILL); the time from the kill to the first new output
//!   of each partition of the counting sub-topology (the killed instance's partitions come
//!   last), and the records the takeover restored, without standbys and with one;
//! - rebalance: three instances count a steady 2,000 records/s over 12 partitions; a fourth
//!   joins; the longest gap between two outputs of each partition around the join, under the
//!   eager protocol (`range`) and the cooperative one (`cooperative-sticky`).
//!
//! `cargo bench -p examples --bench queries` starts a broker of its own in `target/kafka-bench`
//! (or uses `STREAMS_BENCH_BOOTSTRAP`); `STREAMS_BENCH_ONLY=iq|failover|rebalance` runs one part,
//! `STREAMS_BENCH_RECORDS` sets the number of keys (default 1M). Figures go to
//! docs/BENCHMARKS.md.

mod common;

use common::broker::{self, create_partitioned_topics, create_topics, fill};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use streams_runtime::config::StreamsConfig;
use streams_runtime::kafka::{KafkaStreams, StoreQuery};
use streams_runtime::metadata::default_partition;
use streams_runtime::prelude::*;

topology! {
    struct CountsBench {
        stream input { topic: "iq-bench-in", key: String, value: String }
        input
            .group_by_key()
            .count(store: "iq-counts")
            .to_stream()
            .to("iq-bench-out", key_serde: StringSerde, value_serde: OptionSerde<LongSerde>);
    }
}

topology! {
    struct RebalanceBench {
        stream input { topic: "rb-bench-in", key: String, value: String }
        input
            .group_by_key()
            .count(store: "rb-bench-counts")
            .to_stream()
            .to("rb-bench-out", key_serde: StringSerde, value_serde: OptionSerde<LongSerde>);
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
    let keys: usize = (std::env::var("STREAMS_BENCH_RECORDS").ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let only = std::env::var("STREAMS_BENCH_ONLY").ok();
    let runs = |part: &str| only.as_deref().is_none_or(|o| o == part);
    let (_broker, bootstrap) = broker::broker();
    println!("Apache Kafka 4.1.1 at {bootstrap}, {keys} keys");
    if runs("iq") {
        interactive_queries(&bootstrap, keys);
    }
    if runs("failover") {
        failover(&bootstrap, keys);
    }
    if runs("rebalance") {
        let strategies = std::env::var("STREAMS_BENCH_STRATEGY").map_or_else(
            |_| vec!["range".to_owned(), "cooperative-sticky".to_owned()],
            |s| vec![s],
        );
        for strategy in &strategies {
            rebalance_pause(&bootstrap, strategy);
        }
    }
}

/// A seeded generator of key numbers below `keys`.
struct Keys(u64, usize);

impl Keys {
    fn next(&mut self) -> String {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        format!("k{}", (self.0 >> 33) as usize % self.1)
    }
}

type Counts = StoreQuery<KeyValueStore<String, i64>>;

/// The latency of `n` point queries of random keys, one after the other: (p50, p99) in µs.
fn latencies(store: &Counts, keys: usize, n: usize) -> (f64, f64) {
    let mut random = Keys(7, keys);
    let mut taken: Vec<Duration> = (0..n)
        .map(|_| {
            let key = random.next();
            let t = Instant::now();
            let found = store.get(&key).unwrap();
            let elapsed = t.elapsed();
            assert!(found.is_some(), "{key} is counted");
            elapsed
        })
        .collect();
    taken.sort_unstable();
    let at = |q: f64| taken[((n as f64 * q) as usize).min(n - 1)].as_secs_f64() * 1e6;
    (at(0.50), at(0.99))
}

/// Point queries per second from `threads` client threads querying for `time`.
fn throughput(store: &Counts, keys: usize, threads: usize, time: Duration) -> f64 {
    let deadline = Instant::now() + time;
    let total: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let store = store.clone();
                scope.spawn(move || {
                    let mut random = Keys(t as u64 + 11, keys);
                    let mut done = 0;
                    while Instant::now() < deadline {
                        store.get(&random.next()).unwrap();
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    total as f64 / time.as_secs_f64()
}

/// Waits until `key`'s count is `count`.
fn await_count(store: &Counts, key: &str, count: i64) {
    let deadline = Instant::now() + Duration::from_secs(600);
    while store.get(&key.to_owned()).ok().flatten() != Some(count) {
        assert!(Instant::now() < deadline, "{key} never reached {count}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// iq: see the module documentation.
fn interactive_queries(bootstrap: &str, keys: usize) {
    const BACKLOG: usize = 3;
    create_topics(bootstrap, &["iq-bench-in", "iq-bench-out"]);
    fill(
        bootstrap,
        "iq-bench-in",
        keys * (1 + BACKLOG),
        |i| format!("k{}", i % keys),
        |_| String::new(),
    );
    let state = tempfile::tempdir().unwrap();
    let app = format!("iq-bench-{}", std::process::id());
    let config = StreamsConfig::from_properties([
        ("application.id", app.as_str()),
        ("bootstrap.servers", bootstrap),
        ("state.dir", &state.path().display().to_string()),
        ("producer.linger.ms", "5"),
    ])
    .unwrap();
    let mut streams = KafkaStreams::new(CountsBench, config).unwrap();
    streams.start().unwrap();
    let store = streams.key_value_store::<String, i64>("iq-counts").unwrap();
    let last = format!("k{}", keys - 1);
    // Every key is in the store; the backlog follows.
    await_count(&store, &last, 1);
    let busy_from = Instant::now();
    let busy = latencies(&store, keys, 5_000);
    let busy_one = throughput(&store, keys, 1, Duration::from_secs(2));
    let busy_four = throughput(&store, keys, 4, Duration::from_secs(2));
    let measured = busy_from.elapsed();
    let backlog_left = store.get(&last).unwrap() != Some(1 + BACKLOG as i64);
    await_count(&store, &last, 1 + BACKLOG as i64);
    let processed = busy_from.elapsed();
    let idle = latencies(&store, keys, 5_000);
    let idle_one = throughput(&store, keys, 1, Duration::from_secs(2));
    let idle_four = throughput(&store, keys, 4, Duration::from_secs(2));
    println!(
        "iq on a RocksDB store of {keys} keys, while processing a backlog of {} records \
         ({:.1} s; backlog still there after the {:.1} s of measuring: {backlog_left}): \
         p50 {:.0} µs, p99 {:.0} µs, {:.0} queries/s from 1 thread, {:.0} from 4",
        keys * BACKLOG,
        processed.as_secs_f64(),
        measured.as_secs_f64(),
        busy.0,
        busy.1,
        busy_one,
        busy_four
    );
    println!(
        "iq idle: p50 {:.0} µs, p99 {:.0} µs, {idle_one:.0} queries/s from 1 thread, {idle_four:.0} from 4",
        idle.0, idle.1
    );
    streams.close(Duration::from_secs(30));
}

/// A word count instance as a child process; its output lines collected as they come.
struct Instance {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Instance {
    fn start(bootstrap: &str, state: &std::path::Path, app: &str, topics: &str, standbys: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_word-count-instance"))
            .args([
                bootstrap,
                &state.display().to_string(),
                "at_least_once",
                app,
                topics,
                standbys,
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        while !lines.lock().unwrap().iter().any(|l| l == "running") {
            assert!(Instant::now() < deadline, "the instance did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Instance { child, lines }
    }

    /// The records of the restorations reported after the first `from` lines.
    fn restored_since(&self, from: usize) -> u64 {
        let lines = self.lines.lock().unwrap();
        lines[from..]
            .iter()
            .filter_map(|l| {
                l.strip_prefix("restored counts-store ")?
                    .split(' ')
                    .nth(1)?
                    .parse::<u64>()
                    .ok()
            })
            .sum()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The end offsets of every partition of `topic`.
fn ends(client: &BaseConsumer, topic: &str, partitions: i32) -> Vec<i64> {
    (0..partitions)
        .map(|p| client.fetch_watermarks(topic, p, Duration::from_secs(10)).unwrap().1)
        .collect()
}

/// The last changelog offset in the checkpoint of `task_dir`.
fn checkpointed(task_dir: &std::path::Path) -> Option<i64> {
    let text = std::fs::read_to_string(task_dir.join(".checkpoint")).ok()?;
    text.lines().find_map(|l| l.rsplit_once(' ')?.1.parse().ok())
}

/// failover: see the module documentation.
fn failover(bootstrap: &str, keys: usize) {
    const PARTITIONS: i32 = 6;
    let client: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    for (topics, standbys) in [("standby-none", "0"), ("standby-one", "1")] {
        let (input, output) = (format!("{topics}-in"), format!("{topics}-out"));
        create_partitioned_topics(bootstrap, &[&input, &output], PARTITIONS);
        let app = format!("failover-{standbys}-{}", std::process::id());
        let changelog = format!("{app}-counts-store-changelog");
        let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
        let mut instances: Vec<Instance> = dirs
            .iter()
            .map(|d| Instance::start(bootstrap, d.path(), &app, topics, standbys))
            .collect();
        fill(bootstrap, &input, keys, |i| format!("{i}"), |i| format!("k{i}"));
        // Counted (one update per word), and the active task and standbys checkpointed to the end.
        let copies = 1 + standbys.parse::<usize>().unwrap();
        let deadline = Instant::now() + Duration::from_secs(900);
        loop {
            let counted = ends(&client, &output, PARTITIONS).iter().sum::<i64>() == keys as i64;
            let copied = counted
                && ends(&client, &changelog, PARTITIONS)
                    .iter()
                    .enumerate()
                    .all(|(p, high)| {
                        let task = format!("1_{p}");
                        let holding = dirs
                            .iter()
                            .filter(|d| checkpointed(&d.path().join(&app).join(&task)) == Some(high - 1))
                            .count();
                        holding >= copies
                    });
            if copied {
                break;
            }
            assert!(Instant::now() < deadline, "not counted and copied in time");
            std::thread::sleep(Duration::from_millis(200));
        }
        let observer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", format!("{app}-observer"))
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut from_end = TopicPartitionList::new();
        for (p, high) in ends(&client, &output, PARTITIONS).into_iter().enumerate() {
            from_end
                .add_partition_offset(&output, p as i32, Offset::Offset(high))
                .unwrap();
        }
        observer.assign(&from_end).unwrap();
        let marks: Vec<usize> = instances.iter().map(|i| i.lines.lock().unwrap().len()).collect();
        // The kill, then one new word per partition of the counting sub-topology.
        let _ = instances[0].child.kill();
        let _ = instances[0].child.wait();
        let killed = Instant::now();
        let mut probes = BTreeMap::new();
        for n in 0.. {
            let word = format!("probe{n}");
            probes
                .entry(default_partition(word.as_bytes(), PARTITIONS))
                .or_insert(word);
            if probes.len() == PARTITIONS as usize {
                break;
            }
        }
        let lines: Vec<String> = probes.values().cloned().collect();
        fill(
            bootstrap,
            &input,
            lines.len(),
            |i| format!("probe-{i}"),
            |i| lines[i].clone(),
        );
        let mut arrivals: BTreeMap<i32, f64> = BTreeMap::new();
        let deadline = Instant::now() + Duration::from_secs(600);
        while arrivals.len() < probes.len() {
            assert!(Instant::now() < deadline, "probes did not arrive: {arrivals:?}");
            if let Some(Ok(m)) = observer.poll(Duration::from_millis(100)) {
                let key = m.key().map(String::from_utf8_lossy).unwrap_or_default();
                if let Some((&p, _)) = probes.iter().find(|(_, w)| **w == key) {
                    arrivals.entry(p).or_insert_with(|| killed.elapsed().as_secs_f64());
                }
            }
        }
        let restored: u64 = instances[1..]
            .iter()
            .zip(&marks[1..])
            .map(|(i, &m)| i.restored_since(m))
            .sum();
        let slowest = arrivals.values().copied().fold(0.0, f64::max);
        let each: Vec<String> = arrivals.iter().map(|(p, s)| format!("{p}: {s:.2}")).collect();
        println!(
            "failover with {standbys} standby replicas, {keys} keys over {PARTITIONS} partitions: \
             {restored} changelog records restored; first new output {slowest:.2} s after the kill \
             for the last partition (per partition, s: {})",
            each.join(", ")
        );
    }
}

/// rebalance: see the module documentation.
fn rebalance_pause(bootstrap: &str, strategy: &str) {
    const PARTITIONS: i32 = 12;
    const RATE: u64 = 2_000;
    create_partitioned_topics(bootstrap, &["rb-bench-in", "rb-bench-out"], PARTITIONS);
    let app = format!("rb-bench-{strategy}-{}", std::process::id());
    let dirs: Vec<tempfile::TempDir> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let start = |dir: &tempfile::TempDir| {
        let config = StreamsConfig::from_properties([
            ("application.id", app.as_str()),
            ("bootstrap.servers", bootstrap),
            ("state.dir", &dir.path().display().to_string()),
            ("commit.interval.ms", "100"),
            ("statestore.cache.max.bytes", "0"),
            ("producer.linger.ms", "5"),
            ("partition.assignment.strategy", strategy),
        ])
        .unwrap();
        let mut streams = KafkaStreams::new(RebalanceBench, config).unwrap();
        streams.start().unwrap();
        streams
    };
    // The steady input, until told to stop.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let feeding = {
        let (stop, bootstrap) = (Arc::clone(&stop), bootstrap.to_owned());
        std::thread::spawn(move || {
            let producer = common::broker::producer(&bootstrap);
            let began = Instant::now();
            let mut sent = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let due = began.elapsed().as_millis() as u64 * RATE / 1000;
                while sent < due {
                    let key = format!("k{}", sent % 10_000);
                    let record = rdkafka::producer::BaseRecord::to("rb-bench-in").key(&key).payload("");
                    if producer.send(record).is_ok() {
                        sent += 1;
                    }
                    producer.poll(Duration::ZERO);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            rdkafka::producer::Producer::flush(&producer, Duration::from_secs(10)).unwrap();
        })
    };
    let observer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("{app}-observer"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut all = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        all.add_partition_offset("rb-bench-out", p, Offset::End).unwrap();
    }
    observer.assign(&all).unwrap();
    let mut arrivals: BTreeMap<i32, Vec<Instant>> = BTreeMap::new();
    let mut observe = |until: Instant| {
        while Instant::now() < until {
            if let Some(Ok(m)) = observer.poll(Duration::from_millis(10)) {
                arrivals.entry(m.partition()).or_default().push(Instant::now());
            }
        }
    };
    let mut instances: Vec<_> = dirs[..3].iter().map(start).collect();
    observe(Instant::now() + Duration::from_secs(15));
    let joined = Instant::now();
    instances.push(start(&dirs[3]));
    observe(Instant::now() + Duration::from_secs(20));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    feeding.join().unwrap();
    // Each partition's longest gap between outputs from a second before the join on, and in
    // the steady 10 s before that (the baseline).
    let longest_gaps = |from: Instant, to: Instant| -> (f64, f64, usize) {
        let mut gaps: Vec<f64> = arrivals
            .values()
            .map(|times| {
                let within: Vec<&Instant> = times.iter().filter(|t| **t >= from && **t < to).collect();
                within
                    .windows(2)
                    .map(|w| (*w[1] - *w[0]).as_secs_f64() * 1000.0)
                    .fold(0.0, f64::max)
            })
            .collect();
        gaps.sort_by(f64::total_cmp);
        let median = gaps.get(gaps.len() / 2).copied().unwrap_or_default();
        let paused = gaps.iter().filter(|g| **g >= 500.0).count();
        (median, gaps.last().copied().unwrap_or_default(), paused)
    };
    let (median, longest, paused) = longest_gaps(joined - Duration::from_secs(1), Instant::now());
    let (steady_median, steady_longest, _) =
        longest_gaps(joined - Duration::from_secs(11), joined - Duration::from_secs(1));
    println!(
        "rebalance ({strategy}) as a fourth instance joins, {RATE} records/s over {PARTITIONS} partitions: \
         longest output gap per partition around the join: median {median:.0} ms, max {longest:.0} ms \
         ({paused} partitions paused 0.5 s or more); in the 10 s before: median {steady_median:.0} ms, \
         max {steady_longest:.0} ms"
    );
    for streams in &instances {
        streams.close(Duration::from_secs(30));
    }
}
