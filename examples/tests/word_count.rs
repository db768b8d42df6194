//! The DSL word count: the reference's quick-start output, the store, the repartition topic
//! and the description.

use examples::word_count::WordCount;
use streams_runtime::prelude::*;

#[test]
fn quick_start_lines_yield_the_reference_count_updates_in_order() {
    let driver = test_driver(&WordCount).unwrap();
    let mut input = driver.input_topic(WordCount::source_lines());
    let mut output = driver.output_topic(WordCount::to_streams_wordcount_output());
    input.pipe_input(None, "all streams lead to kafka".to_owned()).unwrap();
    input.pipe_input(None, "hello kafka streams".to_owned()).unwrap();
    let expected: Vec<(String, Option<i64>)> = [
        ("all", 1),
        ("streams", 1),
        ("lead", 1),
        ("to", 1),
        ("kafka", 1),
        ("hello", 1),
        ("kafka", 2),
        ("streams", 2),
    ]
    .into_iter()
    .map(|(w, c)| (w.to_owned(), Some(c)))
    .collect();
    assert_eq!(output.read_key_values_to_list().unwrap(), expected);
}

#[test]
fn counts_are_queryable_in_the_named_store_and_words_are_lower_cased() {
    let driver = test_driver(&WordCount).unwrap();
    let mut input = driver.input_topic(WordCount::source_lines());
    input
        .pipe_input(None, "Kafka KAFKA kafka, streams!".to_owned())
        .unwrap();
    let store = driver.store(WordCount::store_counts_store());
    assert_eq!(store.get(&"kafka".to_owned()).unwrap(), Some(3));
    assert_eq!(store.get(&"streams".to_owned()).unwrap(), Some(1));
    assert_eq!(store.get(&"Kafka".to_owned()).unwrap(), None);
    assert_eq!(store.all().unwrap().count(), 2);
}

#[test]
fn misspelled_store_and_topic_names_get_a_suggestion() {
    let driver = test_driver(&WordCount).unwrap();
    let store = driver.key_value_store::<String, i64>("count-store").err().unwrap();
    assert_eq!(
        store.to_string(),
        "no store named count-store in this topology; did you mean `counts-store`?"
    );
    let topic = driver
        .pipe_raw("streams-plaintext-inptu", None, Some(b"a"), 0)
        .unwrap_err();
    assert_eq!(
        topic.to_string(),
        "topic streams-plaintext-inptu is not a source topic of this topology; did you mean `streams-plaintext-input`?"
    );
    driver
        .input_topic(WordCount::source_lines())
        .pipe_input(None, "a".to_owned())
        .unwrap();
    let mut typo = driver.output_topic_as::<String, Option<i64>>("streams-wordcount-ouptut");
    assert_eq!(
        typo.read_value().unwrap_err().to_string(),
        "output topic streams-wordcount-ouptut was never written; did you mean `streams-wordcount-output`?"
    );
}

#[test]
fn grouping_goes_through_the_repartition_topic_and_counts_are_logged() {
    let driver = test_driver(&WordCount).unwrap();
    let mut input = driver.input_topic(WordCount::source_lines());
    input
        .pipe_input_at(Some("k".to_owned()), "a b a".to_owned(), 42)
        .unwrap();
    let mut repartition = driver.output_topic_as::<String, String>("test-app-counts-store-repartition");
    let records = repartition.read_records_to_list().unwrap();
    let keys: Vec<_> = records
        .iter()
        .map(|r| (r.key.as_str(), r.value.as_str(), r.timestamp))
        .collect();
    assert_eq!(keys, [("a", "a", 42), ("b", "b", 42), ("a", "a", 42)]);
    let mut changelog = driver.output_topic_as::<String, i64>("test-app-counts-store-changelog");
    assert_eq!(
        changelog.read_key_values_to_list().unwrap(),
        [("a".to_owned(), 1), ("b".to_owned(), 1), ("a".to_owned(), 2)]
    );
}

#[test]
fn describe_shows_two_subtopologies_joined_by_the_repartition_topic() {
    let text = WordCount.describe().text().to_owned();
    let expected = "\
Topologies:
   Sub-topology: 0
    Source: lines (topics: [streams-plaintext-input])
      --> KSTREAM-FLATMAPVALUES-0000000001
    Processor: KSTREAM-FLATMAPVALUES-0000000001 (stores: [])
      --> KSTREAM-KEY-SELECT-0000000002
      <-- lines
    Processor: KSTREAM-KEY-SELECT-0000000002 (stores: [])
      --> counts-store-repartition-filter
      <-- KSTREAM-FLATMAPVALUES-0000000001
    Processor: counts-store-repartition-filter (stores: [])
      --> counts-store-repartition-sink
      <-- KSTREAM-KEY-SELECT-0000000002
    Sink: counts-store-repartition-sink (topic: counts-store-repartition)
      <-- counts-store-repartition-filter

  Sub-topology: 1
    Source: counts-store-repartition-source (topics: [counts-store-repartition])
      --> KSTREAM-AGGREGATE-0000000003
    Processor: KSTREAM-AGGREGATE-0000000003 (stores: [counts-store])
      --> KTABLE-TOSTREAM-0000000007
      <-- counts-store-repartition-source
    Processor: KTABLE-TOSTREAM-0000000007 (stores: [])
      --> KSTREAM-SINK-0000000008
      <-- KSTREAM-AGGREGATE-0000000003
    Sink: KSTREAM-SINK-0000000008 (topic: streams-wordcount-output)
      <-- KTABLE-TOSTREAM-0000000007

";
    assert_eq!(text, expected);
    assert_eq!(WordCount.describe().subtopologies().len(), 2);
    let mermaid = WordCount.describe().mermaid().to_owned();
    for line in [
        "    subgraph sub_1 [\"Sub-topology: 1\"]\n",
        // The repartition topic joins the two sub-topologies in the diagram.
        "    n_counts_store_repartition_sink --> t_counts_store_repartition[/\"counts-store-repartition\"/]\n",
        "    t_counts_store_repartition[/\"counts-store-repartition\"/] --> n_counts_store_repartition_source\n",
        "    n_KSTREAM_AGGREGATE_0000000003 -.- s_counts_store\n",
    ] {
        assert!(mermaid.contains(line), "{line:?} missing from\n{mermaid}");
    }
}
