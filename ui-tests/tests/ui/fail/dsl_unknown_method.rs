use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream lines { topic: "lines", key: String, value: String }
        lines.fliter(|_, v| !v.is_empty()).to("out");
        lines.to_stream();
    }
}

fn main() {}
