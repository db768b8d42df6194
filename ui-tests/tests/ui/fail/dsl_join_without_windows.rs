use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream views { topic: "views", key: String, value: String }
        stream clicks { topic: "clicks", key: String, value: String }
        views.join(clicks, |v, c| format!("{v}+{c}")).to("out");
    }
}

fn main() {}
