use streams_runtime::prelude::*;

topology! {
    struct Topo {
        source input { topic: "in", key: String, value: String }
        sink input { topic: "out", parents: [input] }
    }
}

fn main() {}
