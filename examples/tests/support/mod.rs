//! The Apache Kafka broker the runtime tests run on, and what each test needs to share it.
//!
//! [`kafka`] is one single-node KRaft broker for the whole test run: the one named by
//! `STREAMS_TEST_BOOTSTRAP` (what `scripts/test.sh` starts), or else the one
//! `scripts/kafka.sh ensure` starts in `target/kafka-test` (it keeps running after the tests;
//! `bash scripts/kafka.sh stop --dir target/kafka-test` stops it). A test that cannot reach a
//! broker fails. Tests share the broker: each declares its own input and output topics and takes
//! its application id from [`app_id`], so groups and internal topics never collide, not even with
//! an earlier run's on a long-lived broker.
#![allow(dead_code)] // each test file uses a part

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use streams_runtime::kafka::{KafkaStreams, State};
use streams_runtime::topology::Topology;

/// A record to send: key and value bytes (`None`: null).
pub type RawRecord<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// A record to produce with its timestamp: key, value, timestamp.
#[allow(dead_code)] // not every test binary produces timed records
pub type TimedRecord<'a> = (Option<&'a [u8]>, Option<&'a [u8]>, i64);

/// A Kafka cluster reached at `bootstrap`.
pub struct Kafka {
    bootstrap: String,
}

/// The checkout's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// Runs `scripts/kafka.sh` with `args`; its standard output, trimmed. Panics if it fails.
pub fn kafka_sh(args: &[&str]) -> String {
    let output = Command::new("bash")
        .arg(repo_root().join("scripts/kafka.sh"))
        .args(args)
        .output()
        .expect("running scripts/kafka.sh");
    assert!(
        output.status.success(),
        "scripts/kafka.sh {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// The broker of this test run (see the module's doc).
pub fn kafka() -> &'static Kafka {
    static BROKER: OnceLock<Kafka> = OnceLock::new();
    BROKER.get_or_init(|| {
        let bootstrap = std::env::var("STREAMS_TEST_BOOTSTRAP").unwrap_or_else(|_| {
            let dir = repo_root().join("target/kafka-test");
            kafka_sh(&["ensure", "--dir", dir.to_str().unwrap()])
        });
        let kafka = Kafka { bootstrap };
        kafka.await_reachable();
        kafka
    })
}

/// `base` made unique to this test process (an application id, a group id).
pub fn app_id(base: &str) -> String {
    static RUN: OnceLock<String> = OnceLock::new();
    let run = RUN.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        format!("{:x}", (nanos as u64) ^ u64::from(std::process::id()))
    });
    format!("{base}-{run}")
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

impl Kafka {
    /// A cluster already running at `bootstrap`.
    pub fn at(bootstrap: impl Into<String>) -> Self {
        Kafka {
            bootstrap: bootstrap.into(),
        }
    }

    /// The `bootstrap.servers` to connect to it.
    pub fn bootstrap(&self) -> String {
        self.bootstrap.clone()
    }

    fn await_reachable(&self) {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .create()
            .unwrap();
        if let Err(e) = consumer.fetch_metadata(None, Duration::from_secs(30)) {
            panic!("no Kafka broker at {}: {e}", self.bootstrap);
        }
    }

    fn admin(&self) -> AdminClient<DefaultClientContext> {
        ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .create()
            .unwrap()
    }

    /// The low and high watermarks of `topic`'s `partition`.
    pub fn watermarks(&self, topic: &str, partition: i32) -> (i64, i64) {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .create()
            .unwrap();
        consumer
            .fetch_watermarks(topic, partition, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("watermarks of {topic}-{partition}: {e}"))
    }

    /// Creates `topics` with `partitions` partitions each (and the cluster's replication),
    /// deleting them first where an earlier run left them.
    pub fn create_topics(&self, topics: &[&str], partitions: i32) {
        self.create_topics_replicated(topics, partitions, -1);
    }

