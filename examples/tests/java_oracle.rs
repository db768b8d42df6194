//! The differential oracle: every scenario of `examples/oracle/scenarios/` (plus seeded random
//! ones written to `target/oracle/random/`) runs through Java Kafka Streams 4.1.1's
//! `TopologyTestDriver` (`examples/java`, `streamsrs.Oracle`) and through ours, and the output
//! records (topic, key, value, timestamp) must be the same, record by record. Nobody writes an
//! expected output: Java produces it.
//!
//! Each topology here is the twin of the one of the same name in
//! `examples/java/src/main/java/streamsrs/Scenarios.java`: a change on one side needs the same
//! change on the other.

mod support;

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;
use streams_runtime::prelude::*;
use streams_runtime::topology::Topology;

/// The mock wall clock's start on both sides (`Oracle.INITIAL_WALL_CLOCK_MS`).
const INITIAL_WALL_CLOCK_MS: i64 = 1_000_000;

topology! {
    /// filter/map/flat-map chains, null keys and values, two sinks on one topic.
    struct Stateless {
        stream input { topic: "stateless-in", key: Option<String>, value: Option<String> }
        input
            .filter_not(|_, v| v.is_none())
            .map_values(|v| v.unwrap_or_default().to_uppercase())
            .flat_map_values(|v| v.split(' ').map(str::to_owned).collect::<Vec<_>>())
            .filter(|_, v| !v.is_empty())
            .select_key(|_, v| v[..1].to_owned())
            .map(|k, v| (k.clone(), format!("{k}:{v}")))
            .peek(|_, _| {})
            .to("stateless-words");
        input
            .filter(|k, _| k.is_none())
            .map_values(|v| v.unwrap_or_else(|| "null".to_owned()))
            .to("stateless-null-keys");
        input
            .map_values(|k, v| Some(format!("{}/{}", or_null(k.as_deref()), or_null(v.as_deref()))))
            .to("stateless-fanout");
        input
            .flat_map(|k, v| match v {
                Some(v) => vec![(Some(v.clone()), k.clone()), (k, Some(v))],
                None => Vec::new(),
            })
            .to("stateless-fanout");
        input
            .filter_not(|_, v| v.is_none())
            .flat_map_values(|k, v| [or_null(k.as_deref()).to_owned(), v.unwrap_or_default()])
            .to(|_, v| if v.len() % 2 == 0 { "stateless-even" } else { "stateless-odd" });
    }
}

/// Java's `String.valueOf` of a nullable string.
fn or_null(s: Option<&str>) -> &str {
    s.unwrap_or("null")
}

topology! {
    /// split with named branches and a default, merges, the order children are forwarded in.
    struct BranchMerge {
        stream input { topic: "branch-in", key: Option<String>, value: String }
        input.split(a: |_, v| v.starts_with('a'), b: |_, v| v.starts_with('b'), default: rest);
        a.merge(rest).map_values(|v| format!("m:{v}")).to("branch-merged");
        b.to("branch-b");
        input.split(long: |_, v| v.len() > 3);
        long.to("branch-long");
        let ones = input.map_values(|v| format!("1{v}"));
        let twos = input.filter(|_, v| v.len() % 2 == 0).map_values(|v| format!("2{v}"));
        ones.merge(twos).to("branch-order");
    }
}

/// A source table through filter, filter_not and map_values, tombstones included, with the
/// table's store cached (a tombstone for a row it never had is dropped) or not.
macro_rules! table_ops {
    ($name:ident, caching: $caching:literal) => {
        topology! {
            struct $name {
                table input { topic: "table-in", key: String, value: String, store: "table-in-store", caching: $caching }
                input.to_stream().to("table-changes");
                input.filter(|_, v| v.len() > 2).map_values(|v| v.to_uppercase()).to_stream().to("table-filtered");
                input.filter_not(|_, v| v.starts_with('x')).to_stream().to("table-filtered-not");
                input.map_values(|v| v.len() as i64).to_stream().to("table-lengths");
                input.map_values(|k, v| format!("{k}={v}")).filter(|_, v| v.len() > 4).to_stream().to("table-keyed");
            }
        }
    };
}

table_ops!(TableOps, caching: true);
table_ops!(TableOpsUncached, caching: false);

topology! {
    /// The record cache under a small budget (the scenarios set `statestore.cache.max.bytes`):
    /// the words of each record counted and concatenated per record key.
    struct CacheEviction {
        stream input { topic: "evict-in", key: Option<String>, value: String }
        let words = input.flat_map_values(|v| v.split(' ').map(str::to_owned).collect::<Vec<_>>());
        words.group_by_key().count(store: "evict-count-store").to_stream().to("evict-count");
        words
            .group_by_key()
            .reduce(|a, v| format!("{a},{v}"), store: "evict-concat-store")
            .to_stream()
            .to("evict-concat");
    }
}

topology! {
    /// Table re-grouping: count, reduce and aggregate with subtractors, rows moving between groups.
    struct TableAggregate {
        table users { topic: "users-in", key: String, value: String, store: "users-store" }
        users
            .group_by(|user, region| (region, user.clone()))
            .count(store: "region-counts-store")
            .to_stream()
            .to("region-counts");
        users
            .group_by(|user, region| (region, user.len() as i64))
            .reduce(|total, v| total + v, |total, v| total - v, store: "region-lengths-store")
            .to_stream()
            .to("region-lengths");
        users
            .group_by(|user, region| (region[..1].to_owned(), user.clone()))
            .aggregate(String::new, |_, v, agg| format!("{agg}+{v}"), |_, v, agg| format!("{agg}-{v}"), store: "initial-users-store")
            .to_stream()
            .to("initial-users");
    }
}

topology! {
    /// Stream count, reduce and aggregate, null keys and values, a key-changing group_by.
    struct StreamAggregate {
        stream events { topic: "events-in", key: Option<String>, value: Option<String> }
        events.group_by_key().count(store: "events-count-store").to_stream().to("events-count");
        events
            .group_by_key()
            .reduce(|agg, v| Some(format!("{},{}", agg.unwrap_or_default(), v.unwrap_or_default())), store: "events-reduce-store")
            .to_stream()
            .map_values(Option::flatten)
            .to("events-reduce");
        events
            .group_by_key()
            .aggregate(|| 0i64, |_, v, agg| agg + v.map_or(100, |v| v.len() as i64), store: "events-agg-store")
            .to_stream()
            .to("events-agg");
        events
            .group_by(|_, v| v.as_ref().map(|v| v[..1].to_owned()))
            .count(store: "events-by-initial-store")
            .to_stream()
            .to("events-by-initial");
    }
}

