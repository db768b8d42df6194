//! Every window kind, windowed aggregation, option, emit strategy and suppression of the DSL,
//! with literal and `Duration` durations, run through the driver (in-memory stores: the UI tests
//! build without RocksDB).

use std::time::Duration;
use streams_runtime::prelude::*;
use streams_runtime::state::StoreSpec;

const GRACE: Duration = Duration::from_secs(5);

topology! {
    /// Windows of every kind.
    pub struct Windows {
        stream clicks { topic: "clicks", key: String, value: String, key_serde: StringSerde }
        // Tumbling windows, final results only, in an in-memory unlogged store kept for a minute;
        // `to` writes the inherited `TimeWindowedSerde<StringSerde, 10>` keys.
        clicks
            .group_by_key()
            .windowed_by(tumbling(10ms, grace: 5ms))
            .count(store: "tumbling-counts", persistent: false, logging: false, retention: 1min, emit_strategy: on_window_close)
            .to_stream()
            .to("tumbling-counts");
        // Hopping windows from `Duration` expressions, the advance named; the retention is checked
        // against size + grace by a const assertion.
        clicks
            .group_by_key()
            .windowed_by(hopping(Duration::from_millis(10), advance: Duration::from_millis(5), grace: GRACE))
            .reduce(
                |a, b| a + &b,
                store: "hopping-reduce",
                persistent: false,
                retention: Duration::from_secs(10),
                emit_strategy: on_window_update
            )
            .to_stream()
            .to("hopping-reduce");
        // Sliding windows after a key change (repartitioned through "sliding-lengths-repartition"),
        // rate-limited with a bounded buffer that emits early.
        clicks
            .select_key(|_, v| v.clone())
            .group_by_key()
            .windowed_by(sliding(10ms))
            .aggregate(|| 0i64, |_, v, n| n + v.len() as i64, store: "sliding-lengths", persistent: false, value_serde: LongSerde)
            .suppress(until_time_limit(1s, max_records(100).max_bytes(10_000).emit_early_when_full()))
            .to_stream()
            .to("sliding-lengths");
        // Sessions: an aggregate with its merger, each session's final value once it has closed.
        clicks
            .group_by_key()
            .windowed_by(session(10ms, grace: 0ms))
            .aggregate(String::new, |_, v, pages| pages + &v, merger: |_, a, b| a + &b, store: "sessions", persistent: false)
            .suppress(until_window_closes(max_records(1_000).shut_down_when_full()), name: "final-sessions")
            .to_stream()
            .to("sessions");
        // An unnamed store; a windowed table stays windowed through filter and map_values.
        clicks
            .group_by_key()
            .windowed_by(session(1min))
            .count(persistent: false)
            .suppress(until_window_closes(unbounded()))
            .to_stream()
            .to("session-counts");
        clicks
            .group_by_key()
            .windowed_by(tumbling(1h))
            .count(store: "hourly", persistent: false)
            .filter(|_, n| *n > 0)
            .map_values(|n| n * 2)
            .suppress(until_window_closes(max_bytes(1_000_000).max_records(10).shut_down_when_full()))
            .to_stream()
            .to("hourly");
        clicks
            .group_by_key()
            .windowed_by(tumbling(1d))
            .count(store: "daily", persistent: false)
            .suppress(until_window_closes(unbounded().shut_down_when_full()))
            .to_stream()
            .to("daily");
    }
}

fn store(name: &str) -> StoreSpec {
    *<Windows as Topology>::STORES.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no store {name}"))
}

fn main() {
    let tumbling = store("tumbling-counts");
    assert_eq!(tumbling.kind, StoreKind::Window);
    assert!(tumbling.timestamped && !tumbling.persistent && !tumbling.logging);
    assert_eq!((tumbling.retention_ms, tumbling.window_size_ms), (60_000, 10));
    let hopping = store("hopping-reduce");
    assert_eq!((hopping.kind, hopping.retention_ms, hopping.window_size_ms), (StoreKind::Window, 10_000, 10));
    assert!(!hopping.persistent && hopping.logging);
    let sliding = store("sliding-lengths");
    assert_eq!((sliding.kind, sliding.retention_ms, sliding.window_size_ms), (StoreKind::Window, 20, 10));
    let sessions = store("sessions");
    assert_eq!((sessions.kind, sessions.retention_ms, sessions.window_size_ms), (StoreKind::Session, 10, 0));
    assert!(!sessions.timestamped);
    let buffer = store("final-sessions-store");
    assert_eq!(buffer.kind, StoreKind::KeyValue);
    assert!(!buffer.persistent && buffer.logging && !buffer.timestamped);
    assert_eq!(store("hourly").retention_ms, 3_600_000);

    let description = Windows.describe().to_string();
    for line in [
        "Processor: final-sessions (stores: [final-sessions-store])",
        "Sink: sliding-lengths-repartition-sink (topic: sliding-lengths-repartition)",
        // session(1min).count() without a store: Java's names, store first.
        "(stores: [KSTREAM-AGGREGATE-STATE-STORE-",
        "Processor: KTABLE-SUPPRESS-",
    ] {
        assert!(description.contains(line), "missing `{line}` in\n{description}");
    }

    let driver = test_driver(&Windows).unwrap();
    let mut clicks = driver.input_topic(Windows::source_clicks());
    clicks.pipe_input_at("a".into(), "x".into(), 0).unwrap();
    clicks.pipe_input_at("a".into(), "y".into(), 3).unwrap();
    clicks.pipe_input_at("b".into(), "z".into(), 30).unwrap();
    // The tumbling window [0, 10) closed at stream time 15: its one final count.
    let mut counts = driver
        .output_topic_named::<Windowed<String>, Option<i64>, TimeWindowedSerde<StringSerde, 10>, OptionSerde<LongSerde>>(
            "tumbling-counts",
        );
    assert_eq!(
        counts.read_key_values_to_list().unwrap(),
        [(Windowed::new("a".to_owned(), Window::new(0, 10)), Some(2))]
    );
    // The session [0, 3] of "a" closed at stream time 13: its final aggregate.
    let mut sessions = driver
        .output_topic_named::<Windowed<String>, Option<String>, SessionWindowedSerde<StringSerde>, OptionSerde<StringSerde>>(
            "sessions",
        );
    assert_eq!(
        sessions.read_key_values_to_list().unwrap(),
        [(Windowed::new("a".to_owned(), Window::new(0, 3)), Some("xy".to_owned()))]
    );
    assert!(!driver.output_topic_as::<Windowed<String>, Option<String>>("hopping-reduce").read_key_values_to_list().unwrap().is_empty());
    let window_store = driver.window_store::<String, i64>("tumbling-counts").unwrap();
    assert_eq!(window_store.get(&"b".to_owned(), 30).unwrap(), Some(1));
    driver.close().unwrap();
}
