use streams_runtime::prelude::*;

topology! {
    struct Topo {
        source input { topic: "in", key: String, value: String, value_serde: LongSerde }
        sink output { topic: "out", parents: [input] }
    }
}

fn main() {}
