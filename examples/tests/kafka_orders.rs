//! The orders example on the real Kafka broker (`support::kafka`): orders rekeyed through a
//! repartition topic, enriched from the customers table and the products global table and
//! totalled per customer and hour; then a second instance on an empty state directory restores
//! the customers' store, the products' global store and the hourly totals from their topics, so
//! the hour open at the handover gets exact totals carrying the orders from before it.

mod support;

use examples::orders_topology;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use streams_runtime::config::StreamsConfig;
use streams_runtime::kafka::KafkaStreams;
use support::{Read, TimedRecord, app_id, kafka};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

orders_topology! {
    struct Orders {
        orders: "ko-orders",
        customers: "ko-customers",
        products: "ko-products",
        output: "ko-totals",
    }
}

fn config(app: &str, state_dir: &std::path::Path) -> StreamsConfig {
    let bootstrap = kafka().bootstrap();
    let state_dir = state_dir.display().to_string();
    StreamsConfig::from_properties([
        ("application.id", app),
        ("bootstrap.servers", bootstrap.as_str()),
        ("commit.interval.ms", "100"),
        ("state.dir", state_dir.as_str()),
        // Every update is emitted (a zero record cache flushes each write at once, as Java does
        // with `statestore.cache.max.bytes=0`): the tests know how many to expect.
        ("statestore.cache.max.bytes", "0"),
        // The customers must be read before the (later) orders they enrich: the task merges its
        // inputs by timestamp once both are fetched, and this makes it wait a moment for the
        // customers' first fetch instead of racing past it with the first repartitioned orders.
        ("max.task.idle.ms", "1000"),
    ])
    .unwrap()
}

/// Text records (key, value, timestamp) to send.
fn text(records: &[(&'static str, &'static str, i64)]) -> Vec<TimedRecord<'static>> {
    records
        .iter()
        .map(|&(key, value, ts)| (Some(key.as_bytes()), Some(value.as_bytes()), ts))
        .collect()
}

/// An output record as (customer, window start, totals text).
type Total = (String, i64, String);

/// An output record as (customer, window start, totals): the key is the customer id's bytes
/// and the window start (Java's `TimeWindowedSerde`), the value `name|orders|cents`.
fn totals(r: &Read) -> Total {
    let key = r.key.as_deref().unwrap();
    let (customer, start) = key.split_at(key.len() - 8);
    (
        String::from_utf8(customer.to_vec()).unwrap(),
        i64::from_be_bytes(start.try_into().unwrap()),
        r.value_str(),
    )
}

/// An hour boundary three hours ago: windows are aligned to the epoch, so the test's hours
/// start at `base` and `base + HOUR`, both over. Timestamps are recent, not near the epoch: the
/// totals' changelog is `compact,delete` with a time retention, and the broker deletes segments
/// whose records are older than that retention.
fn recent_hour() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    (now / HOUR - 3) * HOUR
}

/// Runs the application on `state_dir` until the output holds `expected` records; returns the
/// restored records per store and the whole output.
fn run(app: &str, state_dir: &std::path::Path, expected: usize) -> (Vec<(String, u64)>, Vec<Total>) {
    let mut streams = KafkaStreams::new(Orders, config(app, state_dir)).unwrap();
    let restored = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&restored);
    streams.set_restore_listener(move |r| log.lock().unwrap().push((r.store.to_owned(), r.records)));
    streams.start().unwrap();
    let output = kafka().read("ko-totals", "read_uncommitted", Duration::from_secs(2), |r| {
        r.len() >= expected
    });
    assert!(streams.close(Duration::from_secs(10)));
    assert!(streams.take_failure().is_none());
    let mut restored = std::mem::take(&mut *restored.lock().unwrap());
    restored.sort();
    (restored, output.iter().map(totals).collect())
}

fn total(customer: &str, start: i64, totals: &str) -> Total {
    (customer.to_owned(), start, totals.to_owned())
}

#[test]
fn hourly_totals_survive_a_restore_of_the_join_and_aggregation_stores() {
    let app = app_id("ko-restore");
    kafka().create_topics(&["ko-orders", "ko-customers", "ko-products", "ko-totals"], 1);
    let base = recent_hour();
    kafka().send_at(
        "ko-products",
        None,
        &text(&[("p1", "Widget|250", base), ("p2", "Gadget|1000", base)]),
    );
    kafka().send_at(
        "ko-customers",
        None,
        &text(&[("c1", "Alice|EU", base), ("c2", "Bob|US", base)]),
    );
    kafka().send_at(
        "ko-orders",
        None,
        &text(&[
            ("o1", "c1|p1|2", base + 5 * MINUTE),
            ("o2", "c2|p2|1", base + 10 * MINUTE),
            // An unknown customer still counts; an unknown product does not.
            ("o3", "c3|p1|4", base + 15 * MINUTE),
            ("o4", "c1|p9|1", base + 20 * MINUTE),
            ("o5", "c1|p2|1", base + 30 * MINUTE),
            ("o6", "c1|p1|1", base + HOUR + 5 * MINUTE),
        ]),
    );
    let first_state = tempfile::tempdir().unwrap();
    let (restored, output) = run(&app, first_state.path(), 5);
    // Only the global table is read in full at the first start (its topic is its changelog).
    assert_eq!(
        restored,
        [
            ("order-customers".to_owned(), 0),
            ("order-products".to_owned(), 2),
            ("order-totals-per-hour".to_owned(), 0),
        ]
    );
    let first_hour = [
        total("c1", base, "Alice|1|500"),
        total("c2", base, "Bob|1|1000"),
        total("c3", base, "unknown|1|1000"),
        total("c1", base, "Alice|2|1500"),
        total("c1", base + HOUR, "Alice|1|250"),
    ];
    assert_eq!(output, first_hour);

    // While no instance runs: a price change, a renamed customer and three more orders in the
    // second hour.
    kafka().send_at("ko-products", None, &text(&[("p1", "Widget|300", base + HOUR)]));
    kafka().send_at("ko-customers", None, &text(&[("c2", "Robert|US", base + HOUR)]));
    kafka().send_at(
        "ko-orders",
        None,
        &text(&[
            ("o7", "c1|p1|2", base + HOUR + 20 * MINUTE),
            ("o8", "c2|p1|1", base + HOUR + 25 * MINUTE),
            ("o9", "c3|p2|1", base + HOUR + 30 * MINUTE),
        ]),
    );
    // A new instance on an empty state directory restores the customers (two rows), all three
    // product rows and the five updates of the hourly totals from their topics.
    let second_state = tempfile::tempdir().unwrap();
    let (restored, output) = run(&app, second_state.path(), 8);
    assert_eq!(
        restored,
        [
            ("order-customers".to_owned(), 2),
            ("order-products".to_owned(), 3),
            ("order-totals-per-hour".to_owned(), 5),
        ]
    );
    // c1's second hour carries o6 (250, before the handover) and adds 2 × the new price.
    let mut expected = first_hour.to_vec();
    expected.extend([
        total("c1", base + HOUR, "Alice|2|850"),
        total("c2", base + HOUR, "Robert|1|300"),
        total("c3", base + HOUR, "unknown|1|1000"),
    ]);
    assert_eq!(output, expected);
}
