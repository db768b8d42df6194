use streams_runtime::prelude::*;

topology! {
    struct Topo {
        source input { topic: "in", key: String, value: String }
        sink output { topic: "out", parents: [input], key_serde: StringSerde, value_serde: StringSerde }
        sink again { topic: "out", parents: [input], key_serde: StringSerde, value_serde: Json<String> }
    }
}

fn main() {}
