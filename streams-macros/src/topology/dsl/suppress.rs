//! `suppress` on a table (Java's `KTable.suppress`): updates wait in a buffer, a key-value store
//! of their own, until their window closes (`until_window_closes`, windowed tables only, with a
//! buffer that never emits early) or a time limit has passed (`until_time_limit`).

use super::{Call, Dur, Handle, Lowering, Op, Operator, Scope, StoreDef, StoreShape, Table};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::{Expr, Ident, LitStr};

pub(super) const OPERATORS: &[Operator] = &[Operator::new(&["suppress"], Lowering::Table(suppress))];

const USAGE: &str = "suppress(until_window_closes(buffer)) or suppress(until_time_limit(duration, buffer)), with an optional `name: \"..\"`";

const BUFFER_USAGE: &str = "a buffer is unbounded(), max_records(n), max_bytes(n) or max_records(n).max_bytes(m), optionally followed by .shut_down_when_full() or .emit_early_when_full()";

fn suppress(scope: &mut Scope<'_>, mut call: Call, table: Table) -> Option<Handle> {
    let cx = scope.cx;
    let until = call.args.first();
    let name = call.args.string("name");
    call.args.finish(cx, USAGE);
    let Some(until) = until else {
        cx.error_spanned_by(&call.method, format!("`suppress` needs a condition: {USAGE}"));
        return None;
    };
    let Some((function, args)) = call_parts(&until) else {
        cx.error_spanned_by(
            &until,
            format!("expected until_window_closes(..) or until_time_limit(..): {USAGE}"),
        );
        return None;
    };
    let (window_closes, wait_ms, buffer) = match function.to_string().as_str() {
        "until_window_closes" => {
            let &[buffer] = &args[..] else {
                cx.error_spanned_by(
                    function,
                    "`until_window_closes` takes the buffer only: until_window_closes(unbounded())",
                );
                return None;
            };
            let Some(windowed) = &table.windowed else {
                cx.error_spanned_by(
                    function,
                    "`until_window_closes` needs a windowed table (the result of `windowed_by(..).count/reduce/aggregate`), and this table is not windowed; to rate-limit a table's updates use `until_time_limit(duration, buffer)`",
                );
                return None;
            };
            let buffer = Buffer::parse(scope, buffer)?;
            if !buffer.strict {
                cx.error_spanned_by(
                    buffer.expr,
                    "`until_window_closes` needs a buffer that never emits a result early: use `unbounded()`, or end the buffer with `.shut_down_when_full()` (e.g. `max_records(10_000).shut_down_when_full()`)",
                );
                return None;
            }
            (true, windowed.close_after_ms(), buffer.tokens)
        }
        "until_time_limit" => {
            let &[limit, buffer] = &args[..] else {
                cx.error_spanned_by(
                    function,
                    "`until_time_limit` takes the time limit and the buffer: until_time_limit(5min, max_records(1_000))",
                );
                return None;
            };
            let limit = Dur::parse(limit.clone()).map_err(|e| cx.syn_error(e)).ok()?;
            let buffer = Buffer::parse(scope, buffer)?;
            (false, limit.millis_expr(), buffer.tokens)
        }
        other => {
            let hint = crate::ctxt::suggestion(other, ["until_window_closes", "until_time_limit"]);
            cx.error_spanned_by(function, format!("unknown suppression `{other}`{hint}; use {USAGE}"));
            return None;
        }
    };
    // Java names the node before its store (`KTableImpl.suppress`); a name spends no number.
    let (display, store_name) = match &name {
        Some(n) => (n.value(), LitStr::new(&format!("{}-store", n.value()), n.span())),
        None => {
            let display = scope.next_name("KTABLE-SUPPRESS");
            let store = scope.next_name("KTABLE-SUPPRESS-STATE-STORE");
            (display, LitStr::new(&store, call.method.span()))
        }
    };
    let store = scope.add_store(StoreDef {
        ident: Ident::new(&format!("__dsl_store_{}", scope.stores.len()), call.method.span()),
        name: store_name,
        shape: StoreShape::KeyValue,
        key: None,
        value: None,
        dsl: true,
        queryable: false,
        key_serde: None,
        value_serde: None,
        persistent: Some(false),
        logging: true,
        timestamped: false,
        caching: Some(false),
    });
    let node = scope.add_named_op(
        &call.method,
        call.parents(),
        Op::Suppress {
            store,
            window_closes,
            wait_ms,
            buffer,
            serdes: table.serdes.clone(),
        },
        display,
    );
    // The buffer holds pending updates, not the table's rows.
    Handle::table(
        node,
        Table {
            store: None,
            getters: Vec::new(),
            ..table
        },
    )
}

/// A suppression buffer as written: `unbounded()`, `max_records(n)`, `max_bytes(n)`, chained
/// bounds and a when-full strategy.
struct Buffer<'a> {
    expr: &'a Expr,
    /// A `::streams_runtime::window::BufferConfig` expression.
    tokens: TokenStream,
    /// Never emits early (Java's `StrictBufferConfig`): unbounded, or shut down when full.
    strict: bool,
}

