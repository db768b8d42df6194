//! Joins (Java's `KStream#join`, `leftJoin`, `outerJoin` and `KTable#join`, ...):
//! `stream.join(table, |v, row| ..)`, with the other side named by the first argument. What
//! the other side is (a table, a stream, a global table) decides the join.

use super::args::{Args, NamedValue, arity};
use super::{
    Call, Carried, Dur, Handle, Kind, Lowering, Op, Operator, Scope, Serdes, StoreDef, StoreShape, Stream, Table,
};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::{Expr, Ident, LitStr};

pub(super) const OPERATORS: &[Operator] = &[
    Operator::new(&["join", "left_join", "outer_join"], Lowering::Stream(stream_join)),
    Operator::new(&["join", "left_join", "outer_join"], Lowering::Table(table_join)),
];

/// The kinds of join.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    Outer,
}

impl JoinKind {
    fn of(method: &Ident) -> JoinKind {
        match method.to_string().as_str() {
            "left_join" => JoinKind::Left,
            "outer_join" => JoinKind::Outer,
            _ => JoinKind::Inner,
        }
    }
}

/// Whether a joiner takes the key first (three parameters) or not (two); an error on the
/// closure for any other count.
fn joiner_takes_key(cx: &crate::ctxt::Ctxt, f: &Expr, method: &Ident, example: &str) -> Option<bool> {
    match arity(f) {
        Some(3) => Some(true),
        Some(2) | None => Some(false),
        Some(_) => {
            cx.error_spanned_by(
                f,
                format!("the joiner of `{method}` takes 2 or 3 parameters: {example}"),
            );
            None
        }
    }
}

/// The store `table` is read from; an error on `span` (naming the table `name`) when it has
/// none, as the result of a suppression or a join.
fn stored(
    scope: &mut Scope<'_>,
    table: &Table,
    name: &dyn std::fmt::Display,
    span: &dyn quote::ToTokens,
    join: &str,
) -> Option<usize> {
    let Some(store) = table.store else {
        scope.cx.error_spanned_by(
            span,
            format!("`{name}` is not materialized in a key-value store (a suppression's or a join's result), so {join} cannot read it; join the table it comes from and apply the operator to the result"),
        );
        return None;
    };
    // Reading a table through a join materializes it (Java's `KTableSource.materialize`).
    scope.materialize(store);
    Some(store)
}

/// The other side of a join: the first argument, a name declared above.
fn other_side(scope: &Scope<'_>, call: &mut Call, usage: &str) -> Option<(Ident, Handle)> {
    let other = match call.args.first() {
        Some(Expr::Path(p)) => p.path.get_ident().cloned(),
        _ => None,
    };
    let Some(other) = other else {
        scope.cx.error_spanned_by(
            &call.method,
            format!("`{}` needs the other side first: {usage}", call.method),
        );
        return None;
    };
    let handle = scope.lookup(&other)?;
    Some((other, handle))
}

/// `stream.join(other, ..)`: by what `other` is.
fn stream_join(scope: &mut Scope<'_>, mut call: Call, stream: Stream) -> Option<Handle> {
    let usage = "join(table, |value, row| joined) or join(stream, |value, other| joined, join_windows(..))";
    let (other, handle) = other_side(scope, &mut call, usage)?;
    match handle.kind {
        Kind::Table(table) => stream_table_join(scope, call, stream, other, handle.node, table),
        Kind::Stream(right) => stream_stream_join(scope, call, stream, other, handle.node, right),
        Kind::GlobalTable(table) => global_table_join(scope, call, stream, other, handle.node, table),
        _ => {
            scope.cx.error_spanned_by(
                &other,
                format!("`{other}` is not a stream or table; a stream joins a table (`join(table, |value, row| ..)`) or a stream (`join(stream, |value, other| .., join_windows(..))`)"),
            );
            None
        }
    }
}

