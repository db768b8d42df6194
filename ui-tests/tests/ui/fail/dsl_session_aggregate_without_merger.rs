use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream clicks { topic: "clicks", key: String, value: String }
        clicks
            .group_by_key()
            .windowed_by(session(30min))
            .aggregate(String::new, |_, v, pages| pages + &v, store: "sessions");
    }
}

fn main() {}
