// ui-tests build streams-runtime without its `rocksdb` feature: a store left to the default is
// in memory, one declared `persistent: true` is an error at its name.
use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream lines { topic: "lines", key: String, value: String }
        lines.group_by_key().count(store: "in-memory-by-default").to_stream().to("counts");
        lines.group_by_key().count(store: "on-disk", persistent: true).to_stream().to("more-counts");
    }
}

fn main() {}
