//! The shape of a generated tuple of any length: the runtime's traits over tuples (children,
//! sources, `split` predicates) stop at eight elements, so longer lists are nested as
//! `Chunks((tuple of 8, tuple of 8, ..))`, again beyond 64, filled in order.

use proc_macro2::{Span, TokenStream};
use quote::quote_spanned;

/// The most elements in one generated tuple.
const MAX_TUPLE: usize = 8;

/// `items` as one tuple when there are at most eight, else nested in `Chunks`, spanned on `span`.
pub fn tuple(items: Vec<TokenStream>, span: Span) -> TokenStream {
    if items.len() <= MAX_TUPLE {
        return quote_spanned!(span=> (#(#items,)*));
    }
    let chunks = |level: Vec<TokenStream>, wrap: bool| -> Vec<TokenStream> {
        level
            .chunks(MAX_TUPLE)
            .map(|chunk| {
                if wrap {
                    quote_spanned!(span=> ::streams_runtime::__private::Chunks((#(#chunk,)*)))
                } else {
                    quote_spanned!(span=> (#(#chunk,)*))
                }
            })
            .collect()
    };
    let mut level = chunks(items, false);
    while level.len() > MAX_TUPLE {
        level = chunks(level, true);
    }
    quote_spanned!(span=> ::streams_runtime::__private::Chunks((#(#level,)*)))
}

#[cfg(test)]
mod tests {
    use super::tuple;
    use proc_macro2::{Span, TokenStream};
    use quote::quote;

    fn items(n: usize) -> Vec<TokenStream> {
        (0..n).map(|i| quote!(#i)).collect()
    }

    fn shape(n: usize) -> String {
        tuple(items(n), Span::call_site())
            .to_string()
            .replace("usize", "")
            .replace(":: streams_runtime :: __private :: ", "")
            .replace(' ', "")
    }

    #[test]
    fn up_to_eight_is_a_plain_tuple() {
        assert_eq!(shape(0), "()");
        assert_eq!(shape(1), "(0,)");
        assert_eq!(shape(8), "(0,1,2,3,4,5,6,7,)");
    }

    #[test]
    fn more_are_chunks_of_eight_in_order() {
        assert_eq!(shape(9), "Chunks(((0,1,2,3,4,5,6,7,),(8,),))");
        assert_eq!(
            shape(20),
            "Chunks(((0,1,2,3,4,5,6,7,),(8,9,10,11,12,13,14,15,),(16,17,18,19,),))"
        );
    }

    #[test]
    fn beyond_sixty_four_chunks_nest_again() {
        let s = shape(65);
        assert!(s.starts_with("Chunks((Chunks(((0,1,2,3,4,5,6,7,),"), "{s}");
        assert!(s.ends_with("(56,57,58,59,60,61,62,63,),)),Chunks(((64,),)),))"), "{s}");
    }
}
