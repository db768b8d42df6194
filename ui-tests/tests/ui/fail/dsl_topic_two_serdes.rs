use streams_runtime::prelude::*;

topology! {
    struct Topo {
        stream words { topic: "words", key: String, value: String }
        stream echoed { topic: "echo", key: String, value: String }
        words.to("echo", value_serde: JsonSerde<String>);
        echoed.to("out");
    }
}

fn main() {}
