use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream numbers { topic: "numbers", key: String, value: i64 }
        numbers.map_values(|v| v.to_uppercase()).to("out");
    }
}

fn main() {}
