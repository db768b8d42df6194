//! Procedural macros of Kafka Streams for Rust: `topology!` and `#[derive(Processor)]`.
//!
//! Use them through `streams-runtime`, which re-exports them; the generated code refers to
//! `::streams_runtime` by absolute path. Each macro runs parse → check → generate, collecting
//! every error (spanned on the user's token) before giving up.

mod ctxt;
mod processor;
mod topology;

use proc_macro::TokenStream;

/// Declares a topology: sources, processors, sinks and stores, checked at compile time.
/// See `docs/TOPOLOGY.md` for the grammar.
#[proc_macro]
pub fn topology(input: TokenStream) -> TokenStream {
    topology::expand(input.into()).into()
}

/// Makes a struct a processor: `#[processor(input = (K, V), output = (K, V))]` declares its
/// types, `#[store]` fields are bound to the topology's stores of the same name.
#[proc_macro_derive(Processor, attributes(processor, store))]
pub fn derive_processor(input: TokenStream) -> TokenStream {
    match syn::parse(input) {
        Ok(input) => processor::expand(input),
        Err(e) => e.to_compile_error(),
    }
    .into()
}
