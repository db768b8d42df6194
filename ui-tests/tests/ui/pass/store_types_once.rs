//! A `store` clause without `key:` and `value:` takes its types (and serdes) from the
//! processors' `#[store]` fields, so each type is written once; two processors sharing the
//! store agree on them, and the typed accessor has the field's handle type.

use streams_runtime::prelude::*;

/// Counts records per key.
#[derive(Processor)]
#[processor(input = (String, String), output = (String, i64))]
struct Counter {
    #[store]
    counts: KeyValueStore<String, i64, StringSerde, LongSerde>,
}

impl Processor for Counter {
    fn process(&mut self, r: RecordIn<Self>, ctx: &mut impl ContextFor<Self>) -> Result<(), ProcessingError> {
        let n = self.counts.get(&r.key)?.unwrap_or(0) + 1;
        self.counts.put(&r.key, &n)?;
        ctx.forward(r.with_value(n))
    }
}

/// Reads the counts the counter wrote, doubled.
#[derive(Processor)]
#[processor(input = (String, i64), output = (String, i64))]
struct Doubler {
    #[store]
    counts: KeyValueStore<String, i64, StringSerde, LongSerde>,
}

impl Processor for Doubler {
    fn process(&mut self, r: RecordIn<Self>, ctx: &mut impl ContextFor<Self>) -> Result<(), ProcessingError> {
        let n = self.counts.get(&r.key)?.unwrap_or(0);
        ctx.forward(r.with_value(2 * n))
    }
}

topology! {
    struct Counting {
        source input { topic: "in", key: String, value: String }
        processor count: Counter { parents: [input] }
        processor double: Doubler { parents: [count] }
        sink output { topic: "out", parents: [double] }
        store counts { persistent: false }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let driver = test_driver(&Counting)?;
    let mut input = driver.input_topic(Counting::source_input());
    input.pipe_input("a".to_owned(), "x".to_owned())?;
    input.pipe_input("a".to_owned(), "y".to_owned())?;
    let mut output = driver.output_topic(Counting::sink_output());
    assert_eq!(output.read_key_value()?, ("a".to_owned(), 2));
    assert_eq!(output.read_key_value()?, ("a".to_owned(), 4));
    // The accessor's type is the fields' handle type.
    let counts: KeyValueStore<String, i64, StringSerde, LongSerde> = driver.store(Counting::store_counts());
    assert_eq!(counts.get(&"a".to_owned())?, Some(2));
    Ok(())
}
