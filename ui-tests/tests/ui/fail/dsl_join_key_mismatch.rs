use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream orders { topic: "orders", key: String, value: String }
        table customers { topic: "customers", key: i64, value: String, store: "customers-store" }
        orders.join(customers, |order, customer| format!("{order}/{customer}")).to("out");
    }
}

fn main() {}
