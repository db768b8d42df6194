//! Java Kafka Streams 4.1.1 and ours replace each other on a running application, on the real
//! broker: the reference's word count (`examples/java`, `streamsrs.WordCountApp`) counts a first
//! batch of lines; a second batch is sent and Java is closed at once, in the middle of it (what
//! it has not processed, and what it wrote to the repartition topic but did not count yet, is
//! left for its successor); ours starts with the same `application.id`, restores `counts-store`
//! from Java's changelog, continues from Java's committed offsets on the input and repartition
//! topics, and counts a third batch; the output holds every word's counts 1, 2, ..., n exactly
//! once. Then the other way round. Both ways under at_least_once and exactly_once_v2. Each side
//! has a state directory of its own (see docs/JAVA-COMPATIBILITY.md).

mod support;

use examples::process::{self, ChildApp};
use examples::word_count_topology;
use std::collections::BTreeMap;
use std::time::Duration;
use streams_runtime::config::StreamsConfig;
use streams_runtime::kafka::KafkaStreams;
use streams_runtime::prelude::*;
use streams_runtime::topology::Topology;
use support::{RawRecord, Read, app_id, await_running, counted_once, kafka, word_counts};

const PARTITIONS: i32 = 2;
/// Lines of the first and of the third batch; the second, in flight at the switch, has twice as many.
const LINES: usize = 150;

/// The three batches of a test: counted before the switch, in flight at it, sent after it.
fn batches(seed: u64) -> [Vec<String>; 3] {
    [lines(seed, LINES), lines(seed + 1, 2 * LINES), lines(seed + 2, LINES)]
}

/// Every word's expected count over `batches`.
fn all_counts(batches: &[Vec<String>]) -> BTreeMap<String, i64> {
    word_counts(batches.iter().flatten())
}

/// Starts the Java word count as its own process and waits until it runs.
fn start_java(app: &str, topics: (&str, &str), state_dir: &std::path::Path, guarantee: &str) -> ChildApp {
    let (input, output) = topics;
    ChildApp::start(
        process::java("streamsrs.WordCountApp")
            .args(["wordcount", &kafka().bootstrap(), app, input, output])
            .arg(state_dir)
            .args([guarantee, "100", "1"]),
    )
}

fn config(app: &str, state_dir: &std::path::Path, guarantee: &str) -> StreamsConfig {
    let bootstrap = kafka().bootstrap();
    let state_dir = state_dir.display().to_string();
    StreamsConfig::from_properties([
        ("application.id", app),
        ("bootstrap.servers", bootstrap.as_str()),
        ("commit.interval.ms", "100"),
        ("state.dir", state_dir.as_str()),
        ("processing.guarantee", guarantee),
        // Every update is emitted (a zero record cache flushes each write at once, as Java does
        // with `statestore.cache.max.bytes=0`): the tests know how many to expect.
        ("statestore.cache.max.bytes", "0"),
    ])
    .unwrap()
}

/// How the output is read under `guarantee`: only committed transactions under exactly-once.
fn isolation(guarantee: &str) -> &'static str {
    if guarantee == "at_least_once" {
        "read_uncommitted"
    } else {
        "read_committed"
    }
}

