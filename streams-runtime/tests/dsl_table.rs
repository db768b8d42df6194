//! KTables and aggregations of the DSL, through the test driver, with expected results taken
//! from the Java library's behaviour (`KTableSourceTest`, `KTableFilterTest`,
//! `KStreamAggregationIntegrationTest`, `KTableAggregateTest`).

use streams_runtime::prelude::*;

fn kv<V>(k: &str, v: V) -> (String, V) {
    (k.to_owned(), v)
}

topology! {
    struct Users {
        table users { topic: "users", key: String, value: String, store: "users-store" }
        users.to_stream().to("user-changes");
        users.map_values(|region| region.len() as i64).to_stream().to("region-lengths");
        users
            .group_by(|user, region| (region.split(':').next().unwrap_or_default().to_owned(), user.clone()))
            .count(store: "users-per-region")
            .to_stream()
            .to("region-counts");
    }
}

fn pipe_users<G: Graph>(driver: &TopologyTestDriver<G>, rows: &[(Option<&str>, Option<&str>)]) {
    let mut input = driver.input_topic(Users::source_users());
    for (k, v) in rows {
        input.pipe_input(k.map(str::to_owned), v.map(str::to_owned)).unwrap();
    }
}

#[test]
fn a_table_materializes_its_topic_with_tombstones_and_skips_null_keys() {
    let driver = test_driver(&Users).unwrap();
    pipe_users(
        &driver,
        &[
            (Some("alice"), Some("EU:1")),
            (Some("bob"), Some("EU:1")),
            (None, Some("ignored")),
            (Some("alice"), Some("US:1")),
            (Some("bob"), None),
        ],
    );
    let mut changes = driver.output_topic_as::<String, Option<String>>("user-changes");
    assert_eq!(
        changes.read_key_values_to_list().unwrap(),
        [
            kv("alice", Some("EU:1".to_owned())),
            kv("bob", Some("EU:1".to_owned())),
            kv("alice", Some("US:1".to_owned())),
            kv("bob", None),
        ]
    );
    assert_eq!(
        driver.dropped_records(),
        1,
        "the null-key record is skipped and counted"
    );
    let store = driver.store(Users::store_users());
    assert_eq!(store.get(&"alice".to_owned()).unwrap(), Some("US:1".to_owned()));
    assert_eq!(store.get(&"bob".to_owned()).unwrap(), None, "the tombstone deleted bob");
    let mut lengths = driver.output_topic_as::<String, Option<i64>>("region-lengths");
    assert_eq!(
        lengths.read_values_to_list().unwrap(),
        [Some(4), Some(4), Some(4), None],
        "map_values maps the new value; a deleted row stays deleted"
    );
}

#[test]
fn table_count_subtracts_from_the_old_group_when_a_row_moves() {
    let driver = test_driver(&Users).unwrap();
    pipe_users(
        &driver,
        &[
            (Some("alice"), Some("EU:1")),
            (Some("bob"), Some("EU:1")),
            (Some("alice"), Some("US:1")),
            (Some("alice"), Some("US:2")),
            (Some("bob"), None),
        ],
    );
    let mut counts = driver.output_topic_as::<String, Option<i64>>("region-counts");
    assert_eq!(
        counts.read_key_values_to_list().unwrap(),
        [
            kv("EU", Some(1)),
            kv("EU", Some(2)),
            // alice moves: removed from EU first, then added to US.
            kv("EU", Some(1)),
            kv("US", Some(1)),
            // alice changes within US: one update, subtract and add at once.
            kv("US", Some(1)),
            // bob is deleted.
            kv("EU", Some(0)),
        ]
    );
    let per_region = driver.key_value_store::<String, i64>("users-per-region").unwrap();
    assert_eq!(per_region.get(&"US".to_owned()).unwrap(), Some(1));
    assert_eq!(per_region.get(&"EU".to_owned()).unwrap(), Some(0));
}

fn owner(account: &str) -> String {
    account.split('-').next().unwrap_or_default().to_owned()
}

topology! {
    struct Balances {
        table balances { topic: "balances", key: String, value: i64, persistent: false }
        balances
            .group_by(|account, balance| (owner(account), balance))
            .reduce(|total, v| total + v, |total, v| total - v, store: "reduced")
            .to_stream()
            .to("reduced-totals");
        balances
            .group_by(|account, balance| (owner(account), balance))
            .aggregate(|| 0, |_, v, total| total + v, |_, v, total| total - v, store: "aggregated")
            .to_stream()
            .to("aggregated-totals");
        balances.filter(|_, b| *b > 0).to_stream().to("positive-balances");
        balances
            .filter(|_, b| *b > 0)
            .group_by(|account, balance| (owner(account), balance))
            .count(store: "positive-accounts")
            .to_stream()
            .to("positive-counts");
    }
}

fn pipe_balances<G: Graph>(driver: &TopologyTestDriver<G>, rows: &[(&str, Option<i64>)]) {
    let mut input = driver.input_topic(Balances::source_balances());
    for (k, v) in rows {
        input.pipe_input(Some((*k).to_owned()), *v).unwrap();
    }
}

#[test]
fn table_reduce_and_aggregate_add_new_values_and_subtract_old_ones() {
    let driver = test_driver(&Balances).unwrap();
    pipe_balances(
        &driver,
        &[
            ("alice-1", Some(10)),
            ("alice-2", Some(5)),
            ("alice-1", Some(20)),
            ("bob-1", Some(7)),
            ("alice-2", None),
        ],
    );
    let expected = [
        kv("alice", Some(10)),
        kv("alice", Some(15)),
        kv("alice", Some(25)),
        kv("bob", Some(7)),
        kv("alice", Some(20)),
    ];
    for topic in ["reduced-totals", "aggregated-totals"] {
        let mut out = driver.output_topic_as::<String, Option<i64>>(topic);
        assert_eq!(out.read_key_values_to_list().unwrap(), expected, "{topic}");
    }
}

