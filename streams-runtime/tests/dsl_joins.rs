//! Joins of the DSL through the test driver, with expected results from Java's behaviour
//! (`KStreamKTableJoinTest`, `KStreamKTableLeftJoinTest`).

use streams_runtime::prelude::*;

fn kv(k: &str, v: &str) -> (String, String) {
    (k.to_owned(), v.to_owned())
}

topology! {
    struct Orders {
        stream orders { topic: "orders", key: String, value: String }
        table customers { topic: "customers", key: String, value: String, store: "customers-store" }
        orders.join(customers, |order, customer| format!("{order}/{customer}")).to("joined");
        orders
            .left_join(customers, |k, order, customer| format!("{k}:{order}/{}", customer.map_or("null", String::as_str)))
            .to("left-joined");
        orders
            .select_key(|_, order| order.split(':').next().unwrap_or_default().to_owned())
            .join(customers, |order, customer| format!("{order}@{customer}"))
            .to("rekeyed");
    }
}

#[test]
fn a_stream_record_joins_the_table_row_current_at_its_arrival_and_table_updates_emit_nothing() {
    let driver = test_driver(&Orders).unwrap();
    let mut orders = driver.input_topic(Orders::source_orders());
    let mut customers = driver.input_topic(Orders::source_customers());
    orders.pipe_input("c1".to_owned(), "o1".to_owned()).unwrap();
    customers
        .pipe_input(Some("c1".to_owned()), Some("alice".to_owned()))
        .unwrap();
    orders.pipe_input("c1".to_owned(), "o2".to_owned()).unwrap();
    customers
        .pipe_input(Some("c1".to_owned()), Some("alice2".to_owned()))
        .unwrap();
    orders.pipe_input("c1".to_owned(), "o3".to_owned()).unwrap();
    customers.pipe_input(Some("c1".to_owned()), None).unwrap();
    orders.pipe_input("c1".to_owned(), "o4".to_owned()).unwrap();
    orders.pipe_input("c2".to_owned(), "o5".to_owned()).unwrap();
    let mut joined = driver.output_topic_as::<String, String>("joined");
    assert_eq!(
        joined.read_key_values_to_list().unwrap(),
        [kv("c1", "o2/alice"), kv("c1", "o3/alice2")]
    );
    let mut left = driver.output_topic_as::<String, String>("left-joined");
    assert_eq!(
        left.read_key_values_to_list().unwrap(),
        [
            kv("c1", "c1:o1/null"),
            kv("c1", "c1:o2/alice"),
            kv("c1", "c1:o3/alice2"),
            kv("c1", "c1:o4/null"),
            kv("c2", "c2:o5/null"),
        ]
    );
}

#[test]
fn a_rekeyed_stream_is_repartitioned_before_it_joins() {
    let driver = test_driver(&Orders).unwrap();
    let mut orders = driver.input_topic(Orders::source_orders());
    let mut customers = driver.input_topic(Orders::source_customers());
    customers
        .pipe_input(Some("c9".to_owned()), Some("zoe".to_owned()))
        .unwrap();
    orders.pipe_input("x".to_owned(), "c9:o1".to_owned()).unwrap();
    orders.pipe_input("y".to_owned(), "c8:o2".to_owned()).unwrap();
    let mut rekeyed = driver.output_topic_as::<String, String>("rekeyed");
    assert_eq!(rekeyed.read_key_values_to_list().unwrap(), [kv("c9", "c9:o1@zoe")]);
    let description = Orders.describe();
    assert!(
        description.text().contains("KSTREAM-KEY-SELECT-0000000007-repartition"),
        "{description}"
    );
}

topology! {
    struct Clicks {
        stream views { topic: "views", key: String, value: String }
        stream clicks { topic: "clicks", key: String, value: String }
        views.join(clicks, |v, c| format!("{v}+{c}"), join_windows(10ms, grace: 5ms)).to("inner");
        views.left_join(clicks, |v, c| format!("{v}+{}", c.map_or("null", String::as_str)), join_windows(10ms, grace: 5ms)).to("left");
        views
            .outer_join(
                clicks,
                |v, c| format!("{}+{}", v.map_or("null", String::as_str), c.map_or("null", String::as_str)),
                join_windows(10ms, grace: 5ms),
            )
            .to("outer");
    }
}

