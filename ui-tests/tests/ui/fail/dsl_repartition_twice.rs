use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream lines { topic: "lines", key: String, value: String }
        lines.select_key(|_, v| v.clone()).repartition(name: "by-word").to("a");
        lines.group_by(|_, v| v.len() as i64).count(store: "by-word");
    }
}

fn main() {}
