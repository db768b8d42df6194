use streams_runtime::prelude::*;

topology! {
    struct Topo {
        source input { topic: "in", key: String, value: String }
        sink output { topic: "out", parents: [input] }
        store counts { kind: btree, key: String, value: i64 }
    }
}

fn main() {}
