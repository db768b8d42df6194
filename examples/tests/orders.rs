//! The orders example: orders enriched with their customer (a left join of a table) and their
//! product (a join of a global table), totalled per customer and hour. The inputs are piped as
//! the text any producer would write (`TopologyTestDriver::pipe_raw`).

use examples::orders::{Orders, Text, Totals};
use streams_runtime::prelude::*;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// The hourly windows' key serde: the customer id, then the window start.
type HourKey = TimeWindowedSerde<StringSerde, 3_600_000>;

/// Pipes the order `id` (`customer|product|quantity`) at `ts`.
fn order(driver: &TopologyTestDriver<impl Graph>, id: &str, order: &str, ts: i64) {
    driver
        .pipe_raw("orders", Some(id.as_bytes()), Some(order.as_bytes()), ts)
        .unwrap();
}

/// Pipes the customer row `id` (`name|region`; `None`: a tombstone) at `ts`.
fn customer(driver: &TopologyTestDriver<impl Graph>, id: &str, row: Option<&str>, ts: i64) {
    driver
        .pipe_raw("customers", Some(id.as_bytes()), row.map(str::as_bytes), ts)
        .unwrap();
}

/// Pipes the product row `id` (`name|unit cents`) at `ts`.
fn product(driver: &TopologyTestDriver<impl Graph>, id: &str, row: &str, ts: i64) {
    driver
        .pipe_raw("products", Some(id.as_bytes()), Some(row.as_bytes()), ts)
        .unwrap();
}

/// The output records since the last read as (customer, window start, totals text, timestamp).
fn totals(driver: &TopologyTestDriver<impl Graph>) -> Vec<(String, i64, String, i64)> {
    driver
        .output_topic_named::<Windowed<String>, Option<String>, HourKey, OptionSerde<StringSerde>>(
            "order-totals-per-hour",
        )
        .read_records_to_list()
        .unwrap()
        .into_iter()
        .map(|r| {
            assert_eq!(r.key.window.end, r.key.window.start + HOUR);
            (r.key.key, r.key.window.start, r.value.unwrap(), r.timestamp)
        })
        .collect()
}

fn total(customer: &str, start: i64, totals: &str, ts: i64) -> (String, i64, String, i64) {
    (customer.to_owned(), start, totals.to_owned(), ts)
}

#[test]
fn an_order_before_its_customer_exists_counts_as_unknown_and_later_orders_carry_the_name() {
    let driver = test_driver(&Orders).unwrap();
    product(&driver, "p1", "Widget|250", 0);
    order(&driver, "o1", "c1|p1|2", 5 * MINUTE);
    customer(&driver, "c1", Some("Alice|EU"), 6 * MINUTE);
    order(&driver, "o2", "c1|p1|1", 10 * MINUTE);
    customer(&driver, "c1", Some("Alicia|EU"), 11 * MINUTE);
    order(&driver, "o3", "c1|p1|1", 12 * MINUTE);
    // A deleted customer is unknown again; its orders still count.
    customer(&driver, "c1", None, 13 * MINUTE);
    order(&driver, "o4", "c1|p1|4", 14 * MINUTE);
    assert_eq!(
        totals(&driver),
        [
            total("c1", 0, "unknown|1|500", 5 * MINUTE),
            total("c1", 0, "Alice|2|750", 10 * MINUTE),
            total("c1", 0, "Alicia|3|1000", 12 * MINUTE),
            total("c1", 0, "unknown|4|2000", 14 * MINUTE),
        ]
    );
    // Customer updates alone emit nothing (a stream-table join is driven by the stream).
    customer(&driver, "c1", Some("Alice|EU"), 15 * MINUTE);
    assert!(totals(&driver).is_empty());
    assert_eq!(driver.dropped_records(), 0);
}

