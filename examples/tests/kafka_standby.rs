//! Standby replicas on the real Kafka broker (`support::kafka`): three word count instances as
//! child processes (`word-count-instance`), one killed with SIGKILL once the counts are in; the
//! two others take its tasks over. Without standbys each moved task restores its whole
//! changelog partition; with `num.standby.replicas = 1` the standby sits where the range
//! assignor moves the task, so the takeover restores only the tail: nothing, as the standby had
//! caught up. In one process: each of two instances keeps a standby of the other's counts, which
//! stale queries read and the metadata lists.

mod support;

use examples::word_count_topology;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use streams_runtime::config::StreamsConfig;
use streams_runtime::error::{NotQueryable, StreamsError};
use streams_runtime::kafka::KafkaStreams;
use streams_runtime::metadata::HostInfo;
use streams_runtime::prelude::*;
use support::{RawRecord, app_id, await_running, kafka, word_counts};

const PARTITIONS: i32 = 6;

/// A restoration an instance reported: (partition, records, milliseconds).
type Restoration = (i32, i64, u64);

/// A child process running one instance; its standard output lines are collected as they come.
struct Instance {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Instance {
    fn start(state: &Path, app: &str, topics: &str, standbys: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_word-count-instance"))
            .args([
                &kafka().bootstrap(),
                &state.display().to_string(),
                "at_least_once",
                app,
                topics,
                standbys,
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let instance = Instance { child, lines };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !instance.lines().iter().any(|l| l == "running") {
            assert!(Instant::now() < deadline, "the instance did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        instance
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// The restorations of `counts-store` reported after the first `from` lines: (partition,
    /// records, milliseconds).
    fn restored_since(&self, from: usize) -> Vec<Restoration> {
        self.lines()[from..]
            .iter()
            .filter_map(|l| {
                let fields: Vec<&str> = l.strip_prefix("restored counts-store ")?.split(' ').collect();
                Some((
                    fields[0].parse().ok()?,
                    fields[1].parse().ok()?,
                    fields[2].parse().ok()?,
                ))
            })
            .collect()
    }

    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until the consumer group `group` is stable with `members` members.
fn await_stable_group(group: &str, members: usize) {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let client: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", kafka().bootstrap())
        .create()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = client.fetch_group_list(Some(group), Duration::from_secs(10)).unwrap();
        let settled = list
            .groups()
            .iter()
            .any(|g| g.name() == group && g.state() == "Stable" && g.members().len() == members);
        if settled {
            return;
        }
        assert!(Instant::now() < deadline, "group {group} did not settle");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn write(topic: &str, lines: &[String]) {
    let records: Vec<RawRecord<'_>> = lines.iter().map(|l| (None, Some(l.as_bytes()))).collect();
    kafka().send(topic, None, &records);
}

/// The last changelog offset the checkpoint in `dir` holds for `changelog`, if any.
fn checkpointed(dir: &Path, changelog: &str) -> Option<i64> {
    let text = std::fs::read_to_string(dir.join(".checkpoint")).ok()?;
    text.lines().find_map(|l| {
        let (topic, offset) = l.rsplit_once(' ')?;
        (topic == changelog).then(|| offset.parse().ok())?
    })
}

/// Runs the takeover on `topics` with `standbys` replicas: every restoration after the kill
/// (partition, records, ms) and each changelog partition's end at the kill.
fn takeover(topics: &str, standbys: &str) -> (Vec<Restoration>, BTreeMap<i32, i64>) {
    let (input, output) = (format!("{topics}-in"), format!("{topics}-out"));
    kafka().create_topics(&[&input, &output], PARTITIONS);
    let app = app_id(topics);
    let changelog = format!("{app}-counts-store-changelog");
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut instances: Vec<Instance> = dirs
        .iter()
        .map(|d| Instance::start(d.path(), &app, topics, standbys))
        .collect();
    let first: Vec<String> = (0..300)
        .map(|i| format!("w{} w{} w{}", i % 40, (i * 7) % 40, i % 3))
        .collect();
    write(&input, &first);
    kafka().count_updates(
        Duration::from_secs(120),
        &output,
        "read_uncommitted",
        &word_counts(&first),
    );

    // Every task's changelog partition is in the checkpoints of its active task and of each
    // standby: 1 + standbys copies up to the end.
    let copies = 1 + standbys.parse::<usize>().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let ends = || -> BTreeMap<i32, i64> {
        (0..PARTITIONS)
            .map(|p| (p, kafka().watermarks(&changelog, p).1))
            .collect()
    };
    loop {
        let highs = ends();
        let caught_up = highs.iter().all(|(p, high)| {
            let task = format!("1_{p}");
            let holding = dirs
                .iter()
                .filter(|d| checkpointed(&d.path().join(&app).join(&task), &changelog) == Some(high - 1))
                .count();
            holding >= copies
        });
        if caught_up {
            break;
        }
        assert!(Instant::now() < deadline, "copies not caught up: {highs:?}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // The kill; once the group has settled without the victim (a task moving between the
    // others was written until then), the others take its tasks over and count what comes next.
    let marks: Vec<usize> = instances.iter().map(|i| i.lines().len()).collect();
    instances[0].kill();
    await_stable_group(&app, 2);
    let highs = ends();
    let second: Vec<String> = (0..100).map(|i| format!("w{} w{}", i % 40, (i * 11) % 40)).collect();
    write(&input, &second);
    let all: Vec<String> = first.iter().chain(&second).cloned().collect();
    kafka().count_updates(
        Duration::from_secs(120),
        &output,
        "read_uncommitted",
        &word_counts(&all),
    );
    let restored = instances[1..]
        .iter()
        .zip(&marks[1..])
        .flat_map(|(i, &mark)| i.restored_since(mark))
        .collect();
    (restored, highs)
}

#[test]
fn a_takeover_restores_only_the_tail_with_a_standby_and_everything_without() {
    let (without, highs) = takeover("standby-none", "0");
    assert!(!without.is_empty(), "the killed instance's tasks moved");
    for (partition, records, _) in &without {
        assert_eq!(
            *records, highs[partition],
            "partition {partition} restored in full: {without:?} {highs:?}"
        );
    }
    let (with, highs_with) = takeover("standby-one", "1");
    assert!(!with.is_empty(), "the killed instance's tasks moved");
    for (partition, records, _) in &with {
        assert_eq!(*records, 0, "partition {partition}: the standby had it all");
    }
    let total = |r: &[Restoration]| (r.iter().map(|x| x.1).sum::<i64>(), r.iter().map(|x| x.2).sum::<u64>());
    let (records_without, ms_without) = total(&without);
    let (records_with, ms_with) = total(&with);
    println!(
        "takeover after SIGKILL: without standbys {} tasks restored {records_without} records in \
         {ms_without} ms (changelog ends {highs:?}); with one standby {} tasks restored \
         {records_with} records in {ms_with} ms (changelog ends {highs_with:?})",
        without.len(),
        with.len()
    );
}

word_count_topology!(struct Shadowed { input: "standby-iq-in", output: "standby-iq-out" });

/// The entries of `store` (a view of one partition) as a map.
fn entries(
    store: &streams_runtime::kafka::StoreQuery<KeyValueStore<String, i64>>,
) -> Result<BTreeMap<String, i64>, StreamsError> {
    Ok(store.all()?.map(Result::unwrap).collect())
}

#[test]
fn each_instance_keeps_a_standby_of_the_other_which_stale_queries_read() {
    let app = app_id("standby-iq");
    kafka().create_topics(&["standby-iq-in", "standby-iq-out"], 2);
    let lines: Vec<String> = (0..200).map(|i| format!("w{} w{}", i % 25, (i * 3) % 25)).collect();
    write("standby-iq-in", &lines);
    let expected = word_counts(&lines);
    let dirs: Vec<tempfile::TempDir> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let instances: Vec<(KafkaStreams<Shadowed>, HostInfo)> = dirs
        .iter()
        .enumerate()
        .map(|(i, dir)| {
            let host = HostInfo::new("127.0.0.1", 7000 + i as u16);
            let bootstrap = kafka().bootstrap();
            let state = dir.path().display().to_string();
            let endpoint = host.to_string();
            let config = StreamsConfig::from_properties([
                ("application.id", app.as_str()),
                ("bootstrap.servers", bootstrap.as_str()),
                ("state.dir", state.as_str()),
                ("commit.interval.ms", "100"),
                ("num.standby.replicas", "1"),
                ("application.server", endpoint.as_str()),
            ])
            .unwrap();
            let mut streams = KafkaStreams::new(Shadowed, config).unwrap();
            streams.start().unwrap();
            (streams, host)
        })
        .collect();
    for (streams, _) in &instances {
        await_running(streams);
    }
    kafka().count_updates(Duration::from_secs(60), "standby-iq-out", "read_uncommitted", &expected);

    // Each instance's standby (of the counting sub-topology) mirrors the other's active task.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mirrored = (0..2).all(|i| {
            let (streams, _) = &instances[i];
            let (other, _) = &instances[1 - i];
            let standbys = streams.local_standby_tasks();
            let [task] = standbys.as_slice() else { return false };
            let counts = streams.key_value_store::<String, i64>("counts-store").unwrap();
            let shadow = entries(&counts.clone().stale(true).partition(task.partition));
            let active = other.key_value_store::<String, i64>("counts-store").unwrap();
            let original = entries(&active.partition(task.partition));
            task.subtopology == 1 && shadow.is_ok() && shadow.ok() == original.ok()
        });
        if mirrored {
            break;
        }
        assert!(Instant::now() < deadline, "the standbys did not catch up");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut gathered = BTreeMap::new();
    for (streams, _) in &instances {
        let partition = streams.local_standby_tasks()[0].partition;
        let counts = streams.key_value_store::<String, i64>("counts-store").unwrap();
        // Not stale: the standby is not read.
        assert!(matches!(
            counts.clone().partition(partition).get(&"w1".to_owned()),
            Err(StreamsError::StoreNotQueryable {
                reason: NotQueryable::NoSuchPartition(p),
                ..
            }) if p == partition
        ));
        gathered.extend(entries(&counts.stale(true).partition(partition)).unwrap());
    }
    assert_eq!(gathered, expected, "the two standbys hold every count");
    // The metadata names the standby's instance for each key.
    let hosts: Vec<HostInfo> = instances.iter().map(|(_, h)| h.clone()).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    for word in expected.keys() {
        loop {
            let key = instances[0]
                .0
                .query_metadata_for_key("counts-store", word, &StringSerde)
                .unwrap();
            let listed = key.as_ref().is_some_and(|k| {
                let other = hosts.iter().find(|h| **h != k.active_host).unwrap().clone();
                k.standby_hosts == BTreeSet::from([other])
            });
            if listed {
                break;
            }
            assert!(Instant::now() < deadline, "{word}: {key:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    for (streams, _) in &instances {
        assert!(streams.close(Duration::from_secs(10)));
    }
    // Closed: the local state can go; the instance keeps its process id.
    instances[0].0.clean_up().unwrap();
    let left: Vec<String> = std::fs::read_dir(dirs[0].path().join(&app))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left, ["kafka-streams-process-metadata"]);
}
