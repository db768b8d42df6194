use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream orders { topic: "orders", key: String, value: String }
        table customers { topic: "customers", key: String, value: String, store: "customers-store" }
        let active = customers.filter(|_, name| !name.is_empty());
        orders.join(active, |order, customer| format!("{order}/{customer}")).to("out");
    }
}

fn main() {}
