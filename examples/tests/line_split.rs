//! The DSL line split: each line becomes its words, in order, keeping the line's key.

use examples::line_split::LineSplit;
use streams_runtime::prelude::*;

#[test]
fn lines_are_split_on_non_word_characters() {
    let driver = test_driver(&LineSplit).unwrap();
    let mut input = driver.input_topic(LineSplit::source_lines());
    let mut output = driver.output_topic_as::<Option<String>, String>("streams-linesplit-output");
    input.pipe_input(None, "all streams lead to kafka".to_owned()).unwrap();
    input
        .pipe_input(Some("k".to_owned()), "hello, kafka_streams!  Hi-5".to_owned())
        .unwrap();
    input.pipe_input(None, " ... ".to_owned()).unwrap();
    let words: Vec<(Option<String>, String)> = [
        (None, "all"),
        (None, "streams"),
        (None, "lead"),
        (None, "to"),
        (None, "kafka"),
        (Some("k"), "hello"),
        (Some("k"), "kafka_streams"),
        (Some("k"), "Hi"),
        (Some("k"), "5"),
    ]
    .into_iter()
    .map(|(k, w)| (k.map(str::to_owned), w.to_owned()))
    .collect();
    assert_eq!(output.read_key_values_to_list().unwrap(), words);
    assert!(output.is_empty(), "a line with no words yields nothing");
}
