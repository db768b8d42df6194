use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream words { topic: "words", key: String, value: String }
        stream counts { topic: "counts", key: String, value: i64 }
        words.merge(counts).to("out");
    }
}

fn main() {}
