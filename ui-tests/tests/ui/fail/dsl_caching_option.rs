use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream clicks { topic: "clicks", key: String, value: String }
        clicks.group_by_key().count(store: "counts", caching: 1);
    }
}

fn main() {}