fn read(driver: &TopologyTestDriver<impl Graph>, topic: &str) -> Vec<(String, String, i64)> {
    let mut out = driver.output_topic_as::<String, String>(topic);
    out.read_records_to_list()
        .unwrap()
        .into_iter()
        .map(|r| (r.key, r.value, r.timestamp))
        .collect()
}

fn kvt(k: &str, v: &str, t: i64) -> (String, String, i64) {
    (k.to_owned(), v.to_owned(), t)
}

#[test]
fn stream_stream_joins_match_within_the_window_and_emit_unmatched_records_after_it_closes() {
    let driver = test_driver(&Clicks).unwrap();
    let mut views = driver.input_topic(Clicks::source_views());
    let mut clicks = driver.input_topic(Clicks::source_clicks());
    views.pipe_input_at("a".to_owned(), "v1".to_owned(), 100).unwrap();
    clicks.pipe_input_at("a".to_owned(), "c1".to_owned(), 105).unwrap();
    views.pipe_input_at("b".to_owned(), "v2".to_owned(), 106).unwrap();
    clicks.pipe_input_at("a".to_owned(), "c2".to_owned(), 120).unwrap();
    // Stream time 131 closes b's window (106 + 10 + 5 < 131) and c2's (120 + 10 + 5 < 131... not yet).
    views.pipe_input_at("z".to_owned(), "v3".to_owned(), 131).unwrap();
    assert_eq!(read(&driver, "inner"), [kvt("a", "v1+c1", 105)]);
    assert_eq!(
        read(&driver, "left"),
        [kvt("a", "v1+c1", 105), kvt("b", "v2+null", 106)]
    );
    assert_eq!(
        read(&driver, "outer"),
        [kvt("a", "v1+c1", 105), kvt("b", "v2+null", 106)]
    );
}

topology! {
    struct Tables {
        table left { topic: "tl", key: String, value: String, store: "tl-store" }
        table right { topic: "tr", key: String, value: String, store: "tr-store" }
        left.join(right, |l, r| format!("{l}+{r}")).to_stream().to("tt-inner");
        left.left_join(right, |l, r| format!("{l}+{}", r.map_or("null", String::as_str))).to_stream().to("tt-left");
        left.outer_join(right, |l, r| format!("{}+{}", l.map_or("null", String::as_str), r.map_or("null", String::as_str)))
            .to_stream()
            .to("tt-outer");
        left.join(right, |l, r| format!("{l}+{r}"))
            .group_by(|_, v| (v[..1].to_owned(), v))
            .count(store: "tt-count")
            .to_stream()
            .to("tt-counts");
    }
}

fn changes(driver: &TopologyTestDriver<impl Graph>, topic: &str) -> Vec<(String, Option<String>, i64)> {
    let mut out = driver.output_topic_as::<String, Option<String>>(topic);
    out.read_records_to_list()
        .unwrap()
        .into_iter()
        .map(|r| (r.key, r.value, r.timestamp))
        .collect()
}

fn change(k: &str, v: Option<&str>, t: i64) -> (String, Option<String>, i64) {
    (k.to_owned(), v.map(str::to_owned), t)
}

#[test]
fn table_joins_follow_both_sides_with_tombstones_and_the_later_timestamp() {
    let driver = test_driver(&Tables).unwrap();
    let mut left = driver.input_topic(Tables::source_left());
    let mut right = driver.input_topic(Tables::source_right());
    let s = |v: &str| Some(v.to_owned());
    left.pipe_input_at(s("a"), s("l1"), 10).unwrap();
    right.pipe_input_at(s("a"), s("r1"), 5).unwrap();
    right.pipe_input_at(s("b"), s("r2"), 6).unwrap();
    left.pipe_input_at(s("a"), s("l2"), 7).unwrap();
    right.pipe_input_at(s("a"), None, 20).unwrap();
    left.pipe_input_at(s("a"), None, 21).unwrap();
    assert_eq!(
        changes(&driver, "tt-inner"),
        [
            change("a", Some("l1+r1"), 10),
            change("a", Some("l2+r1"), 7),
            change("a", None, 20),
        ]
    );
    assert_eq!(
        changes(&driver, "tt-left"),
        [
            change("a", Some("l1+null"), 10),
            change("a", Some("l1+r1"), 10),
            change("a", Some("l2+r1"), 7),
            change("a", Some("l2+null"), 20),
            change("a", None, 21),
        ]
    );
    assert_eq!(
        changes(&driver, "tt-outer"),
        [
            change("a", Some("l1+null"), 10),
            change("a", Some("l1+r1"), 10),
            change("b", Some("null+r2"), 6),
            change("a", Some("l2+r1"), 7),
            change("a", Some("l2+null"), 20),
            change("a", None, 21),
        ]
    );
    let mut counts = driver.output_topic_as::<String, Option<i64>>("tt-counts");
    assert_eq!(
        counts.read_key_values_to_list().unwrap(),
        [
            ("l".to_owned(), Some(1)),
            // The row changed within its group: one update, the old value subtracted.
            ("l".to_owned(), Some(1)),
            ("l".to_owned(), Some(0)),
        ]
    );
}

