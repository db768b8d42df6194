//! Windowed aggregations (Java's `TimeWindowedKStream`, `SlidingWindowedKStream` and
//! `SessionWindowedKStream`): `windowed_by(..)` on a grouped stream, then `count`, `reduce` or
//! `aggregate` into a window or session store. The result is a table keyed by `Windowed<K>`.
//!
//! The windows become an associated const of the topology type (`const __WINDOWS_0:
//! TimeWindows = TimeWindows::of_size_and_grace(..);`): the runtime's constructors are const fns
//! that panic on invalid values, so a window size given as an expression is checked when rustc
//! evaluates the const. Literal durations are checked here, with messages on the user's token.

use super::{
    Call, Dur, Grouping, Handle, Kind, Lowering, Op, Operator, Scope, Serdes, StoreDef, StoreShape, Table,
    WindowedAggKind,
    args::{Args, NamedValue, arity},
};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::{Ident, LitStr, Type};

pub(super) const OPERATORS: &[Operator] = &[
    Operator::new(&["windowed_by"], Lowering::GroupedStream(windowed_by)),
    Operator::new(&["count"], Lowering::Windowed(count)),
    Operator::new(&["reduce"], Lowering::Windowed(reduce)),
    Operator::new(&["aggregate"], Lowering::Windowed(aggregate)),
];

const WINDOWS_USAGE: &str = "windowed_by(tumbling(size)), windowed_by(hopping(size, advance)), windowed_by(sliding(time_difference)) or windowed_by(session(inactivity_gap)), each with an optional `grace: ..` (durations such as `5min`)";

/// The kinds of windows.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum WindowKind {
    Tumbling,
    Hopping,
    Sliding,
    Session,
}

/// Windows as `windowed_by(..)` declares them.
#[derive(Clone)]
pub(super) struct Windows {
    kind: WindowKind,
    /// `tumbling`, `hopping`, ...: where const-evaluation errors point.
    token: Ident,
    /// The size, time difference or inactivity gap.
    size: Dur,
    /// Hopping windows' advance.
    advance: Option<Dur>,
    grace: Option<Dur>,
}

impl Windows {
    /// Reads `tumbling(size, grace: ..)`, `hopping(size, advance, grace: ..)` (or `advance: ..`),
    /// `sliding(time_difference, grace: ..)` or `session(inactivity_gap, grace: ..)`, and checks
    /// its literal durations.
    fn parse(scope: &Scope<'_>, mut args: Args) -> Option<Windows> {
        let cx = scope.cx;
        let token = args.method.clone();
        let (kind, what, usage) = match token.to_string().as_str() {
            "tumbling" => (
                WindowKind::Tumbling,
                "size",
                "tumbling(size, grace: ..), e.g. tumbling(5min)",
            ),
            "hopping" => (
                WindowKind::Hopping,
                "size",
                "hopping(size, advance, grace: ..), e.g. hopping(5min, 1min)",
            ),
            "sliding" => (
                WindowKind::Sliding,
                "time difference",
                "sliding(time_difference, grace: ..), e.g. sliding(10s)",
            ),
            "session" => (
                WindowKind::Session,
                "inactivity gap",
                "session(inactivity_gap, grace: ..), e.g. session(30min)",
            ),
            other => {
                let hint = crate::ctxt::suggestion(other, ["tumbling", "hopping", "sliding", "session"]);
                cx.error_spanned_by(&token, format!("unknown windows `{other}`{hint}; use {WINDOWS_USAGE}"));
                return None;
            }
        };
        let duration = |e| Dur::parse(e).map_err(|e| cx.syn_error(e)).ok();
        let size = args.value(0, "size");
        let advance = (kind == WindowKind::Hopping)
            .then(|| args.value(1, "advance"))
            .flatten();
        let grace = args.take("grace");
        args.finish(cx, usage);
        let Some(size) = size else {
            cx.error_spanned_by(&token, format!("`{token}` needs a window {what}: {usage}"));
            return None;
        };
        let size = duration(size)?;
        let advance = match advance {
            Some(a) => Some(duration(a)?),
            None if kind == WindowKind::Hopping => {
                cx.error_spanned_by(&token, format!("`hopping` needs an advance: {usage}"));
                return None;
            }
            None => None,
        };
        let grace = match grace {
            Some(NamedValue::Expr(g)) => Some(duration(g)?),
            _ => None,
        };
        let noun = match kind {
            WindowKind::Tumbling => "a tumbling window's size",
            WindowKind::Hopping => "a hopping window's size",
            WindowKind::Sliding => "a sliding window's time difference",
            WindowKind::Session => "a session's inactivity gap",
        };
        if size.millis() == Some(0) {
            cx.error_at(size.span(), format!("{noun} must be at least 1ms: {usage}"));
            return None;
        }
        if let Some(advance) = &advance {
            match (advance.millis(), size.millis()) {
                (Some(0), _) => {
                    cx.error_at(
                        advance.span(),
                        format!("hopping windows' advance must be at least 1ms; {usage}"),
                    );
                    return None;
                }
                (Some(a), Some(s)) if a > s => {
                    cx.error_at(
                        advance.span(),
                        format!(
                            "hopping windows' advance ({}) must not exceed their size ({}); with an advance equal to the size they are tumbling windows",
                            Dur::display(a),
                            Dur::display(s)
                        ),
                    );
                    return None;
                }
                _ => {}
            }
        }
        Some(Windows {
            kind,
            token,
            size,
            advance,
            grace,
        })
    }

