use streams_runtime::prelude::*;

#[derive(Processor)]
#[processor(input = (String, String), output = (String, i64))]
struct Sessions {
    #[store]
    visits: SessionStore<String, i64>,
}

impl Processor for Sessions {
    fn process(&mut self, r: Record<String, String>, ctx: &mut impl ProcessorContext<String, i64>) -> Result<(), ProcessingError> {
        let session = Windowed::new(r.key.clone(), Window::new(r.timestamp, r.timestamp));
        self.visits.put(&session, &1)?;
        ctx.forward(r.with_value(1))
    }
}

topology! {
    struct Topo {
        source input { topic: "in", key: String, value: String }
        processor sessions: Sessions { parents: [input] }
        sink output { topic: "out", parents: [sessions] }
        store visits { key: String, value: i64 }
    }
}

fn main() {}
