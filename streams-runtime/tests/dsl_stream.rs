//! KStream operators of the DSL, through the test driver, with expected results taken from the
//! Java library's behaviour (its `KStream*Test` cases).

use std::cell::RefCell;
use streams_runtime::prelude::*;

thread_local! {
    static PEEKED: RefCell<Vec<(String, i64)>> = const { RefCell::new(Vec::new()) };
    static EACH: RefCell<Vec<(String, i64)>> = const { RefCell::new(Vec::new()) };
}

topology! {
    struct Mapping {
        stream numbers { topic: "numbers", key: String, value: i64 }
        numbers.filter(|_, v| v % 3 == 0).to("multiples-of-three");
        numbers.filter_not(|_, v| v % 3 == 0).to("others");
        numbers.map(|k, v| (v, k)).to("swapped");
        numbers.map_values(|v| v * 10).to("times-ten");
        numbers.map_values(|k, v| format!("{k}:{v}")).to("with-key");
        numbers.flat_map(|k, v| (0..v).map(move |i| (format!("{k}{i}"), i))).to("flat-mapped");
        numbers.flat_map_values(|v| [v, -v]).to("plus-minus");
        numbers.select_key(|_, v| v % 2).to("by-parity");
    }
}

fn pipe_numbers<G: Graph>(driver: &TopologyTestDriver<G>, values: &[i64]) {
    let mut input = driver.input_topic(Mapping::source_numbers());
    for (i, v) in values.iter().enumerate() {
        input.pipe_input_at(format!("k{i}"), *v, 100 + i as i64).unwrap();
    }
}

fn kv(k: &str, v: i64) -> (String, i64) {
    (k.to_owned(), v)
}

#[test]
fn filter_and_filter_not_split_records_by_the_predicate() {
    let driver = test_driver(&Mapping).unwrap();
    pipe_numbers(&driver, &[1, 2, 3, 4, 5, 6, 7]);
    let mut kept = driver.output_topic_as::<String, i64>("multiples-of-three");
    assert_eq!(kept.read_key_values_to_list().unwrap(), [kv("k2", 3), kv("k5", 6)]);
    let mut others = driver.output_topic_as::<String, i64>("others");
    assert_eq!(
        others.read_values_to_list().unwrap(),
        [1, 2, 4, 5, 7],
        "filter_not keeps what filter drops"
    );
}

#[test]
fn map_and_map_values_transform_keys_and_values_keeping_timestamps() {
    let driver = test_driver(&Mapping).unwrap();
    pipe_numbers(&driver, &[1, 2]);
    let mut swapped = driver.output_topic_as::<i64, String>("swapped");
    let records = swapped.read_records_to_list().unwrap();
    assert_eq!(
        records,
        [
            Record::new(1, "k0".to_owned(), 100),
            Record::new(2, "k1".to_owned(), 101)
        ]
    );
    let mut times_ten = driver.output_topic_as::<String, i64>("times-ten");
    assert_eq!(
        times_ten.read_key_values_to_list().unwrap(),
        [kv("k0", 10), kv("k1", 20)]
    );
    let mut with_key = driver.output_topic_as::<String, String>("with-key");
    assert_eq!(with_key.read_values_to_list().unwrap(), ["k0:1", "k1:2"]);
}

#[test]
fn flat_map_and_flat_map_values_emit_zero_or_more_records_each() {
    let driver = test_driver(&Mapping).unwrap();
    pipe_numbers(&driver, &[0, 2, 1]);
    let mut flat = driver.output_topic_as::<String, i64>("flat-mapped");
    assert_eq!(
        flat.read_key_values_to_list().unwrap(),
        [kv("k10", 0), kv("k11", 1), kv("k20", 0)],
        "value 0 yields nothing, 2 yields two records, 1 yields one"
    );
    let mut pm = driver.output_topic_as::<String, i64>("plus-minus");
    assert_eq!(
        pm.read_key_values_to_list().unwrap(),
        [
            kv("k0", 0),
            kv("k0", 0),
            kv("k1", 2),
            kv("k1", -2),
            kv("k2", 1),
            kv("k2", -1)
        ]
    );
}

#[test]
fn select_key_replaces_the_key() {
    let driver = test_driver(&Mapping).unwrap();
    pipe_numbers(&driver, &[4, 7]);
    let mut by_parity = driver.output_topic_as::<i64, i64>("by-parity");
    assert_eq!(by_parity.read_key_values_to_list().unwrap(), [(0, 4), (1, 7)]);
}

