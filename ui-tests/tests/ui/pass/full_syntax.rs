//! Every clause and option of `topology!` and `#[derive(Processor)]`, run through the driver.

use std::time::Duration;
use streams_runtime::prelude::*;

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq, Clone)]
struct Order {
    item: String,
    qty: i32,
}

/// Forwards "urgent" (`!`-prefixed) values to every child, others uppercased to `upper` only.
#[derive(Processor)]
#[processor(input = (String, String), output = (String, String))]
struct Route {
    urgent: Option<ChildId>,
    upper: Option<ChildId>,
}

impl Processor for Route {
    fn init(&mut self, ctx: &mut impl ProcessorContext<String, String>) -> Result<(), ProcessingError> {
        self.urgent = ctx.child("urgent");
        self.upper = ctx.child("upper");
        assert_eq!(ctx.child("nope"), None);
        Ok(())
    }

    fn process(&mut self, r: Record<String, String>, ctx: &mut impl ProcessorContext<String, String>) -> Result<(), ProcessingError> {
        if r.value.starts_with('!') {
            return ctx.forward(r);
        }
        let upper = r.value.to_uppercase();
        ctx.forward_to(self.upper.expect("child upper"), r.with_value(upper))
    }
}

/// Sums order quantities per item in a JSON-valued store; punctuates on stream time.
#[derive(Processor)]
#[processor(input = (String, Order), output = (String, i64))]
struct Totals {
    #[store("order-totals")]
    totals: KeyValueStore<String, Order, StringSerde, Json<Order>>,
    #[store]
    seen: KeyValueStore<i64, i64>,
    punctuations: u32,
}

// The types once, in `#[processor(..)]`: `RecordIn<Self>` and `ContextFor<Self>` follow them.
impl Processor for Totals {
    fn init(&mut self, ctx: &mut impl ContextFor<Self>) -> Result<(), ProcessingError> {
        ctx.schedule(Duration::from_millis(10), PunctuationType::StreamTime);
        Ok(())
    }

    fn process(&mut self, r: RecordIn<Self>, ctx: &mut impl ContextFor<Self>) -> Result<(), ProcessingError> {
        let mut total = self.totals.get(&r.value.item)?.unwrap_or(Order { item: r.value.item.clone(), qty: 0 });
        total.qty += r.value.qty;
        self.totals.put(&r.value.item, &total)?;
        self.seen.put(&r.timestamp, &1)?;
        ctx.forward(Record::new(r.key, i64::from(total.qty), r.timestamp))
    }

    fn punctuate(&mut self, _: ScheduleId, _: i64, _: &mut impl ContextFor<Self>) -> Result<(), ProcessingError> {
        self.punctuations += 1;
        Ok(())
    }
}

/// Sends everything to partition 0.
#[derive(Default)]
struct First;

impl StreamPartitioner<String, i64> for First {
    fn partition(&self, _: &str, _: &String, _: &i64, _: i32) -> Option<i32> {
        Some(0)
    }
}

topology! {
    /// A topology using every clause.
    pub struct Everything {
        source text {
            topics: ["text-a", "text-b"],
            key: String,
            value: String,
            key_serde: StringSerde,
            value_serde: StringSerde,
            timestamp_extractor: RecordTimestamp,
        }
        source more { topic: "text-c", key: String, value: String }
        processor route: Route { parents: [text, more] }
        sink urgent { topic: "urgent", parents: [route] }
        sink upper { topic: "upper", parents: [route], key_serde: StringSerde, value_serde: StringSerde }

        source orders { topic: "orders", key: String, value: Order, value_serde: Json<Order> }
        processor totals: Totals { parents: [orders] }
        sink totals_out { topic: "totals", parents: [totals], partitioner: First }
        store totals_store {
            name: "order-totals",
            kind: key_value,
            key: String,
            value: Order,
            key_serde: StringSerde,
            value_serde: Json<Order>,
            persistent: false,
            logging: true,
        }
        store seen { key: i64, value: i64, persistent: false, logging: false }
    }
}

fn main() {
    let driver = test_driver(&Everything).unwrap();
    let mut text = driver.input_topic(Everything::source_text());
    let mut more = driver.input_topic(Everything::source_more());
    text.pipe_input_at("k".into(), "hello".into(), 1).unwrap();
    more.pipe_input_at("k".into(), "!now".into(), 2).unwrap();
    let upper: Vec<String> = driver.output_topic(Everything::sink_upper()).read_values_to_list().unwrap();
    assert_eq!(upper, vec!["HELLO".to_owned(), "!now".to_owned()]);
    assert_eq!(driver.output_topic(Everything::sink_urgent()).read_values_to_list().unwrap(), vec!["!now".to_owned()]);

    let mut orders = driver.input_topic(Everything::source_orders());
    orders.pipe_input_at("o1".into(), Order { item: "pen".into(), qty: 2 }, 5).unwrap();
    orders.pipe_input_at("o2".into(), Order { item: "pen".into(), qty: 3 }, 25).unwrap();
    let totals: Vec<(String, i64)> = driver.output_topic(Everything::sink_totals_out()).read_key_values_to_list().unwrap();
    assert_eq!(totals, vec![("o1".to_owned(), 2), ("o2".to_owned(), 5)]);
    let store = driver.store(Everything::store_totals_store());
    assert_eq!(store.get(&"pen".to_owned()).unwrap(), Some(Order { item: "pen".into(), qty: 5 }));
    assert_eq!(driver.store(Everything::store_seen()).approximate_num_entries().unwrap(), 2);
    assert_eq!(
        driver.produced_topic_names(),
        vec!["test-app-order-totals-changelog", "totals", "upper", "urgent"]
    );
    let description = Everything.describe().to_string();
    assert!(description.contains("\n  Sub-topology: 1\n    Source: orders (topics: [orders])\n"), "{description}");
    driver.close().unwrap();
}
