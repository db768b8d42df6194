use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream orders { topic: "orders", key: String, value: String }
        global_table products { topic: "products", key: String, value: String, store: "products" }
        orders.join(products, |order, product| format!("{order}/{product}")).to("out");
    }
}

fn main() {}
