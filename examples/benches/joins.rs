//! Join benchmark (issue #14), through the test driver:
//!
//! 1. A stream-table join: 100k table rows piped first, then 1M stream records that all find their
//!    row, against a hand-written loop doing the same serde work (deserialize the key and value,
//!    look the key up in a `HashMap<String, String>`, build the joined value, serialize the output
//!    into a queue), in the same run.
//! 2. A stream-stream inner join with 1-minute windows, 1M records a side, interleaved, increasing
//!    timestamps, keys from a pool so that every record finds three partners: records/s through
//!    the driver. Java's side is `examples/java/src/main/java/streamsrs/JoinBench.java`, which
//!    generates the same input (`bash scripts/java.sh run streamsrs.JoinBench`).
//!
//! `cargo bench -p examples --bench joins`; figures go to docs/BENCHMARKS.md.
//! `JOINS_BENCH_ONLY=table` or `JOINS_BENCH_ONLY=stream` runs one part; `JOINS_BENCH_ROUNDS=N`
//! sets the rounds (default 5 for the stream-table join, 3 for the stream-stream join);
//! `JOINS_BENCH_PROFILE=ours|hand|btree|pair|pair-rocks` runs one side once, untimed, for a
//! profiler.
//!
//! Timing is the best of several rounds of each side, interleaved, so both see the same machine.

mod common;
use common::best_of;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;
use streams_runtime::prelude::*;

/// Stream records of the stream-table join and records per side of the stream-stream join.
const RECORDS: usize = 1_000_000;
/// Rows of the table.
const ROWS: usize = 100_000;
/// Keys of the stream-stream join: with a record every 10 ms a side and a window of ±60 s
/// (±6,000 records), `left i` meets `right j` when `j ≡ i - 1000 (mod 4000)`, that is
/// `j ∈ {i - 5000, i - 1000, i + 3000}`: three partners each, none at a window's edge.
const POOL: usize = 4_000;
/// Event time between two records of a side (both sides share the timestamp of an index).
const STEP_MS: i64 = 10;

topology! {
    /// The stream-table join, the table in memory (the hand loop's `HashMap` is in memory too).
    struct Enrich {
        stream orders { topic: "orders", key: String, value: String }
        table customers { topic: "customers", key: String, value: String, store: "customers-store", persistent: false }
        orders.join(customers, |order, customer| format!("{order}/{customer}")).to("enriched");
    }
}

topology! {
    /// The same with the table in RocksDB (the default, as Java's).
    struct EnrichRocks {
        stream orders { topic: "orders", key: String, value: String }
        table customers { topic: "customers", key: String, value: String, store: "customers-store" }
        orders.join(customers, |order, customer| format!("{order}/{customer}")).to("enriched");
    }
}

topology! {
    /// The stream-stream inner join as Java builds it by default: RocksDB window stores with
    /// changelogs.
    struct Pair {
        stream left { topic: "left", key: String, value: String }
        stream right { topic: "right", key: String, value: String }
        left.join(right, |l, r| format!("{l}+{r}"), join_windows(1min)).to("paired");
    }
}

topology! {
    /// The same with in-memory, unlogged window stores.
    struct PairInMemory {
        stream left { topic: "left", key: String, value: String }
        stream right { topic: "right", key: String, value: String }
        left.join(right, |l, r| format!("{l}+{r}"), join_windows(1min), persistent: false, logging: false)
            .to("paired");
    }
}

/// A record's key and value bytes and its timestamp.
type Raw = (Vec<u8>, Vec<u8>, i64);
/// A stream-stream join's input record: `(is_left, key, value, timestamp)`.
type Tagged = (bool, Vec<u8>, Vec<u8>, i64);
type StringSource = streams_runtime::topology::SourceRef<String, String, StringSerde, StringSerde>;

/// The table: `customer{j}` → `name-{j}`, timestamps 0..100k.
fn table_rows() -> Vec<Raw> {
    (0..ROWS)
        .map(|j| {
            let key = format!("customer{j}").into_bytes();
            (key, format!("name-{j}").into_bytes(), j as i64)
        })
        .collect()
}

/// The stream: `order{i}` for customer `(i * 7919) % 100k` (every row is hit ten times).
fn stream_records() -> Vec<Raw> {
    (0..RECORDS)
        .map(|i| {
            let key = format!("customer{}", (i * 7919) % ROWS).into_bytes();
            (key, format!("order{i}").into_bytes(), (ROWS + i) as i64)
        })
        .collect()
}

