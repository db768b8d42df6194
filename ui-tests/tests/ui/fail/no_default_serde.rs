use streams_runtime::prelude::*;

struct Event {
    id: u32,
}

topology! {
    struct Topo {
        source input { topic: "in", key: String, value: Event }
        sink output { topic: "out", parents: [input] }
    }
}

fn main() {}
