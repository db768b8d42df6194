use streams_runtime::prelude::*;

#[derive(Processor)]
#[processor(input = (String, String), output = (String, i64))]
struct Counter {
    #[store]
    counts: KeyValueStore<String, i64>,
}

impl Processor for Counter {
    fn process(&mut self, r: RecordIn<Self>, ctx: &mut impl ContextFor<Self>) -> Result<(), ProcessingError> {
        ctx.forward(r.with_value(1))
    }
}

#[derive(Processor)]
#[processor(input = (String, i64), output = (String, i64))]
struct Reader {
    #[store]
    counts: KeyValueStore<String, String>,
}

impl Processor for Reader {
    fn process(&mut self, r: RecordIn<Self>, ctx: &mut impl ContextFor<Self>) -> Result<(), ProcessingError> {
        ctx.forward(r)
    }
}

topology! {
    struct Topo {
        source input { topic: "in", key: String, value: String }
        processor count: Counter { parents: [input] }
        processor read: Reader { parents: [count] }
        sink output { topic: "out", parents: [read] }
        store counts {}
    }
}

fn main() {}