topology! {
    /// Explicit and implicit repartitions.
    struct Repartition {
        stream input { topic: "rp-in", key: Option<String>, value: Option<String> }
        input.select_key(|_, v| v.clone()).group_by_key().count(store: "rp-counts-store").to_stream().to("rp-counts");
        input
            .repartition(name: "rp")
            .map_values(|v| format!("{}!", or_null(v.as_deref())))
            .to("rp-out");
        input
            .map(|k, v| (v, k))
            .group_by_key()
            .reduce(|agg, v| Some(format!("{}{}", agg.unwrap_or_default(), v.unwrap_or_default())), store: "rp-reduce-store")
            .to_stream()
            .map_values(Option::flatten)
            .to("rp-reduce");
    }
}

/// A windowed key as the Java side labels it: `key@start/end`.
fn label(key: &Windowed<Option<String>>) -> Option<String> {
    Some(format!(
        "{}@{}/{}",
        or_null(key.key.as_deref()),
        key.window.start,
        key.window.end
    ))
}

/// Java's `a + "," + v` over nullable strings.
fn joined(a: Option<String>, v: Option<String>) -> Option<String> {
    Some(format!("{},{}", or_null(a.as_deref()), or_null(v.as_deref())))
}

topology! {
    /// Tumbling windows with and without grace, hopping windows: count, reduce, aggregate.
    struct Tumbling {
        stream input { topic: "tumble-in", key: Option<String>, value: Option<String> }
        let counts = input.group_by_key().windowed_by(tumbling(10ms, grace: 5ms)).count(store: "tumble-count-store");
        counts.to_stream().select_key(|k, _| label(k)).to("tumble-count");
        counts.to_stream().to("tumble-raw");
        input
            .group_by_key()
            .windowed_by(tumbling(10ms))
            .reduce(joined, store: "tumble-reduce-store")
            .to_stream()
            .select_key(|k, _| label(k))
            .to("tumble-reduce");
        input
            .group_by_key()
            .windowed_by(hopping(10ms, 3ms, grace: 5ms))
            .aggregate(String::new, |_, v, agg| format!("{agg}{}", or_null(v.as_deref())), store: "hop-agg-store")
            .to_stream()
            .select_key(|k, _| label(k))
            .to("hop-agg");
    }
}

topology! {
    /// Sliding windows: count and aggregate.
    struct Sliding {
        stream input { topic: "slide-in", key: Option<String>, value: Option<String> }
        let windowed = input.group_by_key().windowed_by(sliding(10ms, grace: 5ms));
        windowed.count(store: "slide-count-store").to_stream().select_key(|k, _| label(k)).to("slide-count");
        windowed
            .aggregate(String::new, |_, v, agg| format!("{agg}{}", or_null(v.as_deref())), store: "slide-agg-store")
            .to_stream()
            .select_key(|k, _| label(k))
            .to("slide-agg");
    }
}

topology! {
    /// Session windows: count, aggregate with a merger, reduce; merged sessions are deleted.
    struct Session {
        stream input { topic: "session-in", key: Option<String>, value: Option<String> }
        let sessions = input.group_by_key().windowed_by(session(10ms, grace: 5ms));
        let counts = sessions.count(store: "session-count-store");
        counts.to_stream().select_key(|k, _| label(k)).to("session-count");
        counts.to_stream().to("session-raw");
        sessions
            .aggregate(
                String::new,
                |_, v, agg| format!("{agg}{}", or_null(v.as_deref())),
                |_, a, b| format!("{a}|{b}"),
                store: "session-agg-store"
            )
            .to_stream()
            .select_key(|k, _| label(k))
            .to("session-agg");
        sessions
            .reduce(joined, store: "session-reduce-store")
            .to_stream()
            .select_key(|k, _| label(k))
            .to("session-reduce");
    }
}

topology! {
    /// Final results: suppress until a window closes, emit on window close, and a time-limited
    /// suppression with a two-record buffer that emits early.
    struct Suppression {
        stream input { topic: "suppress-in", key: Option<String>, value: Option<String> }
        input
            .group_by_key()
            .windowed_by(tumbling(10ms, grace: 5ms))
            .count(store: "final-count-store")
            .suppress(until_window_closes(unbounded()))
            .to_stream()
            .select_key(|k, _| label(k))
            .to("final-count");
        input
            .group_by_key()
            .windowed_by(tumbling(10ms, grace: 5ms))
            .count(store: "emit-final-store", emit_strategy: on_window_close)
            .to_stream()
            .select_key(|k, _| label(k))
            .to("emit-final");
        input
            .group_by_key()
            .count(store: "limit-count-store")
            .suppress(until_time_limit(10ms, max_records(2)))
            .to_stream()
            .to("limit-count");
    }
}

/// Processor API: counts per key in a store; every 10 ms of stream time forwards all counts,
/// every second of wall-clock time forwards ("wall", records seen).
#[derive(Processor)]
#[processor(input = (String, String), output = (String, i64))]
struct Ticker {
    #[store("tick-counts")]
    counts: KeyValueStore<String, i64>,
    stream_time: Option<ScheduleId>,
    seen: i64,
}

impl Processor for Ticker {
    fn init(&mut self, ctx: &mut impl ProcessorContext<String, i64>) -> Result<(), ProcessingError> {
        self.stream_time = Some(ctx.schedule(Duration::from_millis(10), PunctuationType::StreamTime));
        ctx.schedule(Duration::from_secs(1), PunctuationType::WallClockTime);
        Ok(())
    }

    fn process(
        &mut self,
        record: Record<String, String>,
        _: &mut impl ProcessorContext<String, i64>,
    ) -> Result<(), ProcessingError> {
        let old = self.counts.get(&record.key)?;
        self.counts.put(&record.key, &(old.unwrap_or(0) + 1))?;
        self.seen += 1;
        Ok(())
    }

    fn punctuate(
        &mut self,
        id: ScheduleId,
        timestamp: i64,
        ctx: &mut impl ProcessorContext<String, i64>,
    ) -> Result<(), ProcessingError> {
        if Some(id) != self.stream_time {
            return ctx.forward(Record::new("wall".to_owned(), self.seen, timestamp));
        }
        for entry in self.counts.all()? {
            let (key, count) = entry?;
            ctx.forward(Record::new(key, count, timestamp))?;
        }
        Ok(())
    }
}

topology! {
    struct Punctuation {
        source input { topic: "tick-in", key: String, value: String }
        processor ticker: Ticker { parents: [input] }
        store tick_counts { name: "tick-counts", key: String, value: i64 }
        sink output { topic: "ticks", parents: [ticker] }
    }
}

/// Java's `String.valueOf` of a nullable value as a joiner sees it.
fn shown(v: Option<&Option<String>>) -> &str {
    or_null(v.and_then(Option::as_deref))
}

/// `Scenarios.prefix`: a value's part before its first ':' (an order's customer or product id).
fn prefix(v: &str) -> String {
    v.split(':').next().unwrap_or_default().to_owned()
}

