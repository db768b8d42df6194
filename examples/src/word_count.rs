//! The reference's `word_count` tutorial in the DSL: lower-case each line, split it into
//! words, group by word, count into `counts-store`, and write the count updates to
//! `streams-wordcount-output` (the latest of each word per commit through the record cache;
//! every one with `statestore.cache.max.bytes=0`, as the reference's `WordCountDemo` sets).

use streams_runtime::prelude::*;

/// Declares the word count topology as a struct reading `input` and writing `output` (the
/// tests, which share one broker, each declare it over topics of their own). The caller's
/// scope needs `streams_runtime::prelude::*`.
#[macro_export]
macro_rules! word_count_topology {
    ($(#[$attr:meta])* $vis:vis struct $name:ident { input: $input:tt, output: $output:tt }) => {
        ::streams_runtime::topology! {
            $(#[$attr])*
            $vis struct $name {
                stream lines {
                    topic: $input,
                    key: Option<String>,
                    value: String,
                }
                lines
                    .flat_map_values(|line| {
                        $crate::line_split::words(&line.to_lowercase())
                            .map(str::to_owned)
                            .collect::<Vec<_>>()
                    })
                    .group_by(|_, word| -> String { word.clone() })
                    .count(store: "counts-store")
                    .to_stream()
                    .to($output, key_serde: StringSerde, value_serde: OptionSerde<LongSerde>);
            }
        }
    };
}

word_count_topology! {
    /// `stream → flat_map_values → group_by(word) → count → to_stream → to`; the grouping
    /// changes the key, so the counting runs in a second sub-topology behind the repartition
    /// topic `counts-store-repartition`.
    pub struct WordCount { input: "streams-plaintext-input", output: "streams-wordcount-output" }
}
