//! Word count instances as child processes on the real Kafka broker (`support::kafka`), killed
//! with SIGKILL mid-stream while the others take their tasks over.
//!
//! - At-least-once, one of two killed: nothing is lost; redone work shows up as count updates
//!   beyond one per word, which the test counts and prints.
//! - Exactly-once, one of two killed: every word counted exactly once, and a read_committed
//!   reader sees exactly one update per input word.
//! - Exactly-once, a seeded crash loop: `CRASHES` kills of one of three instances at random
//!   moments while input flows, each restarted on its state directory; in the end every word's
//!   committed updates are exactly 1, 2, ..., n (ignored until it passes reliably).

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use support::{RawRecord, app_id, counted_once, kafka, word_counts};

const PARTITIONS: i32 = 2;

/// A child process running one instance; killed (SIGKILL) when dropped if still running.
struct Instance(Child);

impl Instance {
    /// Starts an instance of application `app` over the topics `topics` (see
    /// `word-count-instance`) and waits until it has its first assignment.
    fn start(state: &std::path::Path, guarantee: &str, app: &str, topics: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_word-count-instance"))
            .args([
                &kafka().bootstrap(),
                &state.display().to_string(),
                guarantee,
                app,
                topics,
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        // The first assignment's restorations come first.
        let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
        assert!(lines.any(|l| l == "running"), "the instance stopped before it ran");
        Instance(child)
    }

    fn kill(&mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Writes `lines` (null keys) to `topic`.
fn write(topic: &str, lines: &[String]) {
    let records: Vec<RawRecord<'_>> = lines.iter().map(|l| (None, Some(l.as_bytes()))).collect();
    kafka().send(topic, None, &records);
}

/// Reads `output` (read_committed) until every word's latest count is at least `expected` and
/// nothing new came for two seconds: every word's updates, in order. Gives up after three
/// minutes (after a SIGKILL, the victim's open transaction holds read_committed readers back
/// until the broker aborts it, 10 s on).
fn updates(output: &str, expected: &BTreeMap<String, i64>) -> BTreeMap<String, Vec<i64>> {
    kafka().count_updates(Duration::from_secs(180), output, "read_committed", expected)
}

/// Runs the scenario on `topics`: A and B split the partitions and count 40 lines; 40 more lines
/// are written and A is killed while it processes them; B takes A's tasks over. Returns the
/// expected counts and every word's updates.
fn kill_one_of_two(guarantee: &str, topics: &str) -> (BTreeMap<String, i64>, BTreeMap<String, Vec<i64>>) {
    let (input, output) = (format!("{topics}-in"), format!("{topics}-out"));
    kafka().create_topics(&[&input, &output], PARTITIONS);
    let app = app_id(topics);
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = Instance::start(dir_a.path(), guarantee, &app, topics);
    let _b = Instance::start(dir_b.path(), guarantee, &app, topics);
    let lines: Vec<String> = (0..80).map(|i| format!("w{} w{}", i % 10, (i * 3) % 10)).collect();
    let (first, second) = lines.split_at(40);
    write(&input, first);
    updates(&output, &word_counts(first));
    // Mid-stream: A is killed while it works on the second half (its last commit behind it).
    write(&input, second);
    std::thread::sleep(Duration::from_millis(30));
    a.kill();
    let expected = word_counts(&lines);
    let seen = updates(&output, &expected);
    (expected, seen)
}

#[test]
fn an_instance_killed_mid_stream_loses_nothing_under_at_least_once() {
    let (expected, seen) = kill_one_of_two("at_least_once", "crash-alo");
    let words: i64 = expected.values().sum();
    let mut redone = 0;
    for (word, n) in &expected {
        let updates = &seen[word];
        let last = *updates.last().unwrap();
        assert!(last >= *n, "{word}: counted {last} of {n}");
        // Every count from 1 to the last appears: nothing in between was lost.
        for c in 1..=last {
            assert!(updates.contains(&c), "{word}: update {c} missing from {updates:?}");
        }
        redone += last - n;
    }
    let total: usize = seen.values().map(Vec::len).sum();
    println!(
        "at-least-once, one of two instances killed: {total} count updates for {words} words, \
         {redone} words counted twice (work redone after the kill)"
    );
}

#[test]
fn an_instance_killed_mid_stream_counts_every_word_once_under_exactly_once() {
    let (expected, seen) = kill_one_of_two("exactly_once_v2", "crash-eos");
    let words: i64 = expected.values().sum();
    assert_eq!(seen, counted_once(&expected), "one committed update per word, in order");
    println!("exactly-once, one of two instances killed: {words} words, {words} committed updates");
}

/// The seeded kills of the crash loop.
const CRASHES: usize = 10;
/// Its seed (SplitMix64).
const SEED: u64 = 0x5eed_c0de;

/// SplitMix64: the crash loop's deterministic choices.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

// Ignored from issue 11 to 2026-12-03 (2 failures in 5 runs: committed updates not readable in
// time). Since instances keep their process id, a restarted instance has its predecessor's
// transactional id and fences the open transaction at once instead of leaving it to the
// transaction timeout: 10 runs in a row passed, and it runs with the suite again.
#[test]
fn a_seeded_crash_loop_under_exactly_once_commits_every_update_exactly_once() {
    let topics = "crash-loop";
    let (input, output) = (format!("{topics}-in"), format!("{topics}-out"));
    kafka().create_topics(&[&input, &output], PARTITIONS);
    let app = app_id(topics);
    let guarantee = "exactly_once_v2";
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut instances: Vec<Instance> = dirs
        .iter()
        .map(|d| Instance::start(d.path(), guarantee, &app, topics))
        .collect();

    // Input flows from its own thread, a line every 20 ms, until the kills are over.
    let line = |i: usize| format!("w{} w{} w{}", i % 13, (i * 7) % 17, (i * 3) % 11);
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (stop, written, input) = (Arc::clone(&stop), Arc::clone(&written), input.clone());
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                write(&input, &[line(i)]);
                i += 1;
                written.store(i, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let mut rng = SplitMix(SEED);
    let started = Instant::now();
    let mut kills = Vec::new();
    for _ in 0..CRASHES {
        std::thread::sleep(Duration::from_millis(300 + rng.below(2500)));
        let victim = rng.below(instances.len() as u64) as usize;
        instances[victim].kill();
        kills.push((victim, written.load(Ordering::Relaxed)));
        instances[victim] = Instance::start(dirs[victim].path(), guarantee, &app, topics);
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let lines: Vec<String> = (0..written.load(Ordering::Relaxed)).map(line).collect();
    let expected = word_counts(&lines);
    let seen = updates(&output, &expected);
    let words: i64 = expected.values().sum();
    println!(
        "crash loop (seed {SEED:#x}): {CRASHES} SIGKILLs of one of 3 instances (victim, lines written \
         by then): {kills:?}; {} lines, {words} words in {:.1} s",
        lines.len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        seen,
        counted_once(&expected),
        "every committed update exactly once, in order"
    );
    println!("crash loop result: every one of the {words} updates committed exactly once");
}
