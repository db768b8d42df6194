use streams_runtime::prelude::*;

topology! {
    struct Topo {
        source first { topic: "in", key: String, value: String }
        source second { topic: "in", key: String, value: String }
        sink output { topic: "out", parents: [first, second] }
    }
}

fn main() {}
