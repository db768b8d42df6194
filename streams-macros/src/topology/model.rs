//! Parsing: `topology!` input into a typed model. No semantic checks here beyond the syntax.

use super::dsl::{Dur, OpDef, Scope};
use crate::ctxt::{Ctxt, suggestion};
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, Ident, LitBool, LitStr, Token, Type, Visibility, braced, bracketed};

/// The whole topology.
pub struct TopologyDef {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub nodes: Vec<NodeDef>,
    pub stores: Vec<StoreDef>,
    /// Associated consts of the topology type the DSL needs (its windows), as items.
    pub consts: Vec<TokenStream>,
    /// Compile-time checks over those consts (`const _: () = ..;` items).
    pub const_checks: Vec<TokenStream>,
}

/// A source, processor, sink or DSL operator.
pub struct NodeDef {
    pub name: Ident,
    /// The name in `describe()` and errors, when it is not `name` (DSL operators get Java's
    /// generated names, such as `KSTREAM-FILTER-0000000001`).
    pub display: Option<String>,
    pub parents: Vec<Ident>,
    pub kind: NodeKind,
}

impl NodeDef {
    /// Whether the node reads a topic (a source clause or a repartition topic's source).
    pub fn is_source(&self) -> bool {
        matches!(
            self.kind,
            NodeKind::Source(_)
                | NodeKind::Op(OpDef {
                    op: super::dsl::Op::RepartitionSource { .. },
                    ..
                })
        )
    }

    /// The node's name at runtime.
    pub fn runtime_name(&self) -> String {
        self.display.clone().unwrap_or_else(|| self.name.to_string())
    }
}

/// What a node is.
#[allow(clippy::large_enum_variant)] // a handful per topology, at compile time
pub enum NodeKind {
    Source(SourceDef),
    Processor(ProcessorDef),
    Sink(SinkDef),
    Op(OpDef),
}

/// `source name { topic: "t", key: K, value: V, key_serde: .., value_serde: .., timestamp_extractor: .. }`
/// (also `stream name { .. }`, and the reading half of `table` / `global_table`).
pub struct SourceDef {
    /// Whether it feeds a global table (read in full by every instance).
    pub global: bool,
    pub topics: Vec<LitStr>,
    pub key: Type,
    pub value: Type,
    pub key_serde: Option<Type>,
    pub value_serde: Option<Type>,
    pub timestamp_extractor: Option<Type>,
}

/// `processor name: Type { parents: [..] }`
pub struct ProcessorDef {
    pub ty: Type,
}

/// `sink name { topic: "t", parents: [..], key_serde: .., value_serde: .., partitioner: .. }`
pub struct SinkDef {
    pub topic: LitStr,
    pub key_serde: Option<Type>,
    pub value_serde: Option<Type>,
    pub partitioner: Option<Type>,
}

/// `store ident { name: "n", kind: key_value, key: K, value: V, key_serde: .., value_serde: .., persistent: bool, logging: bool }`
/// (`kind: window` adds `retention`, `window_size` and `retain_duplicates`; `kind: session` adds
/// `retention`).
pub struct StoreDef {
    pub ident: Ident,
    pub name: LitStr,
    pub shape: StoreShape,
    /// Declared key type; `None` for a DSL aggregation's store (rustc infers it) and for a
    /// `store` clause that leaves the types to the processors' fields.
    pub key: Option<Type>,
    /// Declared value type; `None` as for `key`.
    pub value: Option<Type>,
    /// Created by a DSL operator (a table or an aggregation) rather than a `store` clause.
    pub dsl: bool,
    /// Named by the user (Java's queryable store name): a `store` clause or a `table` (accessor
    /// `store_<clause name>()`), or an aggregation's `store: ".."` (accessor `store_<store
    /// name>()`).
    pub queryable: bool,
    pub key_serde: Option<Type>,
    pub value_serde: Option<Type>,
    /// `persistent:` as written; `None` is the default: RocksDB when the runtime has its
    /// `rocksdb` feature, in memory otherwise.
    pub persistent: Option<bool>,
    pub logging: bool,
    /// Whether each value is kept with its timestamp (the DSL's key-value and window stores).
    pub timestamped: bool,
    /// Whether writes go through the record cache; `None` for a table not named with `store:`,
    /// which caches only if a join or a grouping materializes it (as Java's table source).
    pub caching: Option<bool>,
}