topology! {
    /// Stream-table joins and leftJoins, and a join after a key change (a repartition topic).
    /// The table's keys are nullable like the stream's, so a null stream key reaches the join.
    struct StreamTableJoins {
        stream orders { topic: "stj-orders", key: Option<String>, value: Option<String> }
        table customers { topic: "stj-customers", key: Option<String>, value: String, store: "stj-customers-store" }
        orders.join(customers, |o, c| format!("{}/{c}", shown(Some(o)))).to("stj-inner");
        orders
            .left_join(customers, |o, c| format!("{}/{}", shown(Some(o)), or_null(c.map(String::as_str))))
            .to("stj-left");
        orders
            .select_key(|_, v| v.as_deref().map(prefix))
            .join(customers, |o, c| format!("{}@{c}", shown(Some(o))))
            .to("stj-rekeyed");
    }
}

topology! {
    /// Stream-stream inner, left and outer joins in 10 ms windows with 5 ms of grace, and an
    /// asymmetric inner join (3 ms before, 6 ms after, no grace).
    struct StreamStreamJoins {
        stream left { topic: "ssj-left", key: Option<String>, value: Option<String> }
        stream right { topic: "ssj-right", key: Option<String>, value: Option<String> }
        left.join(right, |a, c| format!("{}+{}", shown(Some(a)), shown(Some(c))), join_windows(10ms, grace: 5ms))
            .to("ssj-inner");
        left.left_join(right, |a, c| format!("{}+{}", shown(Some(a)), shown(c)), join_windows(10ms, grace: 5ms))
            .to("ssj-left-join");
        left.outer_join(right, |a, c| format!("{}+{}", shown(a), shown(c)), join_windows(10ms, grace: 5ms))
            .to("ssj-outer");
        left.join(right, |a, c| format!("{}&{}", shown(Some(a)), shown(Some(c))), join_windows(before: 3ms, after: 6ms))
            .to("ssj-asym");
    }
}

topology! {
    /// Table-table inner, left and outer joins, and a count regrouping the inner join's rows
    /// (it needs the join's old values to subtract).
    struct TableTableJoins {
        table l { topic: "ttj-left", key: String, value: String, store: "ttj-left-store" }
        table r { topic: "ttj-right", key: String, value: String, store: "ttj-right-store" }
        l.join(r, |a, c| format!("{a}+{c}")).to_stream().to("ttj-inner");
        l.left_join(r, |a, c| format!("{a}+{}", or_null(c.map(String::as_str)))).to_stream().to("ttj-left-join");
        l.outer_join(r, |a, c| format!("{}+{}", or_null(a.map(String::as_str)), or_null(c.map(String::as_str))))
            .to_stream()
            .to("ttj-outer");
        l.join(r, |a, c| format!("{a}+{c}"))
            .group_by(|_, v| (v[..1].to_owned(), v), key_serde: StringSerde, value_serde: StringSerde)
            .count(store: "ttj-count-store")
            .to_stream()
            .to("ttj-counts");
    }
}

topology! {
    /// Stream-global table joins on a key taken from the order's value.
    struct GlobalJoins {
        stream orders { topic: "gj-orders", key: Option<String>, value: Option<String> }
        global_table products { topic: "gj-products", key: Option<String>, value: String, store: "gj-products-store" }
        orders
            .join(products, |_, v| v.as_deref().map(prefix), |o, p| format!("{}/{p}", shown(Some(o))))
            .to("gj-inner");
        orders
            .left_join(products, |_, v| v.as_deref().map(prefix), |o, p| {
                format!("{}/{}", shown(Some(o)), or_null(p.map(String::as_str)))
            })
            .to("gj-left");
    }
}

topology! {
    /// Foreign-key inner and left joins of orders (value `product:quantity`) with products.
    struct FkJoins {
        table orders { topic: "fk-orders", key: String, value: String, store: "fk-orders-store" }
        table products { topic: "fk-products", key: String, value: String, store: "fk-products-store" }
        orders.join(products, |v| prefix(v), |o, p| format!("{o}/{p}")).to_stream().to("fk-inner");
        orders
            .left_join(products, |v| prefix(v), |o, p| format!("{o}/{}", or_null(p.map(String::as_str))))
            .to_stream()
            .to("fk-left");
    }
}

/// `Scenarios.num`: the number a value holds (the wide scenarios' values are decimal numbers).
fn num(v: &str) -> i64 {
    v.parse().expect("the wide scenarios' values are numbers")
}