topology! {
    struct Enrich {
        stream orders { topic: "g-orders", key: String, value: String }
        global_table products { topic: "g-products", key: String, value: String, store: "products" }
        orders
            .join(products, |_, order| order.split(':').next().unwrap_or_default().to_owned(), |order, product| format!("{order}/{product}"))
            .to("g-inner");
        orders
            .left_join(products, |_, order| order.split(':').next().unwrap_or_default().to_owned(), |k, order, product| {
                format!("{k}:{order}/{}", product.map_or("null", String::as_str))
            })
            .to("g-left");
    }
}

#[test]
fn a_stream_joins_a_global_table_by_the_key_its_mapper_picks() {
    let driver = test_driver(&Enrich).unwrap();
    let mut orders = driver.input_topic(Enrich::source_orders());
    let mut products = driver.input_topic(Enrich::source_products());
    products
        .pipe_input(Some("p1".to_owned()), Some("apple".to_owned()))
        .unwrap();
    orders.pipe_input("c1".to_owned(), "p1:o1".to_owned()).unwrap();
    orders.pipe_input("c2".to_owned(), "p2:o2".to_owned()).unwrap();
    products.pipe_input(Some("p1".to_owned()), None).unwrap();
    orders.pipe_input("c1".to_owned(), "p1:o3".to_owned()).unwrap();
    let mut inner = driver.output_topic_as::<String, String>("g-inner");
    assert_eq!(inner.read_key_values_to_list().unwrap(), [kv("c1", "p1:o1/apple")]);
    let mut left = driver.output_topic_as::<String, String>("g-left");
    assert_eq!(
        left.read_key_values_to_list().unwrap(),
        [
            kv("c1", "c1:p1:o1/apple"),
            kv("c2", "c2:p2:o2/null"),
            kv("c1", "c1:p1:o3/null")
        ]
    );
    assert!(
        Enrich.describe().text().contains("KSTREAM-LEFTJOIN-0000000003"),
        "{}",
        Enrich.describe()
    );
}

topology! {
    struct Prices {
        stream trades { topic: "trades", key: String, value: i64 }
        table prices { topic: "prices", key: String, value: i64, store: "prices-store", versioned: 1h }
        trades.join(prices, |quantity, price| quantity * price).to("amounts");
        trades.left_join(prices, |quantity, price| price.map(|p| quantity * p).unwrap_or(-1)).to("amounts-or-none");
        prices.to_stream().to("price-changes");
    }
}

