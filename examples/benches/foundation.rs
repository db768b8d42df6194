//! Foundation benchmarks P1, P2 and P4 (issue #2), each against a hand-written baseline in the
//! same run. `cargo bench -p examples --bench foundation`; figures go to docs/BENCHMARKS.md.
//!
//! Timing is the best of several rounds of each side, interleaved, so both see the same machine.

mod common;
use common::best_of;

use std::collections::{HashMap, VecDeque};
use std::time::Duration;
use streams_runtime::prelude::*;

// ---------- P1: source -> map_values -> filter -> sink ----------

#[derive(Processor)]
#[processor(input = (String, String), output = (String, String))]
struct MapValues;

impl Processor for MapValues {
    fn process(
        &mut self,
        r: Record<String, String>,
        ctx: &mut impl ProcessorContext<String, String>,
    ) -> Result<(), ProcessingError> {
        let upper = r.value.to_uppercase();
        ctx.forward(r.with_value(upper))
    }
}

#[derive(Processor)]
#[processor(input = (String, String), output = (String, String))]
struct Filter;

impl Processor for Filter {
    fn process(
        &mut self,
        r: Record<String, String>,
        ctx: &mut impl ProcessorContext<String, String>,
    ) -> Result<(), ProcessingError> {
        if keep(&r.value) { ctx.forward(r) } else { Ok(()) }
    }
}

fn keep(value: &str) -> bool {
    !value.ends_with('7')
}

topology! {
    struct MapFilter {
        source input { topic: "in", key: String, value: String }
        processor map: MapValues { parents: [input] }
        processor filter: Filter { parents: [map] }
        sink output { topic: "out", parents: [filter] }
    }
}

fn p1_inputs(n: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..n)
        .map(|i| {
            (
                format!("key-{}", i % 1000).into_bytes(),
                format!("value-{i}").into_bytes(),
            )
        })
        .collect()
}

fn p1_driver(inputs: &[(Vec<u8>, Vec<u8>)]) -> usize {
    let driver = test_driver(&MapFilter).unwrap();
    let mut input = driver.input_topic(MapFilter::source_input());
    for (i, (k, v)) in inputs.iter().enumerate() {
        input.pipe_raw(Some(k), Some(v), i as i64).unwrap();
    }
    driver.output_topic(MapFilter::sink_output()).queue_size()
}

fn p1_hand(inputs: &[(Vec<u8>, Vec<u8>)]) -> usize {
    let mut out: VecDeque<(Vec<u8>, Vec<u8>)> = VecDeque::new();
    for (k, v) in inputs {
        let key = std::str::from_utf8(k).unwrap().to_owned();
        let value = std::str::from_utf8(v).unwrap().to_owned();
        let value = value.to_uppercase();
        if keep(&value) {
            out.push_back((key.into_bytes(), value.into_bytes()));
        }
    }
    out.len()
}

// ---------- P2: Processor API word count with the in-memory store ----------

#[derive(Processor)]
#[processor(input = (String, String), output = (String, i64))]
struct Count {
    #[store]
    counts: KeyValueStore<String, i64>,
}

impl Processor for Count {
    fn process(
        &mut self,
        r: Record<String, String>,
        ctx: &mut impl ProcessorContext<String, i64>,
    ) -> Result<(), ProcessingError> {
        for word in r.value.split(' ') {
            let word = word.to_owned();
            let n = self.counts.get(&word)?.unwrap_or(0) + 1;
            self.counts.put(&word, &n)?;
            ctx.forward(Record::new(word, n, r.timestamp))?;
        }
        Ok(())
    }
}

topology! {
    struct WordCountBench {
        source lines { topic: "lines", key: String, value: String }
        processor count: Count { parents: [lines] }
        sink counts_out { topic: "counts", parents: [count] }
        store counts { key: String, value: i64, persistent: false, logging: false }
    }
}

fn p2_lines(words: usize) -> Vec<Vec<u8>> {
    (0..words / 10)
        .map(|l| {
            (0..10)
                .map(|w| format!("w{}", (l * 7 + w * 13) % 10_000))
                .collect::<Vec<_>>()
                .join(" ")
                .into_bytes()
        })
        .collect()
}

fn p2_driver(lines: &[Vec<u8>]) -> usize {
    let driver = test_driver(&WordCountBench).unwrap();
    let mut input = driver.input_topic(WordCountBench::source_lines());
    for (i, line) in lines.iter().enumerate() {
        input.pipe_raw(Some(b"k"), Some(line), i as i64).unwrap();
    }
    driver.output_topic(WordCountBench::sink_counts_out()).queue_size()
}

fn p2_hand(lines: &[Vec<u8>]) -> usize {
    let mut counts: HashMap<String, i64> = HashMap::new();
    let mut out: VecDeque<(Vec<u8>, Vec<u8>)> = VecDeque::new();
    for line in lines {
        let line = std::str::from_utf8(line).unwrap().to_owned();
        for word in line.split(' ') {
            let n = counts.entry(word.to_owned()).or_insert(0);
            *n += 1;
            out.push_back((word.as_bytes().to_vec(), n.to_be_bytes().to_vec()));
        }
    }
    out.len()
}

// ---------- P4: RocksDB put + get through the store API vs the raw crate ----------
// Both sides open their database with the same options: the store's through its instance's
// settings (a shared block cache of the default size), the raw one by hand (`p4_raw_options`).

#[derive(Processor)]
#[processor(input = (String, String), output = (String, String))]
struct Holder {
    #[store]
    rocks: KeyValueStore<String, i64>,
}