topology! {
    /// Wider than a tuple of eight: twenty filters off one stream, twelve streams and two tables
    /// feeding sinks, and a twenty-branch split, declared last.
    struct Wide {
        stream n00 { topic: "wide-in-00", key: Option<String>, value: String }
        stream n01 { topic: "wide-in-01", key: Option<String>, value: String }
        stream n02 { topic: "wide-in-02", key: Option<String>, value: String }
        stream n03 { topic: "wide-in-03", key: Option<String>, value: String }
        stream n04 { topic: "wide-in-04", key: Option<String>, value: String }
        stream n05 { topic: "wide-in-05", key: Option<String>, value: String }
        stream n06 { topic: "wide-in-06", key: Option<String>, value: String }
        stream n07 { topic: "wide-in-07", key: Option<String>, value: String }
        stream n08 { topic: "wide-in-08", key: Option<String>, value: String }
        stream n09 { topic: "wide-in-09", key: Option<String>, value: String }
        stream n10 { topic: "wide-in-10", key: Option<String>, value: String }
        stream n11 { topic: "wide-in-11", key: Option<String>, value: String }
        table t0 { topic: "wide-table-0", key: String, value: String, store: "wide-table-0-store" }
        table t1 { topic: "wide-table-1", key: String, value: String, store: "wide-table-1-store" }
        n00.filter(|_, v| num(v) % 4 == 0).map_values(|v| format!("f00:{v}")).to("wide-filtered");
        n00.filter(|_, v| num(v) % 4 == 1).map_values(|v| format!("f01:{v}")).to("wide-filtered");
        n00.filter(|_, v| num(v) % 4 == 2).map_values(|v| format!("f02:{v}")).to("wide-filtered");
        n00.filter(|_, v| num(v) % 4 == 3).map_values(|v| format!("f03:{v}")).to("wide-filtered");
        n00.filter(|_, v| num(v) % 4 == 0).map_values(|v| format!("f04:{v}")).to("wide-filtered");
        n00.filter(|_, v| num(v) % 4 == 1).map_values(|v| format!("f05:{v}")).to("wide-filtered");
        n00.filter(|_, v| num(v) % 4 == 2).map_values(|v| format!("f06:{v}")).to("wide-filtered");
        n00.filter(|_, v| num(v) % 4 == 3).map_values(|v| format!("f07:{v}")).to("wide-filtered");
        n00.filter(|_, v| num(v) % 4 == 0).map_values(|v| format!("f08:{v}")).to("wide-filtered");
        n00.filter(|_, v| num(v) % 4 == 1).map_values(|v| format!("f09:{v}")).to("wide-filtered");
        n00.filter(|_, v| num(v) % 4 == 2).map_values(|v| format!("f10:{v}")).to("wide-filtered");
        n00.filter(|_, v| num(v) % 4 == 3).map_values(|v| format!("f11:{v}")).to("wide-filtered");
        n00.filter(|_, v| num(v) % 4 == 0).map_values(|v| format!("f12:{v}")).to("wide-filtered");
        n00.filter(|_, v| num(v) % 4 == 1).map_values(|v| format!("f13:{v}")).to("wide-filtered");
        n00.filter(|_, v| num(v) % 4 == 2).map_values(|v| format!("f14:{v}")).to("wide-filtered");
        n00.filter(|_, v| num(v) % 4 == 3).map_values(|v| format!("f15:{v}")).to("wide-filtered");
        n00.filter(|_, v| num(v) % 4 == 0).map_values(|v| format!("f16:{v}")).to("wide-filtered");
        n00.filter(|_, v| num(v) % 4 == 1).map_values(|v| format!("f17:{v}")).to("wide-filtered");
        n00.filter(|_, v| num(v) % 4 == 2).map_values(|v| format!("f18:{v}")).to("wide-filtered");
        n00.filter(|_, v| num(v) % 4 == 3).map_values(|v| format!("f19:{v}")).to("wide-filtered");
        n00.map_values(|v| format!("n00:{v}")).to("wide-sources");
        n01.map_values(|v| format!("n01:{v}")).to("wide-sources");
        n02.map_values(|v| format!("n02:{v}")).to("wide-sources");
        n03.map_values(|v| format!("n03:{v}")).to("wide-sources");
        n04.map_values(|v| format!("n04:{v}")).to("wide-sources");
        n05.map_values(|v| format!("n05:{v}")).to("wide-sources");
        n06.map_values(|v| format!("n06:{v}")).to("wide-sources");
        n07.map_values(|v| format!("n07:{v}")).to("wide-sources");
        n08.map_values(|v| format!("n08:{v}")).to("wide-sources");
        n09.map_values(|v| format!("n09:{v}")).to("wide-sources");
        n10.map_values(|v| format!("n10:{v}")).to("wide-sources");
        n11.map_values(|v| format!("n11:{v}")).to("wide-sources");
        t0.map_values(|v| format!("t0:{v}")).to_stream().to("wide-tables");
        t1.map_values(|v| format!("t1:{v}")).to_stream().to("wide-tables");
        n00.split(
            b00: |_, v| num(v) % 20 == 0,
            b01: |_, v| num(v) % 20 == 1,
            b02: |_, v| num(v) % 20 == 2,
            b03: |_, v| num(v) % 20 == 3,
            b04: |_, v| num(v) % 20 == 4,
            b05: |_, v| num(v) % 20 == 5,
            b06: |_, v| num(v) % 20 == 6,
            b07: |_, v| num(v) % 20 == 7,
            b08: |_, v| num(v) % 20 == 8,
            b09: |_, v| num(v) % 20 == 9,
            b10: |_, v| num(v) % 20 == 10,
            b11: |_, v| num(v) % 20 == 11,
            b12: |_, v| num(v) % 20 == 12,
            b13: |_, v| num(v) % 20 == 13,
            b14: |_, v| num(v) % 20 == 14,
            b15: |_, v| num(v) % 20 == 15,
            b16: |_, v| num(v) % 20 == 16,
            b17: |_, v| num(v) % 20 == 17,
            b18: |_, v| num(v) % 20 == 18,
            default: b19
        );
        b00.map_values(|v| format!("b00:{v}")).to("wide-split");
        b01.map_values(|v| format!("b01:{v}")).to("wide-split");
        b02.map_values(|v| format!("b02:{v}")).to("wide-split");
        b03.map_values(|v| format!("b03:{v}")).to("wide-split");
        b04.map_values(|v| format!("b04:{v}")).to("wide-split");
        b05.map_values(|v| format!("b05:{v}")).to("wide-split");
        b06.map_values(|v| format!("b06:{v}")).to("wide-split");
        b07.map_values(|v| format!("b07:{v}")).to("wide-split");
        b08.map_values(|v| format!("b08:{v}")).to("wide-split");
        b09.map_values(|v| format!("b09:{v}")).to("wide-split");
        b10.map_values(|v| format!("b10:{v}")).to("wide-split");
        b11.map_values(|v| format!("b11:{v}")).to("wide-split");
        b12.map_values(|v| format!("b12:{v}")).to("wide-split");
        b13.map_values(|v| format!("b13:{v}")).to("wide-split");
        b14.map_values(|v| format!("b14:{v}")).to("wide-split");
        b15.map_values(|v| format!("b15:{v}")).to("wide-split");
        b16.map_values(|v| format!("b16:{v}")).to("wide-split");
        b17.map_values(|v| format!("b17:{v}")).to("wide-split");
        b18.map_values(|v| format!("b18:{v}")).to("wide-split");
        b19.map_values(|v| format!("b19:{v}")).to("wide-split");
    }
}

/// `Scenarios.Router`: forwards a record to the child named after its value mod 20 (a negative
/// value to all).
#[derive(Processor)]
#[processor(input = (String, String), output = (String, String))]
struct Router {
    children: Vec<ChildId>,
}

/// `Scenarios.wideChild`: the router's child `i`, sinks at even positions, processors at odd.
fn wide_child(i: usize) -> String {
    if i.is_multiple_of(2) {
        format!("s{i:02}")
    } else {
        format!("p{i:02}")
    }
}

impl Processor for Router {
    fn init(&mut self, ctx: &mut impl ProcessorContext<String, String>) -> Result<(), ProcessingError> {
        self.children = (0..20)
            .map(|i| {
                ctx.child(&wide_child(i))
                    .ok_or_else(|| ProcessingError::msg("a router child"))
            })
            .collect::<Result<_, _>>()?;
        Ok(())
    }

    fn process(
        &mut self,
        record: Record<String, String>,
        ctx: &mut impl ProcessorContext<String, String>,
    ) -> Result<(), ProcessingError> {
        match usize::try_from(num(&record.value)) {
            Ok(v) => ctx.forward_to(self.children[v % 20], record),
            Err(_) => ctx.forward(record),
        }
    }
}

/// `Scenarios.Twice`: repeats the value twice.
#[derive(Processor)]
#[processor(input = (String, String), output = (String, String))]
struct Twice {}

