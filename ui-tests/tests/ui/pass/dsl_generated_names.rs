//! Unnamed DSL operators, stores and repartition topics get the names Java's `describe()` shows
//! for the same topology (Kafka Streams 4.1.1, whose generated names share one counter).

use streams_runtime::prelude::*;

/// Fails unless every line is in the description.
fn assert_lines(description: &str, lines: &[&str]) {
    for line in lines {
        assert!(description.contains(line), "missing `{line}` in\n{description}");
    }
}

topology! {
    // b.stream("in").groupBy((k, v) -> v).count().toStream().to("out")
    struct StreamCount {
        stream s { topic: "in", key: String, value: String }
        s.group_by(|_, v| v.clone()).count().to_stream().to("out");
    }
}

topology! {
    // ...count(Materialized.with(..)): Java burns a name before the store's
    struct StreamCountMaterialized {
        stream s { topic: "in", key: String, value: String }
        s.group_by(|_, v| v.clone()).count(persistent: false).to_stream().to("out");
    }
}

topology! {
    struct StreamReduceAggregate {
        stream s { topic: "in", key: String, value: String }
        s.group_by(|_, v| v.clone()).reduce(|a, c| a + &c).to_stream().to("out");
        stream s2 { topic: "in2", key: String, value: String }
        s2.group_by(|_, v| v.clone()).aggregate(String::new, |_, v, a| a + &v).to_stream().to("out2");
    }
}

topology! {
    struct TableAggregations {
        table t { topic: "t", key: String, value: String }
        t.group_by(|k, v| (v, k.clone())).count().to_stream().to("out");
        t.group_by(|k, v| (v, k.clone())).reduce(|a, c| a + &c, |a, _| a, store: "named").to_stream().to("out2");
        t.group_by(|k, v| (v, k.clone())).reduce(|a, c| a + &c, |a, _| a).to_stream().to("out3");
    }
}

topology! {
    struct Repartitions {
        stream s { topic: "in", key: String, value: String }
        s.repartition().to("out");
        stream s2 { topic: "in2", key: String, value: String }
        s2.repartition(name: "rp").to("out2");
    }
}

fn main() {
    assert_lines(
        StreamCount.describe().text(),
        &[
            "Processor: KSTREAM-KEY-SELECT-0000000001 (stores: [])",
            "Sink: KSTREAM-SINK-0000000004 (topic: KSTREAM-AGGREGATE-STATE-STORE-0000000002-repartition)",
            "Source: KSTREAM-SOURCE-0000000006 (topics: [KSTREAM-AGGREGATE-STATE-STORE-0000000002-repartition])",
            "Processor: KSTREAM-AGGREGATE-0000000003 (stores: [KSTREAM-AGGREGATE-STATE-STORE-0000000002])",
            "Processor: KTABLE-TOSTREAM-0000000007 (stores: [])",
            "Sink: KSTREAM-SINK-0000000008 (topic: out)",
        ],
    );
    assert_lines(
        StreamCountMaterialized.describe().text(),
        &[
            "Sink: KSTREAM-SINK-0000000005 (topic: KSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition)",
            "Source: KSTREAM-SOURCE-0000000007 (topics: [KSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition])",
            "Processor: KSTREAM-AGGREGATE-0000000004 (stores: [KSTREAM-AGGREGATE-STATE-STORE-0000000003])",
            "Processor: KTABLE-TOSTREAM-0000000008 (stores: [])",
            "Sink: KSTREAM-SINK-0000000009 (topic: out)",
        ],
    );
    assert_lines(
        StreamReduceAggregate.describe().text(),
        &[
            "Sink: KSTREAM-SINK-0000000004 (topic: KSTREAM-REDUCE-STATE-STORE-0000000002-repartition)",
            "Source: KSTREAM-SOURCE-0000000006 (topics: [KSTREAM-REDUCE-STATE-STORE-0000000002-repartition])",
            "Processor: KSTREAM-REDUCE-0000000003 (stores: [KSTREAM-REDUCE-STATE-STORE-0000000002])",
            "Sink: KSTREAM-SINK-0000000008 (topic: out)",
            "Processor: KSTREAM-KEY-SELECT-0000000010 (stores: [])",
            "Sink: KSTREAM-SINK-0000000013 (topic: KSTREAM-AGGREGATE-STATE-STORE-0000000011-repartition)",
            "Source: KSTREAM-SOURCE-0000000015 (topics: [KSTREAM-AGGREGATE-STATE-STORE-0000000011-repartition])",
            "Processor: KSTREAM-AGGREGATE-0000000012 (stores: [KSTREAM-AGGREGATE-STATE-STORE-0000000011])",
            "Sink: KSTREAM-SINK-0000000017 (topic: out2)",
        ],
    );
    assert_lines(
        TableAggregations.describe().text(),
        &[
            "Processor: KTABLE-SOURCE-0000000002 (stores: [t-STATE-STORE-0000000000])",
            "Sink: KSTREAM-SINK-0000000005 (topic: KTABLE-AGGREGATE-STATE-STORE-0000000004-repartition)",
            "Source: KSTREAM-SOURCE-0000000006 (topics: [KTABLE-AGGREGATE-STATE-STORE-0000000004-repartition])",
            "Processor: KTABLE-AGGREGATE-0000000007 (stores: [KTABLE-AGGREGATE-STATE-STORE-0000000004])",
            "Sink: KSTREAM-SINK-0000000011 (topic: named-repartition)",
            "Source: KSTREAM-SOURCE-0000000012 (topics: [named-repartition])",
            "Processor: KTABLE-REDUCE-0000000013 (stores: [named])",
            "Sink: KSTREAM-SINK-0000000018 (topic: KTABLE-AGGREGATE-STATE-STORE-0000000017-repartition)",
            "Processor: KTABLE-REDUCE-0000000020 (stores: [KTABLE-AGGREGATE-STATE-STORE-0000000017])",
            "Sink: KSTREAM-SINK-0000000022 (topic: out3)",
        ],
    );
    assert_lines(
        Repartitions.describe().text(),
        &[
            "Sink: KSTREAM-SINK-0000000002 (topic: KSTREAM-REPARTITION-0000000001-repartition)",
            "Source: KSTREAM-SOURCE-0000000004 (topics: [KSTREAM-REPARTITION-0000000001-repartition])",
            "Sink: KSTREAM-SINK-0000000005 (topic: out)",
            "Sink: rp-repartition-sink (topic: rp-repartition)",
            "Source: rp-repartition-source (topics: [rp-repartition])",
            "Sink: KSTREAM-SINK-0000000010 (topic: out2)",
        ],
    );
}
