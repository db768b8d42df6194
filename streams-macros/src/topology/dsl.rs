//! The DSL inside `topology!`: statements such as
//! `let counts = lines.flat_map_values(..).group_by(..).count(store: "counts");` parsed and
//! lowered into nodes of the same graph as the Processor API clauses.
//!
//! Lowering tracks what each name is (a stream, a table, a grouped stream or table) so an
//! operator applied to the wrong kind is an error on the method's token, plans repartition
//! topics where a key change precedes a grouping (as Java does), and names nodes, stores and
//! internal topics the way Java's `InternalStreamsBuilder` does.

use super::model::{NodeDef, NodeKind, SourceDef, StoreDef};
use crate::ctxt::Ctxt;
use proc_macro2::Span;
use std::collections::HashMap;
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Expr, Ident, LitBool, LitStr, Token, Type, parenthesized};

/// A DSL operator node.
pub struct OpDef {
    /// The method token the operator came from (errors in generated code point here).
    pub method: Ident,
    pub op: Op,
}

/// Explicit serdes given to an operator (`None`: the type's default serde).
#[derive(Clone, Default)]
pub struct Serdes {
    pub key: Option<Type>,
    pub value: Option<Type>,
}

impl Serdes {
    /// These serdes, each falling back to the inherited one.
    fn or(self, inherited: &Serdes) -> Serdes {
        Serdes {
            key: self.key.or_else(|| inherited.key.clone()),
            value: self.value.or_else(|| inherited.value.clone()),
        }
    }
}

/// What a DSL node does.
pub enum Op {
    Filter {
        f: Expr,
        keep: bool,
    },
    Map(Expr),
    MapValues {
        f: Expr,
        with_key: bool,
    },
    FlatMap(Expr),
    FlatMapValues {
        f: Expr,
        with_key: bool,
    },
    SelectKey(Expr),
    Peek(Expr),
    Foreach(Expr),
    /// `split`: predicates in branch order; the default branch, if any, is the last child.
    Branch {
        predicates: Vec<Expr>,
        has_default: bool,
    },
    /// A merge point or a named branch.
    PassThrough,
    To {
        topic: LitStr,
        serdes: Serdes,
        partitioner: Option<Type>,
    },
    ToExtractor {
        f: Expr,
        serdes: Serdes,
        partitioner: Option<Type>,
    },
    Process(Type),
    /// Writes the repartition topic read by the node `source`.
    RepartitionSink {
        source: Ident,
        topic: String,
        serdes: Serdes,
        table: bool,
    },
    RepartitionSource {
        topic: String,
        serdes: Serdes,
        table: bool,
    },
    /// Materializes a `table`'s topic in the store at `store`.
    TableSource {
        store: usize,
        key: Type,
        value: Type,
        serdes: Serdes,
    },
    TableFilter {
        f: Expr,
        keep: bool,
    },
    TableMapValues {
        f: Expr,
        with_key: bool,
    },
    ToStream,
    TableGroupBy(Expr),
    Aggregate {
        kind: AggKind,
        store: usize,
        serdes: Serdes,
        /// The grouped values' serde, if inherited or named (it tells a stream aggregation
        /// which values are null); `None`: the values' default serde.
        grouped_values: Box<Option<Type>>,
    },
}

/// The aggregation an `Op::Aggregate` runs.
pub enum AggKind {
    Count,
    Reduce(Expr),
    Aggregate(Expr, Expr),
    TableCount,
    TableReduce(Expr, Expr),
    TableAggregate(Expr, Expr, Expr),
}

impl Op {
    /// Java's name prefix for the node.
    fn prefix(&self) -> &'static str {
        match self {
            Op::Filter { .. } => "KSTREAM-FILTER",
            Op::Map(_) => "KSTREAM-MAP",
            Op::MapValues { .. } => "KSTREAM-MAPVALUES",
            Op::FlatMap(_) => "KSTREAM-FLATMAP",
            Op::FlatMapValues { .. } => "KSTREAM-FLATMAPVALUES",
            Op::SelectKey(_) => "KSTREAM-KEY-SELECT",
            Op::Peek(_) => "KSTREAM-PEEK",
            Op::Foreach(_) => "KSTREAM-FOREACH",
            Op::Branch { .. } => "KSTREAM-BRANCH",
            Op::PassThrough => "KSTREAM-MERGE",
            Op::To { .. } | Op::ToExtractor { .. } => "KSTREAM-SINK",
            Op::Process(_) => "KSTREAM-PROCESSOR",
            Op::RepartitionSink { .. } => "KSTREAM-SINK",
            Op::RepartitionSource { .. } => "KSTREAM-SOURCE",
            Op::TableSource { .. } => "KTABLE-SOURCE",
            Op::TableFilter { .. } => "KTABLE-FILTER",
            Op::TableMapValues { .. } => "KTABLE-MAPVALUES",
            Op::ToStream => "KTABLE-TOSTREAM",
            Op::TableGroupBy(_) => "KTABLE-SELECT",
            Op::Aggregate { kind, .. } => kind.prefix(),
        }
    }
}