impl Processor for Twice {
    fn process(
        &mut self,
        record: Record<String, String>,
        ctx: &mut impl ProcessorContext<String, String>,
    ) -> Result<(), ProcessingError> {
        let twice = record.value.repeat(2);
        ctx.forward(record.with_value(twice))
    }
}

topology! {
    /// Processor API, wider than eight: twelve sources into a router with twenty children.
    struct WideProcessor {
        source i00 { topic: "wide-p-in-00", key: String, value: String }
        source i01 { topic: "wide-p-in-01", key: String, value: String }
        source i02 { topic: "wide-p-in-02", key: String, value: String }
        source i03 { topic: "wide-p-in-03", key: String, value: String }
        source i04 { topic: "wide-p-in-04", key: String, value: String }
        source i05 { topic: "wide-p-in-05", key: String, value: String }
        source i06 { topic: "wide-p-in-06", key: String, value: String }
        source i07 { topic: "wide-p-in-07", key: String, value: String }
        source i08 { topic: "wide-p-in-08", key: String, value: String }
        source i09 { topic: "wide-p-in-09", key: String, value: String }
        source i10 { topic: "wide-p-in-10", key: String, value: String }
        source i11 { topic: "wide-p-in-11", key: String, value: String }
        processor router: Router { parents: [i00, i01, i02, i03, i04, i05, i06, i07, i08, i09, i10, i11] }
        sink s00 { topic: "wide-p-out-00", parents: [router] }
        processor p01: Twice { parents: [router] }
        sink s02 { topic: "wide-p-out-02", parents: [router] }
        processor p03: Twice { parents: [router] }
        sink s04 { topic: "wide-p-out-04", parents: [router] }
        processor p05: Twice { parents: [router] }
        sink s06 { topic: "wide-p-out-06", parents: [router] }
        processor p07: Twice { parents: [router] }
        sink s08 { topic: "wide-p-out-08", parents: [router] }
        processor p09: Twice { parents: [router] }
        sink s10 { topic: "wide-p-out-10", parents: [router] }
        processor p11: Twice { parents: [router] }
        sink s12 { topic: "wide-p-out-12", parents: [router] }
        processor p13: Twice { parents: [router] }
        sink s14 { topic: "wide-p-out-14", parents: [router] }
        processor p15: Twice { parents: [router] }
        sink s16 { topic: "wide-p-out-16", parents: [router] }
        processor p17: Twice { parents: [router] }
        sink s18 { topic: "wide-p-out-18", parents: [router] }
        processor p19: Twice { parents: [router] }
        sink o01 { topic: "wide-p-out-01", parents: [p01] }
        sink o03 { topic: "wide-p-out-03", parents: [p03] }
        sink o05 { topic: "wide-p-out-05", parents: [p05] }
        sink o07 { topic: "wide-p-out-07", parents: [p07] }
        sink o09 { topic: "wide-p-out-09", parents: [p09] }
        sink o11 { topic: "wide-p-out-11", parents: [p11] }
        sink o13 { topic: "wide-p-out-13", parents: [p13] }
        sink o15 { topic: "wide-p-out-15", parents: [p15] }
        sink o17 { topic: "wide-p-out-17", parents: [p17] }
        sink o19 { topic: "wide-p-out-19", parents: [p19] }
    }
}

/// How an output topic's values are read: the Java side's `Output.strings` / `Output.longs` /
/// `Output.raw` (key and value bytes in hex, for internal topics).
#[derive(Clone, Copy)]
enum Values {
    Strings,
    Longs,
    Raw,
}

/// One step of a scenario file.
enum Step {
    Record {
        topic: String,
        key: Option<String>,
        value: Option<String>,
        timestamp: i64,
    },
    AdvanceWallClock(u64),
}

/// A scenario file: its topology's name, the record cache's budget if it sets one, and steps.
struct Scenario {
    topology: String,
    cache_max_bytes: Option<u64>,
    steps: Vec<Step>,
}

fn parse_scenario(path: &Path) -> Scenario {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let head: Value = serde_json::from_str(lines.next().expect("a topology line")).unwrap();
    let topology = head["topology"].as_str().expect("{\"topology\": NAME}").to_owned();
    let cache_max_bytes = head.get("statestore_cache_max_bytes").map(|b| b.as_u64().unwrap());
    let steps = lines
        .map(|line| {
            let step: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            if let Some(ms) = step.get("advance_wall_clock_ms") {
                return Step::AdvanceWallClock(ms.as_u64().unwrap());
            }
            Step::Record {
                topic: step["topic"].as_str().unwrap().to_owned(),
                key: step["key"].as_str().map(str::to_owned),
                value: step["value"].as_str().map(str::to_owned),
                timestamp: step["timestamp"].as_i64().unwrap(),
            }
        })
        .collect();
    Scenario {
        topology,
        cache_max_bytes,
        steps,
    }
}

/// Feeds the scenario's steps into `topology` and reads `outputs` in order, as the Java runner
/// prints them.
fn drive<T: Topology>(topology: &T, scenario: &Scenario, outputs: &[(&str, Values)]) -> Vec<Value> {
    let defaults = DriverConfig::default();
    let driver = test_driver_with(
        topology,
        DriverConfig {
            application_id: "oracle".to_owned(),
            initial_wall_clock_ms: INITIAL_WALL_CLOCK_MS,
            statestore_cache_max_bytes: scenario.cache_max_bytes.unwrap_or(defaults.statestore_cache_max_bytes),
            ..defaults
        },
    )
    .unwrap();
    let steps = &scenario.steps;
    for step in steps {
        match step {
            Step::Record {
                topic,
                key,
                value,
                timestamp,
            } => driver
                .pipe_raw(
                    topic,
                    key.as_deref().map(str::as_bytes),
                    value.as_deref().map(str::as_bytes),
                    *timestamp,
                )
                .unwrap(),
            Step::AdvanceWallClock(ms) => driver.advance_wall_clock_time(Duration::from_millis(*ms)).unwrap(),
        }
    }
    let mut lines = Vec::new();
    for &(name, values) in outputs {
        match values {
            Values::Strings => read_output::<_, Option<String>>(&driver, name, &mut lines),
            Values::Longs => read_output::<_, Option<i64>>(&driver, name, &mut lines),
            Values::Raw => read_raw(&driver, name, &mut lines),
        }
    }
    lines
}

fn read_output<G: Graph, V: streams_runtime::serde::DefaultSerde + Into<Value>>(
    driver: &TopologyTestDriver<G>,
    topic: &str,
    lines: &mut Vec<Value>,
) {
    for r in driver
        .output_topic_as::<Option<String>, V>(topic)
        .read_records_to_list()
        .unwrap()
    {
        lines.push(json!({"topic": topic, "key": r.key, "value": r.value.into(), "timestamp": r.timestamp}));
    }
}

