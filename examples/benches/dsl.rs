//! DSL benchmark (issue #3): the DSL word count of 1M words through the test driver against a
//! hand-written loop doing the same work (lower-case, split on `\W+`, count in a `HashMap`,
//! serialize every count update), in the same run; and the cost of the record cache there (the
//! same topology with `caching: false`). `cargo bench -p examples --bench dsl`; figures go to
//! docs/BENCHMARKS.md.
//!
//! Timing is the best of several rounds of each side, interleaved, so both see the same machine.

mod common;
use common::best_of;

use examples::line_split::words;
use examples::word_count::WordCount;
use std::collections::{HashMap, VecDeque};
use std::time::Duration;
use streams_runtime::prelude::*;

topology! {
    /// The example's word count with an in-memory, unlogged store: the work the hand loop does,
    /// plus the repartition topic the key change requires.
    struct WordCountInMemory {
        stream lines { topic: "lines", key: Option<String>, value: String }
        lines
            .flat_map_values(|line| words(&line.to_lowercase()).map(str::to_owned).collect::<Vec<_>>())
            .group_by(|_, word| word.clone())
            .count(store: "counts", persistent: false, logging: false)
            .to_stream()
            .to("counts-out", key_serde: StringSerde, value_serde: OptionSerde<LongSerde>);
    }
}

topology! {
    /// [`WordCountInMemory`] without the record cache: every update forwarded as it is made.
    struct WordCountUncached {
        stream lines { topic: "lines", key: Option<String>, value: String }
        lines
            .flat_map_values(|line| words(&line.to_lowercase()).map(str::to_owned).collect::<Vec<_>>())
            .group_by(|_, word| word.clone())
            .count(store: "counts", persistent: false, logging: false, caching: false)
            .to_stream()
            .to("counts-out", key_serde: StringSerde, value_serde: OptionSerde<LongSerde>);
    }
}