impl AggKind {
    /// Java's name prefix for the aggregation node.
    fn prefix(&self) -> &'static str {
        match self {
            AggKind::Count | AggKind::Aggregate(..) => "KSTREAM-AGGREGATE",
            AggKind::Reduce(_) => "KSTREAM-REDUCE",
            AggKind::TableCount | AggKind::TableAggregate(..) => "KTABLE-AGGREGATE",
            AggKind::TableReduce(..) => "KTABLE-REDUCE",
        }
    }
}

/// What a name in the topology stands for.
#[derive(Clone)]
enum Kind {
    /// A KStream; `repartition` when its key may have changed since the last repartition;
    /// `serdes` are the ones it inherits (Java passes a stream's serdes on until an operator
    /// changes the type they apply to).
    Stream {
        repartition: bool,
        serdes: Serdes,
    },
    Table {
        serdes: Serdes,
    },
    /// A global table: materialized everywhere, read by joins; no operators of its own.
    GlobalTable,
    /// A grouped stream or table, not yet aggregated.
    Grouped(Box<Grouping>),
}

/// How a stream or table was grouped.
#[derive(Clone)]
struct Grouping {
    /// The `group_by` / `group_by_key` token (repartition errors point here).
    method: Ident,
    /// Serdes for the repartition topic and the aggregation's store key.
    serdes: Serdes,
    /// Whether a repartition topic comes before the aggregation.
    repartition: bool,
    /// A grouped table (aggregations need a subtractor).
    table: bool,
}

/// A named stream or table: the node whose output it is, and its kind.
#[derive(Clone)]
struct Handle {
    node: Ident,
    kind: Kind,
}

/// One argument of a DSL method: `expr`, or `name: value`.
enum Arg {
    Positional(Expr),
    Named(Ident, NamedValue),
}

enum NamedValue {
    Expr(Expr),
    Type(Type),
    Str(LitStr),
    Bool(LitBool),
    Ident(Ident),
}

/// The arguments of a method call, consumed as they are read; leftovers are errors.
struct Args {
    method: Ident,
    positional: Vec<Option<Expr>>,
    named: Vec<(Ident, NamedValue)>,
}

impl Args {
    fn parse(method: Ident, input: ParseStream<'_>) -> syn::Result<Self> {
        let content;
        parenthesized!(content in input);
        let mut positional = Vec::new();
        let mut named = Vec::new();
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
                    "persistent" | "logging" => NamedValue::Bool(content.parse()?),
                    _ => NamedValue::Expr(content.parse()?),
                };
                Arg::Named(key, value)
            } else {
                Arg::Positional(content.parse()?)
            };
            match arg {
                Arg::Positional(e) => positional.push(Some(e)),
                Arg::Named(k, v) => named.push((k, v)),
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
        })
    }

    fn take(&mut self, key: &str) -> Option<NamedValue> {
        let i = self.named.iter().position(|(k, _)| k == key)?;
        Some(self.named.remove(i).1)
    }

    fn ty(&mut self, key: &str) -> Option<Type> {
        match self.take(key)? {
            NamedValue::Type(t) => Some(t),
            _ => None,
        }
    }

    fn string(&mut self, key: &str) -> Option<LitStr> {
        match self.take(key)? {
            NamedValue::Str(s) => Some(s),
            _ => None,
        }
    }

    fn boolean(&mut self, key: &str) -> Option<bool> {
        match self.take(key)? {
            NamedValue::Bool(b) => Some(b.value),
            _ => None,
        }
    }

    /// A closure given by position `index` or by name.
    fn closure(&mut self, index: usize, key: &str) -> Option<Expr> {
        if let Some(NamedValue::Expr(e)) = self.take(key) {
            return Some(e);
        }
        self.positional.get_mut(index).and_then(Option::take)
    }

    fn serdes(&mut self) -> Serdes {
        Serdes {
            key: self.ty("key_serde"),
            value: self.ty("value_serde"),
        }
    }

    /// Reports arguments nobody took.
    fn finish(self, cx: &Ctxt, usage: &str) {
        // Arguments that were taken are `None`; anything left was not expected.
        if let Some(extra) = self.positional.iter().flatten().next() {
            cx.error_spanned_by(
                extra,
                format!("too many arguments to `{}`; usage: {usage}", self.method),
            );
        }
        for (k, _) in self.named {
            cx.error_spanned_by(&k, format!("`{}` takes no `{k}`; usage: {usage}", self.method));
        }
    }
}

