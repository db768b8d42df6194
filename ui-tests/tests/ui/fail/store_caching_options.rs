use streams_runtime::prelude::*;

#[derive(Processor)]
#[processor(input = (String, String), output = (String, i64))]
struct Recent {
    #[store]
    recent: WindowStore<String, i64>,
}

impl Processor for Recent {
    fn process(&mut self, r: Record<String, String>, ctx: &mut impl ProcessorContext<String, i64>) -> Result<(), ProcessingError> {
        self.recent.put(&r.key, &1, r.timestamp)?;
        ctx.forward(r.with_value(1))
    }
}

topology! {
    struct Topo {
        source input { topic: "in", key: String, value: String }
        processor count: Recent { parents: [input] }
        sink output { topic: "out", parents: [count] }
        store recent { kind: window, key: String, value: i64, retention: 1min, window_size: 1min, caching: true }
        table versioned_rows { topic: "rows", key: String, value: String, versioned: 1h, caching: true }
        table cached_rows { topic: "cached", key: String, value: String, caching: "yes" }
    }
}

fn main() {}