/// `stream.join(table, |v, row| ..)` / `left_join(table, |v, row: Option<&_>| ..)` (Java's
/// `KStreamKTableJoin`), after a repartition when the stream's key may have changed (named
/// after the stream's node, as Java's `repartitionForJoin`).
fn stream_table_join(
    scope: &mut Scope<'_>,
    mut call: Call,
    stream: Stream,
    other: Ident,
    table_node: Ident,
    table: Table,
) -> Option<Handle> {
    let cx = scope.cx;
    let kind = JoinKind::of(&call.method);
    let example = match kind {
        JoinKind::Left => "|value, row| joined (row: Option<&_>), or |key, value, row| joined",
        _ => "|value, row| joined, or |key, value, row| joined",
    };
    if kind == JoinKind::Outer {
        cx.error_spanned_by(
            &call.method,
            format!("a stream joins a table with `join` or `left_join` (as in Java); `{other}` is a table"),
        );
        return None;
    }
    let f = scope.required_closure(&mut call.args, 1, "joiner", 0, example)?;
    let serdes = call.args.serdes().or(&stream.serdes);
    call.args.finish(
        cx,
        &format!("{}(table, {example}, key_serde: .., value_serde: ..)", call.method),
    );
    let with_key = joiner_takes_key(cx, &f, &call.method, example)?;
    let store = stored(scope, &table, &other, &other, "a join")?;
    let mut parent = call.node;
    if stream.repartition {
        let base = scope.display_name(&parent);
        parent = scope.repartition(&call.method, parent, &base, serdes.clone(), false);
    }
    let prefix = if kind == JoinKind::Left {
        "KSTREAM-LEFTJOIN"
    } else {
        "KSTREAM-JOIN"
    };
    let display = scope.next_name(prefix);
    let store_serdes = scope.store_serdes(store);
    let node = scope.add_named_op(
        &call.method,
        vec![parent],
        Op::StreamTableJoin {
            table: table_node.clone(),
            other,
            mapper: None,
            store,
            versioned: table.versioned,
            stored: table.stored.clone().unwrap_or_else(|| table_node.clone()),
            getters: table.getters.clone(),
            left: kind == JoinKind::Left,
            with_key,
            f,
            store_serdes,
            values: Box::new(serdes.value.clone()),
        },
        display,
    );
    Handle::stream_of(
        node,
        Stream {
            repartition: false,
            serdes: Serdes {
                key: serdes.key,
                value: None,
            },
            windowed_key: stream.windowed_key,
        },
    )
}

/// `stream.join(global_table, |k, v| table_key, |v, row| ..)` / `left_join` (Java's
/// `KStreamGlobalKTableJoin`): no repartition, since every instance holds the whole table.
fn global_table_join(
    scope: &mut Scope<'_>,
    mut call: Call,
    stream: Stream,
    other: Ident,
    table_node: Ident,
    table: Table,
) -> Option<Handle> {
    let cx = scope.cx;
    let kind = JoinKind::of(&call.method);
    let example = match kind {
        JoinKind::Left => "|key, value| table_key, |value, row| joined (row: Option<&_>)",
        _ => "|key, value| table_key, |value, row| joined",
    };
    if kind == JoinKind::Outer {
        cx.error_spanned_by(
            &call.method,
            format!(
                "a stream joins a global table with `join` or `left_join` (as in Java); `{other}` is a global table"
            ),
        );
        return None;
    }
    if call.args.positional.len() < 3 {
        cx.error_spanned_by(
            &call.method,
            format!("joining the global table `{other}` needs a key mapper that picks its key from each record, then the joiner: `{}({other}, {example})`", call.method),
        );
        return None;
    }
    let mapper = scope.required_closure(&mut call.args, 1, "key mapper", 2, "|key, value| table_key")?;
    let f = scope.required_closure(&mut call.args, 2, "joiner", 0, "|value, row| joined")?;
    let serdes = call.args.serdes().or(&stream.serdes);
    call.args.finish(cx, &format!("{}({other}, {example})", call.method));
    let with_key = joiner_takes_key(cx, &f, &call.method, example)?;
    let store = table.store.expect("a global table has its store");
    let display = scope.next_name("KSTREAM-LEFTJOIN");
    let store_serdes = scope.store_serdes(store);
    let node = scope.add_named_op(
        &call.method,
        vec![call.node],
        Op::StreamTableJoin {
            table: table_node.clone(),
            other,
            mapper: Some(mapper),
            store,
            versioned: false,
            stored: table_node.clone(),
            getters: Vec::new(),
            left: kind == JoinKind::Left,
            with_key,
            f,
            store_serdes,
            values: Box::new(serdes.value.clone()),
        },
        display,
    );
    Handle::stream_of(
        node,
        Stream {
            serdes: Serdes {
                key: serdes.key,
                value: None,
            },
            ..stream
        },
    )
}

