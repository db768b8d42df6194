use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream orders { topic: "orders", key: String, value: String }
        table customers { topic: "customers", key: String, value: String, store: "customers-store" }
        orders.join(customers, |v: &i64, row: &String| format!("{v}/{row}")).to("out");
    }
}

fn main() {}
