use streams_runtime::prelude::*;

#[derive(Processor)]
struct NoTypes;

#[derive(Processor)]
#[processor(input = (String, String))]
struct NoOutput;

fn main() {}