topology! {
    struct Observing {
        stream numbers { topic: "numbers", key: String, value: i64 }
        numbers
            .peek(|k, v| PEEKED.with(|p| p.borrow_mut().push((k.clone(), *v))))
            .filter(|_, v| *v > 1)
            .foreach(|k, v| EACH.with(|e| e.borrow_mut().push((k.clone(), *v))));
    }
}

#[test]
fn peek_sees_every_record_and_foreach_ends_the_stream() {
    let driver = test_driver(&Observing).unwrap();
    let mut input = driver.input_topic(Observing::source_numbers());
    input.pipe_key_value_list([kv("a", 1), kv("b", 2), kv("c", 3)]).unwrap();
    assert_eq!(
        PEEKED.with(|p| p.borrow().clone()),
        [kv("a", 1), kv("b", 2), kv("c", 3)]
    );
    assert_eq!(EACH.with(|e| e.borrow().clone()), [kv("b", 2), kv("c", 3)]);
    assert!(driver.produced_topic_names().is_empty());
}

topology! {
    struct Branching {
        stream numbers { topic: "numbers", key: String, value: i64 }
        stream other { topic: "other", key: String, value: i64 }
        numbers.split(big: |_, v| *v > 100, medium: |_, v| *v > 10, default: small);
        big.to("big");
        medium.to("medium");
        small.to("small");
        other.split(positive: |_, v| *v > 0);
        positive.to("positive");
    }
}

#[test]
fn split_sends_each_record_to_the_first_matching_branch_else_the_default() {
    let driver = test_driver(&Branching).unwrap();
    let mut input = driver.input_topic(Branching::source_numbers());
    input
        .pipe_key_value_list([kv("a", 5), kv("b", 50), kv("c", 500), kv("d", 11), kv("e", 10)])
        .unwrap();
    let read = |topic: &str| {
        driver
            .output_topic_as::<String, i64>(topic)
            .read_values_to_list()
            .unwrap()
    };
    assert_eq!(read("big"), [500], "500 matches both predicates; the first wins");
    assert_eq!(read("medium"), [50, 11]);
    assert_eq!(read("small"), [5, 10]);
}

#[test]
fn split_without_default_drops_records_matching_no_branch() {
    let driver = test_driver(&Branching).unwrap();
    let mut input = driver.input_topic(Branching::source_other());
    input
        .pipe_key_value_list([kv("a", -1), kv("b", 2), kv("c", 0)])
        .unwrap();
    let mut positive = driver.output_topic_as::<String, i64>("positive");
    assert_eq!(positive.read_key_values_to_list().unwrap(), [kv("b", 2)]);
}

#[derive(Processor)]
#[processor(input = (String, i64), output = (String, i64))]
struct Doubler {}

impl Processor for Doubler {
    fn process(
        &mut self,
        record: Record<String, i64>,
        ctx: &mut impl ProcessorContext<String, i64>,
    ) -> Result<(), ProcessingError> {
        let doubled = record.value * 2;
        ctx.forward(record.with_value(doubled))
    }
}

topology! {
    struct Routing {
        stream left { topic: "left", key: String, value: i64 }
        stream right { topic: "right", key: String, value: i64 }
        let both = left.merge(right);
        both.to(|_, v| if v % 2 == 0 { "even" } else { "odd" });
        both.process(Doubler).to("doubled");
    }
}

#[test]
fn merge_interleaves_both_streams_in_processing_order() {
    let driver = test_driver(&Routing).unwrap();
    let mut left = driver.input_topic(Routing::source_left());
    let mut right = driver.input_topic(Routing::source_right());
    left.pipe_input(kv("l", 1).0, 1).unwrap();
    right.pipe_input(kv("r", 2).0, 2).unwrap();
    left.pipe_input(kv("l", 3).0, 3).unwrap();
    let mut doubled = driver.output_topic_as::<String, i64>("doubled");
    assert_eq!(
        doubled.read_key_values_to_list().unwrap(),
        [kv("l", 2), kv("r", 4), kv("l", 6)],
        "a Processor API node inside the DSL"
    );
}

#[test]
fn to_with_a_topic_chosen_per_record() {
    let driver = test_driver(&Routing).unwrap();
    let mut left = driver.input_topic(Routing::source_left());
    left.pipe_key_value_list([kv("a", 1), kv("b", 2), kv("c", 4)]).unwrap();
    assert_eq!(
        driver
            .output_topic_as::<String, i64>("even")
            .read_values_to_list()
            .unwrap(),
        [2, 4]
    );
    assert_eq!(
        driver
            .output_topic_as::<String, i64>("odd")
            .read_values_to_list()
            .unwrap(),
        [1]
    );
    let text = Routing.describe().text().to_owned();
    assert!(
        text.contains("Sink: KSTREAM-SINK-0000000003 (extractor: topic chosen per record)"),
        "{text}"
    );
    assert!(
        text.contains("<-- left, right"),
        "the merge node lists both parents: {text}"
    );
}

