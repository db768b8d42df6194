use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream clicks { topic: "clicks", key: String, value: String }
        clicks
            .group_by_key()
            .count(store: "counts")
            .suppress(until_window_closes(unbounded()))
            .to_stream()
            .to("final-counts");
    }
}

fn main() {}