/// Seeded lines of words over a small vocabulary (words repeat across both halves).
fn lines(seed: u64, count: usize) -> Vec<String> {
    const WORDS: [&str; 12] = [
        "kafka", "streams", "rust", "java", "topic", "table", "join", "window", "state", "store", "commit", "offset",
    ];
    let mut x = seed;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..count)
        .map(|_| {
            let n = 1 + next() % 6;
            (0..n)
                .map(|_| WORDS[(next() % WORDS.len() as u64) as usize])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn send(topic: &str, lines: &[String]) {
    let records: Vec<RawRecord<'_>> = lines.iter().map(|l| (None, Some(l.as_bytes()))).collect();
    kafka().send(topic, None, &records);
}

/// Every word's count updates in the output, in order.
fn updates(records: &[Read]) -> BTreeMap<String, Vec<i64>> {
    let mut updates: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for r in records {
        updates.entry(r.key_str()).or_default().push(r.long());
    }
    updates
}

/// Reads `output` until every word's latest count is as `expected` and nothing more comes for a
/// second; each word's updates.
fn await_updates(output: &str, guarantee: &str, expected: &BTreeMap<String, i64>) -> BTreeMap<String, Vec<i64>> {
    let records = kafka().read(output, isolation(guarantee), Duration::from_secs(1), |r| {
        updates(r)
            .iter()
            .map(|(w, u)| (w.clone(), *u.last().unwrap()))
            .collect::<BTreeMap<_, _>>()
            == *expected
    });
    updates(&records)
}

/// Java counts the first batch and is closed in the middle of the second; ours takes over and
/// counts the rest: every word counted 1, 2, .., n exactly once.
fn java_then_ours<T: Topology + Clone + Send + 'static>(topology: T, topics: (&str, &str), guarantee: &str, seed: u64) {
    let app = app_id(&format!("dropin-java-then-ours-{guarantee}"));
    let (input, output) = topics;
    kafka().create_topics(&[input, output], PARTITIONS);
    let [first, in_flight, after] = batches(seed);

    let java_state = tempfile::tempdir().unwrap();
    let java = start_java(&app, topics, java_state.path(), guarantee);
    send(input, &first);
    let counted = await_updates(output, guarantee, &word_counts(&first));
    assert_eq!(
        counted,
        counted_once(&word_counts(&first)),
        "Java counted the first batch"
    );
    send(input, &in_flight);
    java.stop();

    let our_state = tempfile::tempdir().unwrap();
    let mut ours = KafkaStreams::new(topology, config(&app, our_state.path(), guarantee)).unwrap();
    ours.start().unwrap();
    await_running(&ours);
    send(input, &after);
    let all = all_counts(&[first, in_flight, after]);
    assert_eq!(
        await_updates(output, guarantee, &all),
        counted_once(&all),
        "ours continued Java's counts: each word counted 1, 2, .., n exactly once"
    );
    assert!(ours.close(Duration::from_secs(10)));
    assert!(ours.take_failure().is_none());
}

/// The other way round: ours first, Java second.
fn ours_then_java<T: Topology + Clone + Send + 'static>(topology: T, topics: (&str, &str), guarantee: &str, seed: u64) {
    let app = app_id(&format!("dropin-ours-then-java-{guarantee}"));
    let (input, output) = topics;
    kafka().create_topics(&[input, output], PARTITIONS);
    let [first, in_flight, after] = batches(seed);

    let our_state = tempfile::tempdir().unwrap();
    let mut ours = KafkaStreams::new(topology, config(&app, our_state.path(), guarantee)).unwrap();
    ours.start().unwrap();
    await_running(&ours);
    send(input, &first);
    let counted = await_updates(output, guarantee, &word_counts(&first));
    assert_eq!(
        counted,
        counted_once(&word_counts(&first)),
        "ours counted the first batch"
    );
    send(input, &in_flight);
    assert!(ours.close(Duration::from_secs(10)));
    assert!(ours.take_failure().is_none());

    let java_state = tempfile::tempdir().unwrap();
    let java = start_java(&app, topics, java_state.path(), guarantee);
    send(input, &after);
    let all = all_counts(&[first, in_flight, after]);
    assert_eq!(
        await_updates(output, guarantee, &all),
        counted_once(&all),
        "Java continued our counts: each word counted 1, 2, .., n exactly once"
    );
    java.stop();
}

word_count_topology!(struct JavaThenOursAlo { input: "dropin-jr-alo-in", output: "dropin-jr-alo-out" });

#[test]
fn ours_takes_over_from_java_under_at_least_once() {
    java_then_ours(
        JavaThenOursAlo,
        ("dropin-jr-alo-in", "dropin-jr-alo-out"),
        "at_least_once",
        11,
    );
}

word_count_topology!(struct JavaThenOursEos { input: "dropin-jr-eos-in", output: "dropin-jr-eos-out" });

#[test]
fn ours_takes_over_from_java_under_exactly_once() {
    java_then_ours(
        JavaThenOursEos,
        ("dropin-jr-eos-in", "dropin-jr-eos-out"),
        "exactly_once_v2",
        31,
    );
}

word_count_topology!(struct OursThenJavaAlo { input: "dropin-rj-alo-in", output: "dropin-rj-alo-out" });

#[test]
fn java_takes_over_from_ours_under_at_least_once() {
    ours_then_java(
        OursThenJavaAlo,
        ("dropin-rj-alo-in", "dropin-rj-alo-out"),
        "at_least_once",
        21,
    );
}

word_count_topology!(struct OursThenJavaEos { input: "dropin-rj-eos-in", output: "dropin-rj-eos-out" });

#[test]
fn java_takes_over_from_ours_under_exactly_once() {
    ours_then_java(
        OursThenJavaEos,
        ("dropin-rj-eos-in", "dropin-rj-eos-out"),
        "exactly_once_v2",
        41,
    );
}
