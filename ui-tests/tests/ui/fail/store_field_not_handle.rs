use streams_runtime::prelude::*;

#[derive(Processor)]
#[processor(input = (String, String), output = (String, String))]
struct Bad {
    #[store]
    counts: std::collections::HashMap<String, i64>,
}

fn main() {}
