use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream views { topic: "views", key: String, value: String }
        stream clicks { topic: "clicks", key: i64, value: String }
        views.join(clicks, |v, c| format!("{v}+{c}"), join_windows(10ms, grace: 5ms)).to("out");
    }
}

fn main() {}