fn read_raw<G: Graph>(driver: &TopologyTestDriver<G>, topic: &str, lines: &mut Vec<Value>) {
    type Raw = OptionSerde<BytesSerde>;
    let hex = |b: Option<Vec<u8>>| b.map(|b| b.iter().map(|x| format!("{x:02x}")).collect::<String>());
    let mut output = driver.output_topic_named::<Option<Vec<u8>>, Option<Vec<u8>>, Raw, Raw>(topic);
    for r in output.read_records_to_list().unwrap() {
        lines.push(json!({"topic": topic, "key": hex(r.key), "value": hex(r.value), "timestamp": r.timestamp}));
    }
}

/// Runs a scenario through our driver.
fn run_ours(scenario: &Scenario) -> Vec<Value> {
    use Values::{Longs, Raw, Strings};
    match scenario.topology.as_str() {
        "stateless" => drive(
            &Stateless,
            scenario,
            &[
                ("stateless-words", Strings),
                ("stateless-null-keys", Strings),
                ("stateless-fanout", Strings),
                ("stateless-even", Strings),
                ("stateless-odd", Strings),
            ],
        ),
        "branch_merge" => drive(
            &BranchMerge,
            scenario,
            &[
                ("branch-merged", Strings),
                ("branch-b", Strings),
                ("branch-long", Strings),
                ("branch-order", Strings),
            ],
        ),
        "table_ops" => drive(&TableOps, scenario, TABLE_OPS_OUTPUTS),
        "table_ops_uncached" => drive(&TableOpsUncached, scenario, TABLE_OPS_OUTPUTS),
        "cache_eviction" => drive(
            &CacheEviction,
            scenario,
            &[
                ("evict-count", Longs),
                ("evict-concat", Strings),
                ("oracle-evict-count-store-changelog", Raw),
            ],
        ),
        "table_aggregate" => drive(
            &TableAggregate,
            scenario,
            &[
                ("region-counts", Longs),
                ("region-lengths", Longs),
                ("initial-users", Strings),
                ("oracle-region-counts-store-repartition", Raw),
                ("oracle-region-lengths-store-repartition", Raw),
            ],
        ),
        "stream_aggregate" => drive(
            &StreamAggregate,
            scenario,
            &[
                ("events-count", Longs),
                ("events-reduce", Strings),
                ("events-agg", Longs),
                ("events-by-initial", Longs),
            ],
        ),
        "repartition" => drive(
            &Repartition,
            scenario,
            &[("rp-counts", Longs), ("rp-out", Strings), ("rp-reduce", Strings)],
        ),
        "punctuation" => drive(&Punctuation, scenario, &[("ticks", Longs)]),
        "tumbling" => drive(
            &Tumbling,
            scenario,
            &[
                ("tumble-count", Longs),
                ("tumble-raw", Raw),
                ("tumble-reduce", Strings),
                ("hop-agg", Strings),
                ("oracle-tumble-count-store-changelog", Raw),
            ],
        ),
        "sliding" => drive(
            &Sliding,
            scenario,
            &[
                ("slide-count", Longs),
                ("slide-agg", Strings),
                ("oracle-slide-count-store-changelog", Raw),
            ],
        ),
        "session" => drive(
            &Session,
            scenario,
            &[
                ("session-count", Longs),
                ("session-raw", Raw),
                ("session-agg", Strings),
                ("session-reduce", Strings),
                ("oracle-session-count-store-changelog", Raw),
            ],
        ),
        "suppress" => drive(
            &Suppression,
            scenario,
            &[("final-count", Longs), ("emit-final", Longs), ("limit-count", Longs)],
        ),

        "stream_table_join" => drive(
            &StreamTableJoins,
            scenario,
            &[
                ("stj-inner", Strings),
                ("stj-left", Strings),
                ("stj-rekeyed", Strings),
                ("oracle-KSTREAM-KEY-SELECT-0000000007-repartition", Raw),
            ],
        ),
        "stream_stream_join" => drive(
            &StreamStreamJoins,
            scenario,
            &[
                ("ssj-inner", Strings),
                ("ssj-left-join", Strings),
                ("ssj-outer", Strings),
                ("ssj-asym", Strings),
            ],
        ),
        "table_table_join" => drive(
            &TableTableJoins,
            scenario,
            &[
                ("ttj-inner", Strings),
                ("ttj-left-join", Strings),
                ("ttj-outer", Strings),
                ("ttj-counts", Longs),
            ],
        ),
        "global_join" => drive(&GlobalJoins, scenario, &[("gj-inner", Strings), ("gj-left", Strings)]),
        "fk_join" => drive(
            &FkJoins,
            scenario,
            &[
                ("fk-inner", Strings),
                ("fk-left", Strings),
                ("oracle-KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-0000000004-topic", Raw),
                ("oracle-KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-0000000012-topic", Raw),
            ],
        ),
        "wide" => drive(
            &Wide,
            scenario,
            &[
                ("wide-filtered", Strings),
                ("wide-sources", Strings),
                ("wide-tables", Strings),
                ("wide-split", Strings),
            ],
        ),
        "wide_processor" => {
            let topics: Vec<String> = (0..20).map(|i| format!("wide-p-out-{i:02}")).collect();
            let outputs: Vec<(&str, Values)> = topics.iter().map(|t| (t.as_str(), Strings)).collect();
            drive(&WideProcessor, scenario, &outputs)
        }
        other => panic!("no Rust twin for scenario topology {other}"),
    }
}

/// The outputs of both table_ops topologies.
const TABLE_OPS_OUTPUTS: &[(&str, Values)] = &[
    ("table-changes", Values::Strings),
    ("table-filtered", Values::Strings),
    ("table-filtered-not", Values::Strings),
    ("table-lengths", Values::Longs),
    ("table-keyed", Values::Strings),
];

/// A seeded generator (SplitMix64), so a failing random scenario can be replayed.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// One of `items`, or null with probability `null_percent`%.
    fn pick<'a>(&mut self, items: &[&'a str], null_percent: u64) -> Option<&'a str> {
        if self.below(100) < null_percent {
            None
        } else {
            Some(items[self.below(items.len() as u64) as usize])
        }
    }
}

/// Seeds of the random scenarios; each topology below gets each seed. `ORACLE_SEEDS=1,2,3`
/// replaces them (to explore more, or replay one).
const SEEDS: [u64; 3] = [7, 1_234, 98_765];

fn seeds() -> Vec<u64> {
    match std::env::var("ORACLE_SEEDS") {
        Ok(list) => list
            .split(',')
            .map(|s| s.trim().parse().expect("ORACLE_SEEDS: numbers"))
            .collect(),
        Err(_) => SEEDS.to_vec(),
    }
}
/// Records per random scenario.
const RANDOM_RECORDS: usize = 300;

