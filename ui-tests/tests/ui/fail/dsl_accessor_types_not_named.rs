use streams_runtime::prelude::*;

topology! {
    struct WordCount {
        stream lines { topic: "lines", key: Option<String>, value: String }
        lines
            .flat_map_values(|line| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
            .group_by(|_, word| word.clone())
            .count(store: "counts")
            .to_stream()
            .to("word-counts");
    }
}

fn main() {
    let driver = test_driver(&WordCount).unwrap();
    let _ = driver.store(WordCount::store_counts());
    let _ = driver.output_topic(WordCount::to_word_counts());
}
