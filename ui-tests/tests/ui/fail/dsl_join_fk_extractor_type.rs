use streams_runtime::prelude::*;

topology! {
    struct Topo {
        table orders { topic: "orders", key: String, value: String }
        table products { topic: "products", key: String, value: String }
        orders.join(products, |order| order.len() as i64, |order, product| format!("{order}/{product}")).to_stream().to("out");
    }
}

fn main() {}