impl Scope<'_> {
    /// The name a node has at run time (a generated node's Java name).
    fn display_name(&self, node: &Ident) -> String {
        self.nodes
            .iter()
            .find(|n| n.name == *node)
            .map_or_else(|| node.to_string(), super::NodeDef::runtime_name)
    }

    /// The serdes a store was declared with.
    fn store_serdes(&self, store: usize) -> Serdes {
        let s = &self.stores[store];
        Serdes {
            key: s.key_serde.clone(),
            value: s.value_serde.clone(),
        }
    }
}

const JOIN_WINDOWS_USAGE: &str = "join_windows(time_difference, grace: ..) or join_windows(before: .., after: .., grace: ..), e.g. join_windows(10s, grace: 2s)";

/// A stream-stream join's windows as written: `join_windows(difference, grace: ..)` or
/// `join_windows(before: .., after: .., grace: ..)`.
struct JoinWindowsDef {
    token: Ident,
    before: Dur,
    after: Dur,
    grace: Option<Dur>,
}

impl JoinWindowsDef {
    fn parse(scope: &Scope<'_>, mut args: Args) -> Option<JoinWindowsDef> {
        let cx = scope.cx;
        let token = args.method.clone();
        if token != "join_windows" {
            let hint = crate::ctxt::suggestion(&token.to_string(), ["join_windows"]);
            cx.error_spanned_by(
                &token,
                format!("unknown join windows `{token}`{hint}; use {JOIN_WINDOWS_USAGE}"),
            );
            return None;
        }
        let duration = |e| Dur::parse(e).map_err(|e| cx.syn_error(e)).ok();
        let named = |args: &mut Args, key: &str| match args.take(key) {
            Some(NamedValue::Expr(e)) => Some(e),
            _ => None,
        };
        let difference = args.value(0, "time_difference");
        let before = named(&mut args, "before");
        let after = named(&mut args, "after");
        let grace = named(&mut args, "grace");
        args.finish(cx, JOIN_WINDOWS_USAGE);
        let (before, after) = match (difference, before, after) {
            (Some(d), None, None) => {
                let d = duration(d)?;
                (d.clone(), d)
            }
            (None, Some(b), Some(a)) => (duration(b)?, duration(a)?),
            _ => {
                cx.error_spanned_by(
                    &token,
                    format!(
                        "`join_windows` needs a time difference, or both `before` and `after`: {JOIN_WINDOWS_USAGE}"
                    ),
                );
                return None;
            }
        };
        let grace = match grace {
            Some(g) => Some(duration(g)?),
            None => None,
        };
        Some(JoinWindowsDef {
            token,
            before,
            after,
            grace,
        })
    }