#[test]
fn a_versioned_table_joins_each_stream_record_with_the_row_valid_at_its_time() {
    let driver = test_driver(&Prices).unwrap();
    let mut trades = driver.input_topic(Prices::source_trades());
    let mut prices = driver.input_topic(Prices::source_prices());
    let p = || Some("p".to_owned());
    prices.pipe_input_at(p(), Some(5), 10).unwrap();
    prices.pipe_input_at(p(), Some(7), 20).unwrap();
    trades.pipe_input_at("p".to_owned(), 1, 15).unwrap();
    trades.pipe_input_at("p".to_owned(), 2, 25).unwrap();
    // Out of order: joins the price valid at 12, not the latest.
    trades.pipe_input_at("p".to_owned(), 3, 12).unwrap();
    // Before the first price: no row then.
    trades.pipe_input_at("p".to_owned(), 4, 5).unwrap();
    // An out-of-order price update is kept as the version valid from 15 to 20, but is not the
    // table's latest change, so it is not forwarded.
    prices.pipe_input_at(p(), Some(6), 15).unwrap();
    trades.pipe_input_at("p".to_owned(), 10, 17).unwrap();
    prices.pipe_input_at(p(), None, 30).unwrap();
    trades.pipe_input_at("p".to_owned(), 100, 31).unwrap();
    trades.pipe_input_at("p".to_owned(), 100, 29).unwrap();
    let mut amounts = driver.output_topic_as::<String, i64>("amounts");
    assert_eq!(
        amounts.read_values_to_list().unwrap(),
        [5, 14, 15, 60, 700],
        "1×5 at 15, 2×7 at 25, 3×5 at 12, none at 5, 10×6 at 17, none after the delete at 30, 100×7 at 29"
    );
    let mut or_none = driver.output_topic_as::<String, i64>("amounts-or-none");
    assert_eq!(or_none.read_values_to_list().unwrap(), [5, 14, 15, -1, 60, -1, 700]);
    let mut changes = driver.output_topic_as::<String, Option<i64>>("price-changes");
    assert_eq!(changes.read_values_to_list().unwrap(), [Some(5), Some(7), None]);
    let store = driver.store(Prices::store_prices());
    assert_eq!(store.get_as_of(&"p".to_owned(), 16).unwrap().map(|r| r.value), Some(6));
    assert_eq!(store.get(&"p".to_owned()).unwrap(), None);
}

topology! {
    struct ForeignKeys {
        table orders { topic: "fk-orders", key: String, value: String, store: "fk-orders-store" }
        table products { topic: "fk-products", key: String, value: String, store: "fk-products-store" }
        orders
            .join(products, |order| order.split(':').next().unwrap_or_default().to_owned(), |order, product| {
                format!("{order}/{product}")
            })
            .to_stream()
            .to("fk-inner");
        orders
            .left_join(products, |order| order.split(':').next().unwrap_or_default().to_owned(), |order, product| {
                format!("{order}/{}", product.map_or("null", String::as_str))
            })
            .to_stream()
            .to("fk-left");
    }
}

#[test]
fn a_foreign_key_join_follows_both_tables_and_a_row_that_moves_to_another_key() {
    let driver = test_driver(&ForeignKeys).unwrap();
    let mut orders = driver.input_topic(ForeignKeys::source_orders());
    let mut products = driver.input_topic(ForeignKeys::source_products());
    let s = |v: &str| Some(v.to_owned());
    orders.pipe_input_at(s("o1"), s("p1:2"), 1).unwrap(); // no product yet
    products.pipe_input_at(s("p1"), s("apple"), 2).unwrap(); // answers o1
    products.pipe_input_at(s("p2"), s("pear"), 3).unwrap(); // nobody subscribed
    orders.pipe_input_at(s("o1"), s("p2:5"), 4).unwrap(); // moves to p2
    products.pipe_input_at(s("p1"), s("green apple"), 5).unwrap(); // o1 left p1: nothing
    products.pipe_input_at(s("p2"), None, 6).unwrap(); // o1's product is gone
    orders.pipe_input_at(s("o2"), s("p1:1"), 7).unwrap();
    orders.pipe_input_at(s("o2"), None, 8).unwrap(); // the order is gone
    let changes = |topic: &str| -> Vec<(String, Option<String>, i64)> {
        driver
            .output_topic_as::<String, Option<String>>(topic)
            .read_records_to_list()
            .unwrap()
            .into_iter()
            .map(|r| (r.key, r.value, r.timestamp))
            .collect()
    };
    let c = |k: &str, v: Option<&str>, t: i64| (k.to_owned(), v.map(str::to_owned), t);
    assert_eq!(
        changes("fk-inner"),
        [
            c("o1", Some("p1:2/apple"), 2),
            c("o1", Some("p2:5/pear"), 4),
            c("o1", None, 6),
            c("o2", Some("p1:1/green apple"), 7),
            c("o2", None, 8),
        ]
    );
    assert_eq!(
        changes("fk-left"),
        [
            c("o1", Some("p1:2/null"), 1),
            c("o1", Some("p1:2/apple"), 2),
            c("o1", Some("p2:5/pear"), 4),
            c("o1", Some("p2:5/null"), 6),
            c("o2", Some("p1:1/green apple"), 7),
            c("o2", None, 8),
        ]
    );
    let description = ForeignKeys.describe();
    for name in [
        "KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-0000000004-topic",
        "KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-0000000012-topic",
        "Processor: KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-0000000009 (stores: [KTABLE-FK-JOIN-SUBSCRIPTION-STATE-STORE-0000000008])",
        "Processor: KTABLE-FK-JOIN-OUTPUT-0000000016",
    ] {
        assert!(description.text().contains(name), "{name} in {description}");
    }
}