fn enrich_driven<T: Topology>(
    topology: &T,
    orders: StringSource,
    customers: streams_runtime::topology::SourceRef<
        Option<String>,
        Option<String>,
        OptionSerde<StringSerde>,
        OptionSerde<StringSerde>,
    >,
    rows: &[Raw],
    records: &[Raw],
) -> usize {
    let driver = test_driver(topology).unwrap();
    let mut table = driver.input_topic(customers);
    for (key, value, ts) in rows {
        table.pipe_raw(Some(key), Some(value), *ts).unwrap();
    }
    let mut stream = driver.input_topic(orders);
    for (key, value, ts) in records {
        stream.pipe_raw(Some(key), Some(value), *ts).unwrap();
    }
    driver.output_topic_as::<String, String>("enriched").queue_size()
}

/// The hand-written stream-table join: the same deserialization, a `HashMap` table, the same
/// joined value, the output serialized into a queue.
fn enrich_hand(rows: &[Raw], records: &[Raw]) -> usize {
    let mut table: HashMap<String, String> = HashMap::new();
    for (key, value, _) in rows {
        let key = std::str::from_utf8(key).unwrap().to_owned();
        let value = std::str::from_utf8(value).unwrap().to_owned();
        table.insert(key, value);
    }
    let mut out: VecDeque<(Vec<u8>, Vec<u8>, i64)> = VecDeque::new();
    for (key, value, ts) in records {
        let key = std::str::from_utf8(key).unwrap().to_owned();
        let order = std::str::from_utf8(value).unwrap().to_owned();
        if let Some(customer) = table.get(&key) {
            let joined = format!("{order}/{customer}");
            out.push_back((key.into_bytes(), joined.into_bytes(), *ts));
        }
    }
    out.len()
}

/// The hand loop with the in-memory store's layout instead of the `HashMap`: a
/// `BTreeMap<Vec<u8>, Vec<u8>>` over serialized keys and values, the row deserialized per
/// lookup (information: what the store's choice costs).
fn enrich_hand_btree(rows: &[Raw], records: &[Raw]) -> usize {
    let mut table: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for (key, value, _) in rows {
        let key = std::str::from_utf8(key).unwrap().to_owned();
        let value = std::str::from_utf8(value).unwrap().to_owned();
        table.insert(key.into_bytes(), value.into_bytes());
    }
    let mut out: VecDeque<(Vec<u8>, Vec<u8>, i64)> = VecDeque::new();
    for (key, value, ts) in records {
        let key = std::str::from_utf8(key).unwrap().to_owned();
        let order = std::str::from_utf8(value).unwrap().to_owned();
        if let Some(row) = table.get(key.as_bytes()) {
            let customer = std::str::from_utf8(row).unwrap().to_owned();
            let joined = format!("{order}/{customer}");
            out.push_back((key.into_bytes(), joined.into_bytes(), *ts));
        }
    }
    out.len()
}

/// Both sides of the stream-stream join, interleaved (`left i`, then `right i`, both at
/// `i * 10 ms`).
fn pair_records() -> Vec<Tagged> {
    let mut out = Vec::with_capacity(2 * RECORDS);
    for i in 0..RECORDS {
        let ts = i as i64 * STEP_MS;
        let left = format!("k{}", (i * 7919) % POOL).into_bytes();
        let right = format!("k{}", ((i + 1000) * 7919) % POOL).into_bytes();
        out.push((true, left, format!("l{i}").into_bytes(), ts));
        out.push((false, right, format!("r{i}").into_bytes(), ts));
    }
    out
}

/// The inner join's output count: every left `i` meets the rights `j ≡ i - 1000 (mod 4000)`
/// within ±6,000 indexes.
fn pair_expected() -> usize {
    let window = 60_000 / STEP_MS;
    let n = RECORDS as i64;
    (0..n)
        .map(|i| {
            [-5000i64, -1000, 3000]
                .iter()
                .filter(|d| (0..n).contains(&(i + **d)) && d.abs() <= window)
                .count()
        })
        .sum()
}

fn pair_driven<T: Topology>(topology: &T, left: StringSource, right: StringSource, input: &[Tagged]) -> usize {
    let driver = test_driver(topology).unwrap();
    let mut left = driver.input_topic(left);
    let mut right = driver.input_topic(right);
    for (is_left, key, value, ts) in input {
        let topic = if *is_left { &mut left } else { &mut right };
        topic.pipe_raw(Some(key), Some(value), *ts).unwrap();
    }
    driver.output_topic_as::<String, String>("paired").queue_size()
}

/// The stream-table join through the driver, the table in memory.
fn enrich(rows: &[Raw], records: &[Raw]) -> usize {
    enrich_driven(
        &Enrich,
        Enrich::source_orders(),
        Enrich::source_customers(),
        rows,
        records,
    )
}

