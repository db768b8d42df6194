use streams_runtime::prelude::*;

#[derive(Processor)]
#[processor(input = (String, String), output = (String, i64))]
struct Counter {
    #[store]
    counts: KeyValueStore<String, i64>,
}

impl Processor for Counter {
    fn process(&mut self, r: Record<String, String>, ctx: &mut impl ProcessorContext<String, i64>) -> Result<(), ProcessingError> {
        let n = self.counts.get(&r.value)?.unwrap_or(0) + 1;
        self.counts.put(&r.value, &n)?;
        ctx.forward(r.with_value(n))
    }
}

topology! {
    struct Topo {
        source input { topic: "in", key: String, value: String }
        processor count: Counter { parents: [input] }
        sink output { topic: "out", parents: [count] }
        store counts { kind: window, key: String, value: i64, retention: 1h, window_size: 1min }
    }
}

fn main() {}
