use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream clicks { topic: "clicks", key: String, value: String }
        clicks.group_by_key().count(store: "counts", caching: 1);
        clicks.group_by_key().windowed_by(tumbling(1min)).count(store: "windowed", caching: false);
    }
}

fn main() {}