/// The stream-table join through the driver, the table in RocksDB.
fn enrich_rocks(rows: &[Raw], records: &[Raw]) -> usize {
    enrich_driven(
        &EnrichRocks,
        EnrichRocks::source_orders(),
        EnrichRocks::source_customers(),
        rows,
        records,
    )
}

/// The stream-stream join through the driver, in-memory unlogged stores.
fn pair_memory(input: &[Tagged]) -> usize {
    pair_driven(
        &PairInMemory,
        PairInMemory::source_left(),
        PairInMemory::source_right(),
        input,
    )
}

/// The stream-stream join through the driver, RocksDB stores with changelogs.
fn pair_rocks(input: &[Tagged]) -> usize {
    pair_driven(&Pair, Pair::source_left(), Pair::source_right(), input)
}

fn main() {
    if !common::measuring() {
        return;
    }
    let rounds = |default: usize| {
        std::env::var("JOINS_BENCH_ROUNDS")
            .ok()
            .map_or(default, |r| r.parse().expect("JOINS_BENCH_ROUNDS: a number"))
    };
    let only = std::env::var("JOINS_BENCH_ONLY").ok();
    let runs = |part: &str| only.as_deref().is_none_or(|o| o == part);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;

    // `JOINS_BENCH_PROFILE=ours|hand|btree|pair|pair-rocks`: one run of one side, untimed (for a
    // profiler).
    if let Ok(side) = std::env::var("JOINS_BENCH_PROFILE") {
        let (rows, records) = (table_rows(), stream_records());
        let n = match side.as_str() {
            "ours" => enrich(&rows, &records),
            "hand" => enrich_hand(&rows, &records),
            "btree" => enrich_hand_btree(&rows, &records),
            "pair" => pair_memory(&pair_records()),
            "pair-rocks" => pair_rocks(&pair_records()),
            other => panic!("JOINS_BENCH_PROFILE={other}: ours, hand, btree, pair or pair-rocks"),
        };
        println!("{side}: {n} output records");
        return;
    }

    if runs("table") {
        let (rows, records) = (table_rows(), stream_records());
        assert_eq!(enrich(&rows, &records), RECORDS);
        assert_eq!(enrich_hand(&rows, &records), RECORDS);
        assert_eq!(enrich_hand_btree(&rows, &records), RECORDS);
        let mut best = [Duration::MAX; 4];
        for _ in 0..rounds(5) {
            best[0] = best[0].min(best_of(1, || enrich(&rows, &records)));
            best[1] = best[1].min(best_of(1, || enrich_hand(&rows, &records)));
            best[2] = best[2].min(best_of(1, || enrich_hand_btree(&rows, &records)));
            best[3] = best[3].min(best_of(1, || enrich_rocks(&rows, &records)));
        }
        let [ours, baseline, btree, rocks] = best;
        let rate = |d: Duration| (ROWS + RECORDS) as f64 / d.as_secs_f64() / 1e6;
        let ratio = |d: Duration| d.as_secs_f64() / baseline.as_secs_f64();
        println!(
            "Stream-table join, 100k rows then 1M records, in-memory table: ours {:.0} ms ({:.2} M rec/s), hand loop {:.0} ms ({:.2} M rec/s): {:.2}x time (goal <= 1.5x)",
            ms(ours),
            rate(ours),
            ms(baseline),
            rate(baseline),
            ratio(ours)
        );
        println!(
            "Stream-table join, the hand loop over a BTreeMap of serialized keys and values (the in-memory store's layout): {:.0} ms ({:.2} M rec/s): {:.2}x the HashMap hand loop",
            ms(btree),
            rate(btree),
            ratio(btree)
        );
        println!(
            "Stream-table join, RocksDB table (default): ours {:.0} ms ({:.2} M rec/s): {:.2}x the hand loop",
            ms(rocks),
            rate(rocks),
            ratio(rocks)
        );
    }

    if runs("stream") {
        let input = pair_records();
        let expected = pair_expected();
        assert_eq!(pair_memory(&input), expected);
        let (mut memory, mut rocks) = (Duration::MAX, Duration::MAX);
        for _ in 0..rounds(3) {
            memory = memory.min(best_of(1, || assert_eq!(pair_memory(&input), expected)));
            rocks = rocks.min(best_of(1, || assert_eq!(pair_rocks(&input), expected)));
        }
        let rate = |d: Duration| (2 * RECORDS) as f64 / d.as_secs_f64() / 1e3;
        println!(
            "Stream-stream inner join, 1-minute windows, 2 x 1M records ({expected} joined): in-memory unlogged stores {:.0} ms ({:.0} k rec/s); RocksDB stores with changelogs (default) {:.0} ms ({:.0} k rec/s)",
            ms(memory),
            rate(memory),
            ms(rocks),
            rate(rocks),
        );
    }
}
