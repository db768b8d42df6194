//! The reference's `line_split` tutorial: split each line of `streams-plaintext-input` into
//! words and write them to `streams-linesplit-output`.

use streams_runtime::prelude::*;

/// The words of a line: the pieces between runs of non-word characters (Java's `\W+`, which
/// counts ASCII letters, digits and `_` as word characters), empty pieces left out.
pub fn words(line: &str) -> impl Iterator<Item = &str> {
    line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
}

topology! {
    /// `stream → flat_map_values(split on \W+) → to`.
    pub struct LineSplit {
        stream lines {
            topic: "streams-plaintext-input",
            key: Option<String>,
            value: String,
        }
        lines
            .flat_map_values(|line| words(&line).map(str::to_owned).collect::<Vec<_>>())
            .to("streams-linesplit-output");
    }
}