    /// `const #ident: JoinWindows = ..;`, spanned on `join_windows`.
    fn const_item(&self, ident: &Ident) -> TokenStream {
        let span = self.token.span();
        let (before, after) = (self.before.duration(), self.after.duration());
        let grace = self
            .grace
            .as_ref()
            .map_or_else(|| quote_spanned!(span=> ::core::time::Duration::ZERO), Dur::duration);
        quote_spanned!(span=>
            const #ident: ::streams_runtime::window::JoinWindows =
                ::streams_runtime::window::JoinWindows::of_time_difference_and_grace(#before, #grace).before(#before).after(#after);
        )
    }
}

/// The stores and nodes of one stream-stream join, as `Op::JoinWindow` / `Op::StreamJoin` need
/// them.
pub struct StreamJoinDef {
    pub kind: JoinKind,
    pub with_key: bool,
    pub f: Expr,
    /// `Topology::__JOIN_WINDOWS_n`.
    pub windows: TokenStream,
    /// The left and right window stores and the outer-join store.
    pub left_store: usize,
    pub right_store: usize,
    pub outer_store: Option<usize>,
    /// The left stream's key and value serdes, and the right stream's value serde.
    pub serdes: Serdes,
    pub right_values: Option<syn::Type>,
    /// The node buffering the right side (its witness types the right values).
    pub right_window: Ident,
    /// The right stream's name as the user wrote it (key mismatches are reported there).
    pub other: Ident,
}

/// `left.join(right, |l, r| .., join_windows(..))`, `left_join`, `outer_join` (Java's
/// `KStreamImplJoin`): a window node per side buffering its records, a join node per side, and a
/// merge of both sides' results, named as Java names them.
fn stream_stream_join(
    scope: &mut Scope<'_>,
    mut call: Call,
    left: Stream,
    other: Ident,
    right_node: Ident,
    right: Stream,
) -> Option<Handle> {
    let cx = scope.cx;
    let kind = JoinKind::of(&call.method);
    let example = match kind {
        JoinKind::Inner => "|left, right| joined",
        JoinKind::Left => "|left, right| joined (right: Option<&_>)",
        JoinKind::Outer => "|left, right| joined (both Option<&_>)",
    };
    let usage = format!(
        "{}({other}, {example}, join_windows(..), store: \"name\", persistent: bool, logging: bool)",
        call.method
    );
    let f = scope.required_closure(&mut call.args, 1, "joiner", 0, example)?;
    let windows = call.args.call();
    let store_name = call.args.string("store");
    let (persistent, logging) = (call.args.boolean("persistent"), call.args.boolean("logging"));
    call.args.finish(cx, &usage);
    let with_key = joiner_takes_key(cx, &f, &call.method, example)?;
    let Some(windows) = windows else {
        cx.error_spanned_by(
            &call.method,
            format!("joining two streams needs join windows: `{}({other}, {example}, join_windows(10s))`; {JOIN_WINDOWS_USAGE}", call.method),
        );
        return None;
    };
    let windows = JoinWindowsDef::parse(scope, windows)?;
    let method = call.method.clone();
    // Java's order of generated names: each side's repartition, the window nodes, the join
    // nodes (an outer side is `OUTER…`), the merge.
    let mut left_parent = call.node;
    if left.repartition {
        let base = scope.display_name(&left_parent);
        left_parent = scope.repartition(&method, left_parent, &base, left.serdes.clone(), false);
    }
    let mut right_parent = right_node;
    if right.repartition {
        let base = scope.display_name(&right_parent);
        right_parent = scope.repartition(&method, right_parent, &base, right.serdes.clone(), false);
    }
    let left_outer = kind != JoinKind::Inner;
    let right_outer = kind == JoinKind::Outer;
    let left_window_name = scope.next_name("KSTREAM-WINDOWED");
    let right_window_name = scope.next_name("KSTREAM-WINDOWED");
    let this_name = scope.next_name(if right_outer {
        "KSTREAM-OUTERTHIS"
    } else {
        "KSTREAM-JOINTHIS"
    });
    let other_name = scope.next_name(if left_outer {
        "KSTREAM-OUTEROTHER"
    } else {
        "KSTREAM-JOINOTHER"
    });
    let merge_name = scope.next_name("KSTREAM-MERGE");

    let const_ident = format_ident!("__JOIN_WINDOWS_{}", scope.consts.len(), span = windows.token.span());
    scope.consts.push(windows.const_item(&const_ident));
    let topology = Ident::new(&scope.topology.to_string(), windows.token.span());
    let w = quote_spanned!(windows.token.span()=> #topology::#const_ident);
    let logging = logging.unwrap_or(true);
    let store_lit = |name: String| LitStr::new(&name, method.span());
    let (this_suffix, other_suffix) = (
        if right_outer { "-outer-this-join" } else { "-this-join" },
        if left_outer { "-outer-other-join" } else { "-other-join" },
    );
    let (left_store_name, right_store_name, outer_store_name) = match &store_name {
        Some(base) => (
            format!("{}{this_suffix}-store", base.value()),
            format!("{}{other_suffix}-store", base.value()),
            format!(
                "{}{}-store",
                base.value(),
                if right_outer {
                    "-outer-shared-join"
                } else {
                    "-left-shared-join"
                }
            ),
        ),
        None => {
            let number = this_name.rsplit('-').next().unwrap_or_default();
            (
                format!("{this_name}-store"),
                format!("{other_name}-store"),
                format!("KSTREAM-OUTERSHARED-{number}-store"),
            )
        }
    };
    let window_store = |scope: &mut Scope<'_>, name: String, serdes: &Serdes| {
        scope.add_store(StoreDef {
            ident: Ident::new(&format!("__dsl_store_{}", scope.stores.len()), method.span()),
            name: store_lit(name),
            shape: StoreShape::Window {
                retention_ms: quote!(#w.retention_ms()),
                window_size_ms: quote!(#w.size_ms()),
                retain_duplicates: true,
            },
            key: None,
            value: None,
            dsl: true,
            queryable: false,
            key_serde: serdes.key.clone(),
            value_serde: serdes.value.clone(),
            persistent,
            logging,
            timestamped: false,
            caching: Some(false),
        })
    };
    let right_serdes = Serdes {
        key: left.serdes.key.clone(),
        value: right.serdes.value.clone(),
    };
    let left_store = window_store(scope, left_store_name, &left.serdes);
    let right_store = window_store(scope, right_store_name, &right_serdes);
    let outer_store = left_outer.then(|| {
        scope.add_store(StoreDef {
            ident: Ident::new(&format!("__dsl_store_{}", scope.stores.len()), method.span()),
            name: store_lit(outer_store_name),
            shape: StoreShape::KeyValue,
            key: None,
            value: None,
            dsl: true,
            queryable: false,
            key_serde: None,
            value_serde: None,
            persistent,
            logging,
            timestamped: false,
            caching: Some(false),
        })
    });

    let left_window = scope.add_named_op(
        &method,
        vec![left_parent],
        Op::JoinWindow {
            store: left_store,
            serdes: left.serdes.clone(),
        },
        left_window_name,
    );
    let right_window = scope.add_named_op(
        &method,
        vec![right_parent],
        Op::JoinWindow {
            store: right_store,
            serdes: right_serdes,
        },
        right_window_name,
    );
    let def = StreamJoinDef {
        kind,
        with_key,
        f,
        windows: w,
        left_store,
        right_store,
        outer_store,
        serdes: left.serdes.clone(),
        right_values: right.serdes.value.clone(),
        right_window: right_window.clone(),
        other: other.clone(),
    };
    let this = scope.add_named_op(&method, vec![left_window], Op::StreamJoin(Box::new(def)), this_name);
    let other_side = scope.add_named_op(
        &method,
        vec![right_window],
        Op::StreamJoinRight {
            left_join: this.clone(),
        },
        other_name,
    );
    let node = scope.add_named_op(&method, vec![this, other_side], Op::JoinMerge, merge_name);
    Handle::stream_of(
        node,
        Stream {
            repartition: false,
            serdes: Serdes {
                key: left.serdes.key,
                value: None,
            },
            windowed_key: false,
        },
    )
}

/// A table-table join as `Op::TableJoin` needs it.
pub struct TableJoinDef {
    pub kind: JoinKind,
    pub with_key: bool,
    pub f: Expr,
    /// The left and right tables' stores, and the serdes they were declared with.
    pub left_store: usize,
    pub right_store: usize,
    pub left_serdes: Serdes,
    pub right_serdes: Serdes,
    /// Whether the left and right tables' stores are versioned.
    pub left_versioned: bool,
    pub right_versioned: bool,
    /// The nodes whose rows the left and right stores hold, and the `filter`/`map_values`
    /// nodes between them and the joined tables.
    pub left_stored: Ident,
    pub right_stored: Ident,
    pub left_getters: Vec<Ident>,
    pub right_getters: Vec<Ident>,
    /// The right table's node (its witness types the right rows).
    pub right_table: Ident,
    /// The right table's name as the user wrote it (key mismatches are reported there).
    pub other: Ident,
}

/// `left.join(right, |l, r| ..)`, `left_join`, `outer_join` of two tables (Java's
/// `KTableImpl.doJoin`): a join node per side reading the other table's store, and a merge of
/// both sides' changes. The result is a table with no store of its own.
fn table_join(scope: &mut Scope<'_>, mut call: Call, left: Table) -> Option<Handle> {
    let cx = scope.cx;
    let kind = JoinKind::of(&call.method);
    let example = match kind {
        JoinKind::Inner => "|left, right| joined",
        JoinKind::Left => "|left, right| joined (right: Option<&_>)",
        JoinKind::Outer => "|left, right| joined (both Option<&_>)",
    };
    let usage = format!(
        "{}(other_table, {example}), or a foreign-key join {}(other_table, |value| foreign_key, |value, other| joined)",
        call.method, call.method
    );
    let (other, handle) = other_side(scope, &mut call, &usage)?;
    let Kind::Table(right) = handle.kind else {
        cx.error_spanned_by(
            &other,
            format!("`{other}` is not a table; a table joins another table (`{usage}`)"),
        );
        return None;
    };
    if call.args.positional.len() >= 3 {
        return foreign_key_join(scope, call, left, other, handle.node, right);
    }
    let f = scope.required_closure(&mut call.args, 1, "joiner", 0, example)?;
    call.args.finish(cx, &usage);
    let with_key = joiner_takes_key(cx, &f, &call.method, example)?;
    let left_store = stored(scope, &left, &"this table", &call.method, "a join")?;
    let right_store = stored(scope, &right, &other, &other, "a join")?;
    // Java's order of generated names: the merge, then the two sides.
    let merge_name = scope.next_name("KTABLE-MERGE");
    let this_name = scope.next_name("KTABLE-JOINTHIS");
    let other_name = scope.next_name("KTABLE-JOINOTHER");
    let def = TableJoinDef {
        kind,
        with_key,
        f,
        left_store,
        right_store,
        left_serdes: scope.store_serdes(left_store),
        right_serdes: scope.store_serdes(right_store),
        left_versioned: left.versioned,
        right_versioned: right.versioned,
        left_stored: left.stored.clone().unwrap_or_else(|| call.node.clone()),
        right_stored: right.stored.clone().unwrap_or_else(|| handle.node.clone()),
        left_getters: left.getters.clone(),
        right_getters: right.getters.clone(),
        right_table: handle.node.clone(),
        other: other.clone(),
    };
    let method = call.method.clone();
    let this = scope.add_named_op(&method, vec![call.node], Op::TableJoin(Box::new(def)), this_name);
    let other_side = scope.add_named_op(
        &method,
        vec![handle.node],
        Op::TableJoinRight {
            left_join: this.clone(),
        },
        other_name,
    );
    let node = scope.add_named_op(&method, vec![this, other_side], Op::JoinMerge, merge_name);
    Handle::table(
        node,
        Table {
            serdes: Serdes {
                key: left.serdes.key,
                value: None,
            },
            windowed: None,
            store: None,
            versioned: false,
            stored: None,
            getters: Vec::new(),
        },
    )
}

/// `left.join(right, |v| foreign_key, |v, other| ..)` / `left_join` (KIP-213, Java's
/// `KTableImpl.doJoinOnForeignKey`): the subscription topic, the right side's subscription store
/// and processors, the response topic and the resolver, named as Java names them.
fn foreign_key_join(
    scope: &mut Scope<'_>,
    mut call: Call,
    left: Table,
    other: Ident,
    right_node: Ident,
    right: Table,
) -> Option<Handle> {
    let cx = scope.cx;
    let kind = JoinKind::of(&call.method);
    let example = match kind {
        JoinKind::Left => "|value| foreign_key, |value, other| joined (other: Option<&_>)",
        _ => "|value| foreign_key, |value, other| joined",
    };
    if kind == JoinKind::Outer {
        cx.error_spanned_by(
            &call.method,
            "a foreign-key join is `join` or `left_join` (as in Java); there is no foreign-key outer join",
        );
        return None;
    }
    let extractor = scope.required_closure(&mut call.args, 1, "foreign-key extractor", 1, "|value| foreign_key")?;
    let f = scope.required_closure(&mut call.args, 2, "joiner", 0, example)?;
    call.args.finish(cx, &format!("{}({other}, {example})", call.method));
    let with_key = joiner_takes_key(cx, &f, &call.method, example)?;
    let left_store = stored(scope, &left, &"this table", &call.method, "a foreign-key join")?;
    let right_store = stored(scope, &right, &other, &other, "a foreign-key join")?;
    let method = call.method.clone();
    let left_serdes = scope.store_serdes(left_store);
    let right_serdes = scope.store_serdes(right_store);
    // Java's order of generated names (`KTableImpl.doJoinOnForeignKey`).
    let subscription_topic = format!("{}-topic", scope.next_name("KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION"));
    let send_name = scope.next_name("KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION");
    let subscription_sink = scope.next_name("KTABLE-SINK");
    let subscription_source = scope.next_name("KTABLE-SOURCE");
    let store_name = scope.next_name("KTABLE-FK-JOIN-SUBSCRIPTION-STATE-STORE");
    let receive_name = scope.next_name("KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR");
    let subscription_join_name = scope.next_name("KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR");
    let foreign_join_name = scope.next_name("KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR");
    let response_topic = format!("{}-topic", scope.next_name("KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE"));
    let response_sink = scope.next_name("KTABLE-SINK");
    let response_source = scope.next_name("KTABLE-SOURCE");
    let resolver_name = scope.next_name("KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-RESOLVER-PROCESSOR");
    let output_name = scope.next_name("KTABLE-FK-JOIN-OUTPUT");
    // The result store's name, spent even when the result is not materialized.
    scope.next_name("KTABLE-FK-JOIN-OUTPUT-STATE-STORE");

    let send = scope.add_named_op(
        &method,
        vec![call.node.clone()],
        Op::FkSubscribe {
            extractor,
            left: kind == JoinKind::Left,
            right_table: right_node.clone(),
            hash_serde: left.serdes.value.clone(),
            foreign_serde: right_serdes.key.clone(),
        },
        send_name,
    );
    let subscription_serdes = Serdes {
        key: right_serdes.key.clone(),
        value: left_serdes.key.clone(),
    };
    let received = scope.repartition_nodes(
        &method,
        send,
        subscription_topic,
        subscription_serdes.clone(),
        Carried::Subscriptions,
        subscription_sink,
        subscription_source,
    );
    let store = scope.add_store(StoreDef {
        ident: Ident::new(&format!("__dsl_store_{}", scope.stores.len()), method.span()),
        name: LitStr::new(&store_name, method.span()),
        shape: StoreShape::KeyValue,
        key: None,
        value: None,
        dsl: true,
        queryable: false,
        key_serde: None,
        value_serde: None,
        persistent: None,
        logging: true,
        timestamped: true,
        caching: Some(false),
    });
    let receive = scope.add_named_op(
        &method,
        vec![received],
        Op::FkReceive {
            store,
            serdes: subscription_serdes.clone(),
        },
        receive_name,
    );
    let subscription_join = scope.add_named_op(
        &method,
        vec![receive.clone()],
        Op::FkSubscriptionJoin {
            right_table: right_node.clone(),
            right_store,
            right_versioned: right.versioned,
            right_serdes: right_serdes.clone(),
            right_stored: right.stored.clone().unwrap_or_else(|| right_node.clone()),
            right_getters: right.getters.clone(),
        },
        subscription_join_name,
    );
    let foreign_join = scope.add_named_op(
        &method,
        vec![right_node],
        Op::FkForeignJoin {
            store,
            receive,
            serdes: subscription_serdes,
        },
        foreign_join_name,
    );
    // The response topic carries the right table's values with that table's serde.
    let response_serdes = Serdes {
        key: left_serdes.key.clone(),
        value: right.serdes.value.clone(),
    };
    let responses = scope.repartition_nodes(
        &method,
        subscription_join,
        response_topic,
        response_serdes,
        Carried::Responses,
        response_sink,
        response_source,
    );
    // Both the answers to subscriptions and those to right-row changes go to the response topic.
    if let Some(sink) = scope.nodes.last_mut() {
        sink.parents.push(foreign_join);
    }
    let resolve = scope.add_named_op(
        &method,
        vec![responses],
        Op::FkResolve {
            left_table: call.node.clone(),
            left_store,
            left_versioned: left.versioned,
            left_serdes: left_serdes.clone(),
            left_stored: left.stored.clone().unwrap_or_else(|| call.node.clone()),
            left_getters: left.getters.clone(),
            hash_serde: left.serdes.value.clone(),
            f,
            left: kind == JoinKind::Left,
            with_key,
        },
        resolver_name,
    );
    let output = scope.add_named_op(&method, vec![resolve], Op::FkOutput, output_name);
    Handle::table(
        output,
        Table {
            serdes: Serdes {
                key: left.serdes.key,
                value: None,
            },
            windowed: None,
            store: None,
            versioned: false,
            stored: None,
            getters: Vec::new(),
        },
    )
}