#[test]
fn table_filter_emits_tombstones_downstream_and_feeds_aggregations_old_values() {
    let driver = test_driver(&Balances).unwrap();
    pipe_balances(
        &driver,
        &[("alice-1", Some(10)), ("alice-1", Some(-5)), ("alice-1", Some(-7))],
    );
    // A row that fails the predicate reads as deleted; an update absent before and after the
    // filter is not forwarded (Java's KTableFilter has its parent send old values; the
    // differential oracle, examples/tests/java_oracle.rs, checks it against Java).
    let mut positive = driver.output_topic_as::<String, Option<i64>>("positive-balances");
    assert_eq!(
        positive.read_key_values_to_list().unwrap(),
        [kv("alice-1", Some(10)), kv("alice-1", None)]
    );
    // Feeding an aggregation the same way: the row leaving the filter is subtracted once.
    let mut counts = driver.output_topic_as::<String, Option<i64>>("positive-counts");
    assert_eq!(
        counts.read_key_values_to_list().unwrap(),
        [kv("alice", Some(1)), kv("alice", Some(0))]
    );
}

topology! {
    struct Purchases {
        stream purchases { topic: "purchases", key: Option<String>, value: i64 }
        purchases.group_by_key().count(store: "purchase-counts").to_stream().to("counts");
        purchases.group_by_key().reduce(|total, v| total + v, store: "totals").to_stream().to("totals");
        purchases
            .group_by_key()
            .aggregate(String::new, |_, v, history| format!("{history}{v},"), store: "history")
            .to_stream()
            .to("history");
        purchases
            .group_by(|_, amount| if *amount < 0 { None } else { Some(if amount % 2 == 0 { "even" } else { "odd" }.to_owned()) })
            .count(store: "parity-counts")
            .to_stream()
            .to("parity-counts");
    }
}

#[test]
fn stream_count_reduce_and_aggregate_emit_every_update() {
    let driver = test_driver(&Purchases).unwrap();
    let mut input = driver.input_topic(Purchases::source_purchases());
    for (k, v) in [("a", 3), ("b", 4), ("a", 5)] {
        input.pipe_input(Some(k.to_owned()), v).unwrap();
    }
    let read = |topic: &str| {
        driver
            .output_topic_as::<Option<String>, Option<i64>>(topic)
            .read_key_values_to_list()
            .unwrap()
    };
    let a = || Some("a".to_owned());
    let b = || Some("b".to_owned());
    assert_eq!(read("counts"), [(a(), Some(1)), (b(), Some(1)), (a(), Some(2))]);
    assert_eq!(read("totals"), [(a(), Some(3)), (b(), Some(4)), (a(), Some(8))]);
    let mut history = driver.output_topic_as::<Option<String>, Option<String>>("history");
    assert_eq!(
        history.read_values_to_list().unwrap(),
        [Some("3,".to_owned()), Some("4,".to_owned()), Some("3,5,".to_owned())]
    );
    let description = Purchases.describe();
    assert_eq!(
        description.subtopologies().len(),
        2,
        "group_by_key needs no repartition; group_by does: {description}"
    );
}

#[test]
fn records_with_null_keys_are_dropped_by_grouping_and_counted() {
    let driver = test_driver(&Purchases).unwrap();
    let mut input = driver.input_topic(Purchases::source_purchases());
    input.pipe_input(None, 1).unwrap(); // null key: skipped by the three group_by_key aggregations
    input.pipe_input(Some("x".to_owned()), -1).unwrap(); // group_by selects a null key: skipped
    input.pipe_input(Some("y".to_owned()), 2).unwrap();
    assert_eq!(driver.dropped_records(), 4);
    let mut parity = driver.output_topic_as::<String, Option<i64>>("parity-counts");
    assert_eq!(
        parity.read_key_values_to_list().unwrap(),
        [kv("odd", Some(1)), kv("even", Some(1))]
    );
    let counts = driver
        .key_value_store::<Option<String>, i64>("purchase-counts")
        .unwrap();
    assert_eq!(counts.get(&Some("x".to_owned())).unwrap(), Some(1));
    assert_eq!(counts.get(&None).unwrap(), None);
}

topology! {
    struct Rates {
        global_table rates { topic: "rates", key: String, value: f64, store: "rates-store", persistent: false }
    }
}

#[test]
fn a_global_table_is_materialized_without_a_changelog() {
    let driver = test_driver(&Rates).unwrap();
    let mut input = driver.input_topic(Rates::source_rates());
    input.pipe_input(Some("EUR".to_owned()), Some(1.08)).unwrap();
    input.pipe_input(Some("GBP".to_owned()), Some(1.27)).unwrap();
    input.pipe_input(Some("EUR".to_owned()), None).unwrap();
    let store = driver.store(Rates::store_rates());
    assert_eq!(store.get(&"GBP".to_owned()).unwrap(), Some(1.27));
    assert_eq!(store.get(&"EUR".to_owned()).unwrap(), None);
    assert!(
        driver.produced_topic_names().is_empty(),
        "the topic is the global store's changelog: {:?}",
        driver.produced_topic_names()
    );
    assert!(Rates::SOURCES[0].global);
}