topology! {
    struct Rekeying {
        stream numbers { topic: "numbers", key: String, value: i64 }
        numbers
            .select_key(|_, v| format!("n{v}"))
            .repartition(name: "rekeyed")
            .map_values(|v| v + 1)
            .to("rekeyed-out");
    }
}

#[test]
fn repartition_writes_and_reads_back_an_internal_topic() {
    let driver = test_driver(&Rekeying).unwrap();
    let mut input = driver.input_topic(Rekeying::source_numbers());
    input.pipe_input_at("a".to_owned(), 7, 70).unwrap();
    input.pipe_input_at("b".to_owned(), 8, 80).unwrap();
    let mut internal = driver.output_topic_as::<String, i64>("test-app-rekeyed-repartition");
    assert_eq!(internal.read_key_values_to_list().unwrap(), [kv("n7", 7), kv("n8", 8)]);
    let mut out = driver.output_topic_as::<String, i64>("rekeyed-out");
    assert_eq!(
        out.read_records_to_list().unwrap(),
        [Record::new("n7".to_owned(), 8, 70), Record::new("n8".to_owned(), 9, 80)]
    );
    let description = Rekeying.describe();
    assert_eq!(description.subtopologies().len(), 2);
    assert!(
        description
            .text()
            .contains("Sink: rekeyed-repartition-sink (topic: rekeyed-repartition)")
    );
    assert!(
        description
            .text()
            .contains("Source: rekeyed-repartition-source (topics: [rekeyed-repartition])")
    );
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Order {
    item: String,
    quantity: i64,
}

topology! {
    struct Inheriting {
        stream orders { topic: "orders", key: String, value: Order, value_serde: Json<Order> }
        orders.filter(|_, o| o.quantity > 0).to("valid-orders");
        orders.group_by_key().reduce(|a, b| Order { item: a.item, quantity: a.quantity + b.quantity }, store: "per-customer");
        orders.map_values(|o| o.quantity).to("quantities");
        orders.process(Doubler2).group_by_key().count(store: "processed");
    }
}

#[derive(Processor)]
#[processor(input = (String, Order), output = (String, i64))]
struct Doubler2 {}

impl Processor for Doubler2 {
    fn process(
        &mut self,
        record: Record<String, Order>,
        ctx: &mut impl ProcessorContext<String, i64>,
    ) -> Result<(), ProcessingError> {
        let doubled = record.value.quantity * 2;
        ctx.forward(record.with_value(doubled))
    }
}

#[test]
fn streams_inherit_their_serdes_until_an_operator_changes_the_type() {
    let driver = test_driver(&Inheriting).unwrap();
    let mut input = driver.input_topic(Inheriting::source_orders());
    let order = |q| Order {
        item: "tea".to_owned(),
        quantity: q,
    };
    input.pipe_input("c1".to_owned(), order(2)).unwrap();
    input.pipe_input("c1".to_owned(), order(3)).unwrap();
    // `to` without serdes writes with the stream's own (JSON) value serde, as Java's `to` does.
    let mut valid = driver.output_topic_named::<String, String, StringSerde, StringSerde>("valid-orders");
    assert_eq!(valid.read_value().unwrap(), r#"{"item":"tea","quantity":2}"#);
    // A reduction's store inherits the grouped values' serde.
    let store = driver.key_value_store::<String, Vec<u8>>("per-customer").unwrap();
    let total = store.get(&"c1".to_owned()).unwrap().unwrap();
    assert_eq!(String::from_utf8(total).unwrap(), r#"{"item":"tea","quantity":5}"#);
    // After map_values the value type changed: the default serde of i64 applies.
    let mut quantities = driver.output_topic_as::<String, i64>("quantities");
    assert_eq!(quantities.read_values_to_list().unwrap(), [2, 3]);
}

#[test]
fn a_processor_may_change_keys_so_grouping_its_output_repartitions() {
    let description = Inheriting.describe();
    assert!(
        description.text().contains("(topics: [processed-repartition])"),
        "{description}"
    );
    let driver = test_driver(&Inheriting).unwrap();
    let mut input = driver.input_topic(Inheriting::source_orders());
    input
        .pipe_input(
            "c1".to_owned(),
            Order {
                item: "tea".to_owned(),
                quantity: 1,
            },
        )
        .unwrap();
    let processed = driver.key_value_store::<String, i64>("processed").unwrap();
    assert_eq!(processed.get(&"c1".to_owned()).unwrap(), Some(1));
}
