use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream orders { topic: "orders", key: String, value: String }
        table customers { topic: "customers", key: String, value: String, store: "customers-store" }
        table regions { topic: "regions", key: String, value: String, store: "regions-store" }
        let located = customers.join(regions, |name, region| format!("{name}@{region}"));
        orders.join(located, |order, customer| format!("{order}/{customer}")).to("out");
    }
}

fn main() {}
