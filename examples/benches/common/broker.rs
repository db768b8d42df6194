//! The Apache Kafka broker of the Kafka benchmarks: one of their own (`scripts/kafka.sh`) or the
//! one `STREAMS_BENCH_BOOTSTRAP` names, and writing their input.

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use std::process::Command;
use std::time::{Duration, Instant};

/// The broker the benchmark started (`scripts/kafka.sh`), stopped on drop.
pub struct OwnBroker(std::path::PathBuf);

impl Drop for OwnBroker {
    fn drop(&mut self) {
        let _ = kafka_sh(&["stop", "--dir", self.0.to_str().unwrap()]);
    }
}

/// Runs `scripts/kafka.sh` with `args`; its output.
pub fn kafka_sh(args: &[&str]) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned();
    let out = Command::new("bash")
        .arg(root.join("scripts/kafka.sh"))
        .args(args)
        .output()
        .expect("running scripts/kafka.sh");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Starts a broker of the benchmark's own in `target/kafka-bench`; its bootstrap address.
pub fn start_broker() -> (OwnBroker, String) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned();
    let dir = root.join("target/kafka-bench");
    let _ = kafka_sh(&["stop", "--dir", dir.to_str().unwrap()]);
    let bootstrap = kafka_sh(&["start", "--dir", dir.to_str().unwrap()]);
    (OwnBroker(dir), bootstrap)
}

/// Creates `topics` with one partition each, deleting them first if they exist.
pub fn create_topics(bootstrap: &str, topics: &[&str]) {
    create_partitioned_topics(bootstrap, topics, 1);
}

/// Creates `topics` with `partitions` partitions each, deleting them first if they exist.
pub fn create_partitioned_topics(bootstrap: &str, topics: &[&str], partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let _ = runtime.block_on(admin.delete_topics(topics, &options));
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1)))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let results = runtime.block_on(admin.create_topics(new.iter(), &options)).unwrap();
        if results.iter().all(Result::is_ok) {
            break;
        }
        // A topic deleted a moment ago may still be going away.
        assert!(Instant::now() < deadline, "could not create {topics:?}: {results:?}");
        let _ = runtime.block_on(admin.delete_topics(topics, &options));
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A producer for the benchmarks' input (5 ms linger).
pub fn producer(bootstrap: &str) -> BaseProducer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        .create()
        .unwrap()
}

/// Writes `n` records (`key(i)`, `value(i)`) to `topic`.
pub fn fill(bootstrap: &str, topic: &str, n: usize, key: impl Fn(usize) -> String, value: impl Fn(usize) -> String) {
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

/// The broker to measure on: `STREAMS_BENCH_BOOTSTRAP`, else one started now (stopped when the
/// returned guard drops).
pub fn broker() -> (Option<OwnBroker>, String) {
    match std::env::var("STREAMS_BENCH_BOOTSTRAP") {
        Ok(b) => (None, b),
        Err(_) => {
            let (broker, b) = start_broker();
            (Some(broker), b)
        }
    }
}
