//! The pipe topology copies records unchanged.

use examples::pipe::Pipe;
use streams_runtime::prelude::*;

#[test]
fn pipe_copies_keys_values_timestamps_and_headers() {
    let driver = test_driver(&Pipe).unwrap();
    let mut input = driver.input_topic(Pipe::source_input());
    let mut output = driver.output_topic(Pipe::sink_output());
    // Java's driver tells a topic never written from one read to the end.
    assert!(
        matches!(output.read_value(), Err(ReadError::NeverWritten { topic, .. }) if topic == "streams-pipe-output")
    );
    input
        .pipe_input_at(None, "all streams lead to kafka".to_owned(), 10)
        .unwrap();
    let mut headers = Headers::new();
    headers.add("trace", Some(b"1"));
    input
        .pipe_record(
            Record::new(Some("k".to_owned()), "hello kafka streams".to_owned(), 20).with_headers(headers.clone()),
        )
        .unwrap();
    assert_eq!(output.queue_size(), 2);
    assert_eq!(
        output.read_record().unwrap(),
        Record::new(None, "all streams lead to kafka".to_owned(), 10)
    );
    assert_eq!(
        output.read_record().unwrap(),
        Record::new(Some("k".to_owned()), "hello kafka streams".to_owned(), 20).with_headers(headers)
    );
    assert!(output.is_empty());
    assert!(matches!(output.read_value(), Err(ReadError::Empty(t)) if t == "streams-pipe-output"));
}

#[test]
fn undeserializable_input_is_a_typed_error_naming_topic_partition_and_offset() {
    let driver = test_driver(&Pipe).unwrap();
    let mut input = driver.input_topic(Pipe::source_input());
    input.pipe_input_at(None, "fine".to_owned(), 1).unwrap();
    let err = input.pipe_raw(None, Some(&[0xff, 0xfe]), 2).unwrap_err();
    match &err {
        StreamsError::Deserialization {
            topic,
            partition,
            offset,
            part,
            ..
        } => {
            assert_eq!((topic.as_str(), *partition, *offset), ("streams-plaintext-input", 0, 1));
            assert_eq!(*part, streams_runtime::error::RecordPart::Value);
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "cannot deserialize the value of the record at streams-plaintext-input-0 offset 1: invalid UTF-8: invalid utf-8 sequence of 1 bytes from index 0"
    );
    // The driver keeps working after the bad record.
    input.pipe_input_at(None, "after".to_owned(), 3).unwrap();
    let mut output = driver.output_topic(Pipe::sink_output());
    assert_eq!(
        output.read_values_to_list().unwrap(),
        vec!["fine".to_owned(), "after".to_owned()]
    );
}

#[test]
fn describe_matches_javas_topology_description() {
    assert_eq!(
        Pipe.describe().to_string(),
        "Topologies:\n   Sub-topology: 0\n    Source: input (topics: [streams-plaintext-input])\n      --> output\n    Sink: output (topic: streams-pipe-output)\n      <-- input\n\n"
    );
}
