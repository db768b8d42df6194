//! The windowed topologies of the Java oracle (`examples/java`, `Scenarios.java`): each
//! `describe()` is Java 4.1.1's, node for node and store for store (the source is named `input`
//! here, `KSTREAM-SOURCE-0000000000` there), with every `-->` / `<--` list in Java's order
//! (larger sub-tree first, then name).

use streams_runtime::prelude::*;

fn or_null(s: Option<&str>) -> &str {
    s.unwrap_or("null")
}

/// A windowed key as the Java side labels it: `key@start/end`.
fn label(key: &Windowed<Option<String>>) -> Option<String> {
    Some(format!("{}@{}/{}", or_null(key.key.as_deref()), key.window.start, key.window.end))
}

/// Java's `a + "," + v` over nullable strings.
fn joined(a: Option<String>, v: Option<String>) -> Option<String> {
    Some(format!("{},{}", or_null(a.as_deref()), or_null(v.as_deref())))
}

topology! {
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

const JAVA_TUMBLING: &str = r"Topologies:
   Sub-topology: 0
    Source: input (topics: [tumble-in])
      --> KSTREAM-AGGREGATE-0000000001, KSTREAM-AGGREGATE-0000000011, KSTREAM-REDUCE-0000000007
    Processor: KSTREAM-AGGREGATE-0000000001 (stores: [tumble-count-store])
      --> KTABLE-TOSTREAM-0000000002, KTABLE-TOSTREAM-0000000005
      <-- input
    Processor: KSTREAM-AGGREGATE-0000000011 (stores: [hop-agg-store])
      --> KTABLE-TOSTREAM-0000000012
      <-- input
    Processor: KSTREAM-REDUCE-0000000007 (stores: [tumble-reduce-store])
      --> KTABLE-TOSTREAM-0000000008
      <-- input
    Processor: KTABLE-TOSTREAM-0000000002 (stores: [])
      --> KSTREAM-KEY-SELECT-0000000003
      <-- KSTREAM-AGGREGATE-0000000001
    Processor: KTABLE-TOSTREAM-0000000008 (stores: [])
      --> KSTREAM-KEY-SELECT-0000000009
      <-- KSTREAM-REDUCE-0000000007
    Processor: KTABLE-TOSTREAM-0000000012 (stores: [])
      --> KSTREAM-KEY-SELECT-0000000013
      <-- KSTREAM-AGGREGATE-0000000011
    Processor: KSTREAM-KEY-SELECT-0000000003 (stores: [])
      --> KSTREAM-SINK-0000000004
      <-- KTABLE-TOSTREAM-0000000002
    Processor: KSTREAM-KEY-SELECT-0000000009 (stores: [])
      --> KSTREAM-SINK-0000000010
      <-- KTABLE-TOSTREAM-0000000008
    Processor: KSTREAM-KEY-SELECT-0000000013 (stores: [])
      --> KSTREAM-SINK-0000000014
      <-- KTABLE-TOSTREAM-0000000012
    Processor: KTABLE-TOSTREAM-0000000005 (stores: [])
      --> KSTREAM-SINK-0000000006
      <-- KSTREAM-AGGREGATE-0000000001
    Sink: KSTREAM-SINK-0000000004 (topic: tumble-count)
      <-- KSTREAM-KEY-SELECT-0000000003
    Sink: KSTREAM-SINK-0000000006 (topic: tumble-raw)
      <-- KTABLE-TOSTREAM-0000000005
    Sink: KSTREAM-SINK-0000000010 (topic: tumble-reduce)
      <-- KSTREAM-KEY-SELECT-0000000009
    Sink: KSTREAM-SINK-0000000014 (topic: hop-agg)
      <-- KSTREAM-KEY-SELECT-0000000013";

const JAVA_SLIDING: &str = r"Topologies:
   Sub-topology: 0
    Source: input (topics: [slide-in])
      --> KSTREAM-AGGREGATE-0000000001, KSTREAM-AGGREGATE-0000000005
    Processor: KSTREAM-AGGREGATE-0000000001 (stores: [slide-count-store])
      --> KTABLE-TOSTREAM-0000000002
      <-- input
    Processor: KSTREAM-AGGREGATE-0000000005 (stores: [slide-agg-store])
      --> KTABLE-TOSTREAM-0000000006
      <-- input
    Processor: KTABLE-TOSTREAM-0000000002 (stores: [])
      --> KSTREAM-KEY-SELECT-0000000003
      <-- KSTREAM-AGGREGATE-0000000001
    Processor: KTABLE-TOSTREAM-0000000006 (stores: [])
      --> KSTREAM-KEY-SELECT-0000000007
      <-- KSTREAM-AGGREGATE-0000000005
    Processor: KSTREAM-KEY-SELECT-0000000003 (stores: [])
      --> KSTREAM-SINK-0000000004
      <-- KTABLE-TOSTREAM-0000000002
    Processor: KSTREAM-KEY-SELECT-0000000007 (stores: [])
      --> KSTREAM-SINK-0000000008
      <-- KTABLE-TOSTREAM-0000000006
    Sink: KSTREAM-SINK-0000000004 (topic: slide-count)
      <-- KSTREAM-KEY-SELECT-0000000003
    Sink: KSTREAM-SINK-0000000008 (topic: slide-agg)
      <-- KSTREAM-KEY-SELECT-0000000007";

const JAVA_SESSION: &str = r"Topologies:
   Sub-topology: 0
    Source: input (topics: [session-in])
      --> KSTREAM-AGGREGATE-0000000001, KSTREAM-AGGREGATE-0000000007, KSTREAM-REDUCE-0000000011
    Processor: KSTREAM-AGGREGATE-0000000001 (stores: [session-count-store])
      --> KTABLE-TOSTREAM-0000000002, KTABLE-TOSTREAM-0000000005
      <-- input
    Processor: KSTREAM-AGGREGATE-0000000007 (stores: [session-agg-store])
      --> KTABLE-TOSTREAM-0000000008
      <-- input
    Processor: KSTREAM-REDUCE-0000000011 (stores: [session-reduce-store])
      --> KTABLE-TOSTREAM-0000000012
      <-- input
    Processor: KTABLE-TOSTREAM-0000000002 (stores: [])
      --> KSTREAM-KEY-SELECT-0000000003
      <-- KSTREAM-AGGREGATE-0000000001
    Processor: KTABLE-TOSTREAM-0000000008 (stores: [])
      --> KSTREAM-KEY-SELECT-0000000009
      <-- KSTREAM-AGGREGATE-0000000007
    Processor: KTABLE-TOSTREAM-0000000012 (stores: [])
      --> KSTREAM-KEY-SELECT-0000000013
      <-- KSTREAM-REDUCE-0000000011
    Processor: KSTREAM-KEY-SELECT-0000000003 (stores: [])
      --> KSTREAM-SINK-0000000004
      <-- KTABLE-TOSTREAM-0000000002
    Processor: KSTREAM-KEY-SELECT-0000000009 (stores: [])
      --> KSTREAM-SINK-0000000010
      <-- KTABLE-TOSTREAM-0000000008
    Processor: KSTREAM-KEY-SELECT-0000000013 (stores: [])
      --> KSTREAM-SINK-0000000014
      <-- KTABLE-TOSTREAM-0000000012
    Processor: KTABLE-TOSTREAM-0000000005 (stores: [])
      --> KSTREAM-SINK-0000000006
      <-- KSTREAM-AGGREGATE-0000000001
    Sink: KSTREAM-SINK-0000000004 (topic: session-count)
      <-- KSTREAM-KEY-SELECT-0000000003
    Sink: KSTREAM-SINK-0000000006 (topic: session-raw)
      <-- KTABLE-TOSTREAM-0000000005
    Sink: KSTREAM-SINK-0000000010 (topic: session-agg)
      <-- KSTREAM-KEY-SELECT-0000000009
    Sink: KSTREAM-SINK-0000000014 (topic: session-reduce)
      <-- KSTREAM-KEY-SELECT-0000000013";

const JAVA_SUPPRESS: &str = r"Topologies:
   Sub-topology: 0
    Source: input (topics: [suppress-in])
      --> KSTREAM-AGGREGATE-0000000001, KSTREAM-AGGREGATE-0000000007, KSTREAM-AGGREGATE-0000000011
    Processor: KSTREAM-AGGREGATE-0000000001 (stores: [final-count-store])
      --> KTABLE-SUPPRESS-0000000002
      <-- input
    Processor: KSTREAM-AGGREGATE-0000000007 (stores: [emit-final-store])
      --> KTABLE-TOSTREAM-0000000008
      <-- input
    Processor: KSTREAM-AGGREGATE-0000000011 (stores: [limit-count-store])
      --> KTABLE-SUPPRESS-0000000012
      <-- input
    Processor: KTABLE-SUPPRESS-0000000002 (stores: [KTABLE-SUPPRESS-STATE-STORE-0000000003])
      --> KTABLE-TOSTREAM-0000000004
      <-- KSTREAM-AGGREGATE-0000000001
    Processor: KTABLE-SUPPRESS-0000000012 (stores: [KTABLE-SUPPRESS-STATE-STORE-0000000013])
      --> KTABLE-TOSTREAM-0000000014
      <-- KSTREAM-AGGREGATE-0000000011
    Processor: KTABLE-TOSTREAM-0000000004 (stores: [])
      --> KSTREAM-KEY-SELECT-0000000005
      <-- KTABLE-SUPPRESS-0000000002
    Processor: KTABLE-TOSTREAM-0000000008 (stores: [])
      --> KSTREAM-KEY-SELECT-0000000009
      <-- KSTREAM-AGGREGATE-0000000007
    Processor: KSTREAM-KEY-SELECT-0000000005 (stores: [])
      --> KSTREAM-SINK-0000000006
      <-- KTABLE-TOSTREAM-0000000004
    Processor: KSTREAM-KEY-SELECT-0000000009 (stores: [])
      --> KSTREAM-SINK-0000000010
      <-- KTABLE-TOSTREAM-0000000008
    Processor: KTABLE-TOSTREAM-0000000014 (stores: [])
      --> KSTREAM-SINK-0000000015
      <-- KTABLE-SUPPRESS-0000000012
    Sink: KSTREAM-SINK-0000000006 (topic: final-count)
      <-- KSTREAM-KEY-SELECT-0000000005
    Sink: KSTREAM-SINK-0000000010 (topic: emit-final)
      <-- KSTREAM-KEY-SELECT-0000000009
    Sink: KSTREAM-SINK-0000000015 (topic: limit-count)
      <-- KTABLE-TOSTREAM-0000000014";

fn main() {
    for (rust, java) in [
        (Tumbling.describe(), JAVA_TUMBLING),
        (Sliding.describe(), JAVA_SLIDING),
        (Session.describe(), JAVA_SESSION),
        (Suppression.describe(), JAVA_SUPPRESS),
    ] {
        assert_eq!(rust.text().trim_end(), java, "ours:\n{rust}\nJava's:\n{java}");
    }
    // Stores are persistent and logged unless the aggregation says otherwise.
    let store = <Tumbling as Topology>::STORES.iter().find(|s| s.name == "hop-agg-store").unwrap();
    assert!(store.persistent && store.logging && store.timestamped);
    assert_eq!((store.kind, store.retention_ms, store.window_size_ms), (StoreKind::Window, 15, 10));
}
