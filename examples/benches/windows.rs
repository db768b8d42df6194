//! Windowing benchmark (issue #13): a tumbling-window count of 1M records over 10k keys with
//! 1-minute windows through the test driver, against a hand-written loop doing the same work
//! (deserialize the key, count in a `HashMap` keyed by (key, window start), serialize every
//! update's windowed key and count), in the same run; then hopping windows (size 5 × advance).
//! `cargo bench -p examples --bench windows`; figures go to docs/BENCHMARKS.md.
//!
//! Timing is the best of several rounds of each side, interleaved, so both see the same machine.

mod common;
use common::best_of;

use std::collections::{HashMap, VecDeque};
use std::time::Duration;
use streams_runtime::prelude::*;

const RECORDS: usize = 1_000_000;
const KEYS: usize = 10_000;
const MINUTE: i64 = 60_000;

topology! {
    /// Counts per key in 1-minute tumbling windows, in an in-memory, unlogged window store.
    struct Tumbling {
        stream events { topic: "events", key: String, value: String }
        events
            .group_by_key()
            .windowed_by(tumbling(Duration::from_secs(60)))
            .count(store: "counts", persistent: false, logging: false)
            .to_stream()
            .to("counts-out");
    }
}

topology! {
    /// Counts per key in 5-minute windows advancing by 1 minute.
    struct Hopping {
        stream events { topic: "events", key: String, value: String }
        events
            .group_by_key()
            .windowed_by(hopping(Duration::from_secs(300), Duration::from_secs(60)))
            .count(store: "counts", persistent: false, logging: false)
            .to_stream()
            .to("counts-out");
    }
}

/// 1M records over 10k keys, 100 records a second of event time (so 6,000 a window).
fn records() -> Vec<(Vec<u8>, i64)> {
    (0..RECORDS)
        .map(|i| {
            let key = format!("user{}", (i * 7919) % KEYS);
            (key.into_bytes(), (i as i64) * 10)
        })
        .collect()
}

fn driven<T: Topology>(
    topology: &T,
    source: streams_runtime::topology::SourceRef<String, String, StringSerde, StringSerde>,
    input: &[(Vec<u8>, i64)],
) -> usize {
    let driver = test_driver(topology).unwrap();
    let mut topic = driver.input_topic(source);
    for (key, ts) in input {
        topic.pipe_raw(Some(key), Some(b"view"), *ts).unwrap();
    }
    driver
        .output_topic_named::<Windowed<String>, Option<i64>, TimeWindowedSerde<StringSerde>, OptionSerde<LongSerde>>(
            "counts-out",
        )
        .queue_size()
}

/// The hand-written windowed count: `windows` window starts per record (1 for tumbling).
fn hand(input: &[(Vec<u8>, i64)], size: i64, advance: i64) -> usize {
    let mut counts: HashMap<(String, i64), i64> = HashMap::new();
    let mut out: VecDeque<(Vec<u8>, Vec<u8>)> = VecDeque::new();
    for (key, ts) in input {
        let key = std::str::from_utf8(key).unwrap().to_owned();
        let _value = std::str::from_utf8(b"view").unwrap().to_owned();
        let mut start = ((ts - size + advance).max(0) / advance) * advance;
        while start <= *ts {
            let count = counts.entry((key.clone(), start)).or_insert(0);
            *count += 1;
            let mut windowed = key.as_bytes().to_vec();
            windowed.extend_from_slice(&start.to_be_bytes());
            out.push_back((windowed, count.to_be_bytes().to_vec()));
            start += advance;
        }
    }
    out.len()
}

fn main() {
    if !common::measuring() {
        return;
    }
    let rounds = 3;
    let input = records();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let rate = |d: Duration| RECORDS as f64 / d.as_secs_f64() / 1e6;

    assert_eq!(driven(&Tumbling, Tumbling::source_events(), &input), RECORDS);
    assert_eq!(hand(&input, MINUTE, MINUTE), RECORDS);
    let (mut ours, mut baseline) = (Duration::MAX, Duration::MAX);
    for _ in 0..rounds {
        ours = ours.min(best_of(1, || driven(&Tumbling, Tumbling::source_events(), &input)));
        baseline = baseline.min(best_of(1, || hand(&input, MINUTE, MINUTE)));
    }
    println!(
        "Tumbling 1-minute count, 1M records, 10k keys: ours {:.0} ms ({:.2} M rec/s), hand loop {:.0} ms ({:.2} M rec/s): {:.2}x time (goal <= 2x)",
        ms(ours),
        rate(ours),
        ms(baseline),
        rate(baseline),
        ours.as_secs_f64() / baseline.as_secs_f64()
    );

    let updates = 5 * RECORDS - 4 * 6_000 - 3 * 6_000 - 2 * 6_000 - 6_000;
    assert_eq!(hand(&input, 5 * MINUTE, MINUTE), updates);
    assert_eq!(driven(&Hopping, Hopping::source_events(), &input), updates);
    let (mut ours, mut baseline) = (Duration::MAX, Duration::MAX);
    for _ in 0..rounds {
        ours = ours.min(best_of(1, || driven(&Hopping, Hopping::source_events(), &input)));
        baseline = baseline.min(best_of(1, || hand(&input, 5 * MINUTE, MINUTE)));
    }
    println!(
        "Hopping 5-minute windows advancing 1 minute, 1M records ({updates} window updates): ours {:.0} ms, hand loop {:.0} ms: {:.2}x time",
        ms(ours),
        ms(baseline),
        ours.as_secs_f64() / baseline.as_secs_f64()
    );
}