/// The kind of a store, with what a window or session store keeps; `retention_ms` and
/// `window_size_ms` are `i64` const expressions.
pub enum StoreShape {
    KeyValue,
    Window {
        retention_ms: TokenStream,
        window_size_ms: TokenStream,
        retain_duplicates: bool,
    },
    Session {
        retention_ms: TokenStream,
    },
    /// A versioned key-value store keeping history for `history_retention_ms`.
    Versioned {
        history_retention_ms: TokenStream,
    },
}

impl StoreShape {
    /// The `StoreKind` variant.
    pub fn kind(&self) -> TokenStream {
        match self {
            StoreShape::KeyValue => quote!(::streams_runtime::state::StoreKind::KeyValue),
            StoreShape::Window { .. } => quote!(::streams_runtime::state::StoreKind::Window),
            StoreShape::Session { .. } => quote!(::streams_runtime::state::StoreKind::Session),
            StoreShape::Versioned { .. } => quote!(::streams_runtime::state::StoreKind::Versioned),
        }
    }

    /// The typed handle a processor holds for this kind of store.
    pub fn handle(&self) -> TokenStream {
        match self {
            StoreShape::KeyValue => quote!(::streams_runtime::state::KeyValueStore),
            StoreShape::Window { .. } => quote!(::streams_runtime::state::WindowStore),
            StoreShape::Session { .. } => quote!(::streams_runtime::state::SessionStore),
            StoreShape::Versioned { .. } => quote!(::streams_runtime::state::VersionedKeyValueStore),
        }
    }
}

/// `key: value` inside a clause, the value kept as tokens until its key says how to read it.
pub(super) struct Field {
    key: Ident,
    value: TokenStream,
}

impl Parse for Field {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key: Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        let mut value = TokenStream::new();
        while !input.is_empty() && !input.peek(Token![,]) {
            let tt: proc_macro2::TokenTree = input.parse()?;
            value.extend([tt]);
        }
        Ok(Field { key, value })
    }
}

/// The fields of one clause, consumed as they are read; leftovers are unknown fields.
pub(super) struct Fields {
    clause: Ident,
    fields: Vec<Field>,
}

impl Fields {
    pub(super) fn parse(clause: Ident, input: ParseStream<'_>) -> syn::Result<Self> {
        let content;
        braced!(content in input);
        let fields = Punctuated::<Field, Token![,]>::parse_terminated(&content)?;
        Ok(Fields {
            clause,
            fields: fields.into_iter().collect(),
        })
    }

    pub(super) fn take(&mut self, cx: &Ctxt, key: &str) -> Option<Field> {
        let mut found = None;
        let mut i = 0;
        while i < self.fields.len() {
            if self.fields[i].key == key {
                let field = self.fields.remove(i);
                if found.is_some() {
                    cx.error_spanned_by(&field.key, format!("`{key}` is given twice"));
                } else {
                    found = Some(field);
                }
            } else {
                i += 1;
            }
        }
        found
    }

    /// Whether the clause gives `key`.
    pub(super) fn has(&self, key: &str) -> bool {
        self.fields.iter().any(|f| f.key == key)
    }

    pub(super) fn optional<T: Parse>(&mut self, cx: &Ctxt, key: &str) -> Option<T> {
        let field = self.take(cx, key)?;
        match syn::parse2(field.value) {
            Ok(v) => Some(v),
            Err(e) => {
                cx.syn_error(syn::Error::new(e.span(), format!("`{key}`: {e}")));
                None
            }
        }
    }

    pub(super) fn required<T: Parse>(&mut self, cx: &Ctxt, key: &str, example: &str) -> Option<T> {
        if !self.fields.iter().any(|f| f.key == key) {
            cx.error_spanned_by(
                &self.clause,
                format!("`{}` needs `{key}` (e.g. `{example}`)", self.clause),
            );
            return None;
        }
        self.optional(cx, key)
    }

