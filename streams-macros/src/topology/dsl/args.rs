//! The arguments of a DSL method call: positional closures and `name: value` options, read by
//! the operator's lowering function and reported when nobody took them.

use crate::ctxt::Ctxt;
use syn::parse::ParseStream;
use syn::{Expr, Ident, LitBool, LitStr, Token, Type, parenthesized};

/// One argument of a DSL method: `expr`, `name: value`, or a nested call whose arguments may be
/// named too (`tumbling(5min, grace: 10s)`).
enum Arg {
    Positional(Expr),
    Named(Ident, NamedValue),
    Call(Args),
}

/// Methods whose positional arguments are nested calls with named arguments.
const NESTED_CALLS: &[&str] = &["windowed_by", "join", "left_join", "outer_join"];

/// The value of a `name: value` argument, parsed as the name says.
pub(super) enum NamedValue {
    Expr(Expr),
    Type(Type),
    Str(LitStr),
    Bool(LitBool),
    Ident(Ident),
}

/// The arguments of a method call, consumed as they are read; leftovers are errors.
pub(super) struct Args {
    pub(super) method: Ident,
    /// Positional arguments; a taken one is `None`.
    pub(super) positional: Vec<Option<Expr>>,
    pub(super) named: Vec<(Ident, NamedValue)>,
    /// Nested calls given by position (`windowed_by(tumbling(..))`); a taken one is `None`.
    pub(super) calls: Vec<Option<Args>>,
}

impl Args {
    pub(super) fn parse(method: Ident, input: ParseStream<'_>) -> syn::Result<Self> {
        let content;
        parenthesized!(content in input);
        let mut positional = Vec::new();
        let mut named = Vec::new();
        let mut calls = Vec::new();
        let nested = NESTED_CALLS.iter().any(|m| method == m);
        while !content.is_empty() {
            let arg = if content.peek(Ident) && content.peek2(Token![:]) && !content.peek2(Token![::]) {
                let key: Ident = content.parse()?;
                content.parse::<Token![:]>()?;
                let value = match key.to_string().as_str() {
                    // A split's branches may have any name.
                    "default" => NamedValue::Ident(content.parse()?),
                    _ if method == "split" => NamedValue::Expr(content.parse()?),
                    "key_serde" | "value_serde" | "partitioner" => NamedValue::Type(content.parse()?),
                    "store" | "name" => NamedValue::Str(content.parse()?),
                    "persistent" | "logging" | "caching" => NamedValue::Bool(content.parse()?),
                    _ => NamedValue::Expr(content.parse()?),
                };
                Arg::Named(key, value)
            } else if nested && content.peek(Ident) && content.peek2(syn::token::Paren) {
                let name: Ident = content.parse()?;
                Arg::Call(Args::parse(name, &content)?)
            } else {
                Arg::Positional(content.parse()?)
            };
            match arg {
                Arg::Positional(e) => positional.push(Some(e)),
                Arg::Named(k, v) => named.push((k, v)),
                Arg::Call(c) => calls.push(Some(c)),
            }
            if content.is_empty() {
                break;
            }
            content.parse::<Token![,]>()?;
        }
        Ok(Args {
            method,
            positional,
            named,
            calls,
        })
    }

    pub(super) fn take(&mut self, key: &str) -> Option<NamedValue> {
        let i = self.named.iter().position(|(k, _)| k == key)?;
        Some(self.named.remove(i).1)
    }

    pub(super) fn ty(&mut self, key: &str) -> Option<Type> {
        match self.take(key)? {
            NamedValue::Type(t) => Some(t),
            _ => None,
        }
    }

    pub(super) fn string(&mut self, key: &str) -> Option<LitStr> {
        match self.take(key)? {
            NamedValue::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(super) fn boolean(&mut self, key: &str) -> Option<bool> {
        match self.take(key)? {
            NamedValue::Bool(b) => Some(b.value),
            _ => None,
        }
    }

    /// The first positional argument, if not taken yet.
    pub(super) fn first(&mut self) -> Option<Expr> {
        self.positional.first_mut().and_then(Option::take)
    }

    /// The first nested call, if not taken yet.
    pub(super) fn call(&mut self) -> Option<Args> {
        self.calls.first_mut().and_then(Option::take)
    }

    /// A closure given by position `index` or by name.
    pub(super) fn closure(&mut self, index: usize, key: &str) -> Option<Expr> {
        self.value(index, key)
    }

    /// An expression given by position `index` or by name.
    pub(super) fn value(&mut self, index: usize, key: &str) -> Option<Expr> {
        if let Some(NamedValue::Expr(e)) = self.take(key) {
            return Some(e);
        }
        self.positional.get_mut(index).and_then(Option::take)
    }

    pub(super) fn serdes(&mut self) -> super::Serdes {
        super::Serdes {
            key: self.ty("key_serde"),
            value: self.ty("value_serde"),
        }
    }

    /// Reports arguments nobody took (and drops them).
    pub(super) fn finish(&mut self, cx: &Ctxt, usage: &str) {
        // Arguments that were taken are `None`; anything left was not expected.
        if let Some(extra) = self.positional.iter().flatten().next() {
            cx.error_spanned_by(
                extra,
                format!("too many arguments to `{}`; usage: {usage}", self.method),
            );
        } else if let Some(extra) = self.calls.iter().flatten().next() {
            cx.error_spanned_by(
                &extra.method,
                format!("too many arguments to `{}`; usage: {usage}", self.method),
            );
        }
        self.positional.clear();
        self.calls.clear();
        for (k, _) in std::mem::take(&mut self.named) {
            cx.error_spanned_by(&k, format!("`{}` takes no `{k}`; usage: {usage}", self.method));
        }
    }
}

/// The number of parameters of a closure expression (`None` if it is not a closure literal).
pub(super) fn arity(e: &Expr) -> Option<usize> {
    match e {
        Expr::Closure(c) => Some(c.inputs.len()),
        _ => None,
    }
}
