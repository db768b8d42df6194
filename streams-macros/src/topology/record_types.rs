//! The record types of each node as far as the topology's text names them: declared source and
//! table types, operators that keep them, counts (`i64`), `to_stream` (`Option<V>`), windowed
//! keys, `process(Type)` (its `ProcessorSpec` outputs) and closures with an explicit return
//! type. What only rustc infers (a closure without a return type) stays unknown. The typed
//! accessors of DSL stores and `to` topics are generated from these types, and the generated
//! `build` checks each one it uses against the type rustc inferred.

use super::check::Wiring;
use super::dsl::join::{StreamJoinDef, TableJoinDef};
use super::dsl::{AggKind, Carried, Op, OpDef, Serdes, WindowedAggKind};
use super::model::{NodeKind, TopologyDef};
use super::{expand, expand_dsl};
use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};
use std::collections::HashSet;
use syn::visit::{self, Visit};
use syn::{Expr, ReturnType, Type};

/// A node's output key and value types (a table's rows, not its `Change`s), each if named.
#[derive(Clone, Default)]
pub struct Named {
    pub key: Option<TokenStream>,
    pub value: Option<TokenStream>,
}

impl Named {
    fn new(key: Option<TokenStream>, value: Option<TokenStream>) -> Named {
        Named { key, value }
    }

    fn of(key: &Type, value: &Type) -> Named {
        Named::new(Some(key.to_token_stream()), Some(value.to_token_stream()))
    }

    fn both_of((key, value): (TokenStream, TokenStream)) -> Named {
        Named::new(Some(key), Some(value))
    }

    /// Both types, if both are named.
    pub fn both(&self) -> Option<(&TokenStream, &TokenStream)> {
        Some((self.key.as_ref()?, self.value.as_ref()?))
    }
}