#[test]
fn a_price_change_affects_only_the_orders_after_it() {
    let driver = test_driver(&Orders).unwrap();
    customer(&driver, "c1", Some("Alice|EU"), 0);
    customer(&driver, "c2", Some("Bob|US"), 0);
    product(&driver, "p1", "Widget|250", 0);
    product(&driver, "p2", "Gadget|1000", 0);
    order(&driver, "o1", "c1|p1|2", MINUTE);
    order(&driver, "o2", "c2|p2|1", 2 * MINUTE);
    product(&driver, "p1", "Widget|300", 3 * MINUTE);
    order(&driver, "o3", "c1|p1|2", 4 * MINUTE);
    order(&driver, "o4", "c2|p1|1", 5 * MINUTE);
    assert_eq!(
        totals(&driver),
        [
            total("c1", 0, "Alice|1|500", MINUTE),
            total("c2", 0, "Bob|1|1000", 2 * MINUTE),
            // 500 at the old price, then 2 × 300.
            total("c1", 0, "Alice|2|1100", 4 * MINUTE),
            total("c2", 0, "Bob|2|1300", 5 * MINUTE),
        ]
    );
}

#[test]
fn orders_in_two_hours_land_in_two_windows_and_a_closed_hour_takes_no_more() {
    let driver = test_driver(&Orders).unwrap();
    customer(&driver, "c1", Some("Alice|EU"), 0);
    product(&driver, "p1", "Widget|250", 0);
    order(&driver, "o1", "c1|p1|1", 10 * MINUTE);
    order(&driver, "o2", "c1|p1|2", 59 * MINUTE);
    order(&driver, "o3", "c1|p1|3", HOUR);
    order(&driver, "o4", "c1|p1|4", HOUR + 30 * MINUTE);
    // The first hour ended at stream time 1 h and has no grace: a late order is dropped.
    order(&driver, "o5", "c1|p1|5", 50 * MINUTE);
    assert_eq!(
        totals(&driver),
        [
            total("c1", 0, "Alice|1|250", 10 * MINUTE),
            total("c1", 0, "Alice|2|750", 59 * MINUTE),
            total("c1", HOUR, "Alice|1|750", HOUR),
            total("c1", HOUR, "Alice|2|1750", HOUR + 30 * MINUTE),
        ]
    );
    assert_eq!(driver.dropped_records(), 1);
    // The window store holds each hour's totals (typed, through their text serde) for the
    // window's size plus grace (1 h) of stream time: at 1 h 30 min the first hour is gone.
    let store = driver.window_store::<String, Totals>("order-totals-per-hour").unwrap();
    let expected = Totals {
        name: "Alice".to_owned(),
        orders: 2,
        cents: 1750,
    };
    assert_eq!(store.get(&"c1".to_owned(), HOUR).unwrap(), Some(expected));
    assert_eq!(store.get(&"c1".to_owned(), 0).unwrap(), None);
}

#[test]
fn an_order_of_an_unknown_product_is_dropped_by_the_inner_join() {
    let driver = test_driver(&Orders).unwrap();
    customer(&driver, "c1", Some("Alice|EU"), 0);
    product(&driver, "p1", "Widget|250", 0);
    order(&driver, "o1", "c1|p9|3", MINUTE);
    // An unknown customer with an unknown product: dropped too.
    order(&driver, "o2", "c2|p9|1", 2 * MINUTE);
    assert!(totals(&driver).is_empty());
    order(&driver, "o3", "c1|p1|1", 3 * MINUTE);
    product(&driver, "p9", "Gizmo|99", 4 * MINUTE);
    order(&driver, "o4", "c2|p9|1", 5 * MINUTE);
    assert_eq!(
        totals(&driver),
        [
            total("c1", 0, "Alice|1|250", 3 * MINUTE),
            total("c2", 0, "unknown|1|99", 5 * MINUTE),
        ]
    );
}

