use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream clicks { topic: "clicks", key: String, value: String }
        // Accepted: what a windowed aggregation does anyway.
        clicks.group_by_key().windowed_by(tumbling(1min)).count(store: "uncached", caching: false);
        clicks.group_by_key().windowed_by(tumbling(1min)).count(store: "windowed", caching: true);
    }
}

fn main() {}
