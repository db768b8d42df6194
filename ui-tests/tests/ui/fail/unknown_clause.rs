use streams_runtime::prelude::*;

topology! {
    struct Topo {
        source input { topic: "in", key: String, value: String }
        sinc output { topic: "out", parents: [input] }
    }
}

fn main() {}