    /// The runtime type of these windows.
    fn ty(&self) -> TokenStream {
        let span = self.token.span();
        match self.kind {
            WindowKind::Tumbling | WindowKind::Hopping => quote_spanned!(span=> ::streams_runtime::window::TimeWindows),
            WindowKind::Sliding => quote_spanned!(span=> ::streams_runtime::window::SlidingWindows),
            WindowKind::Session => quote_spanned!(span=> ::streams_runtime::window::SessionWindows),
        }
    }

    /// `const #ident: <type> = <constructor>;`, spanned on the windows' token (a constructor that
    /// panics is reported there).
    fn const_item(&self, ident: &Ident) -> TokenStream {
        let ty = self.ty();
        let size = self.size.duration();
        let span = self.token.span();
        let grace = self
            .grace
            .as_ref()
            .map_or_else(|| quote_spanned!(span=> ::core::time::Duration::ZERO), Dur::duration);
        let value = match self.kind {
            WindowKind::Tumbling => quote_spanned!(span=> #ty::of_size_and_grace(#size, #grace)),
            WindowKind::Hopping => {
                let advance = self.advance.as_ref().map(Dur::duration);
                quote_spanned!(span=> #ty::hopping(#size, #advance, #grace))
            }
            WindowKind::Sliding => quote_spanned!(span=> #ty::of_time_difference_and_grace(#size, #grace)),
            WindowKind::Session => quote_spanned!(span=> #ty::of_inactivity_gap_and_grace(#size, #grace)),
        };
        quote_spanned!(span=> const #ident: #ty = #value;)
    }

    /// The least retention of their store when the macro knows the durations (Java's rule:
    /// size + grace; twice the time difference + grace; gap + grace).
    fn min_retention_ms(&self) -> Option<i64> {
        let grace = self.grace.as_ref().map_or(Some(0), Dur::millis)?;
        let size = self.size.millis()?;
        let size = if self.kind == WindowKind::Sliding {
            size.checked_mul(2)?
        } else {
            size
        };
        size.checked_add(grace)
    }
}

/// A grouped stream with windows, not yet aggregated.
#[derive(Clone)]
pub(super) struct Windowing {
    grouping: Grouping,
    windows: Windows,
}

/// What a windowed table (a windowed aggregation's result) knows of its windows.
#[derive(Clone)]
pub(super) struct WindowedTable {
    /// The windows' const (`Topology::__WINDOWS_0`).
    windows: TokenStream,
    kind: WindowKind,
}

impl WindowedTable {
    /// How long after a window's end its result is final, in ms: the grace, and for sessions the
    /// gap as well (Java's `GraphGraceSearchUtil`), as an `i64` const expression.
    pub(super) fn close_after_ms(&self) -> TokenStream {
        let w = &self.windows;
        match self.kind {
            WindowKind::Session => quote!(#w.grace_ms() + #w.inactivity_gap_ms()),
            _ => quote!(#w.grace_ms()),
        }
    }
}

/// `windowed_by(tumbling(..))` on a grouped stream: no node of its own (as in Java).
fn windowed_by(scope: &mut Scope<'_>, mut call: Call, grouping: Grouping) -> Option<Handle> {
    let spec = call.args.call();
    call.args.finish(scope.cx, WINDOWS_USAGE);
    let Some(spec) = spec else {
        scope
            .cx
            .error_spanned_by(&call.method, format!("`windowed_by` needs windows: {WINDOWS_USAGE}"));
        return None;
    };
    let windows = Windows::parse(scope, spec)?;
    Some(Handle {
        node: call.node,
        kind: Kind::Windowed(Box::new(Windowing { grouping, windows })),
    })
}

fn count(scope: &mut Scope<'_>, call: Call, windowing: Windowing) -> Option<Handle> {
    scope.windowed_aggregate(call, WindowedAggKind::Count, windowing)
}

fn reduce(scope: &mut Scope<'_>, mut call: Call, windowing: Windowing) -> Option<Handle> {
    let f = scope.required_closure(&mut call.args, 0, "reducer", 2, "|aggregate, value| new_aggregate")?;
    scope.windowed_aggregate(call, WindowedAggKind::Reduce(f), windowing)
}

fn aggregate(scope: &mut Scope<'_>, mut call: Call, windowing: Windowing) -> Option<Handle> {
    let init = scope.required_closure(&mut call.args, 0, "initializer", 0, "|| initial_aggregate")?;
    let f = scope.required_closure(
        &mut call.args,
        1,
        "aggregator",
        3,
        "|key, value, aggregate| new_aggregate",
    )?;
    let kind = if windowing.windows.kind == WindowKind::Session {
        let usage = "aggregate(|| init, |key, value, aggregate| .., |key, aggregate1, aggregate2| merged)";
        let Some(merger) = call.args.closure(2, "merger") else {
            scope.cx.error_spanned_by(
                &call.method,
                format!("aggregating in session windows needs a merger, which combines the aggregates of two sessions a record joins into one: {usage}"),
            );
            return None;
        };
        if let Some(n) = arity(&merger)
            && n != 3
        {
            scope.cx.error_spanned_by(
                &merger,
                format!("the merger of `aggregate` takes 3 parameters (key, aggregate1, aggregate2): {usage}"),
            );
            return None;
        }
        WindowedAggKind::SessionAggregate(init, f, merger)
    } else {
        WindowedAggKind::Aggregate(init, f)
    };
    scope.windowed_aggregate(call, kind, windowing)
}

impl Scope<'_> {
    /// A windowed aggregation into its window or session store, after the repartition topic the
    /// grouping needs (named after the store, as for the other aggregations).
    fn windowed_aggregate(&mut self, call: Call, kind: WindowedAggKind, windowing: Windowing) -> Option<Handle> {
        let cx = self.cx;
        let Call {
            method,
            mut args,
            node: mut parent,
        } = call;
        let Windowing { grouping, windows } = windowing;
        let Grouping {
            method: grouped_by,
            serdes: group_serdes,
            repartition,
            ..
        } = grouping;
        let store_name = args.string("store");
        let queryable = store_name.is_some();
        let (persistent, logging) = (args.boolean("persistent"), args.boolean("logging"));
        let explicit_value_serde = args.ty("value_serde");
        // Window and session stores do not cache (yet): `caching: false` says what they do.
        let caching = match args.take("caching") {
            Some(NamedValue::Bool(on)) if on.value => {
                cx.error_spanned_by(
                    &on,
                    "window and session aggregations do not cache yet: every update is forwarded (Java's `withCachingDisabled()`); write `caching: false` or leave it out",
                );
                return None;
            }
            caching => caching.is_some(),
        };
        let retention = match args.take("retention") {
            Some(NamedValue::Expr(e)) => Some(Dur::parse(e).map_err(|e| cx.syn_error(e)).ok()?),
            _ => None,
        };
        let on_window_close = match args.take("emit_strategy") {
            None => false,
            Some(NamedValue::Expr(syn::Expr::Path(p))) if p.path.is_ident("on_window_close") => true,
            Some(NamedValue::Expr(syn::Expr::Path(p))) if p.path.is_ident("on_window_update") => false,
            Some(NamedValue::Expr(other)) => {
                cx.error_spanned_by(
                    other,
                    "expected `emit_strategy: on_window_update` (every update, the default) or `emit_strategy: on_window_close` (each window's final result)",
                );
                return None;
            }
            Some(_) => false,
        };
        // Options Java sets through `Materialized`.
        let materialized = persistent.is_some()
            || logging.is_some()
            || caching
            || explicit_value_serde.is_some()
            || retention.is_some();
        let logging = logging.unwrap_or(true);
        let value_serde = explicit_value_serde.or_else(|| match kind {
            WindowedAggKind::Reduce(_) => group_serdes.value.clone(),
            _ => None,
        });
        args.finish(
            cx,
            &format!("{method}(.., store: \"name\", persistent: bool, logging: bool, caching: false, value_serde: .., retention: duration, emit_strategy: on_window_update | on_window_close)"),
        );
        if let (Some(r), Some(min)) = (retention.as_ref().and_then(Dur::millis), windows.min_retention_ms())
            && r < min
        {
            let rule = match windows.kind {
                WindowKind::Tumbling | WindowKind::Hopping => "the window size plus the grace period",
                WindowKind::Sliding => "twice the time difference plus the grace period",
                WindowKind::Session => "the inactivity gap plus the grace period",
            };
            cx.error_at(
                retention.as_ref().map_or_else(|| method.span(), Dur::span),
                format!(
                    "retention {} is shorter than {rule} ({}): a window must be kept until it closes; use at least `retention: {}`, or leave `retention` out",
                    Dur::display(r),
                    Dur::display(min),
                    Dur::display(min)
                ),
            );
            return None;
        }

        // Java's order of generated names (`TimeWindowedKStreamImpl` and its siblings): a burnt
        // name for `count(Materialized)` without a store name (not for sliding windows), the
        // store, the aggregation, the repartition topic's nodes.
        if matches!(kind, WindowedAggKind::Count)
            && store_name.is_none()
            && materialized
            && windows.kind != WindowKind::Sliding
        {
            self.next_name("KSTREAM-AGGREGATE-STATE-STORE");
        }
        let store_lit = store_name.unwrap_or_else(|| {
            LitStr::new(
                &self.next_name(&format!("{}-STATE-STORE", kind.prefix())),
                method.span(),
            )
        });
        let display = self.next_name(kind.prefix());
        if repartition {
            parent = self.repartition(&grouped_by, parent, &store_lit.value(), group_serdes.clone(), false);
        }

        let const_ident = format_ident!("__WINDOWS_{}", self.consts.len(), span = windows.token.span());
        self.consts.push(windows.const_item(&const_ident));
        // Spanned on the windows' token, so uses of an invalid const point there too.
        let topology = Ident::new(&self.topology.to_string(), windows.token.span());
        let w = quote_spanned!(windows.token.span()=> #topology::#const_ident);
        let retention_ms = match &retention {
            None => quote!(#w.retention_ms()),
            Some(r) => {
                let ms = r.millis_expr();
                if windows.min_retention_ms().is_none() || r.millis().is_none() {
                    let message = "a window store's retention must be at least the windows' size plus grace (sliding: twice the time difference plus grace; session: the gap plus grace)";
                    self.const_checks.push(
                        quote_spanned!(r.span()=> const _: () = ::core::assert!(#ms >= #w.retention_ms(), #message);),
                    );
                }
                ms
            }
        };
        let shape = match windows.kind {
            WindowKind::Session => StoreShape::Session { retention_ms },
            WindowKind::Sliding => StoreShape::Window {
                retention_ms,
                window_size_ms: quote!(#w.time_difference_ms()),
                retain_duplicates: false,
            },
            WindowKind::Tumbling | WindowKind::Hopping => StoreShape::Window {
                retention_ms,
                window_size_ms: quote!(#w.size_ms()),
                retain_duplicates: false,
            },
        };
        let store = self.add_store(StoreDef {
            ident: Ident::new(&format!("__dsl_store_{}", self.stores.len()), method.span()),
            name: store_lit,
            timestamped: windows.kind != WindowKind::Session,
            caching: Some(false),
            shape,
            key: None,
            value: None,
            dsl: true,
            queryable,
            key_serde: group_serdes.key.clone(),
            value_serde: value_serde.clone(),
            persistent,
            logging,
        });
        // Downstream, the keys are `Windowed<K>`, with Java's windowed serdes over the grouped
        // key's serde (or its type's default serde).
        let inner: Type = group_serdes
            .key
            .clone()
            .unwrap_or_else(|| syn::parse_quote!(::streams_runtime::serde::TypeDefault));
        let windowed_key: Type = match windows.kind {
            WindowKind::Session => syn::parse_quote!(::streams_runtime::window::SessionWindowedSerde<#inner>),
            WindowKind::Sliding => syn::parse_quote_spanned!(windows.token.span()=>
                ::streams_runtime::window::TimeWindowedSerde<#inner, { #w.time_difference_ms() }>
            ),
            WindowKind::Tumbling | WindowKind::Hopping => syn::parse_quote_spanned!(windows.token.span()=>
                ::streams_runtime::window::TimeWindowedSerde<#inner, { #w.size_ms() }>
            ),
        };
        let node = self.add_named_op(
            &method,
            vec![parent],
            Op::WindowedAggregate {
                kind,
                store,
                serdes: Serdes {
                    key: group_serdes.key,
                    value: value_serde.clone(),
                },
                grouped_values: Box::new(group_serdes.value),
                windows: w.clone(),
                on_window_close,
            },
            display,
        );
        Handle::table(
            node,
            Table {
                serdes: Serdes {
                    key: Some(windowed_key),
                    value: value_serde,
                },
                windowed: Some(WindowedTable {
                    windows: w,
                    kind: windows.kind,
                }),
                // A window store: joins read key-value stores only.
                store: None,
                versioned: false,
                stored: None,
                getters: Vec::new(),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{errors, expansion};

    fn error(body: &str) -> String {
        let errors = errors(body);
        assert_eq!(errors.len(), 1, "{errors:?}");
        errors.into_iter().next().unwrap_or_default()
    }

    fn windowed(windows: &str, aggregation: &str) -> String {
        format!("clicks.group_by_key().windowed_by({windows}).{aggregation};")
    }

    #[test]
    fn window_sizes_must_be_positive() {
        for (windows, noun) in [
            ("tumbling(0s)", "a tumbling window's size"),
            ("hopping(0ms, 0ms)", "a hopping window's size"),
            ("sliding(0min)", "a sliding window's time difference"),
            ("session(0h, grace: 1s)", "a session's inactivity gap"),
        ] {
            let e = error(&windowed(windows, "count()"));
            assert!(e.starts_with(&format!("{noun} must be at least 1ms")), "{e}");
        }
    }

    #[test]
    fn hopping_advance_is_positive_and_at_most_the_size() {
        let zero = error(&windowed("hopping(1min, 0s)", "count()"));
        assert!(zero.contains("advance must be at least 1ms"), "{zero}");
        let large = error(&windowed("hopping(1min, advance: 90s)", "count()"));
        assert!(
            large.contains("advance (90s) must not exceed their size (1min)"),
            "{large}"
        );
        let missing = error(&windowed("hopping(1min)", "count()"));
        assert!(missing.contains("`hopping` needs an advance"), "{missing}");
        assert!(errors(&windowed("hopping(1min, 1min)", "count()")).is_empty());
    }

    #[test]
    fn retention_covers_size_and_grace() {
        let time = error(&windowed("tumbling(1min, grace: 30s)", "count(retention: 80s)"));
        assert!(
            time.contains("retention 80s is shorter than the window size plus the grace period (90s)"),
            "{time}"
        );
        let sliding = error(&windowed("sliding(1min)", "count(retention: 1min)"));
        assert!(
            sliding.contains("twice the time difference plus the grace period (2min)"),
            "{sliding}"
        );
        let session = error(&windowed("session(1min, grace: 1min)", "count(retention: 1min)"));
        assert!(
            session.contains("the inactivity gap plus the grace period (2min)"),
            "{session}"
        );
        assert!(errors(&windowed("tumbling(1min, grace: 30s)", "count(retention: 90s)")).is_empty());
        // Durations the macro cannot evaluate are checked by an assertion in a const item.
        let checked = expansion(&windowed("tumbling(SIZE)", "count(retention: 1min)"));
        assert!(checked.contains(":: core :: assert !"), "{checked}");
    }

    #[test]
    fn window_syntax_errors_name_the_fix() {
        assert!(error(&windowed("tumble(1min)", "count()")).contains("did you mean \"tumbling\"?"));
        assert!(error(&windowed("tumbling(5m)", "count()")).contains("unknown duration unit `m`"));
        assert!(error(&windowed("tumbling()", "count()")).contains("`tumbling` needs a window size"));
        assert!(error("clicks.group_by_key().windowed_by();").contains("`windowed_by` needs windows"));
        assert!(error(&windowed("tumbling(1min)", "count(emit_strategy: at_close)")).contains("on_window_close"));
        let merger = error(&windowed("session(1min)", "aggregate(|| 0, |_, _, n| n + 1)"));
        assert!(merger.contains("needs a merger"), "{merger}");
        let arity = error(&windowed(
            "session(1min)",
            "aggregate(|| 0, |_, _, n| n + 1, |a, b| a + b)",
        ));
        assert!(
            arity.contains("the merger of `aggregate` takes 3 parameters"),
            "{arity}"
        );
        let extra = error(&windowed(
            "tumbling(1min)",
            "aggregate(|| 0, |_, _, n| n + 1, |_, a, b| a + b)",
        ));
        assert!(extra.contains("too many arguments to `aggregate`"), "{extra}");
        let method = error(&windowed("tumbling(1min)", "to_stream()"));
        assert!(
            method.starts_with("no method `to_stream` on a windowed grouped stream; `to_stream` applies to a table"),
            "{method}"
        );
        let table = error("clicks.group_by_key().count().windowed_by(tumbling(1min));");
        assert!(table.contains("a table cannot be windowed"), "{table}");
    }

    #[test]
    fn java_order_of_generated_names() {
        // count(Materialized) without a store name burns a name first, except in sliding windows.
        let burnt = expansion(&windowed("tumbling(1min)", "count(persistent: false)"));
        assert!(
            burnt.contains("\"KSTREAM-AGGREGATE-STATE-STORE-0000000002\""),
            "{burnt}"
        );
        assert!(burnt.contains("\"KSTREAM-AGGREGATE-0000000003\""), "{burnt}");
        let sliding = expansion(&windowed("sliding(1min)", "count(persistent: false)"));
        assert!(
            sliding.contains("\"KSTREAM-AGGREGATE-STATE-STORE-0000000001\""),
            "{sliding}"
        );
        let reduce = expansion(&windowed("session(1min)", "reduce(|a, b| a + &b)"));
        assert!(reduce.contains("\"KSTREAM-REDUCE-STATE-STORE-0000000001\""), "{reduce}");
        assert!(reduce.contains("\"KSTREAM-REDUCE-0000000002\""), "{reduce}");
    }
}
