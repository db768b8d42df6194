//! Durations in `topology!`: a whole number with a unit (`10ms`, `5s`, `2min`, `1h`, `1d`), which
//! the macro reads and checks itself, or any expression of type `std::time::Duration` that
//! is evaluated in a const context (so an invalid value is still a compile error).

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, Lit};

/// The units a duration literal may have, with their length in milliseconds.
const UNITS: &[(&str, u64)] = &[
    ("ms", 1),
    ("s", 1_000),
    ("min", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
];

/// A duration as the user wrote it.
#[derive(Clone)]
pub enum Dur {
    /// A literal such as `5s`, in milliseconds.
    Millis { ms: i64, span: Span },
    /// A `Duration` expression.
    Expr(Box<Expr>),
}

impl Dur {
    /// Reads a duration; a literal with an unknown unit, no unit or too large a value is an
    /// error whose message says what to write instead.
    pub fn parse(mut expr: Expr) -> Result<Dur, syn::Error> {
        // A `$d:expr` of a `macro_rules!` arrives in an invisible group.
        while let Expr::Group(g) = expr {
            expr = *g.expr;
        }
        let lit = match &expr {
            Expr::Lit(syn::ExprLit { lit, .. }) => lit,
            Expr::Unary(syn::ExprUnary {
                op: syn::UnOp::Neg(_), ..
            }) => {
                return Err(syn::Error::new_spanned(
                    &expr,
                    "a duration cannot be negative; write zero or more, such as `0ms` or `5s`",
                ));
            }
            _ => return Ok(Dur::Expr(Box::new(expr))),
        };
        let units = "ms, s, min, h or d (e.g. `10ms`, `5s`, `2min`, `1h`, `1d`), or a `std::time::Duration` expression";
        match lit {
            Lit::Int(int) => {
                let (digits, suffix) = (int.base10_digits(), int.suffix());
                let Some(&(_, factor)) = UNITS.iter().find(|(u, _)| *u == suffix) else {
                    let message = if suffix.is_empty() {
                        format!(
                            "a duration needs a unit: write `{digits}` with ms, s, min, h or d (e.g. `{digits}s`), or a `std::time::Duration` expression"
                        )
                    } else {
                        format!("unknown duration unit `{suffix}` in `{int}`; use {units}")
                    };
                    return Err(syn::Error::new(int.span(), message));
                };
                let ms = digits
                    .parse::<u64>()
                    .ok()
                    .and_then(|n| n.checked_mul(factor))
                    .and_then(|ms| i64::try_from(ms).ok())
                    .ok_or_else(|| {
                        syn::Error::new(
                            int.span(),
                            format!("`{int}` is too long a duration (at most i64::MAX milliseconds)"),
                        )
                    })?;
                Ok(Dur::Millis { ms, span: int.span() })
            }
            Lit::Float(f) => Err(syn::Error::new(
                f.span(),
                format!(
                    "a duration literal is a whole number with a unit; write `{f}` in a smaller unit (e.g. `1500ms` for 1.5 s), or use a `std::time::Duration` expression"
                ),
            )),
            other => Err(syn::Error::new(
                other.span(),
                format!("expected a duration: a whole number with the unit {units}"),
            )),
        }
    }

    /// The value in milliseconds, when the macro knows it.
    pub fn millis(&self) -> Option<i64> {
        match self {
            Dur::Millis { ms, .. } => Some(*ms),
            Dur::Expr(_) => None,
        }
    }

    /// The user's token, for errors.
    pub fn span(&self) -> Span {
        match self {
            Dur::Millis { span, .. } => *span,
            Dur::Expr(e) => e.span(),
        }
    }

    /// A `::core::time::Duration` const expression.
    pub fn duration(&self) -> TokenStream {
        match self {
            Dur::Millis { ms, span } => {
                let ms = *ms as u64;
                quote_spanned!(*span=> ::core::time::Duration::from_millis(#ms))
            }
            Dur::Expr(e) => quote!(#e),
        }
    }

    /// An `i64` const expression of the milliseconds (saturating, as the windows do).
    pub fn millis_expr(&self) -> TokenStream {
        match self {
            Dur::Millis { ms, span } => quote_spanned!(*span=> #ms),
            Dur::Expr(e) => quote_spanned! {e.span()=> {
                let duration: ::core::time::Duration = #e;
                let ms = duration.as_millis();
                if ms > i64::MAX as u128 { i64::MAX } else { ms as i64 }
            }},
        }
    }

    /// `5s`, `2min`: the largest unit that divides the value, for messages.
    pub fn display(ms: i64) -> String {
        UNITS
            .iter()
            .rev()
            .find(|(_, f)| ms % *f as i64 == 0 && ms != 0)
            .map_or_else(|| format!("{ms}ms"), |(u, f)| format!("{}{u}", ms / *f as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::Dur;

    fn parse(s: &str) -> Result<Option<i64>, String> {
        Dur::parse(syn::parse_str(s).unwrap())
            .map(|d| d.millis())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn literals_with_units() {
        assert_eq!(parse("10ms"), Ok(Some(10)));
        assert_eq!(parse("5s"), Ok(Some(5_000)));
        assert_eq!(parse("2min"), Ok(Some(120_000)));
        assert_eq!(parse("1h"), Ok(Some(3_600_000)));
        assert_eq!(parse("1d"), Ok(Some(86_400_000)));
        assert_eq!(parse("0s"), Ok(Some(0)));
        assert_eq!(parse("1_000ms"), Ok(Some(1_000)));
    }

    #[test]
    fn expressions_are_left_to_const_evaluation() {
        assert_eq!(parse("Duration::from_secs(5)"), Ok(None));
        assert_eq!(parse("WINDOW"), Ok(None));
    }

    #[test]
    fn bad_literals_say_what_to_write() {
        let unit = parse("10m").unwrap_err();
        assert!(
            unit.contains("unknown duration unit `m` in `10m`; use ms, s, min, h or d"),
            "{unit}"
        );
        let none = parse("10").unwrap_err();
        assert!(none.contains("a duration needs a unit"), "{none}");
        let float = parse("1.5s").unwrap_err();
        assert!(float.contains("`1500ms`"), "{float}");
        let big = parse("99999999999999999d").unwrap_err();
        assert!(big.contains("too long a duration"), "{big}");
        assert!(parse("\"5s\"").unwrap_err().contains("expected a duration"));
        assert!(parse("-5s").unwrap_err().contains("cannot be negative"));
    }

    #[test]
    fn display_picks_the_largest_whole_unit() {
        assert_eq!(Dur::display(5_000), "5s");
        assert_eq!(Dur::display(90_000), "90s");
        assert_eq!(Dur::display(120_000), "2min");
        assert_eq!(Dur::display(86_400_000), "1d");
        assert_eq!(Dur::display(1_500), "1500ms");
        assert_eq!(Dur::display(0), "0ms");
    }
}