/// Writes a random scenario for `topology` (its input topic, key and value pools) with `seed`.
fn random_scenario(dir: &Path, topology: &str, seed: u64) -> PathBuf {
    let (topic, keys, values, null_keys, null_values): (&str, &[&str], &[&str], u64, u64) = match topology {
        "table_ops" | "table_ops_uncached" => (
            "table-in",
            &["a", "b", "c", "x", "y"],
            &["", "a", "ab", "xyz", "xenon", "apple", "no", "x"],
            5,
            25,
        ),
        "table_aggregate" => (
            "users-in",
            &["u1", "u2", "u3", "user4", "u5", "u66"],
            &["eu-west", "eu-north", "us-east", "ap-south", "us-west"],
            5,
            20,
        ),
        "stream_aggregate" => (
            "events-in",
            &["a", "b", "c", "d"],
            &["one", "two", "three", "tree", "oak", "x"],
            10,
            15,
        ),
        "cache_eviction" => (
            "evict-in",
            &["a", "b", "c", "d", "eee"],
            &["x", "x y", "y z x", "zz", "x x", "w y zz x", "yy"],
            5,
            0,
        ),
        other => panic!("no random scenarios for {other}"),
    };
    let mut rng = SplitMix64(seed);
    let mut head = json!({ "topology": topology });
    if topology == "cache_eviction" {
        // Room for a few entries of the two stores: evictions in most records.
        head["statestore_cache_max_bytes"] = json!(250 + seed % 200);
    }
    let mut text = head.to_string() + "\n";
    let mut time = 1_000i64;
    for _ in 0..RANDOM_RECORDS {
        // Mostly forward in time, sometimes back (out-of-order records).
        time += rng.below(50) as i64 - 10;
        let step = json!({
            "topic": topic,
            "key": rng.pick(keys, null_keys),
            "value": rng.pick(values, null_values),
            "timestamp": time.max(0),
        });
        text += &(step.to_string() + "\n");
    }
    let path = dir.join(format!("{topology}-seed{seed}.jsonl"));
    std::fs::write(&path, text).unwrap();
    path
}

/// The fixed scenario files, by name.
fn fixed_scenarios() -> BTreeMap<String, PathBuf> {
    let dir = support::repo_root().join("examples/oracle/scenarios");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), p))
        .collect()
}

/// Every scenario (fixed and random) with the directory of Java's outputs: Java runs once per
/// test binary, on all of them.
fn java_outputs() -> &'static (Vec<PathBuf>, PathBuf) {
    static RUN: OnceLock<(Vec<PathBuf>, PathBuf)> = OnceLock::new();
    RUN.get_or_init(|| {
        let root = support::repo_root();
        let work = root.join("target/oracle");
        let random = work.join("random");
        let out = work.join("java-output");
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&random).unwrap();
        let mut files: Vec<PathBuf> = fixed_scenarios().into_values().collect();
        for topology in [
            "table_ops",
            "table_ops_uncached",
            "table_aggregate",
            "stream_aggregate",
            "cache_eviction",
        ] {
            for seed in seeds() {
                files.push(random_scenario(&random, topology, seed));
            }
        }
        let status = Command::new("bash")
            .arg(root.join("scripts/java.sh"))
            .args(["run", "streamsrs.Oracle"])
            .arg(&out)
            .args(&files)
            .status()
            .expect("running scripts/java.sh");
        assert!(status.success(), "the Java oracle failed: {status}");
        (files, out)
    })
}

/// Compares our output with Java's for every scenario whose topology is `topology`.
fn assert_same_as_java(topology: &str) {
    let (files, out) = java_outputs();
    let mut compared = 0;
    for file in files {
        let scenario = parse_scenario(file);
        if scenario.topology != topology {
            continue;
        }
        let name = file.file_name().unwrap();
        let java: Vec<Value> = std::fs::read_to_string(out.join(name))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let ours = run_ours(&scenario);
        if let Some(i) = (0..java.len().max(ours.len())).find(|&i| java.get(i) != ours.get(i)) {
            panic!(
                "{}: output record {i} differs\n  java: {}\n  ours: {}\n(java wrote {} records, we wrote {}; scenario {})",
                name.to_string_lossy(),
                java.get(i).map_or("<none>".to_owned(), Value::to_string),
                ours.get(i).map_or("<none>".to_owned(), Value::to_string),
                java.len(),
                ours.len(),
                file.display(),
            );
        }
        assert!(!java.is_empty(), "{}: Java wrote no output", name.to_string_lossy());
        compared += 1;
    }
    assert!(compared > 0, "no scenario for {topology}");
}

#[test]
fn stateless_chains_match_java() {
    assert_same_as_java("stateless");
}

#[test]
fn branch_and_merge_order_match_java() {
    assert_same_as_java("branch_merge");
}

#[test]
fn table_filter_and_map_values_with_tombstones_match_java() {
    assert_same_as_java("table_ops");
}

#[test]
fn uncached_table_filter_and_map_values_with_tombstones_match_java() {
    assert_same_as_java("table_ops_uncached");
}

#[test]
fn the_record_cache_under_a_small_budget_evicts_as_java_does() {
    assert_same_as_java("cache_eviction");
}

#[test]
fn table_aggregations_with_rows_moving_between_groups_match_java() {
    assert_same_as_java("table_aggregate");
}

#[test]
fn stream_aggregations_with_null_keys_and_values_match_java() {
    assert_same_as_java("stream_aggregate");
}

#[test]
fn repartitions_match_java() {
    assert_same_as_java("repartition");
}

#[test]
fn processor_api_punctuation_matches_java() {
    assert_same_as_java("punctuation");
}

#[test]
fn tumbling_and_hopping_windows_match_java() {
    assert_same_as_java("tumbling");
}

#[test]
fn sliding_windows_match_java() {
    assert_same_as_java("sliding");
}

#[test]
fn session_windows_with_merges_match_java() {
    assert_same_as_java("session");
}

#[test]
fn suppression_and_emit_on_window_close_match_java() {
    assert_same_as_java("suppress");
}

