//! The page-views example: one final count per user and minute, after the window closes.

use examples::page_views::PageViews;
use streams_runtime::prelude::*;

const MINUTE: i64 = 60_000;
const SECOND: i64 = 1_000;

/// Reads the final counts as (user, window start, window end, count).
fn finals(driver: &TopologyTestDriver<impl Graph>) -> Vec<(String, i64, i64, Option<i64>)> {
    driver
        .output_topic_named::<Windowed<String>, Option<i64>, TimeWindowedSerde<StringSerde, 60_000>, OptionSerde<LongSerde>>(
            "page-views-per-minute",
        )
        .read_records_to_list()
        .unwrap()
        .into_iter()
        .map(|r| (r.key.key, r.key.window.start, r.key.window.end, r.value))
        .collect()
}

#[test]
fn each_user_minute_is_counted_once_after_its_window_closes() {
    let driver = test_driver(&PageViews).unwrap();
    let mut views = driver.input_topic(PageViews::source_views());
    let view = |user: &str, ts: i64| (user.to_owned(), "/home".to_owned(), ts);
    for (user, page, ts) in [
        view("alice", 5 * SECOND),
        view("bob", 20 * SECOND),
        view("alice", 59 * SECOND),
        view("alice", MINUTE + SECOND),
        // Out of order, inside the grace: still counted in the first minute.
        view("bob", 55 * SECOND),
    ] {
        views.pipe_input_at(user, page, ts).unwrap();
    }
    // Nothing is final yet: stream time (61 s) has not passed 60 s + 10 s of grace.
    assert!(finals(&driver).is_empty());
    views
        .pipe_input_at("carol".to_owned(), "/a".to_owned(), MINUTE + 10 * SECOND)
        .unwrap();
    assert_eq!(
        finals(&driver),
        [
            ("alice".to_owned(), 0, MINUTE, Some(2)),
            ("bob".to_owned(), 0, MINUTE, Some(2)),
        ]
    );
    // Too late for the first minute (its grace ended at 70 s): dropped, counted, never emitted.
    views
        .pipe_input_at("bob".to_owned(), "/b".to_owned(), 30 * SECOND)
        .unwrap();
    assert_eq!(driver.dropped_records(), 1);
    views
        .pipe_input_at("dave".to_owned(), "/c".to_owned(), 3 * MINUTE)
        .unwrap();
    assert_eq!(
        finals(&driver),
        [
            ("alice".to_owned(), MINUTE, 2 * MINUTE, Some(1)),
            ("carol".to_owned(), MINUTE, 2 * MINUTE, Some(1)),
        ]
    );
    // The store keeps a window for its size plus grace (70 s) of stream time: at 3 minutes only
    // dave's window is left.
    let store = driver.window_store::<String, i64>("views-per-minute").unwrap();
    assert_eq!(store.get(&"alice".to_owned(), MINUTE).unwrap(), None);
    assert_eq!(store.get(&"dave".to_owned(), 3 * MINUTE).unwrap(), Some(1));
}

#[test]
fn the_description_names_the_windowed_count_and_the_suppression_as_java_does() {
    let expected = "\
Topologies:
   Sub-topology: 0
    Source: views (topics: [page-views])
      --> KSTREAM-AGGREGATE-0000000001
    Processor: KSTREAM-AGGREGATE-0000000001 (stores: [views-per-minute])
      --> KTABLE-SUPPRESS-0000000002
      <-- views
    Processor: KTABLE-SUPPRESS-0000000002 (stores: [KTABLE-SUPPRESS-STATE-STORE-0000000003])
      --> KTABLE-TOSTREAM-0000000004
      <-- KSTREAM-AGGREGATE-0000000001
    Processor: KTABLE-TOSTREAM-0000000004 (stores: [])
      --> KSTREAM-SINK-0000000005
      <-- KTABLE-SUPPRESS-0000000002
    Sink: KSTREAM-SINK-0000000005 (topic: page-views-per-minute)
      <-- KTABLE-TOSTREAM-0000000004

";
    assert_eq!(PageViews.describe().text(), expected);
}
