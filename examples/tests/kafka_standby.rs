//! Standby replicas on the real Kafka broker (`support::kafka`): three word count instances as
//! child processes (`word-count-instance`), one killed with SIGKILL once the counts are in; the
//! two others take its tasks over. Without standbys each moved task restores its whole
//! changelog partition; with `num.standby.replicas = 1` the standby sits where the range
//! assignor moves the task, so the takeover restores only the tail: nothing, as the standby had
//! caught up.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{RawRecord, app_id, kafka, word_counts};

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
