//! Runs the DSL word count over the test driver: prints the topology's description, pipes the
//! reference's two sample lines (or the lines given as arguments), and prints every count
//! update as the reference's console consumer does (`word\tcount`).

use examples::word_count::WordCount;
use streams_runtime::prelude::*;

fn main() -> Result<(), StreamsError> {
    let mut lines: Vec<String> = std::env::args().skip(1).collect();
    if lines.is_empty() {
        lines = vec!["all streams lead to kafka".to_owned(), "hello kafka streams".to_owned()];
    }
    println!("{}", WordCount.describe());
    let driver = test_driver(&WordCount)?;
    let mut input = driver.input_topic(WordCount::source_lines());
    let mut output = driver.output_topic_as::<String, Option<i64>>("streams-wordcount-output");
    for line in lines {
        input.pipe_input(None, line)?;
    }
    for (word, count) in output.read_key_values_to_list()? {
        match count {
            Some(count) => println!("{word}\t{count}"),
            None => println!("{word}\tnull"),
        }
    }
    driver.close()
}
