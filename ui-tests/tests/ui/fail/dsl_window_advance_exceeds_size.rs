use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream clicks { topic: "clicks", key: String, value: String }
        clicks.group_by_key().windowed_by(hopping(5min, 10min)).count(store: "counts");
    }
}

fn main() {}
