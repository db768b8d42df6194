//! Windowed aggregations emitting on window close at the edges Java's time-ordered stores allow:
//! a window closing exactly at the store's retention boundary, sessions older than the store's
//! retention, and a sliding window of an early record. (The differential oracle covers the rest
//! against Java; these inputs are the ones it does not reach.)

use streams_runtime::prelude::*;

topology! {
    struct EmitOnClose {
        stream input { topic: "in", key: String, value: String }
        input
            .group_by_key()
            .windowed_by(tumbling(10ms))
            .count(store: "tumbling", emit_strategy: on_window_close)
            .to_stream()
            .to("tumbling-final");
        input
            .group_by_key()
            .windowed_by(sliding(10ms))
            .count(store: "sliding", emit_strategy: on_window_close)
            .to_stream()
            .to("sliding-final");
        input
            .group_by_key()
            .windowed_by(session(10ms))
            .count(store: "sessions", emit_strategy: on_window_close)
            .to_stream()
            .to("session-final");
    }
}

type Final = (String, i64, i64, Option<i64>, i64);

fn finals<KS: Serde<Windowed<String>>>(driver: &TopologyTestDriver<impl Graph>, topic: &str) -> Vec<Final> {
    driver
        .output_topic_named::<Windowed<String>, Option<i64>, KS, OptionSerde<LongSerde>>(topic)
        .read_records_to_list()
        .unwrap()
        .into_iter()
        .map(|r| (r.key.key, r.key.window.start, r.key.window.end, r.value, r.timestamp))
        .collect()
}

fn pipe(driver: &TopologyTestDriver<impl Graph>, records: &[(&str, i64)]) {
    let mut input = driver.input_topic(EmitOnClose::source_input());
    for &(key, ts) in records {
        input.pipe_input_at(key.to_owned(), "v".to_owned(), ts).unwrap();
    }
}

#[test]
fn a_window_closing_at_the_retention_boundary_is_emitted() {
    let driver = test_driver(&EmitOnClose).unwrap();
    pipe(&driver, &[("a", 5)]);
    assert!(finals::<TimeWindowedSerde<StringSerde, 10>>(&driver, "tumbling-final").is_empty());
    // Stream time 10 closes [0, 10): its start is exactly stream time minus the retention (10).
    pipe(&driver, &[("a", 10)]);
    assert_eq!(
        finals::<TimeWindowedSerde<StringSerde, 10>>(&driver, "tumbling-final"),
        [("a".to_owned(), 0, 10, Some(1), 5)]
    );
}

#[test]
fn closed_sessions_are_emitted_after_the_store_stopped_serving_them() {
    let driver = test_driver(&EmitOnClose).unwrap();
    // At 100 the session [0, 0] is past the store's retention (gap 10), but still in its segment.
    pipe(&driver, &[("a", 0), ("b", 3), ("a", 100)]);
    assert_eq!(
        finals::<SessionWindowedSerde<StringSerde>>(&driver, "session-final"),
        [("a".to_owned(), 0, 0, Some(1), 0), ("b".to_owned(), 3, 3, Some(1), 3)]
    );
}

#[test]
fn sessions_closing_together_are_emitted_by_end_then_start() {
    let driver = test_driver(&EmitOnClose).unwrap();
    pipe(&driver, &[("b", 12), ("b", 20), ("a", 20), ("c", 100)]);
    assert_eq!(
        finals::<SessionWindowedSerde<StringSerde>>(&driver, "session-final"),
        [
            ("b".to_owned(), 12, 20, Some(2), 20),
            ("a".to_owned(), 20, 20, Some(1), 20)
        ]
    );
}

#[test]
fn the_early_window_of_a_sliding_aggregation_is_emitted_once_closed() {
    let driver = test_driver(&EmitOnClose).unwrap();
    pipe(&driver, &[("a", 5), ("a", 30)]);
    assert_eq!(
        finals::<TimeWindowedSerde<StringSerde, 10>>(&driver, "sliding-final"),
        [("a".to_owned(), 0, 10, Some(1), 5)]
    );
}