/// The number of parameters of a closure expression (`None` if it is not a closure literal).
fn arity(e: &Expr) -> Option<usize> {
    match e {
        Expr::Closure(c) => Some(c.inputs.len()),
        _ => None,
    }
}

/// The nodes and stores of a topology as they are read, and what each name stands for.
pub struct Scope<'a> {
    cx: &'a Ctxt,
    pub nodes: Vec<NodeDef>,
    pub stores: Vec<StoreDef>,
    names: HashMap<String, Handle>,
    /// Java's running index for generated names.
    counter: usize,
}

impl<'a> Scope<'a> {
    pub fn new(cx: &'a Ctxt) -> Self {
        Scope {
            cx,
            nodes: Vec::new(),
            stores: Vec::new(),
            names: HashMap::new(),
            counter: 0,
        }
    }

    fn next_name(&mut self, prefix: &str) -> String {
        let name = format!("{prefix}-{:010}", self.counter);
        self.counter += 1;
        name
    }

    /// A `source`/`stream`, `processor` or `sink` clause; sources and processors can start DSL
    /// chains.
    pub fn add_clause_node(&mut self, node: NodeDef) {
        self.counter += 1;
        let kind = match &node.kind {
            NodeKind::Source(s) => Some(Kind::Stream {
                repartition: false,
                serdes: Serdes {
                    key: s.key_serde.clone(),
                    value: s.value_serde.clone(),
                },
            }),
            // A processor may change keys (Java marks `process` as key-changing).
            NodeKind::Processor(_) => Some(Kind::Stream {
                repartition: true,
                serdes: Serdes::default(),
            }),
            NodeKind::Sink(_) | NodeKind::Op(_) => None,
        };
        if let Some(kind) = kind {
            self.bind(
                &node.name,
                Handle {
                    node: node.name.clone(),
                    kind,
                },
            );
        }
        self.nodes.push(node);
    }

