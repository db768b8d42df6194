//! P7 (issue #16): the compile cost of a DSL topology. `CompileCost` has 30 DSL operators over
//! four sub-topologies (the orders' own, two group-by repartitions and a join's repartition);
//! docs/BENCHMARKS.md ("P7 compile cost") times `cargo check` of this file after one closure
//! changes, and `cargo build --release` of it.
//!
//! Running it (`cargo bench -p examples --bench compile_cost`) pipes a few records through the
//! test driver, so the topology is known to work, and prints the length of the graph's type
//! name, the figure the nesting of node types makes grow.

use examples::orders::{Customer, Order};
use streams_runtime::prelude::*;

topology! {
    /// Orders checked, counted and joined four ways: 30 DSL operators, four sub-topologies.
    struct CompileCost {
        stream orders { topic: "p7-orders", key: String, value: Order }
        table customers { topic: "p7-customers", key: String, value: Customer, store: "p7-customers-store" }
        let valid = orders
            .filter(|_, order| order.quantity > 0)
            .filter_not(|_, order| order.product.is_empty())
            .peek(|_, _| {});
        let by_customer = valid.select_key(|_, order| order.customer.clone());
        by_customer
            .group_by_key()
            .aggregate(|| 0i64, |_, order, units| units + order.quantity, store: "p7-units-per-customer")
            .filter(|_, units| *units > 1)
            .map_values(|units| units * 100)
            .to_stream()
            .to("p7-units");
        valid
            .group_by(|_, order| order.product.clone())
            .count(store: "p7-orders-per-product")
            .to_stream()
            .filter(|_, count| count.is_some_and(|c| c % 10 == 0))
            .to("p7-milestones");
        by_customer
            .join(customers, |order, customer| format!("{}|{}", customer.name, order.product))
            .map_values(|line| line.to_uppercase())
            .filter_not(|_, line| line.starts_with("TEST"))
            .to("p7-enriched");
        valid.split(bulk: |_, order| order.quantity >= 100, default: single);
        bulk.map_values(|order| order.quantity).to("p7-bulk");
        single
            .group_by_key()
            .windowed_by(tumbling(1min))
            .count(store: "p7-single-per-minute")
            .to_stream()
            .map(|window, count| (window.key, count.unwrap_or(0)))
            .to("p7-single-counts");
        bulk.merge(single).map_values(|order| order.to_string()).to("p7-all");
    }
}

/// The length of the graph type's name.
fn graph_type_name_len<G>(_: &TopologyTestDriver<G>) -> usize {
    std::any::type_name::<G>().len()
}

fn main() {
    let driver = test_driver(&CompileCost).unwrap();
    let mut customers = driver.input_topic(CompileCost::source_customers());
    customers
        .pipe_input_at(Some("c1".to_owned()), Some("Alice|EU".parse().unwrap()), 0)
        .unwrap();
    let mut orders = driver.input_topic(CompileCost::source_orders());
    for (i, order) in ["c1|p1|2", "c1|p2|150", "c2|p1|1"].iter().enumerate() {
        orders
            .pipe_input_at(format!("o{i}"), order.parse().unwrap(), 1_000 * i as i64)
            .unwrap();
    }
    let enriched = driver
        .output_topic_as::<String, String>("p7-enriched")
        .read_values_to_list()
        .unwrap();
    assert_eq!(enriched, ["ALICE|P1", "ALICE|P2"]);
    let all = driver
        .output_topic_as::<String, String>("p7-all")
        .read_values_to_list()
        .unwrap();
    assert_eq!(all, ["c1|p1|2", "c1|p2|150", "c2|p1|1"]);
    println!(
        "CompileCost: {} sub-topologies, {} nodes; graph type name: {} bytes",
        CompileCost.describe().subtopologies().len(),
        <CompileCost as Topology>::NODES.len(),
        graph_type_name_len(&driver),
    );
}
