//! Error accumulation: every check records its errors here so the user sees all of them at once.

use proc_macro2::TokenStream;
use std::cell::RefCell;
use std::fmt::Display;

/// Collects errors, each spanned on the user's token.
#[derive(Default)]
pub struct Ctxt {
    errors: RefCell<Vec<syn::Error>>,
}

impl Ctxt {
    /// Records an error spanned on `tokens`.
    pub fn error_spanned_by(&self, tokens: impl quote::ToTokens, message: impl Display) {
        self.errors.borrow_mut().push(syn::Error::new_spanned(tokens, message));
    }

    /// Records an error at `span`.
    pub fn error_at(&self, span: proc_macro2::Span, message: impl Display) {
        self.errors.borrow_mut().push(syn::Error::new(span, message));
    }

    /// Records an error.
    pub fn syn_error(&self, error: syn::Error) {
        self.errors.borrow_mut().push(error);
    }

    /// All recorded errors as `compile_error!`s, or `None` if there are none.
    pub fn check(self) -> Option<TokenStream> {
        let errors = self.errors.into_inner();
        if errors.is_empty() {
            return None;
        }
        Some(errors.into_iter().map(|e| e.to_compile_error()).collect())
    }
}

/// The candidate closest to `name` by edit distance, if it is close enough to suggest.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= 1 + name.len() / 3)
        .min() // the closest, ties by name: the same suggestion on every run
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j + 1] + 1).min(cur[j] + 1).min(prev[j] + cost));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A suffix `; did you mean "x"?` when one candidate is close.
pub fn suggestion<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    did_you_mean(name, candidates).map_or_else(String::new, |c| format!("; did you mean \"{c}\"?"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn suggests_close_names_only() {
        assert_eq!(super::did_you_mean("countz", ["counts", "other"]), Some("counts"));
        assert_eq!(super::did_you_mean("xyz", ["counts"]), None);
    }
}
