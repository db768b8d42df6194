use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream lines { topic: "lines", key: String, value: String }
        lines
            .group_by_key()
            .count(store: "counts")
            .to_stream()
            .to("out", value_serde: LongSerde);
    }
}

fn main() {}