    /// [`Kafka::create_topics`] with `replication` replicas (-1: the broker's default).
    pub fn create_topics_replicated(&self, topics: &[&str], partitions: i32, replication: i32) {
        let admin = self.admin();
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        for result in block_on(admin.delete_topics(topics, &options)).unwrap() {
            if let Err((topic, code)) = result {
                assert_eq!(code, RDKafkaErrorCode::UnknownTopicOrPartition, "deleting {topic}");
            }
        }
        let new: Vec<NewTopic<'_>> = topics
            .iter()
            .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(replication)))
            .collect();
        // A topic deleted a moment ago may still be going away: try again for a while.
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut pending: Vec<NewTopic<'_>> = new;
        while !pending.is_empty() {
            let results = block_on(admin.create_topics(pending.iter(), &options)).unwrap();
            let failed: Vec<String> = results
                .into_iter()
                .filter_map(|r| match r {
                    Ok(_) => None,
                    Err((topic, RDKafkaErrorCode::TopicAlreadyExists)) => Some(topic),
                    Err((topic, code)) => panic!("creating {topic}: {code:?}"),
                })
                .collect();
            assert!(Instant::now() < deadline, "could not create {failed:?}");
            pending.retain(|t| failed.iter().any(|f| f == t.name));
            if !pending.is_empty() {
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        self.await_topics(topics, partitions);
    }

    /// Waits until the metadata shows every topic with `partitions` partitions and a leader.
    fn await_topics(&self, topics: &[&str], partitions: i32) {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .create()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let metadata = consumer.fetch_metadata(None, Duration::from_secs(10)).unwrap();
            let ready = topics.iter().all(|name| {
                metadata.topics().iter().any(|t| {
                    t.name() == *name
                        && t.error().is_none()
                        && t.partitions().len() == partitions as usize
                        && t.partitions().iter().all(|p| p.leader() >= 0)
                })
            });
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "topics {topics:?} not ready");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Produces `(key, value)` records to `topic` (partition by the default partitioner unless
    /// `partition` is given) and waits until they are written.
    pub fn send(&self, topic: &str, partition: Option<i32>, records: &[RawRecord<'_>]) {
        self.produce(topic, partition, records.iter().map(|&(k, v)| (k, v, None)));
    }

    /// Like [`Kafka::send`], with each record's timestamp (event time).
    #[allow(dead_code)] // not every test binary produces timed records
    pub fn send_at(&self, topic: &str, partition: Option<i32>, records: &[TimedRecord<'_>]) {
        self.produce(topic, partition, records.iter().map(|&(k, v, ts)| (k, v, Some(ts))));
    }

    fn produce<'a>(
        &self,
        topic: &str,
        partition: Option<i32>,
        records: impl Iterator<Item = (Option<&'a [u8]>, Option<&'a [u8]>, Option<i64>)>,
    ) {
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .set("partitioner", "murmur2_random")
            .create()
            .unwrap();
        for (key, value, timestamp) in records {
            let mut record = BaseRecord::<[u8], [u8]>::to(topic);
            if let Some(k) = key {
                record = record.key(k);
            }
            if let Some(v) = value {
                record = record.payload(v);
            }
            if let Some(p) = partition {
                record = record.partition(p);
            }
            if let Some(ts) = timestamp {
                record = record.timestamp(ts);
            }
            producer.send(record).map_err(|(e, _)| e).unwrap();
        }
        producer.flush(Duration::from_secs(30)).unwrap();
    }

    /// Reads every partition of `topic` from the beginning with `isolation` (`read_committed` or
    /// `read_uncommitted`) until `done` holds for what was read and nothing more comes for
    /// `quiet`; panics after a minute. The records in order of arrival (per partition in
    /// offset order), each as (partition, key, value).
    pub fn read(&self, topic: &str, isolation: &str, quiet: Duration, done: impl Fn(&[Read]) -> bool) -> Vec<Read> {
        self.read_within(Duration::from_secs(60), topic, isolation, quiet, done)
    }

    /// [`Kafka::read`], panicking after `timeout` instead of a minute.
    pub fn read_within(
        &self,
        timeout: Duration,
        topic: &str,
        isolation: &str,
        quiet: Duration,
        done: impl Fn(&[Read]) -> bool,
    ) -> Vec<Read> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .set("group.id", app_id("reader"))
            .set("enable.auto.commit", "false")
            .set("isolation.level", isolation)
            .create()
            .unwrap();
        let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).unwrap();
        let mut tpl = TopicPartitionList::new();
        for p in metadata.topics()[0].partitions() {
            tpl.add_partition_offset(topic, p.id(), Offset::Beginning).unwrap();
        }
        consumer.assign(&tpl).unwrap();
        let deadline = Instant::now() + timeout;
        let mut records = Vec::new();
        let mut last = Instant::now();
        loop {
            match consumer.poll(Duration::from_millis(50)) {
                // A broker of the cluster going away (the fault tests) is reported and retried.
                Some(Err(e)) => eprintln!("reading {topic}: {e}"),
                Some(Ok(m)) => {
                    records.push(Read {
                        partition: m.partition(),
                        key: m.key().map(<[u8]>::to_vec),
                        value: m.payload().map(<[u8]>::to_vec),
                    });
                    last = Instant::now();
                }
                None if done(&records) && last.elapsed() >= quiet => return records,
                None => {}
            }
            assert!(
                Instant::now() < deadline,
                "reading {topic}: timed out after {} records",
                records.len()
            );
        }
    }
}