impl Processor for Holder {
    fn process(
        &mut self,
        r: Record<String, String>,
        _: &mut impl ProcessorContext<String, String>,
    ) -> Result<(), ProcessingError> {
        self.rocks.put(&r.key, &1)?;
        Ok(())
    }
}

topology! {
    struct RocksBench {
        source input { topic: "in", key: String, value: String }
        processor hold: Holder { parents: [input] }
        sink output { topic: "out", parents: [hold] }
        store rocks { key: String, value: i64, persistent: true, logging: false }
    }
}

fn p4_keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("key-{:08}", (i * 7919) % n)).collect()
}

fn p4_store(keys: &[String]) -> i64 {
    let driver = test_driver(&RocksBench).unwrap();
    let store = driver.store(RocksBench::store_rocks());
    for (i, k) in keys.iter().enumerate() {
        store.put(k, &(i as i64)).unwrap();
    }
    let mut sum = 0;
    for k in keys {
        sum += store.get(k).unwrap().unwrap();
    }
    sum
}

/// The options the store opens its database with (Java's `RocksDBStore` defaults and a block
/// cache of the default size with a bloom filter; `state/rocks_settings.rs`), set by hand.
fn p4_raw_options() -> rocksdb::Options {
    let mut table = rocksdb::BlockBasedOptions::default();
    table.set_block_cache(&rocksdb::Cache::new_lru_cache(
        streams_runtime::config::DEFAULT_ROCKSDB_BLOCK_CACHE_BYTES,
    ));
    table.set_block_size(4 * 1024);
    table.set_bloom_filter(10.0, false);
    let mut options = rocksdb::Options::default();
    options.set_write_buffer_size(16 * 1024 * 1024);
    options.set_compression_type(rocksdb::DBCompressionType::None);
    options.set_compaction_style(rocksdb::DBCompactionStyle::Universal);
    options.set_max_write_buffer_number(3);
    options.create_if_missing(true);
    options.set_log_level(rocksdb::LogLevel::Error);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    options.increase_parallelism(cores.max(2) as i32);
    options.set_block_based_table_factory(&table);
    options
}

fn p4_raw(keys: &[String]) -> i64 {
    let dir = tempfile::tempdir().unwrap();
    let db = rocksdb::DB::open(&p4_raw_options(), dir.path()).unwrap();
    let mut write = rocksdb::WriteOptions::default();
    write.disable_wal(true);
    for (i, k) in keys.iter().enumerate() {
        db.put_opt(k.as_bytes(), (i as i64).to_be_bytes(), &write).unwrap();
    }
    let mut sum = 0;
    for k in keys {
        let v = db.get_pinned(k.as_bytes()).unwrap().unwrap();
        sum += i64::from_be_bytes(v.as_ref().try_into().unwrap());
    }
    sum
}

fn report(name: &str, records: usize, ours: Duration, baseline: Duration, goal: &str) {
    let rate = |d: Duration| records as f64 / d.as_secs_f64() / 1e6;
    println!(
        "{name}: ours {:.1} ms ({:.2} M/s), baseline {:.1} ms ({:.2} M/s), time ratio {:.2} ({goal})",
        ours.as_secs_f64() * 1e3,
        rate(ours),
        baseline.as_secs_f64() * 1e3,
        rate(baseline),
        ours.as_secs_f64() / baseline.as_secs_f64()
    );
}

fn main() {
    if !common::measuring() {
        return;
    }
    // `FOUNDATION_PROFILE=p1|p1-hand|p2|p2-hand` runs that side once (under callgrind).
    if let Ok(side) = std::env::var("FOUNDATION_PROFILE") {
        let n = match side.as_str() {
            "p1" => p1_driver(&p1_inputs(1_000_000)),
            "p1-hand" => p1_hand(&p1_inputs(1_000_000)),
            "p2" => p2_driver(&p2_lines(1_000_000)),
            "p2-hand" => p2_hand(&p2_lines(1_000_000)),
            other => panic!("FOUNDATION_PROFILE: unknown side {other}"),
        };
        println!("{side}: {n} records");
        return;
    }
    let rounds = 5;
    let inputs = p1_inputs(1_000_000);
    assert_eq!(p1_driver(&inputs), p1_hand(&inputs));
    let (mut ours, mut base) = (Duration::MAX, Duration::MAX);
    for _ in 0..rounds {
        ours = ours.min(best_of(1, || p1_driver(&inputs)));
        base = base.min(best_of(1, || p1_hand(&inputs)));
    }
    report(
        "P1 map_values+filter, 1M records, driver vs hand loop",
        inputs.len(),
        ours,
        base,
        "goal <= 1.3",
    );

    let lines = p2_lines(1_000_000);
    assert_eq!(p2_driver(&lines), p2_hand(&lines));
    let (mut ours, mut base) = (Duration::MAX, Duration::MAX);
    for _ in 0..rounds {
        ours = ours.min(best_of(1, || p2_driver(&lines)));
        base = base.min(best_of(1, || p2_hand(&lines)));
    }
    report(
        "P2 word count, 1M words, in-memory store vs HashMap",
        1_000_000,
        ours,
        base,
        "goal <= 1.5",
    );

    let keys = p4_keys(200_000);
    assert_eq!(p4_store(&keys), p4_raw(&keys));
    let (mut ours, mut base) = (Duration::MAX, Duration::MAX);
    for _ in 0..rounds {
        ours = ours.min(best_of(1, || p4_store(&keys)));
        base = base.min(best_of(1, || p4_raw(&keys)));
    }
    report(
        "P4 RocksDB 200k put + 200k get, store API vs raw rocksdb",
        2 * keys.len(),
        ours,
        base,
        "goal: throughput >= 0.85x, i.e. time ratio <= 1.18",
    );
}
