//! `topology!`: parse → check → generate.

mod check;
mod chunked;
mod dsl;
mod expand;
mod expand_dsl;
mod model;
mod record_types;

use crate::ctxt::Ctxt;
use proc_macro2::TokenStream;

/// Expands `topology! { ... }`.
pub fn expand(input: TokenStream) -> TokenStream {
    let cx = Ctxt::default();
    let def = match syn::parse::Parser::parse2(|input: syn::parse::ParseStream<'_>| model::parse(&cx, input), input) {
        Ok(def) => def,
        Err(e) => {
            let mut out = cx.check().unwrap_or_default();
            out.extend(e.to_compile_error());
            return out;
        }
    };
    let wiring = check::check(&cx, &def);
    match (cx.check(), wiring) {
        (None, Some(wiring)) => expand::expand(&def, &wiring),
        (errors, _) => {
            let mut out = errors.unwrap_or_default();
            out.extend(expand::declare_only(&def));
            out
        }
    }
}
