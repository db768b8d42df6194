use streams_runtime::prelude::*;

#[derive(Processor)]
#[processor(input = (String, String), output = (String, i64))]
struct Counter {
    #[store]
    countz: KeyValueStore<String, i64>,
}

impl Processor for Counter {
    fn process(&mut self, _: Record<String, String>, _: &mut impl ProcessorContext<String, i64>) -> Result<(), ProcessingError> {
        Ok(())
    }
}

topology! {
    struct WordCount {
        source input { topic: "in", key: String, value: String }
        processor count: Counter { parents: [input] }
        sink output { topic: "out", parents: [count] }
        store counts { key: String, value: i64 }
    }
}

fn main() {}