    pub(super) fn list<T: Parse>(&mut self, cx: &Ctxt, key: &str) -> Option<Vec<T>> {
        let field = self.take(cx, key)?;
        let parsed = (|input: ParseStream<'_>| {
            let content;
            bracketed!(content in input);
            Punctuated::<T, Token![,]>::parse_terminated(&content)
        })
        .parse2_with(field.value);
        match parsed {
            Ok(items) => Some(items.into_iter().collect()),
            Err(e) => {
                cx.syn_error(syn::Error::new(
                    e.span(),
                    format!("`{key}` takes a list in brackets: {e}"),
                ));
                None
            }
        }
    }

    pub(super) fn finish(self, cx: &Ctxt, allowed: &str) {
        for f in self.fields {
            cx.error_spanned_by(
                &f.key,
                format!(
                    "unknown field `{}` in `{}`; expected one of: {allowed}",
                    f.key, self.clause
                ),
            );
        }
    }
}

trait Parse2With<T> {
    fn parse2_with(self, tokens: TokenStream) -> syn::Result<T>;
}

impl<T, F: FnOnce(ParseStream<'_>) -> syn::Result<T>> Parse2With<T> for F {
    fn parse2_with(self, tokens: TokenStream) -> syn::Result<T> {
        syn::parse::Parser::parse2(self, tokens)
    }
}