    /// Binds a name to a stream or table; an error if the name is taken.
    fn bind(&mut self, name: &Ident, handle: Handle) {
        match self.names.entry(name.to_string()) {
            std::collections::hash_map::Entry::Occupied(_) => self.cx.error_spanned_by(
                name,
                format!("`{name}` is already defined in this topology; choose another name"),
            ),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(handle);
            }
        }
    }

    fn add_op(&mut self, method: &Ident, parents: Vec<Ident>, op: Op) -> Ident {
        let display = self.next_name(op.prefix());
        self.add_named_op(method, parents, op, display)
    }

    fn add_named_op(&mut self, method: &Ident, parents: Vec<Ident>, op: Op, display: String) -> Ident {
        // `__dsl_` names are reserved: `check` rejects user names with that prefix.
        let ident = Ident::new(&format!("__dsl_{}", self.nodes.len()), method.span());
        self.nodes.push(NodeDef {
            name: ident.clone(),
            display: Some(display),
            parents,
            kind: NodeKind::Op(OpDef {
                method: method.clone(),
                op,
            }),
        });
        ident
    }

    fn add_store(&mut self, store: StoreDef) -> usize {
        self.stores.push(store);
        self.stores.len() - 1
    }

    /// A `table` or `global_table` clause: a source of nullable keys and values, and the
    /// materializing table source over a store.
    pub fn add_table(&mut self, ident: Ident, mut source: SourceDef, store: Option<LitStr>, persistent: bool) {
        let (key, value) = (source.key.clone(), source.value.clone());
        let serdes = Serdes {
            key: source.key_serde.clone(),
            value: source.value_serde.clone(),
        };
        let wrap = |t: &Type| -> Type { syn::parse_quote_spanned!(t.span()=> ::core::option::Option<#t>) };
        let wrap_serde =
            |t: &Type| -> Type { syn::parse_quote_spanned!(t.span()=> ::streams_runtime::serde::OptionSerde<#t>) };
        source.key = wrap(&key);
        source.value = wrap(&value);
        source.key_serde = serdes.key.as_ref().map(wrap_serde);
        source.value_serde = serdes.value.as_ref().map(wrap_serde);
        let topic = source.topics.first().map(LitStr::value).unwrap_or_default();
        let global = source.global;
        // Java names the store before the source node.
        let store_name = store.unwrap_or_else(|| {
            let generated = self.next_name(&format!("{topic}-STATE-STORE"));
            LitStr::new(&generated, ident.span())
        });
        self.counter += 1;
        self.nodes.push(NodeDef {
            name: ident.clone(),
            display: None,
            parents: Vec::new(),
            kind: NodeKind::Source(source),
        });
        let store = self.add_store(StoreDef {
            ident: ident.clone(),
            name: store_name,
            kind: Ident::new("key_value", Span::call_site()),
            key: Some(key.clone()),
            value: Some(value.clone()),
            dsl: true,
            key_serde: serdes.key.clone(),
            value_serde: serdes.value.clone(),
            persistent,
            // A global table's topic is its changelog.
            logging: !global,
        });
        let node = self.add_op(
            &ident,
            vec![ident.clone()],
            Op::TableSource {
                store,
                key,
                value,
                serdes: serdes.clone(),
            },
        );
        let kind = if global {
            Kind::GlobalTable
        } else {
            Kind::Table { serdes }
        };
        self.bind(&ident, Handle { node, kind });
    }

    /// `let name = chain;` or `chain;`.
    pub fn statement(&mut self, input: ParseStream<'_>) -> syn::Result<()> {
        let binding = if input.peek(Token![let]) {
            input.parse::<Token![let]>()?;
            let name: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            Some(name)
        } else {
            None
        };
        let receiver: Ident = input.parse()?;
        let mut current = self.lookup(&receiver);
        while input.peek(Token![.]) {
            input.parse::<Token![.]>()?;
            let method: Ident = input.parse()?;
            let args = Args::parse(method.clone(), input)?;
            current = match current {
                Some(handle) => self.apply(handle, &method, args),
                None => None,
            };
        }
        input.parse::<Token![;]>()?;
        if let (Some(name), Some(handle)) = (binding, current) {
            self.bind(&name, handle);
        }
        Ok(())
    }

    fn lookup(&self, name: &Ident) -> Option<Handle> {
        let found = self.names.get(&name.to_string()).cloned();
        if found.is_none() {
            let hint = crate::ctxt::suggestion(&name.to_string(), self.names.keys().map(String::as_str));
            self.cx
                .error_spanned_by(name, format!("`{name}` is not a stream or table declared above{hint}"));
        }
        found
    }

    /// Applies one method to a handle; `None` after an error or a terminal operation.
    fn apply(&mut self, handle: Handle, method: &Ident, mut args: Args) -> Option<Handle> {
        let cx = self.cx;
        let m = method.to_string();
        let parent = vec![handle.node.clone()];
        // A stream whose key may have changed, with the serdes that still apply.
        let stream = |node, repartition, serdes| {
            Some(Handle {
                node,
                kind: Kind::Stream { repartition, serdes },
            })
        };
        let table = |node, serdes| {
            Some(Handle {
                node,
                kind: Kind::Table { serdes },
            })
        };
        // Keeps the key serde only (the value type may change), or the value serde only.
        let key_only = |s: &Serdes| Serdes {
            key: s.key.clone(),
            value: None,
        };
        let value_only = |s: &Serdes| Serdes {
            key: None,
            value: s.value.clone(),
        };
        match (&handle.kind, m.as_str()) {
            (Kind::Stream { repartition, serdes }, _) => {
                let (repartition, inherited) = (*repartition, serdes.clone());
                let same = |node| stream(node, repartition, inherited.clone());
                match m.as_str() {
                    "filter" | "filter_not" => {
                        let f = self.required_closure(&mut args, 0, "predicate", 2, "|key, value| bool")?;
                        args.finish(cx, "filter(|key, value| bool)");
                        same(self.add_op(method, parent, Op::Filter { f, keep: m == "filter" }))
                    }
                    "map" => {
                        let f =
                            self.required_closure(&mut args, 0, "mapper", 2, "|key, value| (new_key, new_value)")?;
                        args.finish(cx, "map(|key, value| (new_key, new_value))");
                        stream(self.add_op(method, parent, Op::Map(f)), true, Serdes::default())
                    }
                    "map_values" => {
                        let f = self.required_closure(&mut args, 0, "mapper", 0, "|value| new_value")?;
                        args.finish(
                            cx,
                            "map_values(|value| new_value) or map_values(|key, value| new_value)",
                        );
                        let with_key = arity(&f) == Some(2);
                        let node = self.add_op(method, parent, Op::MapValues { f, with_key });
                        stream(node, repartition, key_only(&inherited))
                    }
                    "flat_map" => {
                        let f =
                            self.required_closure(&mut args, 0, "mapper", 2, "|key, value| iterator of (key, value)")?;
                        args.finish(cx, "flat_map(|key, value| iterator of (key, value))");
                        stream(self.add_op(method, parent, Op::FlatMap(f)), true, Serdes::default())
                    }
                    "flat_map_values" => {
                        let f = self.required_closure(&mut args, 0, "mapper", 0, "|value| iterator of values")?;
                        args.finish(cx, "flat_map_values(|value| iterator of values)");
                        let with_key = arity(&f) == Some(2);
                        let node = self.add_op(method, parent, Op::FlatMapValues { f, with_key });
                        stream(node, repartition, key_only(&inherited))
                    }
                    "select_key" => {
                        let f = self.required_closure(&mut args, 0, "key selector", 2, "|key, value| new_key")?;
                        args.finish(cx, "select_key(|key, value| new_key)");
                        stream(
                            self.add_op(method, parent, Op::SelectKey(f)),
                            true,
                            value_only(&inherited),
                        )
                    }
                    "peek" | "foreach" => {
                        let f = self.required_closure(&mut args, 0, "action", 2, "|key, value| ()")?;
                        args.finish(cx, "peek(|key, value| ..)");
                        if m == "peek" {
                            same(self.add_op(method, parent, Op::Peek(f)))
                        } else {
                            self.add_op(method, parent, Op::Foreach(f));
                            None
                        }
                    }
                    "split" => {
                        self.split(method, parent, args, repartition, inherited);
                        None
                    }
                    "merge" => {
                        let other = match args.positional.first_mut().and_then(Option::take) {
                            Some(Expr::Path(p)) => p.path.get_ident().cloned(),
                            _ => None,
                        };
                        let Some(other) = other else {
                            cx.error_spanned_by(method, "usage: merge(other_stream)");
                            return None;
                        };
                        args.finish(cx, "merge(other_stream)");
                        let other_handle = self.lookup(&other)?;
                        let Kind::Stream {
                            repartition: other_repartition,
                            ..
                        } = other_handle.kind
                        else {
                            cx.error_spanned_by(&other, format!("`{other}` is not a stream; only streams merge"));
                            return None;
                        };
                        let mut parents = parent;
                        parents.push(other_handle.node);
                        let node = self.add_op(method, parents, Op::PassThrough);
                        // The merged node's parents are spanned on the user's tokens for errors.
                        if let Some(n) = self.nodes.last_mut() {
                            n.parents[1] = Ident::new(&n.parents[1].to_string(), other.span());
                        }
                        // Java's merged stream has no serdes of its own.
                        stream(node, repartition || other_repartition, Serdes::default())
                    }
                    "to" => {
                        let serdes = args.serdes().or(&inherited);
                        let partitioner = args.ty("partitioner");
                        match args.positional.first_mut().and_then(Option::take) {
                            Some(Expr::Lit(syn::ExprLit {
                                lit: syn::Lit::Str(topic),
                                ..
                            })) => {
                                args.finish(cx, "to(\"topic\", key_serde: .., value_serde: .., partitioner: ..)");
                                self.add_op(
                                    method,
                                    parent,
                                    Op::To {
                                        topic,
                                        serdes,
                                        partitioner,
                                    },
                                );
                            }
                            Some(f @ Expr::Closure(_)) => {
                                args.finish(cx, "to(|key, value| \"topic\", ..)");
                                self.add_op(method, parent, Op::ToExtractor { f, serdes, partitioner });
                            }
                            _ => cx
                                .error_spanned_by(method, "usage: to(\"topic\", ..) or to(|key, value| \"topic\", ..)"),
                        }
                        None
                    }
                    "process" => {
                        let ty = match args.positional.first_mut().and_then(Option::take) {
                            Some(Expr::Path(p)) => Some(Type::Path(syn::TypePath {
                                qself: p.qself,
                                path: p.path,
                            })),
                            _ => None,
                        };
                        let Some(ty) = ty else {
                            cx.error_spanned_by(method, "usage: process(ProcessorType)");
                            return None;
                        };
                        args.finish(cx, "process(ProcessorType)");
                        // Java marks `process` as key-changing.
                        stream(self.add_op(method, parent, Op::Process(ty)), true, Serdes::default())
                    }
                    "repartition" => {
                        let name = args.string("name");
                        let serdes = args.serdes().or(&inherited);
                        args.finish(cx, "repartition(name: \"n\", key_serde: .., value_serde: ..)");
                        let base = match name {
                            Some(n) => n.value(),
                            None => self.next_name("KSTREAM-REPARTITION"),
                        };
                        let node = self.repartition(method, handle.node, &base, serdes.clone(), false);
                        stream(node, false, serdes)
                    }
                    "group_by_key" => {
                        let serdes = args.serdes().or(&inherited);
                        args.finish(cx, "group_by_key(key_serde: .., value_serde: ..)");
                        Some(Handle {
                            node: handle.node,
                            kind: Kind::Grouped(Box::new(Grouping {
                                method: method.clone(),
                                serdes,
                                repartition,
                                table: false,
                            })),
                        })
                    }
                    "group_by" => {
                        let f = self.required_closure(&mut args, 0, "key selector", 2, "|key, value| new_key")?;
                        let serdes = args.serdes().or(&value_only(&inherited));
                        args.finish(cx, "group_by(|key, value| new_key, key_serde: .., value_serde: ..)");
                        let node = self.add_op(method, parent, Op::SelectKey(f));
                        Some(Handle {
                            node,
                            kind: Kind::Grouped(Box::new(Grouping {
                                method: method.clone(),
                                serdes,
                                repartition: true,
                                table: false,
                            })),
                        })
                    }
                    _ => self.unknown(method, "stream", STREAM_METHODS),
                }
            }
            (Kind::Table { serdes }, "filter" | "filter_not") => {
                let f = self.required_closure(&mut args, 0, "predicate", 2, "|key, value| bool")?;
                args.finish(cx, "filter(|key, value| bool)");
                let serdes = serdes.clone();
                table(
                    self.add_op(method, parent, Op::TableFilter { f, keep: m == "filter" }),
                    serdes,
                )
            }
            (Kind::Table { serdes }, "map_values") => {
                let f = self.required_closure(&mut args, 0, "mapper", 0, "|value| new_value")?;
                args.finish(cx, "map_values(|value| new_value)");
                let with_key = arity(&f) == Some(2);
                let serdes = key_only(serdes);
                table(self.add_op(method, parent, Op::TableMapValues { f, with_key }), serdes)
            }
            (Kind::Table { serdes }, "to_stream") => {
                args.finish(cx, "to_stream()");
                // The stream's values are nullable: a value serde applies through `OptionSerde`.
                let serdes = Serdes {
                    key: serdes.key.clone(),
                    value: serdes.value.as_ref().map(|v| -> Type {
                        syn::parse_quote_spanned!(v.span()=> ::streams_runtime::serde::OptionSerde<#v>)
                    }),
                };
                stream(self.add_op(method, parent, Op::ToStream), false, serdes)
            }
            (Kind::Table { .. }, "group_by") => {
                let f = self.required_closure(&mut args, 0, "selector", 2, "|key, value| (new_key, new_value)")?;
                let serdes = args.serdes();
                args.finish(
                    cx,
                    "group_by(|key, value| (new_key, new_value), key_serde: .., value_serde: ..)",
                );
                let node = self.add_op(method, parent, Op::TableGroupBy(f));
                Some(Handle {
                    node,
                    kind: Kind::Grouped(Box::new(Grouping {
                        method: method.clone(),
                        serdes,
                        repartition: true,
                        table: true,
                    })),
                })
            }
            (Kind::Table { .. }, _) => self.unknown(method, "table", TABLE_METHODS),
            (Kind::GlobalTable, _) => {
                cx.error_spanned_by(
                    method,
                    "a global table has no operators: it is materialized on every instance for joins and lookups; declare it with `table` to transform it",
                );
                None
            }
            (Kind::Grouped(grouping), "count" | "reduce" | "aggregate") if !grouping.table => {
                let kind = match m.as_str() {
                    "count" => AggKind::Count,
                    "reduce" => AggKind::Reduce(self.required_closure(
                        &mut args,
                        0,
                        "reducer",
                        2,
                        "|aggregate, value| new_aggregate",
                    )?),
                    _ => {
                        let init = self.required_closure(&mut args, 0, "initializer", 0, "|| initial_aggregate")?;
                        let f = self.required_closure(
                            &mut args,
                            1,
                            "aggregator",
                            3,
                            "|key, value, aggregate| new_aggregate",
                        )?;
                        AggKind::Aggregate(init, f)
                    }
                };
                let grouping = (**grouping).clone();
                self.aggregate(method, handle.node, kind, args, grouping)
            }
            (Kind::Grouped(grouping), "count" | "reduce" | "aggregate") => {
                let kind = match m.as_str() {
                    "count" => AggKind::TableCount,
                    "reduce" => {
                        let adder =
                            self.required_closure(&mut args, 0, "adder", 2, "|aggregate, value| new_aggregate")?;
                        let Some(sub) = args.closure(1, "subtractor") else {
                            cx.error_spanned_by(
                                method,
                                "reducing a grouped table needs a subtractor as well as an adder: reduce(|agg, v| .., |agg, v| ..) — an update removes the old value from its group before adding the new one",
                            );
                            return None;
                        };
                        AggKind::TableReduce(adder, sub)
                    }
                    _ => {
                        let init = self.required_closure(&mut args, 0, "initializer", 0, "|| initial_aggregate")?;
                        let adder =
                            self.required_closure(&mut args, 1, "adder", 3, "|key, value, aggregate| new_aggregate")?;
                        let Some(sub) = args.closure(2, "subtractor") else {
                            cx.error_spanned_by(
                                method,
                                "aggregating a grouped table needs a subtractor: aggregate(|| init, |k, v, agg| .., |k, v, agg| ..) — an update removes the old value from its group before adding the new one",
                            );
                            return None;
                        };
                        AggKind::TableAggregate(init, adder, sub)
                    }
                };
                let grouping = (**grouping).clone();
                self.aggregate(method, handle.node, kind, args, grouping)
            }
            (Kind::Grouped(_), _) => self.unknown(method, "grouped stream or table", GROUPED_METHODS),
        }
    }

    fn unknown(&self, method: &Ident, what: &str, methods: &[&str]) -> Option<Handle> {
        let hint = crate::ctxt::suggestion(&method.to_string(), methods.iter().copied());
        self.cx.error_spanned_by(
            method,
            format!(
                "no method `{method}` on a {what}{hint}; a {what} has: {}",
                methods.join(", ")
            ),
        );
        None
    }

    /// A closure argument; an error on the method token when it is missing or has the wrong
    /// number of parameters (`params == 0` accepts any).
    fn required_closure(
        &self,
        args: &mut Args,
        index: usize,
        what: &str,
        params: usize,
        example: &str,
    ) -> Option<Expr> {
        let Some(f) = args.closure(index, what) else {
            self.cx
                .error_spanned_by(&args.method, format!("`{}` needs a {what}: {example}", args.method));
            return None;
        };
        if let Some(n) = arity(&f)
            && params != 0
            && n != params
        {
            self.cx.error_spanned_by(
                &f,
                format!("the {what} of `{}` takes {params} parameters: {example}", args.method),
            );
            return None;
        }
        Some(f)
    }

    /// A repartition topic `<base>-repartition`: a sink after `parent` and a source reading it
    /// (the root of a new sub-topology). Returns the source.
    fn repartition(&mut self, method: &Ident, parent: Ident, base: &str, serdes: Serdes, table: bool) -> Ident {
        let topic = format!("{base}-repartition");
        // Java spends three generated names (its null-key filter, the sink and the source) and
        // uses them when the topic's name was generated too; here the sink does the filtering.
        let _filter = self.next_name("KSTREAM-FILTER");
        let (sink_name, source_name) = (self.next_name("KSTREAM-SINK"), self.next_name("KSTREAM-SOURCE"));
        let generated = base.starts_with("KSTREAM") || base.starts_with("KTABLE");
        let (sink_name, source_name) = if generated {
            (sink_name, source_name)
        } else {
            (format!("{topic}-sink"), format!("{topic}-source"))
        };
        let source = self.add_named_op(
            method,
            Vec::new(),
            Op::RepartitionSource {
                topic: topic.clone(),
                serdes: serdes.clone(),
                table,
            },
            source_name,
        );
        self.add_named_op(
            method,
            vec![parent],
            Op::RepartitionSink {
                source: source.clone(),
                topic: topic.clone(),
                serdes,
                table,
            },
            sink_name,
        );
        source
    }

    /// An aggregation of a grouped stream or table into its store, after the repartition topic
    /// the grouping needs (named after the store, as in Java).
    fn aggregate(
        &mut self,
        method: &Ident,
        mut parent: Ident,
        kind: AggKind,
        mut args: Args,
        grouping: Grouping,
    ) -> Option<Handle> {
        let Grouping {
            method: grouped_by,
            serdes: group_serdes,
            repartition,
            table,
        } = grouping;
        let store_name = args.string("store");
        let persistent = args.boolean("persistent").unwrap_or(true);
        let logging = args.boolean("logging").unwrap_or(true);
        // A reduction's aggregate has the grouped values' type, so it inherits their serde.
        let value_serde = args.ty("value_serde").or_else(|| match kind {
            AggKind::Reduce(_) | AggKind::TableReduce(..) => group_serdes.value.clone(),
            _ => None,
        });
        args.finish(
            self.cx,
            &format!("{method}(.., store: \"name\", persistent: bool, logging: bool, value_serde: ..)"),
        );
        let prefix = if table { "KTABLE" } else { "KSTREAM" };
        // Java's order of generated names: the aggregation, its store, the repartition nodes.
        let display = self.next_name(kind.prefix());
        let store_lit = store_name.unwrap_or_else(|| {
            let verb = if matches!(kind, AggKind::Reduce(_) | AggKind::TableReduce(..)) {
                "REDUCE"
            } else {
                "AGGREGATE"
            };
            LitStr::new(&self.next_name(&format!("{prefix}-{verb}-STATE-STORE")), method.span())
        });
        if repartition {
            parent = self.repartition(&grouped_by, parent, &store_lit.value(), group_serdes.clone(), table);
        }
        let store = self.add_store(StoreDef {
            ident: Ident::new(&format!("__dsl_store_{}", self.stores.len()), method.span()),
            name: store_lit,
            kind: Ident::new("key_value", Span::call_site()),
            key: None,
            value: None,
            dsl: true,
            key_serde: group_serdes.key.clone(),
            value_serde: value_serde.clone(),
            persistent,
            logging,
        });
        let grouped_values = Box::new(group_serdes.value.clone());
        let serdes = Serdes {
            key: group_serdes.key,
            value: value_serde,
        };
        let node = self.add_named_op(
            method,
            vec![parent],
            Op::Aggregate {
                kind,
                store,
                serdes: serdes.clone(),
                grouped_values,
            },
            display,
        );
        Some(Handle {
            node,
            kind: Kind::Table { serdes },
        })
    }

    /// `split(name: |k, v| .., other: |k, v| .., default: rest)`: a branch node with one named
    /// pass-through child per branch, in order, the default last.
    fn split(&mut self, method: &Ident, parent: Vec<Ident>, mut args: Args, repartition: bool, serdes: Serdes) {
        let mut branches = Vec::new();
        let mut default = None;
        for (name, value) in std::mem::take(&mut args.named) {
            match value {
                NamedValue::Ident(d) if name == "default" => default = Some(d),
                NamedValue::Expr(f) => branches.push((name, f)),
                _ => self.cx.error_spanned_by(&name, "a branch is `name: |key, value| bool`"),
            }
        }
        args.finish(self.cx, "split(name: |key, value| bool, .., default: name)");
        if branches.is_empty() {
            self.cx.error_spanned_by(
                method,
                "`split` needs at least one branch: split(name: |key, value| bool, ..)",
            );
            return;
        }
        let has_default = default.is_some();
        let predicates = branches.iter().map(|(_, f)| f.clone()).collect();
        let branch = self.add_op(
            method,
            parent,
            Op::Branch {
                predicates,
                has_default,
            },
        );
        for name in branches.into_iter().map(|(n, _)| n).chain(default) {
            if self.names.contains_key(&name.to_string()) {
                self.cx
                    .error_spanned_by(&name, format!("`{name}` is already defined in this topology"));
                continue;
            }
            let display = self.next_name("KSTREAM-BRANCHCHILD");
            self.nodes.push(NodeDef {
                name: name.clone(),
                display: Some(display),
                parents: vec![branch.clone()],
                kind: NodeKind::Op(OpDef {
                    method: name.clone(),
                    op: Op::PassThrough,
                }),
            });
            self.names.insert(
                name.to_string(),
                Handle {
                    node: name,
                    kind: Kind::Stream {
                        repartition,
                        serdes: serdes.clone(),
                    },
                },
            );
        }
    }
}

const STREAM_METHODS: &[&str] = &[
    "filter",
    "filter_not",
    "map",
    "map_values",
    "flat_map",
    "flat_map_values",
    "select_key",
    "peek",
    "foreach",
    "split",
    "merge",
    "to",
    "process",
    "repartition",
    "group_by_key",
    "group_by",
];
const TABLE_METHODS: &[&str] = &["filter", "filter_not", "map_values", "to_stream", "group_by"];
const GROUPED_METHODS: &[&str] = &["count", "reduce", "aggregate"];
