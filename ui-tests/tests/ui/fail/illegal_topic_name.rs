use streams_runtime::prelude::*;

topology! {
    struct Topo {
        source input { topic: "orders in", key: String, value: String }
        sink output { topic: "..", parents: [input] }
    }
}

fn main() {}