/// 1M words: 100k lines of 10 words from a vocabulary of 10k, mixed case and punctuation.
fn lines(words: usize) -> Vec<Vec<u8>> {
    (0..words / 10)
        .map(|l| {
            (0..10)
                .map(|w| {
                    let n = (l * 7 + w * 13) % 10_000;
                    if w % 3 == 0 {
                        format!("Word{n},")
                    } else {
                        format!("word{n}")
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
                .into_bytes()
        })
        .collect()
}

fn dsl_in_memory(lines: &[Vec<u8>]) -> usize {
    let driver = test_driver(&WordCountInMemory).unwrap();
    let mut input = driver.input_topic(WordCountInMemory::source_lines());
    for (i, line) in lines.iter().enumerate() {
        input.pipe_raw(None, Some(line), i as i64).unwrap();
    }
    driver.output_topic_as::<String, Option<i64>>("counts-out").queue_size()
}

fn dsl_uncached(lines: &[Vec<u8>]) -> usize {
    let driver = test_driver(&WordCountUncached).unwrap();
    let mut input = driver.input_topic(WordCountUncached::source_lines());
    for (i, line) in lines.iter().enumerate() {
        input.pipe_raw(None, Some(line), i as i64).unwrap();
    }
    driver.output_topic_as::<String, Option<i64>>("counts-out").queue_size()
}

fn dsl_example(lines: &[Vec<u8>]) -> usize {
    let driver = test_driver(&WordCount).unwrap();
    let mut input = driver.input_topic(WordCount::source_lines());
    for (i, line) in lines.iter().enumerate() {
        input.pipe_raw(None, Some(line), i as i64).unwrap();
    }
    driver
        .output_topic_as::<String, Option<i64>>("streams-wordcount-output")
        .queue_size()
}

fn hand(lines: &[Vec<u8>]) -> usize {
    let mut counts: HashMap<String, i64> = HashMap::new();
    let mut out: VecDeque<(Vec<u8>, Vec<u8>)> = VecDeque::new();
    for line in lines {
        let line = std::str::from_utf8(line).unwrap().to_lowercase();
        for word in words(&line) {
            let count = counts.entry(word.to_owned()).or_insert(0);
            *count += 1;
            out.push_back((word.as_bytes().to_vec(), count.to_be_bytes().to_vec()));
        }
    }
    out.len()
}

/// A word through the repartition topic, as key and value (both the word): written as bytes
/// into `topic`, read back as two `String`s; the key is returned.
#[inline]
fn through_repartition_topic(topic: &mut Vec<u8>, word: &str) -> String {
    topic.clear();
    topic.extend_from_slice(word.as_bytes());
    topic.extend_from_slice(word.as_bytes());
    let (k, v) = topic.split_at(word.len());
    let key = std::str::from_utf8(k).unwrap().to_owned();
    let _value = std::str::from_utf8(v).unwrap().to_owned();
    key
}

/// The hand loop plus the serde work the DSL's repartition topic costs (as Kafka Streams
/// semantics require: `group_by` changes the key, so each word is written to the repartition
/// topic as key and value bytes and read back as two `String`s before it is counted).
fn hand_with_repartition_serde(lines: &[Vec<u8>]) -> usize {
    let mut counts: HashMap<String, i64> = HashMap::new();
    let mut out: VecDeque<(Vec<u8>, Vec<u8>)> = VecDeque::new();
    let mut topic: Vec<u8> = Vec::new();
    for line in lines {
        let line = std::str::from_utf8(line).unwrap().to_lowercase();
        for word in words(&line) {
            let key = through_repartition_topic(&mut topic, word);
            let count = counts.entry(key).or_insert(0);
            *count += 1;
            out.push_back((word.as_bytes().to_vec(), count.to_be_bytes().to_vec()));
        }
    }
    out.len()
}

/// The hand loop doing all of the serde work Kafka Streams' word count does: the repartition
/// topic's (as [`hand_with_repartition_serde`]) and the store's. Java's in-memory store, as
/// ours, keeps serialized keys and values, and `count`'s store is timestamped: each update
/// reads the stored bytes (timestamp, then count), decodes the count, and writes both back.
fn hand_with_all_serde(lines: &[Vec<u8>]) -> usize {
    let mut store: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    let mut out: VecDeque<(Vec<u8>, Vec<u8>)> = VecDeque::new();
    let mut topic: Vec<u8> = Vec::new();
    for (timestamp, line) in lines.iter().enumerate() {
        let timestamp = timestamp as i64;
        let line = std::str::from_utf8(line).unwrap().to_lowercase();
        for word in words(&line) {
            let key = through_repartition_topic(&mut topic, word);
            let stored = store.entry(key.as_bytes().to_vec()).or_default();
            let count = match stored.get(8..16) {
                Some(bytes) => i64::from_be_bytes(bytes.try_into().unwrap()) + 1,
                None => 1,
            };
            stored.clear();
            stored.extend_from_slice(&timestamp.to_be_bytes());
            stored.extend_from_slice(&count.to_be_bytes());
            out.push_back((key.into_bytes(), count.to_be_bytes().to_vec()));
        }
    }
    out.len()
}

fn main() {
    if !common::measuring() {
        return;
    }
    let input = lines(1_000_000);
    // `DSL_BENCH_PROFILE=ours|uncached|hand|hand-repartition|hand-all-serde` runs that side once (under callgrind).
    if let Ok(side) = std::env::var("DSL_BENCH_PROFILE") {
        let n = match side.as_str() {
            "ours" => dsl_in_memory(&input),
            "uncached" => dsl_uncached(&input),
            "hand" => hand(&input),
            "hand-repartition" => hand_with_repartition_serde(&input),
            "hand-all-serde" => hand_with_all_serde(&input),
            other => panic!("DSL_BENCH_PROFILE: unknown side {other}"),
        };
        println!("{side}: {n} records");
        return;
    }
    let rounds = 5;
    assert_eq!(dsl_in_memory(&input), 1_000_000);
    assert_eq!(dsl_uncached(&input), 1_000_000);
    assert_eq!(hand(&input), 1_000_000);
    assert_eq!(hand_with_repartition_serde(&input), 1_000_000);
    assert_eq!(hand_with_all_serde(&input), 1_000_000);
    let (mut ours, mut example, mut baseline) = (Duration::MAX, Duration::MAX, Duration::MAX);
    let (mut same_serde, mut all_serde, mut uncached) = (Duration::MAX, Duration::MAX, Duration::MAX);
    for _ in 0..rounds {
        ours = ours.min(best_of(1, || dsl_in_memory(&input)));
        uncached = uncached.min(best_of(1, || dsl_uncached(&input)));
        baseline = baseline.min(best_of(1, || hand(&input)));
        same_serde = same_serde.min(best_of(1, || hand_with_repartition_serde(&input)));
        all_serde = all_serde.min(best_of(1, || hand_with_all_serde(&input)));
    }
    // `DSL_BENCH_SKIP_EXAMPLE=1` leaves out the slow RocksDB variant (for profiling).
    if std::env::var_os("DSL_BENCH_SKIP_EXAMPLE").is_none() {
        for _ in 0..2 {
            example = example.min(best_of(1, || dsl_example(&input)));
        }
    }
    let rate = |d: Duration| 1_000_000.0 / d.as_secs_f64() / 1e6;
    println!(
        "DSL word count, 1M words, in-memory store: ours {:.0} ms ({:.2} M words/s), hand loop {:.0} ms ({:.2} M words/s): {:.2}x time (goal <= 1.5x)",
        ours.as_secs_f64() * 1e3,
        rate(ours),
        baseline.as_secs_f64() * 1e3,
        rate(baseline),
        ours.as_secs_f64() / baseline.as_secs_f64()
    );
    println!(
        "DSL word count vs the hand loop doing the repartition topic's serde work too: hand loop {:.0} ms ({:.2} M words/s): {:.2}x time",
        same_serde.as_secs_f64() * 1e3,
        rate(same_serde),
        ours.as_secs_f64() / same_serde.as_secs_f64()
    );
    println!(
        "DSL word count vs the hand loop doing all of Kafka Streams' serde work (repartition topic, the store's bytes): hand loop {:.0} ms ({:.2} M words/s): cached {:.2}x, caching: false {:.2}x time",
        all_serde.as_secs_f64() * 1e3,
        rate(all_serde),
        ours.as_secs_f64() / all_serde.as_secs_f64(),
        uncached.as_secs_f64() / all_serde.as_secs_f64()
    );
    println!(
        "DSL word count, 1M words, in-memory store, the record cache's cost in the driver (flushed after every record, as Java's driver does): cached {:.0} ms, caching: false {:.0} ms: {:.2}x time (the uncached one {:.2}x the hand loop)",
        ours.as_secs_f64() * 1e3,
        uncached.as_secs_f64() * 1e3,
        ours.as_secs_f64() / uncached.as_secs_f64(),
        uncached.as_secs_f64() / baseline.as_secs_f64()
    );
    if example != Duration::MAX {
        println!(
            "DSL word count, 1M words, the example as written (RocksDB store with changelog): {:.0} ms ({:.2} M words/s): {:.2}x the hand loop",
            example.as_secs_f64() * 1e3,
            rate(example),
            example.as_secs_f64() / baseline.as_secs_f64()
        );
    }
}
