//! Runs the Processor API word count over the test driver: pipes the reference's two sample
//! lines (or the lines given as arguments), advances the wall clock by one second so the
//! punctuation forwards the counts, and prints them as `word\tcount`.

use examples::word_count_processor::WordCountTopology;
use std::time::Duration;
use streams_runtime::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut lines: Vec<String> = std::env::args().skip(1).collect();
    if lines.is_empty() {
        lines = vec!["all streams lead to kafka".to_owned(), "hello kafka streams".to_owned()];
    }
    let topology = WordCountTopology;
    println!("{}", topology.describe());
    let driver = test_driver(&topology)?;
    let mut input = driver.input_topic(WordCountTopology::source_source());
    let mut output = driver.output_topic(WordCountTopology::sink_sink());
    for line in lines {
        input.pipe_input(None, line)?;
    }
    driver.advance_wall_clock_time(Duration::from_secs(1))?;
    for (word, count) in output.read_key_values_to_list()? {
        println!("{word}\t{count}");
    }
    Ok(driver.close()?)
}
