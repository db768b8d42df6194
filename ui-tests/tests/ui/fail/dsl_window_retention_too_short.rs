use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream clicks { topic: "clicks", key: String, value: String }
        clicks
            .group_by_key()
            .windowed_by(tumbling(1min, grace: 30s))
            .count(store: "counts", retention: 1min);
    }
}

fn main() {}