/// Parses the macro input; field errors are collected in `cx`, syntax errors returned. DSL
/// statements (`let x = a.filter(..);`, `a.to(..);`) are lowered into nodes as they are read.
pub fn parse(cx: &Ctxt, input: ParseStream<'_>) -> syn::Result<TopologyDef> {
    let attrs = input.call(Attribute::parse_outer)?;
    let vis: Visibility = input.parse()?;
    input.parse::<Token![struct]>()?;
    let name: Ident = input.parse()?;
    let body;
    braced!(body in input);
    let mut scope = Scope::new(cx, &name);
    while !body.is_empty() {
        if body.peek(Token![let]) || body.peek2(Token![.]) {
            scope.statement(&body)?;
            continue;
        }
        let clause: Ident = body.parse()?;
        let ident: Ident = body.parse()?;
        match clause.to_string().as_str() {
            "source" | "stream" => {
                let mut f = Fields::parse(clause, &body)?;
                let source = source_fields(cx, &mut f, &ident, false);
                f.finish(
                    cx,
                    "topic, topics, key, value, key_serde, value_serde, timestamp_extractor",
                );
                if let Some(source) = source {
                    scope.add_clause_node(NodeDef {
                        name: ident,
                        display: None,
                        parents: Vec::new(),
                        kind: NodeKind::Source(source),
                    });
                }
            }
            "table" | "global_table" => {
                let global = clause == "global_table";
                let mut f = Fields::parse(clause, &body)?;
                let source = source_fields(cx, &mut f, &ident, global);
                let store = f.optional::<LitStr>(cx, "store");
                let persistent = f.optional::<LitBool>(cx, "persistent").map(|b| b.value);
                let caching = f.optional::<LitBool>(cx, "caching");
                let versioned = f.take(cx, "versioned").and_then(|field| {
                    let expr = syn::parse2::<Expr>(field.value).map_err(|e| cx.syn_error(e)).ok()?;
                    if global {
                        cx.error_spanned_by(
                            &expr,
                            "a global table cannot be versioned (as in Java); declare it with `table`",
                        );
                        return None;
                    }
                    Dur::parse(expr).map_err(|e| cx.syn_error(e)).ok()
                });
                f.finish(
                    cx,
                    "topic, key, value, key_serde, value_serde, timestamp_extractor, store, persistent, caching, versioned",
                );
                let caching = caching.filter(|c| match (&versioned, global) {
                    (Some(_), _) if c.value => {
                        cx.error_spanned_by(
                            c,
                            "a versioned table cannot cache (as in Java: versioned stores do not support caching)",
                        );
                        false
                    }
                    (_, true) => {
                        cx.error_spanned_by(c, "a global table's store does not take `caching`");
                        false
                    }
                    _ => true,
                });
                if let Some(source) = source {
                    scope.add_table(ident, source, store, persistent, caching.map(|c| c.value), versioned);
                }
            }
            "processor" => {
                body.parse::<Token![:]>()?;
                let ty: Type = body.parse()?;
                let mut f = Fields::parse(clause, &body)?;
                let parents = parents(cx, &mut f, &ident);
                f.finish(cx, "parents");
                scope.add_clause_node(NodeDef {
                    name: ident,
                    display: None,
                    parents,
                    kind: NodeKind::Processor(ProcessorDef { ty }),
                });
            }
            "sink" => {
                let mut f = Fields::parse(clause, &body)?;
                let topic = f.required(cx, "topic", "topic: \"output\"");
                let parents = parents(cx, &mut f, &ident);
                let key_serde = f.optional(cx, "key_serde");
                let value_serde = f.optional(cx, "value_serde");
                let partitioner = f.optional(cx, "partitioner");
                f.finish(cx, "topic, parents, key_serde, value_serde, partitioner");
                if let Some(topic) = topic {
                    scope.add_clause_node(NodeDef {
                        name: ident,
                        display: None,
                        parents,
                        kind: NodeKind::Sink(SinkDef {
                            topic,
                            key_serde,
                            value_serde,
                            partitioner,
                        }),
                    });
                }
            }
            "store" => {
                let mut f = Fields::parse(clause, &body)?;
                let name = f
                    .optional::<LitStr>(cx, "name")
                    .unwrap_or_else(|| LitStr::new(&ident.to_string(), ident.span()));
                let kind = f
                    .optional::<Ident>(cx, "kind")
                    .unwrap_or_else(|| Ident::new("key_value", Span::call_site()));
                // The types once: given here, or (both left out) taken from the processors'
                // `#[store]` fields, which state them anyway.
                let typed = f.has("key") || f.has("value");
                let (key, value) = match typed {
                    true => (
                        f.required::<Type>(cx, "key", "key: String"),
                        f.required::<Type>(cx, "value", "value: i64"),
                    ),
                    false => (None, None),
                };
                let key_serde = f.optional::<Type>(cx, "key_serde");
                let value_serde = f.optional::<Type>(cx, "value_serde");
                if !typed && let Some(serde) = key_serde.as_ref().or(value_serde.as_ref()) {
                    cx.error_spanned_by(
                        serde,
                        "a serde here needs the store's types (`key:` and `value:`); without them the processors' `#[store]` fields give types and serdes",
                    );
                }
                let persistent = f.optional::<LitBool>(cx, "persistent").map(|b| b.value);
                let logging = f.optional::<LitBool>(cx, "logging").is_none_or(|b| b.value);
                let caching = f.optional::<LitBool>(cx, "caching");
                let shape = store_shape(cx, &mut f, &kind, &mut scope.const_checks);
                if let (Some(c), Some(shape)) = (&caching, &shape)
                    && c.value
                    && !matches!(shape, StoreShape::KeyValue)
                {
                    cx.error_spanned_by(
                        c,
                        "only key-value stores cache (window and session stores do not yet; versioned stores do not in Java)",
                    );
                }
                let common = "name, kind, key, value, key_serde, value_serde, persistent, logging, caching";
                f.finish(
                    cx,
                    &match shape {
                        Some(StoreShape::Window { .. }) => {
                            format!("{common}, retention, window_size, retain_duplicates")
                        }
                        Some(StoreShape::Session { .. }) => format!("{common}, retention"),
                        Some(StoreShape::Versioned { .. }) => format!("{common}, history_retention"),
                        _ => common.to_owned(),
                    },
                );
                if let (true, Some(shape)) = (key.is_some() == value.is_some(), shape) {
                    scope.stores.push(StoreDef {
                        ident,
                        name,
                        shape,
                        key,
                        value,
                        dsl: false,
                        queryable: true,
                        key_serde,
                        value_serde,
                        persistent,
                        logging,
                        timestamped: false,
                        // Java's `Stores.keyValueStoreBuilder` does not cache unless asked.
                        caching: Some(caching.is_some_and(|c| c.value)),
                    });
                }
            }
            other => {
                return Err(syn::Error::new(
                    clause.span(),
                    format!(
                        "unknown clause `{other}`{}; expected `source`, `stream`, `table`, `global_table`, `processor`, `sink`, `store`, `let` or a DSL statement",
                        suggestion(
                            other,
                            [
                                "source",
                                "stream",
                                "table",
                                "global_table",
                                "processor",
                                "sink",
                                "store"
                            ]
                        )
                    ),
                ));
            }
        }
        if body.peek(Token![,]) || body.peek(Token![;]) {
            let _ = body.parse::<proc_macro2::TokenTree>()?;
        }
    }
    Ok(TopologyDef {
        attrs,
        vis,
        name,
        nodes: scope.nodes,
        stores: scope.stores,
        consts: scope.consts,
        const_checks: scope.const_checks,
    })
}

