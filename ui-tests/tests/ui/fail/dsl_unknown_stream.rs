use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream lines { topic: "lines", key: String, value: String }
        linez.to("out");
    }
}

fn main() {}
