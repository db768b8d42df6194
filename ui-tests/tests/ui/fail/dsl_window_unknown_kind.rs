use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream clicks { topic: "clicks", key: String, value: String }
        clicks.group_by_key().windowed_by(tumble(1min)).count(store: "counts");
    }
}

fn main() {}
