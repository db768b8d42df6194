//! The test driver's captured output: every record reads back exactly, whatever was read before
//! it, while the driver frees the bytes of what was read (a topic nobody reads until the end
//! keeps its records through the driver's compactions of its output arena).

use streams_runtime::prelude::*;

topology! {
    struct TwoOutputs {
        stream events { topic: "events", key: String, value: String }
        events.to("read-often");
        events.map_values(|v| v.len() as i64).to("read-at-end");
    }
}

/// A value of 200 bytes or more that names its record.
fn value(i: usize) -> String {
    format!("{i:>200}")
}

#[test]
fn records_read_back_exactly_through_the_compactions_of_the_output_arena() {
    let driver = test_driver(&TwoOutputs).unwrap();
    let mut input = driver.input_topic(TwoOutputs::source_events());
    let mut often = driver.output_topic_as::<String, String>("read-often");
    // 20,000 records of ~210 bytes read as they come, past the 1 MiB the driver keeps before it
    // compacts; the small records of `read-at-end` stay unread until the end.
    for i in 0..20_000 {
        input.pipe_input_at(format!("k{i}"), value(i), i as i64).unwrap();
        assert_eq!(
            often.read_record().unwrap(),
            Record::new(format!("k{i}"), value(i), i as i64)
        );
    }
    assert!(often.is_empty());
    let mut at_end = driver.output_topic_as::<String, i64>("read-at-end");
    let records = at_end.read_records_to_list().unwrap();
    assert_eq!(records.len(), 20_000);
    for (i, r) in records.into_iter().enumerate() {
        assert_eq!(r, Record::new(format!("k{i}"), value(i).len() as i64, i as i64));
    }
    // Everything read: new output starts an empty arena and reads back as well.
    input.pipe_input_at("last".to_owned(), "x".to_owned(), 1).unwrap();
    assert_eq!(often.read_key_value().unwrap(), ("last".to_owned(), "x".to_owned()));
    assert_eq!(at_end.read_key_value().unwrap(), ("last".to_owned(), 1));
}