impl Kafka {
    /// Every key's count updates in `output` (big-endian i64 values, in order), read with
    /// `isolation` once each key of `expected` has reached its count and nothing more came for
    /// two seconds; panics after `timeout`.
    pub fn count_updates(
        &self,
        timeout: Duration,
        output: &str,
        isolation: &str,
        expected: &BTreeMap<String, i64>,
    ) -> BTreeMap<String, Vec<i64>> {
        let by_key = |records: &[Read]| {
            let mut updates: BTreeMap<String, Vec<i64>> = BTreeMap::new();
            for r in records {
                updates.entry(r.key_str()).or_default().push(r.long());
            }
            updates
        };
        let reached = |records: &[Read]| {
            let updates = by_key(records);
            expected
                .iter()
                .all(|(w, n)| updates.get(w).and_then(|u| u.last()).is_some_and(|c| c >= n))
        };
        by_key(&self.read_within(timeout, output, isolation, Duration::from_secs(2), reached))
    }
}

/// The number of times each word (split on spaces) occurs in `lines`.
pub fn word_counts<'a>(lines: impl IntoIterator<Item = &'a String>) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for word in lines.into_iter().flat_map(|l| l.split(' ')) {
        *counts.entry(word.to_owned()).or_insert(0) += 1;
    }
    counts
}

/// Each word's updates if every occurrence was counted exactly once: 1, 2, ..., n.
pub fn counted_once(expected: &BTreeMap<String, i64>) -> BTreeMap<String, Vec<i64>> {
    expected.iter().map(|(w, n)| (w.clone(), (1..=*n).collect())).collect()
}

/// Waits (up to a minute) until `streams` is running; panics if it fails.
pub fn await_running<T: Topology + Clone + Send + 'static>(streams: &KafkaStreams<T>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while streams.state() != State::Running {
        assert_ne!(streams.state(), State::Error, "{:?}", streams.take_failure());
        assert!(Instant::now() < deadline, "still {:?}", streams.state());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A record read back by [`Kafka::read`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Read {
    /// Its partition.
    pub partition: i32,
    /// Its key bytes.
    pub key: Option<Vec<u8>>,
    /// Its value bytes.
    pub value: Option<Vec<u8>>,
}

impl Read {
    /// The key as UTF-8.
    pub fn key_str(&self) -> String {
        String::from_utf8(self.key.clone().unwrap()).unwrap()
    }

    /// The value as a big-endian i64 (Java's `LongSerializer`).
    pub fn long(&self) -> i64 {
        i64::from_be_bytes(self.value.as_deref().unwrap().try_into().unwrap())
    }

    /// The value as UTF-8.
    pub fn value_str(&self) -> String {
        String::from_utf8(self.value.clone().unwrap()).unwrap()
    }
}

/// A cluster of its own for one test (`scripts/kafka.sh start --brokers n` in a temporary
/// directory), stopped when dropped.
pub struct OwnCluster {
    dir: tempfile::TempDir,
    /// The cluster.
    pub kafka: Kafka,
}

impl OwnCluster {
    /// Starts `brokers` nodes (with `--sasl` when `sasl`).
    pub fn start(brokers: usize, sasl: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let n = brokers.to_string();
        let mut args = vec!["start", "--brokers", n.as_str(), "--dir", dir.path().to_str().unwrap()];
        if sasl {
            args.push("--sasl");
        }
        let bootstrap = kafka_sh(&args);
        OwnCluster {
            kafka: Kafka::at(bootstrap),
            dir,
        }
    }

    /// The SASL_PLAINTEXT listeners' bootstrap servers (a `--sasl` cluster).
    pub fn sasl_bootstrap(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sasl-bootstrap"))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// Runs `kafka.sh <command> <node>` (`stop-node`, `kill-node`, `start-node`) on this cluster.
    pub fn node(&self, command: &str, node: usize) {
        kafka_sh(&[command, &node.to_string(), "--dir", self.dir.path().to_str().unwrap()]);
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(repo_root().join("scripts/kafka.sh"))
            .args(["stop", "--dir", self.dir.path().to_str().unwrap()])
            .output();
    }
}
