use std::time::Duration;
use streams_runtime::prelude::*;

const WINDOW: Duration = Duration::ZERO;

topology! {
    struct Topo {
        stream clicks { topic: "clicks", key: String, value: String }
        clicks.group_by_key().windowed_by(tumbling(WINDOW)).count(store: "counts");
    }
}

fn main() {}