/// Java's `describe()` of the oracle topologies `names` (`streamsrs.Describe`), each with its
/// source named as ours is (`input`).
fn java_descriptions(names: &[&str]) -> BTreeMap<String, String> {
    let output = Command::new("bash")
        .arg(support::repo_root().join("scripts/java.sh"))
        .args(["run", "streamsrs.Describe"])
        .args(names)
        .output()
        .expect("running scripts/java.sh");
    assert!(output.status.success(), "streamsrs.Describe failed: {output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    text.split("=== ")
        .filter(|section| !section.is_empty())
        .map(|section| {
            let (name, description) = section.split_once('\n').unwrap();
            let description = description.trim_end().replace("KSTREAM-SOURCE-0000000000", "input");
            (name.to_owned(), description)
        })
        .collect()
}

#[test]
fn windowed_topologies_are_described_as_java_describes_them() {
    let java = java_descriptions(&["tumbling", "sliding", "session", "suppress"]);
    let ours = [
        ("tumbling", Tumbling.describe()),
        ("sliding", Sliding.describe()),
        ("session", Session.describe()),
        ("suppress", Suppression.describe()),
    ];
    for (name, description) in ours {
        assert_eq!(description.text().trim_end(), java[name], "{name}: ours, then Java's");
    }
    // Windowed stores are persistent, logged and (time windows) timestamped unless the
    // aggregation says otherwise; retention is size + grace.
    let store = <Tumbling as Topology>::STORES
        .iter()
        .find(|s| s.name == "hop-agg-store")
        .unwrap();
    assert!(store.persistent && store.logging && store.timestamped);
    assert_eq!(
        (store.kind, store.retention_ms, store.window_size_ms),
        (StoreKind::Window, 15, 10)
    );
}

#[test]
fn stream_table_joins_match_java() {
    assert_same_as_java("stream_table_join");
}

#[test]
fn stream_stream_joins_match_java() {
    assert_same_as_java("stream_stream_join");
}

#[test]
fn table_table_joins_match_java() {
    assert_same_as_java("table_table_join");
}

#[test]
fn global_table_joins_match_java() {
    assert_same_as_java("global_join");
}

#[test]
fn foreign_key_joins_match_java() {
    assert_same_as_java("fk_join");
}

#[test]
fn every_scenario_file_has_a_test() {
    let tested = [
        "fk_join",
        "wide",
        "wide_processor",
        "stream_table_join",
        "stream_stream_join",
        "table_table_join",
        "global_join",
        "stateless",
        "branch_merge",
        "table_ops",
        "table_ops_uncached",
        "cache_eviction",
        "table_aggregate",
        "stream_aggregate",
        "repartition",
        "punctuation",
        "tumbling",
        "sliding",
        "session",
        "suppress",
    ];
    for (name, path) in fixed_scenarios() {
        let topology = parse_scenario(&path).topology;
        assert!(
            tested.contains(&topology.as_str()),
            "{name}: topology {topology} has no test"
        );
    }
}

/// A description with every list (successors, predecessors, stores) sorted: Java orders those
/// by sub-tree sizes it computes in hash-map order, and its store lists in hash-set order, which
/// we do not reproduce where nodes share stores or merge.
fn lists_sorted(description: &str) -> String {
    description
        .lines()
        .map(|line| {
            let sort = |items: &str| {
                let mut items: Vec<&str> = items.split(", ").collect();
                items.sort_unstable();
                items.join(", ")
            };
            if let Some((head, list)) = line.split_once("--> ").or_else(|| line.split_once("<-- ")) {
                let arrow = &line[head.len()..head.len() + 4];
                format!("{head}{arrow}{}", sort(list))
            } else if let Some((head, rest)) = line.split_once("(stores: [") {
                let (list, tail) = rest.split_once(']').unwrap_or((rest, ""));
                format!("{head}(stores: [{}]{tail}", sort(list))
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn join_topologies_are_described_as_java_describes_them() {
    let java = java_descriptions(&[
        "stream_table_join",
        "stream_stream_join",
        "table_table_join",
        "global_join",
    ]);
    // Java names the sources it generates; ours are the clauses' names.
    let sources: &[(&str, &[(&str, &str)])] = &[
        (
            "stream_table_join",
            &[
                ("KSTREAM-SOURCE-0000000000", "orders"),
                ("KSTREAM-SOURCE-0000000001", "customers"),
            ],
        ),
        (
            "stream_stream_join",
            &[
                ("KSTREAM-SOURCE-0000000000", "left"),
                ("KSTREAM-SOURCE-0000000001", "right"),
            ],
        ),
        (
            "table_table_join",
            &[("KSTREAM-SOURCE-0000000000", "l"), ("KSTREAM-SOURCE-0000000002", "r")],
        ),
        (
            "global_join",
            &[
                ("KSTREAM-SOURCE-0000000000", "orders"),
                ("KSTREAM-SOURCE-0000000001", "products"),
            ],
        ),
    ];
    let ours = [
        ("stream_table_join", StreamTableJoins.describe()),
        ("stream_stream_join", StreamStreamJoins.describe()),
        ("table_table_join", TableTableJoins.describe()),
        ("global_join", GlobalJoins.describe()),
        ("fk_join", FkJoins.describe()),
    ];
    for ((name, description), (_, names)) in ours.into_iter().zip(sources) {
        let mut expected = java[name].replace("input", "KSTREAM-SOURCE-0000000000");
        for (java_name, ours) in names.iter() {
            expected = expected.replace(java_name, ours);
        }
        assert_eq!(
            lists_sorted(description.text().trim_end()),
            lists_sorted(&expected),
            "{name}: ours, then Java's"
        );
    }
}

#[test]
fn wide_dsl_topologies_match_java() {
    assert_same_as_java("wide");
}

#[test]
fn wide_processor_api_topologies_match_java() {
    assert_same_as_java("wide_processor");
}

/// `description` with each whole node name found in `names` replaced.
fn renamed(description: &str, names: &BTreeMap<String, String>) -> String {
    description
        .split_inclusive([' ', ',', '\n'])
        .map(|word| {
            let name = word.trim_end_matches([' ', ',', '\n']);
            match names.get(name) {
                Some(new) => format!("{new}{}", &word[name.len()..]),
                None => word.to_owned(),
            }
        })
        .collect()
}

#[test]
fn wide_topologies_are_described_as_java_describes_them() {
    let java = java_descriptions(&["wide", "wide_processor"]);
    // The Processor API names every node itself.
    assert_eq!(
        lists_sorted(WideProcessor.describe().text().trim_end()),
        lists_sorted(&java["wide_processor"])
    );
    // Java names the DSL's sources and numbers them as ours (a table takes two numbers); the
    // Java twin names its split "KSTREAM-BRANCH" and its branches as ours are numbered.
    let mut names = BTreeMap::new();
    for i in 0..12 {
        names.insert(format!("n{i:02}"), format!("KSTREAM-SOURCE-{i:010}"));
    }
    names.insert("t0".to_owned(), "KSTREAM-SOURCE-0000000012".to_owned());
    names.insert("t1".to_owned(), "KSTREAM-SOURCE-0000000014".to_owned());
    names.insert("KSTREAM-BRANCH-0000000106".to_owned(), "KSTREAM-BRANCH".to_owned());
    let java_wide = java["wide"].replace("input", "KSTREAM-SOURCE-0000000000");
    assert_eq!(
        lists_sorted(&renamed(Wide.describe().text().trim_end(), &names)),
        lists_sorted(&java_wide)
    );
}
