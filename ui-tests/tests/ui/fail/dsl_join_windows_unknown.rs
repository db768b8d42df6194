use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream views { topic: "views", key: String, value: String }
        stream clicks { topic: "clicks", key: String, value: String }
        views.join(clicks, |v, c| format!("{v}+{c}"), join_windows(10sec)).to("unit");
        views.join(clicks, |v, c| format!("{v}+{c}"), join_window(10s, grace: 5ms)).to("name");
    }
}

fn main() {}