/// The kind of a `store` clause (`kind: key_value | window | session`) and the fields a window
/// or session store needs; literal durations are checked here, expressions by `checks` items.
fn store_shape(cx: &Ctxt, f: &mut Fields, kind: &Ident, checks: &mut Vec<TokenStream>) -> Option<StoreShape> {
    let duration = |f: &mut Fields, key: &str, example: &str| -> Option<Dur> {
        let expr = f.required::<Expr>(cx, key, example)?;
        Dur::parse(expr).map_err(|e| cx.syn_error(e)).ok()
    };
    match kind.to_string().as_str() {
        "key_value" => Some(StoreShape::KeyValue),
        "window" => {
            let retention = duration(f, "retention", "retention: 1h");
            let size = duration(f, "window_size", "window_size: 5min");
            let retain_duplicates = f.optional::<LitBool>(cx, "retain_duplicates").is_some_and(|b| b.value);
            let (retention, size) = (retention?, size?);
            let message = "a window store's retention must be at least its window size (Java's `Stores.persistentWindowStore` rule)";
            match (retention.millis(), size.millis()) {
                (Some(r), Some(s)) if r < s => {
                    cx.error_at(
                        retention.span(),
                        format!(
                            "retention {} is shorter than the window size {}; {message}: use at least `retention: {}`",
                            Dur::display(r),
                            Dur::display(s),
                            Dur::display(s)
                        ),
                    );
                    return None;
                }
                (Some(_), Some(_)) => {}
                _ => {
                    let (r, s) = (retention.millis_expr(), size.millis_expr());
                    checks.push(
                        quote::quote_spanned!(retention.span()=> const _: () = ::core::assert!(#r >= #s, #message);),
                    );
                }
            }
            Some(StoreShape::Window {
                retention_ms: retention.millis_expr(),
                window_size_ms: size.millis_expr(),
                retain_duplicates,
            })
        }
        "session" => {
            let retention = duration(f, "retention", "retention: 1h")?;
            Some(StoreShape::Session {
                retention_ms: retention.millis_expr(),
            })
        }
        "versioned" => {
            let history = duration(f, "history_retention", "history_retention: 1h")?;
            Some(StoreShape::Versioned {
                history_retention_ms: history.millis_expr(),
            })
        }
        other => {
            for key in ["retention", "window_size", "retain_duplicates", "history_retention"] {
                f.take(cx, key);
            }
            cx.error_spanned_by(
                kind,
                format!(
                    "unknown store kind `{other}`{}; expected `key_value`, `window`, `session` or `versioned`",
                    suggestion(other, ["key_value", "window", "session", "versioned"])
                ),
            );
            None
        }
    }
}

/// The fields of a `source`, `stream`, `table` or `global_table` clause.
fn source_fields(cx: &Ctxt, f: &mut Fields, ident: &Ident, global: bool) -> Option<SourceDef> {
    let topics = match (f.optional::<LitStr>(cx, "topic"), f.list::<LitStr>(cx, "topics")) {
        (Some(t), None) => vec![t],
        (None, Some(ts)) if !ts.is_empty() => ts,
        (Some(t), Some(_)) => {
            cx.error_spanned_by(&t, "give either `topic` or `topics`, not both");
            vec![t]
        }
        _ => {
            cx.error_spanned_by(
                ident,
                format!("`{ident}` needs `topic: \"name\"` or `topics: [\"a\", \"b\"]`"),
            );
            Vec::new()
        }
    };
    let key = f.required(cx, "key", "key: String");
    let value = f.required(cx, "value", "value: String");
    let key_serde = f.optional(cx, "key_serde");
    let value_serde = f.optional(cx, "value_serde");
    let timestamp_extractor = f.optional(cx, "timestamp_extractor");
    Some(SourceDef {
        global,
        topics,
        key: key?,
        value: value?,
        key_serde,
        value_serde,
        timestamp_extractor,
    })
}

fn parents(cx: &Ctxt, f: &mut Fields, node: &Ident) -> Vec<Ident> {
    match f.list::<Ident>(cx, "parents") {
        Some(p) if !p.is_empty() => p,
        _ => {
            cx.error_spanned_by(
                node,
                format!("`{node}` needs `parents: [..]` naming at least one upstream node"),
            );
            Vec::new()
        }
    }
}
