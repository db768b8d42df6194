use streams_runtime::prelude::*;

topology! {
    struct Topo {
        source input { topic: "in", key: String, value: String }
        sink output { topic: "out", parents: [inptu] }
    }
}

fn main() {}
