//! Typed accessors of what the DSL creates (issue #17, goal B1): `store_<name>()` for an
//! aggregation given `store: ".."` and `to_<topic>()` for a `to`, typed from what the topology's
//! text names (declared types, operators that keep them, counts, `to_stream`, windowed keys,
//! `process(Type)`, closures with an explicit return type). Tests read them without a string or
//! a spelled-out type; the generated `build` checks every named type against rustc's inference.

use streams_runtime::prelude::*;

/// Doubles the value and keys it by its length (its output types name the stream's).
#[derive(Processor)]
#[processor(input = (String, i64), output = (i32, i64))]
struct ByLength {}

impl Processor for ByLength {
    fn process(&mut self, record: RecordIn<Self>, ctx: &mut impl ContextFor<Self>) -> Result<(), ProcessingError> {
        let key = i32::try_from(record.key.len())?;
        ctx.forward(record.with_key(key).map_value(|_, v| v * 2))
    }
}

topology! {
    struct Named {
        stream lines { topic: "lines", key: Option<String>, value: String }
        table names { topic: "names", key: String, value: String, store: "names-store" }

        // Word count: the grouping's closure names the key; a count's value is i64.
        lines
            .flat_map_values(|line| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
            .group_by(|_, word| -> String { word.clone() })
            .count(store: "counts")
            .to_stream()
            .to("word-counts");

        // Keys changed by annotated closures; an aggregate typed by its initializer.
        lines
            .flat_map(|_, line| -> Vec<(String, i64)> { line.split(' ').map(|w| (w.to_owned(), 1)).collect() })
            .map(|k, v| -> (String, i64) { (k.to_uppercase(), v * 10) })
            .group_by_key()
            .aggregate(|| -> String { String::new() }, |_, v, agg| format!("{agg}{v};"), store: "concat")
            .to_stream()
            .to("concatenated");

        // `process(Type)` names its output; a windowed count keys by `Windowed<K>`.
        lines
            .select_key(|_, line| -> String { line.clone() })
            .map_values(|line| -> i64 { line.len() as i64 })
            .process(ByLength)
            .group_by_key()
            .windowed_by(tumbling(10ms))
            .count(store: "lengths-per-window")
            .to_stream()
            .to("lengths");

        // Return types generated code cannot write down (`_`, elided lifetimes, `impl Trait`)
        // leave the types unnamed, and the topology compiles as before.
        lines
            .flat_map_values(|line| -> Vec<_> { line.split(' ').map(str::to_owned).collect() })
            .map(|k, v| -> (_, i64) { (k, v.len() as i64) })
            .to("unnamed");

        // A stream-table join whose joiner names its result.
        lines
            .select_key(|_, line| -> String { line.clone() })
            .join(names, |line, name| -> String { format!("{name}:{}", line.len()) })
            .to("greetings");
    }
}

#[test]
fn dsl_stores_and_sinks_are_read_through_typed_accessors() {
    let driver = test_driver(&Named).unwrap();
    let mut names = driver.input_topic(Named::source_names());
    names
        .pipe_input(Some("a b".to_owned()), Some("Ann".to_owned()))
        .unwrap();
    let mut lines = driver.input_topic(Named::source_lines());
    for (line, ts) in [("a b", 1), ("b", 2), ("a b", 15)] {
        lines.pipe_input_at(None, line.to_owned(), ts).unwrap();
    }

    let counts = driver.store(Named::store_counts());
    assert_eq!(counts.get(&"a".to_owned()).unwrap(), Some(2));
    assert_eq!(counts.get(&"b".to_owned()).unwrap(), Some(3));
    assert_eq!(
        driver
            .output_topic(Named::to_word_counts())
            .read_key_values_to_list()
            .unwrap(),
        [
            ("a".to_owned(), Some(1)),
            ("b".to_owned(), Some(1)),
            ("b".to_owned(), Some(2)),
            ("a".to_owned(), Some(2)),
            ("b".to_owned(), Some(3)),
        ]
    );

    let concat = driver.store(Named::store_concat());
    assert_eq!(concat.get(&"A".to_owned()).unwrap(), Some("10;10;".to_owned()));
    assert_eq!(concat.get(&"B".to_owned()).unwrap(), Some("10;10;10;".to_owned()));
    assert_eq!(
        driver
            .output_topic(Named::to_concatenated())
            .read_values_to_list()
            .unwrap()
            .len(),
        5
    );

    let windows = driver.store(Named::store_lengths_per_window());
    // The store keeps size + grace (10 ms) behind stream time (15), as Java's does.
    assert_eq!(windows.get(&3, 10).unwrap(), Some(1));
    assert_eq!(windows.get(&3, 0).unwrap(), None);
    assert_eq!(windows.all().unwrap().count(), 1);
    let lengths: Vec<(i32, i64, i64, Option<i64>)> = driver
        .output_topic(Named::to_lengths())
        .read_key_values_to_list()
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k.key, k.window.start, k.window.end, v))
        .collect();
    assert_eq!(
        lengths,
        [(3, 0, 10, Some(1)), (1, 0, 10, Some(1)), (3, 10, 20, Some(1))]
    );

    let _: streams_runtime::topology::TypesNotNamed = Named::to_unnamed();
    assert_eq!(
        driver
            .output_topic_as::<Option<String>, i64>("unnamed")
            .read_values_to_list()
            .unwrap(),
        [1, 1, 1, 1, 1]
    );

    assert_eq!(
        driver
            .output_topic(Named::to_greetings())
            .read_key_values_to_list()
            .unwrap(),
        [
            ("a b".to_owned(), "Ann:3".to_owned()),
            ("a b".to_owned(), "Ann:3".to_owned())
        ]
    );
}