topology! {
    struct DerivedTables {
        stream orders { topic: "d-orders", key: String, value: String }
        table customers { topic: "d-customers", key: String, value: String, store: "d-customers-store" }
        table regions { topic: "d-regions", key: String, value: String, store: "d-regions-store" }
        let active = customers.filter(|_, c| !c.starts_with('-')).map_values(|k, c| format!("{k}={c}"));
        orders.join(active, |o, c| format!("{o}@{c}")).to("d-joined");
        let upper = regions.map_values(|r| r.to_uppercase());
        active.join(upper, |c, r| format!("{c} in {r}")).to_stream().to("d-tables");
    }
}

#[test]
fn joins_read_filtered_and_mapped_tables_through_their_operators() {
    let driver = test_driver(&DerivedTables).unwrap();
    let mut orders = driver.input_topic(DerivedTables::source_orders());
    let mut customers = driver.input_topic(DerivedTables::source_customers());
    let mut regions = driver.input_topic(DerivedTables::source_regions());
    let s = |v: &str| Some(v.to_owned());
    customers.pipe_input(s("c1"), s("alice")).unwrap();
    customers.pipe_input(s("c2"), s("-bob")).unwrap(); // filtered out
    orders.pipe_input("c1".to_owned(), "o1".to_owned()).unwrap();
    orders.pipe_input("c2".to_owned(), "o2".to_owned()).unwrap();
    regions.pipe_input(s("c1"), s("eu")).unwrap();
    regions.pipe_input(s("c2"), s("us")).unwrap();
    customers.pipe_input(s("c2"), s("bob")).unwrap();
    orders.pipe_input("c2".to_owned(), "o3".to_owned()).unwrap();
    let mut joined = driver.output_topic_as::<String, String>("d-joined");
    assert_eq!(
        joined.read_key_values_to_list().unwrap(),
        [kv("c1", "o1@c1=alice"), kv("c2", "o3@c2=bob")]
    );
    let mut tables = driver.output_topic_as::<String, Option<String>>("d-tables");
    assert_eq!(
        tables.read_key_values_to_list().unwrap(),
        [
            ("c1".to_owned(), Some("c1=alice in EU".to_owned())),
            ("c2".to_owned(), Some("c2=bob in US".to_owned())),
        ]
    );
}

topology! {
    struct DerivedForeignKeys {
        table orders { topic: "dfk-orders", key: String, value: String, store: "dfk-orders-store" }
        table products { topic: "dfk-products", key: String, value: String, store: "dfk-products-store" }
        let open = orders.filter(|_, o| !o.ends_with(":closed")).map_values(|o| o.to_uppercase());
        let named = products.map_values(|p| p.len() as i64);
        open.join(named, |o| o.split(':').next().unwrap_or_default().to_lowercase(), |o, len| format!("{o}#{len}"))
            .to_stream()
            .to("dfk-out");
    }
}

#[test]
fn a_foreign_key_join_reads_filtered_and_mapped_tables_through_their_operators() {
    let driver = test_driver(&DerivedForeignKeys).unwrap();
    let mut orders = driver.input_topic(DerivedForeignKeys::source_orders());
    let mut products = driver.input_topic(DerivedForeignKeys::source_products());
    let s = |v: &str| Some(v.to_owned());
    products.pipe_input_at(s("p1"), s("apple"), 1).unwrap();
    orders.pipe_input_at(s("o1"), s("p1:2"), 2).unwrap();
    orders.pipe_input_at(s("o2"), s("p1:3:closed"), 3).unwrap(); // filtered out
    products.pipe_input_at(s("p1"), s("green apple"), 4).unwrap(); // answers o1 only
    let mut out = driver.output_topic_as::<String, Option<String>>("dfk-out");
    assert_eq!(
        out.read_key_values_to_list().unwrap(),
        [
            ("o1".to_owned(), Some("P1:2#5".to_owned())),
            ("o1".to_owned(), Some("P1:2#11".to_owned())),
        ]
    );
}
