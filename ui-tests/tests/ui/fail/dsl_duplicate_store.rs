use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream lines { topic: "lines", key: String, value: String }
        lines.group_by_key().count(store: "counts");
        lines.group_by(|_, v| v.clone()).count(store: "counts");
    }
}

fn main() {}
