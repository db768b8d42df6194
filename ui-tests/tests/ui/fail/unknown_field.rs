use streams_runtime::prelude::*;

topology! {
    struct Topo {
        source input { topic: "in", key: String, value: String, serde: StringSerde }
        sink output { topic: "out" }
    }
}

fn main() {}
