use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream clicks { topic: "clicks", key: String, value: String }
        clicks
            .group_by_key()
            .windowed_by(tumbling(1min))
            .count(store: "counts")
            .suppress(until_window_closes(max_records(1_000)))
            .to_stream()
            .to("final-counts");
    }
}

fn main() {}