impl<'a> Buffer<'a> {
    fn parse(scope: &Scope<'_>, expr: &'a Expr) -> Option<Buffer<'a>> {
        // The calls from the innermost (`max_records(n)`) outwards.
        let mut calls: Vec<(&Ident, Vec<&Expr>)> = Vec::new();
        let mut e = expr;
        while let Expr::MethodCall(m) = e {
            calls.push((&m.method, m.args.iter().collect()));
            e = &m.receiver;
        }
        let Some(base) = call_parts(e) else {
            scope
                .cx
                .error_spanned_by(e, format!("expected a suppression buffer: {BUFFER_USAGE}"));
            return None;
        };
        calls.push(base);
        calls.reverse();
        let rt = quote!(::streams_runtime::window::BufferConfig);
        let mut tokens = TokenStream::new();
        let mut strict = false;
        for (i, (method, args)) in calls.into_iter().enumerate() {
            let m = method.to_string();
            let takes_one = matches!(m.as_str(), "max_records" | "max_bytes");
            let known = takes_one
                || matches!(m.as_str(), "shut_down_when_full" | "emit_early_when_full")
                || (m == "unbounded" && i == 0);
            let expected = usize::from(takes_one);
            if !known
                || args.len() != expected
                || (i == 0 && !matches!(m.as_str(), "unbounded" | "max_records" | "max_bytes"))
            {
                scope.cx.error_spanned_by(
                    method,
                    format!("unexpected `{m}` in a suppression buffer; {BUFFER_USAGE}"),
                );
                return None;
            }
            let span = method.span();
            tokens.extend(match (i, m.as_str()) {
                (0, "unbounded") => {
                    strict = true;
                    quote_spanned!(span=> #rt::unbounded())
                }
                (0, _) => {
                    let n = args[0];
                    quote_spanned!(span=> #rt::new().#method(#n))
                }
                (_, "shut_down_when_full") => {
                    strict = true;
                    quote_spanned!(span=> .#method())
                }
                (_, "emit_early_when_full") => {
                    strict = false;
                    quote_spanned!(span=> .#method())
                }
                _ => {
                    let n = args[0];
                    quote_spanned!(span=> .#method(#n))
                }
            });
        }
        Some(Buffer { expr, tokens, strict })
    }
}

/// `name(args..)`: the function's name and its arguments.
fn call_parts(e: &Expr) -> Option<(&Ident, Vec<&Expr>)> {
    match e {
        Expr::Call(c) => match &*c.func {
            Expr::Path(p) => Some((p.path.get_ident()?, c.args.iter().collect())),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{errors, expansion};

    fn suppressed(windowed: bool, suppress: &str) -> String {
        let windows = if windowed { ".windowed_by(tumbling(1min))" } else { "" };
        format!("clicks.group_by_key(){windows}.count(store: \"counts\").suppress({suppress}).to_stream().to(\"out\");")
    }

    #[test]
    fn strict_buffers_for_final_results() {
        for strict in [
            "unbounded()",
            "unbounded().max_records(10)",
            "max_records(10).shut_down_when_full()",
            "max_bytes(10).max_records(5).shut_down_when_full()",
            "max_records(10).emit_early_when_full().shut_down_when_full()",
        ] {
            let errors = errors(&suppressed(true, &format!("until_window_closes({strict})")));
            assert!(errors.is_empty(), "{strict}: {errors:?}");
        }
        for eager in ["max_records(10)", "max_bytes(10)", "unbounded().emit_early_when_full()"] {
            let errors = errors(&suppressed(true, &format!("until_window_closes({eager})")));
            assert_eq!(errors.len(), 1, "{eager}");
            assert!(
                errors[0].contains("needs a buffer that never emits a result early"),
                "{errors:?}"
            );
        }
        // Any buffer limits a time-limited suppression.
        assert!(errors(&suppressed(false, "until_time_limit(1min, max_records(10))")).is_empty());
    }

    #[test]
    fn mistakes_name_the_fix() {
        let plain = errors(&suppressed(false, "until_window_closes(unbounded())"));
        assert!(plain[0].contains("needs a windowed table"), "{plain:?}");
        let buffer = errors(&suppressed(true, "until_window_closes(max_rows(10))"));
        assert!(
            buffer[0].contains("unexpected `max_rows` in a suppression buffer"),
            "{buffer:?}"
        );
        let until = errors(&suppressed(true, "until_closed(unbounded())"));
        assert!(until[0].contains("unknown suppression `until_closed`"), "{until:?}");
        let limit = errors(&suppressed(false, "until_time_limit(unbounded())"));
        assert!(limit[0].contains("takes the time limit and the buffer"), "{limit:?}");
        let stream = errors("clicks.suppress(until_time_limit(1s, unbounded()));");
        assert!(stream[0].contains("`suppress` applies to a table"), "{stream:?}");
    }

    #[test]
    fn names_as_java_does() {
        let generated = expansion(&suppressed(false, "until_time_limit(1s, unbounded())"));
        assert!(generated.contains("\"KTABLE-SUPPRESS-0000000002\""), "{generated}");
        assert!(
            generated.contains("\"KTABLE-SUPPRESS-STATE-STORE-0000000003\""),
            "{generated}"
        );
        let named = expansion(&suppressed(false, "until_time_limit(1s, unbounded()), name: \"final\""));
        assert!(
            named.contains("\"final\"") && named.contains("\"final-store\""),
            "{named}"
        );
        assert!(
            named.contains("\"KTABLE-TOSTREAM-0000000002\""),
            "a name spends no number: {named}"
        );
    }
}