/// The named output types of every node, by node index (`order`: parents and read nodes first).
pub fn named_types(def: &TopologyDef, wiring: &Wiring, order: &[usize]) -> Vec<Named> {
    let mut types = vec![Named::default(); def.nodes.len()];
    let index_of = |name: &syn::Ident| def.nodes.iter().position(|n| n.name == *name);
    for &i in order {
        let node = &def.nodes[i];
        let parent = wiring.parents[i].first().map(|&p| types[p].clone()).unwrap_or_default();
        let key = parent.key.clone();
        let value = parent.value.clone();
        types[i] = match &node.kind {
            NodeKind::Source(_) | NodeKind::Processor(_) | NodeKind::Sink(_) => {
                expand::output_types(node).map_or_else(Named::default, Named::both_of)
            }
            NodeKind::Op(OpDef { op, .. }) => match op {
                Op::Filter { .. }
                | Op::Peek(_)
                | Op::Branch { .. }
                | Op::PassThrough
                | Op::JoinMerge
                | Op::JoinWindow { .. }
                | Op::Suppress { .. }
                | Op::TableFilter { .. }
                | Op::RepartitionSink { .. } => parent,
                Op::Foreach(_) | Op::To { .. } | Op::ToExtractor { .. } => Named::default(),
                Op::Map(f) | Op::TableGroupBy(f) => {
                    returns(f).and_then(pair).map_or_else(Named::default, Named::both_of)
                }
                Op::FlatMap(f) => {
                    (returns(f).and_then(item).and_then(pair)).map_or_else(Named::default, Named::both_of)
                }
                Op::MapValues { f, .. } | Op::TableMapValues { f, .. } => Named::new(key, named(returns(f))),
                Op::FlatMapValues { f, .. } => Named::new(key, named(returns(f).and_then(item))),
                Op::SelectKey(f) => Named::new(named(returns(f)), value),
                Op::Process(ty) => Named::both_of(expand::processor_outputs(ty)),
                Op::RepartitionSource { carried, .. } => {
                    let sink = def.nodes.iter().position(|n| {
                        matches!(&n.kind, NodeKind::Op(OpDef { op: Op::RepartitionSink { source, .. }, .. }) if *source == node.name)
                    });
                    match (carried, sink) {
                        (Carried::Records | Carried::Changes, Some(s)) => types[s].clone(),
                        _ => Named::default(),
                    }
                }
                Op::TableSource { key, value, .. } => Named::of(key, value),
                Op::ToStream => Named::new(key, value.map(|v| quote!(::core::option::Option<#v>))),
                Op::Aggregate { kind, .. } => Named::new(key, aggregate_value(kind, value)),
                Op::WindowedAggregate { kind, .. } => Named::new(
                    key.map(|k| quote!(::streams_runtime::window::Windowed<#k>)),
                    windowed_value(kind, value),
                ),
                Op::StreamTableJoin { f, .. } => Named::new(key, named(returns(f))),
                Op::StreamJoin(join) => {
                    let StreamJoinDef { f, .. } = &**join;
                    Named::new(key, named(returns(f)))
                }
                Op::TableJoin(join) => {
                    let TableJoinDef { f, .. } = &**join;
                    Named::new(key, named(returns(f)))
                }
                Op::StreamJoinRight { left_join } | Op::TableJoinRight { left_join } => {
                    index_of(left_join).map(|l| types[l].clone()).unwrap_or_default()
                }
                Op::FkSubscribe { .. }
                | Op::FkReceive { .. }
                | Op::FkSubscriptionJoin { .. }
                | Op::FkForeignJoin { .. }
                | Op::FkResolve { .. }
                | Op::FkOutput => Named::default(),
            },
        };
    }
    types
}

/// The aggregate's type: `i64` for a count, the values' for a reduction, else the explicit
/// return type of the initializer or of an aggregator.
fn aggregate_value(kind: &AggKind, values: Option<TokenStream>) -> Option<TokenStream> {
    match kind {
        AggKind::Count | AggKind::TableCount => Some(quote!(i64)),
        AggKind::Reduce(_) | AggKind::TableReduce(..) => values,
        AggKind::Aggregate(init, add) => first_named(&[init, add]),
        AggKind::TableAggregate(init, add, sub) => first_named(&[init, add, sub]),
    }
}

/// As [`aggregate_value`], for a windowed aggregation.
fn windowed_value(kind: &WindowedAggKind, values: Option<TokenStream>) -> Option<TokenStream> {
    match kind {
        WindowedAggKind::Count => Some(quote!(i64)),
        WindowedAggKind::Reduce(_) => values,
        WindowedAggKind::Aggregate(init, add) => first_named(&[init, add]),
        WindowedAggKind::SessionAggregate(init, add, merge) => first_named(&[init, add, merge]),
    }
}

fn first_named(fs: &[&Expr]) -> Option<TokenStream> {
    fs.iter().find_map(|f| named(returns(f)))
}

fn named(ty: Option<&Type>) -> Option<TokenStream> {
    ty.map(ToTokens::to_token_stream)
}

/// A closure's explicit return type, if generated code can write it down ([`spellable`]).
fn returns(f: &Expr) -> Option<&Type> {
    match f {
        Expr::Closure(c) => match &c.output {
            ReturnType::Type(_, ty) => Some(&**ty).filter(|ty| spellable(ty)),
            ReturnType::Default => None,
        },
        Expr::Paren(p) => returns(&p.expr),
        Expr::Group(g) => returns(&g.expr),
        _ => None,
    }
}

/// Whether `ty` may stand in a generated signature or associated type as written: a closure's
/// return type may hold what those may not (`_`, an elided or `'_` lifetime, `impl Trait`), or
/// mean something else there (`Self`, a macro). Elided lifetimes inside paths (`Cow<str>`) are
/// not visible in the syntax; such a type fails in the accessor's signature.
fn spellable(ty: &Type) -> bool {
    struct Check(bool);
    impl<'ast> Visit<'ast> for Check {
        fn visit_type(&mut self, ty: &'ast Type) {
            match ty {
                Type::Infer(_) | Type::ImplTrait(_) | Type::Macro(_) | Type::Verbatim(_) => self.0 = false,
                Type::Reference(r) if r.lifetime.is_none() => self.0 = false,
                _ => visit::visit_type(self, ty),
            }
        }

        fn visit_lifetime(&mut self, lifetime: &'ast syn::Lifetime) {
            if lifetime.ident == "_" {
                self.0 = false;
            }
        }

        fn visit_path_segment(&mut self, segment: &'ast syn::PathSegment) {
            if segment.ident == "Self" {
                self.0 = false;
            }
            visit::visit_path_segment(self, segment);
        }
    }
    let mut check = Check(true);
    check.visit_type(ty);
    check.0
}

/// The types of a pair `(K, V)`.
fn pair(ty: &Type) -> Option<(TokenStream, TokenStream)> {
    match ty {
        Type::Tuple(t) if t.elems.len() == 2 => Some((t.elems[0].to_token_stream(), t.elems[1].to_token_stream())),
        Type::Paren(p) => pair(&p.elem),
        Type::Group(g) => pair(&g.elem),
        _ => None,
    }
}

/// The standard collections whose one type argument is what they yield by value.
const COLLECTIONS: [&str; 7] = [
    "Vec",
    "VecDeque",
    "Option",
    "BTreeSet",
    "HashSet",
    "LinkedList",
    "BinaryHeap",
];

/// The item type of a collection a `flat_map` closure returns: an array's element, or the type
/// argument of a standard collection ([`COLLECTIONS`]).
fn item(ty: &Type) -> Option<&Type> {
    match ty {
        Type::Array(a) => Some(&a.elem),
        Type::Paren(p) => item(&p.elem),
        Type::Group(g) => item(&g.elem),
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            if !COLLECTIONS.iter().any(|c| last.ident == c) {
                return None;
            }
            let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                return None;
            };
            let mut types = args.args.iter().filter_map(|a| match a {
                syn::GenericArgument::Type(t) => Some(t),
                _ => None,
            });
            match (types.next(), types.next()) {
                (Some(t), None) => Some(t),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The typed accessors of the DSL's queryable stores (`store_<name>()`, for an aggregation
/// given `store: ".."`) and `to` topics (`to_<topic>()`), and for `build` the statements that
/// check each type they name against the witness rustc inferred (`types`: [`named_types`]). An
/// accessor whose types the text does not name returns `TypesNotNamed`. A name in `taken` is not
/// generated again.
pub fn dsl_accessors(
    def: &TopologyDef,
    wiring: &Wiring,
    order: &[usize],
    types: &[Named],
    taken: &mut HashSet<String>,
) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let rt = quote!(::streams_runtime::__private);
    let (mut accessors, mut checks) = (Vec::new(), Vec::new());
    let not_named = |f: &syn::Ident, doc: String| {
        let doc = format!("{doc} Its key or value type is one only rustc infers: see `TypesNotNamed`.");
        quote! {
            #[doc = #doc]
            pub const fn #f() -> ::streams_runtime::topology::TypesNotNamed {
                ::streams_runtime::topology::TypesNotNamed
            }
        }
    };
    for &i in order {
        let NodeKind::Op(OpDef { op, .. }) = &def.nodes[i].kind else {
            continue;
        };
        let Some(&parent) = wiring.parents[i].first() else {
            continue;
        };
        let (w, wp) = (expand_dsl::witness(i), expand_dsl::witness(parent));
        match op {
            Op::Aggregate { store, serdes, .. } | Op::WindowedAggregate { store, serdes, .. } => {
                let s = &def.stores[*store];
                let f = accessor("store", &s.name.value());
                if !s.queryable || !taken.insert(f.to_string()) {
                    continue;
                }
                let doc = format!("The store \"{}\".", s.name.value());
                let (Some(k), Some(v)) = (&types[parent].key, &types[i].value) else {
                    accessors.push(not_named(&f, doc));
                    continue;
                };
                checks.push(quote! {
                    let _: #rt::dsl::Witness<#k, _> = #wp;
                    let _: #rt::dsl::Witness<_, #rt::Change<#v>> = #w;
                });
                let (ks, vs) = serdes_or_default(serdes, k, v);
                let handle = s.shape.handle();
                let index = *store;
                accessors.push(quote! {
                    #[doc = #doc]
                    pub const fn #f() -> ::streams_runtime::topology::StoreRef<#handle<#k, #v, #ks, #vs>> {
                        ::streams_runtime::topology::StoreRef::new(#index)
                    }
                });
            }
            Op::To { topic, serdes, .. } => {
                let f = accessor("to", &topic.value());
                if !taken.insert(f.to_string()) {
                    continue;
                }
                let doc = format!("The topic \"{}\" as the DSL's `to` writes it.", topic.value());
                let Some((k, v)) = types[parent].both() else {
                    accessors.push(not_named(&f, doc));
                    continue;
                };
                checks.push(quote!(let _: #rt::dsl::Witness<#k, #v> = #wp;));
                let (ks, vs) = serdes_or_default(serdes, k, v);
                accessors.push(quote! {
                    #[doc = #doc]
                    pub const fn #f() -> ::streams_runtime::topology::SinkRef<#k, #v, #ks, #vs> {
                        ::streams_runtime::topology::SinkRef::new(#topic)
                    }
                });
            }
            _ => {}
        }
    }
    (accessors, checks)
}

/// The serdes an operator names, or else the types' default serdes.
fn serdes_or_default(serdes: &Serdes, key: &TokenStream, value: &TokenStream) -> (TokenStream, TokenStream) {
    let span = proc_macro2::Span::call_site();
    (
        expand::serde_or_default(&serdes.key, key, span),
        expand::serde_or_default(&serdes.value, value, span),
    )
}

/// `<prefix>_<name>`, the name lowercased with every other character than a letter or digit
/// as `_` ("counts-store" gives `store_counts_store`).
fn accessor(prefix: &str, name: &str) -> syn::Ident {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format_ident!("{prefix}_{name}")
}
