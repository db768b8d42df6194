//! The reference's `pipe` tutorial: copy `streams-plaintext-input` to `streams-pipe-output`.

use streams_runtime::prelude::*;

topology! {
    /// Source → sink: every record of the input topic lands unchanged in the output topic.
    pub struct Pipe {
        source input {
            topic: "streams-plaintext-input",
            key: Option<String>,
            value: String,
        }
        sink output {
            topic: "streams-pipe-output",
            parents: [input],
        }
    }
}
