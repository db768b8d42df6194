//! The Processor API word count of the reference, through the test driver.

use examples::word_count_processor::WordCountTopology;
use std::time::Duration;
use streams_runtime::prelude::*;

fn driver() -> TopologyTestDriver<impl Graph> {
    test_driver_with(
        &WordCountTopology,
        DriverConfig {
            application_id: "wordcount-processor".to_owned(),
            initial_wall_clock_ms: 1_000_000,
            ..DriverConfig::default()
        },
    )
    .unwrap()
}

#[test]
fn counts_are_forwarded_on_the_wall_clock_punctuation() {
    let driver = driver();
    let mut input = driver.input_topic(WordCountTopology::source_source());
    let mut output = driver.output_topic(WordCountTopology::sink_sink());
    input
        .pipe_input_at(None, "all streams lead to kafka".to_owned(), 5)
        .unwrap();
    input.pipe_input_at(None, "hello kafka streams".to_owned(), 6).unwrap();
    // Nothing is forwarded before the punctuation.
    assert!(output.is_empty());
    driver.advance_wall_clock_time(Duration::from_millis(999)).unwrap();
    assert!(output.is_empty());
    driver.advance_wall_clock_time(Duration::from_millis(1)).unwrap();
    let expected: Vec<(String, String)> = [
        ("all", "1"),
        ("hello", "1"),
        ("kafka", "2"),
        ("lead", "1"),
        ("streams", "2"),
        ("to", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let records = output.read_records_to_list().unwrap();
    assert_eq!(
        records
            .iter()
            .map(|r| (r.key.clone(), r.value.clone()))
            .collect::<Vec<_>>(),
        expected
    );
    // Forwarded with the punctuation's timestamp: the wall-clock time.
    assert!(records.iter().all(|r| r.timestamp == 1_001_000));

    input.pipe_input_at(None, "Kafka".to_owned(), 7).unwrap();
    driver.advance_wall_clock_time(Duration::from_secs(1)).unwrap();
    assert_eq!(
        output
            .read_key_values_to_map()
            .unwrap()
            .get("kafka")
            .map(String::as_str),
        Some("3")
    );
}

#[test]
fn the_store_holds_the_counts_and_the_changelog_records_every_write() {
    let driver = driver();
    let mut input = driver.input_topic(WordCountTopology::source_source());
    input.pipe_input_at(None, "a b a".to_owned(), 1).unwrap();
    let store = driver.store(WordCountTopology::store_counts());
    assert_eq!(store.get(&"a".to_owned()).unwrap(), Some(2));
    assert_eq!(store.get(&"b".to_owned()).unwrap(), Some(1));
    assert_eq!(store.approximate_num_entries().unwrap(), 2);
    let mut changelog =
        driver.output_topic_named::<String, i32, StringSerde, IntegerSerde>("wordcount-processor-Counts-changelog");
    assert_eq!(
        changelog.read_key_values_to_list().unwrap(),
        vec![("a".to_owned(), 1), ("b".to_owned(), 1), ("a".to_owned(), 2)]
    );
}

#[test]
fn describe_names_the_store() {
    assert_eq!(
        WordCountTopology.describe().to_string(),
        "Topologies:\n   Sub-topology: 0\n    Source: Source (topics: [source-topic])\n      --> Process\n    Processor: Process (stores: [Counts])\n      --> Sink\n      <-- Source\n    Sink: Sink (topic: sink-topic)\n      <-- Process\n\n"
    );
    let mermaid = WordCountTopology.describe().mermaid().to_owned();
    assert!(mermaid.starts_with("flowchart TD\n    subgraph sub_0 [\"Sub-topology: 0\"]\n"));
    assert!(mermaid.contains("    n_Process -.- s_Counts\n"));
    assert!(mermaid.contains("    t_source_topic[/\"source-topic\"/] --> n_Source\n"));
}
