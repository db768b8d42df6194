use streams_runtime::prelude::*;

topology! {
    struct Topo {
        global_table rates { topic: "rates", key: String, value: f64 }
        rates.to_stream().to("out");
    }
}

fn main() {}
