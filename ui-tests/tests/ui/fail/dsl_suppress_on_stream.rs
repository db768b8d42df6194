use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream clicks { topic: "clicks", key: String, value: String }
        clicks
            .group_by_key()
            .windowed_by(tumbling(1min))
            .count(store: "counts")
            .to_stream()
            .suppress(until_window_closes(unbounded()));
    }
}

fn main() {}
