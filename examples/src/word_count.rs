//! The reference's `word_count` tutorial in the DSL: lower-case each line, split it into
//! words, group by word, count into `counts-store`, and write every count update to
//! `streams-wordcount-output`.

use crate::line_split::words;
use streams_runtime::prelude::*;

topology! {
    /// `stream → flat_map_values → group_by(word) → count → to_stream → to`; the grouping
    /// changes the key, so the counting runs in a second sub-topology behind the repartition
    /// topic `counts-store-repartition`.
    pub struct WordCount {
        stream lines {
            topic: "streams-plaintext-input",
            key: Option<String>,
            value: String,
        }
        lines
            .flat_map_values(|line| words(&line.to_lowercase()).map(str::to_owned).collect::<Vec<_>>())
            .group_by(|_, word| word.clone())
            .count(store: "counts-store")
            .to_stream()
            .to("streams-wordcount-output", key_serde: StringSerde, value_serde: OptionSerde<LongSerde>);
    }
}