#[test]
fn the_output_is_readable_as_typed_totals_keyed_by_the_customer_and_the_hour() {
    let driver = test_driver(&Orders).unwrap();
    customer(&driver, "c1", Some("Alice|EU"), 0);
    product(&driver, "p1", "Widget|250", 0);
    order(&driver, "o1", "c1|p1|2", 3 * HOUR + MINUTE);
    let records = driver
        .output_topic_named::<Windowed<String>, Option<Totals>, HourKey, OptionSerde<Text<Totals>>>(
            "order-totals-per-hour",
        )
        .read_key_values_to_list()
        .unwrap();
    assert_eq!(records.len(), 1);
    let (key, value) = &records[0];
    assert_eq!((key.key.as_str(), key.window.start), ("c1", 3 * HOUR));
    assert_eq!(
        *value,
        Some(Totals {
            name: "Alice".to_owned(),
            orders: 1,
            cents: 500,
        })
    );
}

#[test]
fn text_values_round_trip_and_malformed_ones_are_errors() {
    use examples::orders::{Order, Product};
    let order: Order = "c1|p1|2".parse().unwrap();
    assert_eq!(
        order,
        Order {
            customer: "c1".to_owned(),
            product: "p1".to_owned(),
            quantity: 2,
        }
    );
    assert_eq!(order.to_string(), "c1|p1|2");
    assert_eq!(
        "Widget".parse::<Product>(),
        Err("product: expected 2 `|`-separated fields in \"Widget\"".to_owned())
    );
    assert_eq!(
        "Widget|cheap".parse::<Product>(),
        Err("product: \"cheap\" is not a whole number: invalid digit found in string".to_owned())
    );
    let serde = Text::<Order>::default();
    assert!(serde.deserialize(Some(b"c1|p1")).is_err());
    assert!(serde.deserialize(None).is_err());
}

#[test]
fn the_rekeyed_orders_are_repartitioned_before_they_join_the_customers() {
    let expected = "\
Topologies:
   Sub-topology: 0
    Source: orders (topics: [orders])
      --> KSTREAM-KEY-SELECT-0000000005
    Processor: KSTREAM-KEY-SELECT-0000000005 (stores: [])
      --> KSTREAM-FILTER-0000000007
      <-- orders
    Processor: KSTREAM-FILTER-0000000007 (stores: [])
      --> KSTREAM-SINK-0000000006
      <-- KSTREAM-KEY-SELECT-0000000005
    Sink: KSTREAM-SINK-0000000006 (topic: KSTREAM-KEY-SELECT-0000000005-repartition)
      <-- KSTREAM-FILTER-0000000007

  Sub-topology: 1
    Source: KSTREAM-SOURCE-0000000008 (topics: [KSTREAM-KEY-SELECT-0000000005-repartition])
      --> KSTREAM-LEFTJOIN-0000000009
    Processor: KSTREAM-LEFTJOIN-0000000009 (stores: [order-customers])
      --> KSTREAM-LEFTJOIN-0000000010
      <-- KSTREAM-SOURCE-0000000008
    Processor: KSTREAM-LEFTJOIN-0000000010 (stores: [])
      --> KSTREAM-AGGREGATE-0000000011
      <-- KSTREAM-LEFTJOIN-0000000009
    Processor: KSTREAM-AGGREGATE-0000000011 (stores: [order-totals-per-hour])
      --> KTABLE-TOSTREAM-0000000012
      <-- KSTREAM-LEFTJOIN-0000000010
    Processor: KTABLE-TOSTREAM-0000000012 (stores: [])
      --> KSTREAM-SINK-0000000013
      <-- KSTREAM-AGGREGATE-0000000011
    Source: customers (topics: [customers])
      --> KTABLE-SOURCE-0000000002
    Sink: KSTREAM-SINK-0000000013 (topic: order-totals-per-hour)
      <-- KTABLE-TOSTREAM-0000000012
    Processor: KTABLE-SOURCE-0000000002 (stores: [order-customers])
      --> none
      <-- customers

  Sub-topology: 2 for global store (will not generate tasks)
    Source: products (topics: [products])
      --> KTABLE-SOURCE-0000000004
    Processor: KTABLE-SOURCE-0000000004 (stores: [order-products])
      --> none
      <-- products

";
    assert_eq!(Orders.describe().text(), expected);
}
