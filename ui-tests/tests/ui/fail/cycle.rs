use streams_runtime::prelude::*;

#[derive(Processor)]
#[processor(input = (String, String), output = (String, String))]
struct Id;

impl Processor for Id {
    fn process(&mut self, r: Record<String, String>, ctx: &mut impl ProcessorContext<String, String>) -> Result<(), ProcessingError> {
        ctx.forward(r)
    }
}

topology! {
    struct Topo {
        source input { topic: "in", key: String, value: String }
        processor a: Id { parents: [input, b] }
        processor b: Id { parents: [a] }
        sink output { topic: "out", parents: [b] }
    }
}

fn main() {}
