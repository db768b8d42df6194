//! Code generation for DSL operator nodes: the forward pass that types each operator from its
//! parent's witness (so rustc infers the user's closures where they wrote them), the node
//! construction, and the static metadata.

use super::check::Wiring;
use super::chunked;
use super::dsl::join::{JoinKind, StreamJoinDef, TableJoinDef};
use super::dsl::{AggKind, Carried, Op, OpDef, Serdes, WindowedAggKind};
use super::model::{NodeKind, TopologyDef};
use super::record_types::Named;
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

/// The witness variable of node `i`: a zero-sized value typed with its output records.
/// Generated variables have mixed-site hygiene: the user's closures cannot see them.
pub fn witness(i: usize) -> syn::Ident {
    format_ident!("__w_{}", i, span = Span::mixed_site())
}

/// The operator variable of node `i`.
fn op_var(i: usize) -> syn::Ident {
    format_ident!("__op_{}", i, span = Span::mixed_site())
}

/// The `build` function's store-set parameter (mixed-site, so no user name shadows it).
pub fn stores_param() -> syn::Ident {
    syn::Ident::new("stores", Span::mixed_site())
}

/// `Explicit<S>` for a named serde, `UseDefault` otherwise, spanned on the serde or `span`.
fn pick(serde: &Option<syn::Type>, span: Span) -> TokenStream {
    match serde {
        Some(s) => quote_spanned!(s.span()=> ::streams_runtime::__private::dsl::Explicit<#s>),
        None => quote_spanned!(span=> ::streams_runtime::__private::dsl::UseDefault),
    }
}

fn picks(serdes: &Serdes, span: Span) -> (TokenStream, TokenStream) {
    (pick(&serdes.key, span), pick(&serdes.value, span))
}

/// `Explicit<Checked<M>>` for a named serde of a named type (the marker `M` goes to `markers`),
/// else `None`.
fn checked_pick(
    markers: &mut Vec<TokenStream>,
    node: usize,
    part: &str,
    serde: &Option<syn::Type>,
    ty: &Option<TokenStream>,
) -> Option<TokenStream> {
    let (Some(s), Some(ty)) = (serde, ty) else {
        return None;
    };
    let checked = super::expand::checked_serde(markers, node, part, ty, serde, s.span());
    Some(quote_spanned!(s.span()=> ::streams_runtime::__private::dsl::Explicit<#checked>))
}

/// The forward-pass statement of DSL node `i`: `let (__op_i, __w_i) = dsl::<op>(__w_parent, ..);`.
/// `source_index` maps a node to its position among the topology's sources; `types` are the
/// nodes' named types, and `markers` collects the serde markers of `to` (see `checked_serde`).
pub fn forward(
    def: &TopologyDef,
    wiring: &Wiring,
    i: usize,
    source_index: impl Fn(&syn::Ident) -> usize,
    types: &[Named],
    markers: &mut Vec<TokenStream>,
) -> TokenStream {
    let parents = &wiring.parents[i];
    let st = stores_param();
    let node = &def.nodes[i];
    let NodeKind::Op(OpDef { method, op }) = &node.kind else {
        unreachable!("forward is called for DSL nodes")
    };
    let span = method.span();
    let (o, w) = (op_var(i), witness(i));
    let wp = parents.first().map(|&p| witness(p));
    let name = node.runtime_name();
    let call = match op {
        Op::Filter { f, keep } => quote_spanned!(span=> #wp.filter(#f, #keep)),
        Op::Map(f) => quote_spanned!(span=> #wp.map(#f)),
        Op::MapValues { f, with_key: false } => quote_spanned!(span=> #wp.map_values(#f)),
        Op::MapValues { f, with_key: true } => quote_spanned!(span=> #wp.map_values_with_key(#f)),
        Op::FlatMap(f) => quote_spanned!(span=> #wp.flat_map(#f)),
        Op::FlatMapValues { f, with_key: false } => quote_spanned!(span=> #wp.flat_map_values(#f)),
        Op::FlatMapValues { f, with_key: true } => quote_spanned!(span=> #wp.flat_map_values_with_key(#f)),
        Op::SelectKey(f) => quote_spanned!(span=> #wp.select_key(#f)),
        Op::Peek(f) => quote_spanned!(span=> #wp.peek(#f)),
        Op::Foreach(f) => quote_spanned!(span=> #wp.foreach(#f)),
        Op::Branch {
            predicates,
            has_default,
        } => {
            let default = if *has_default {
                let n = predicates.len();
                quote!(::core::option::Option::Some(#n))
            } else {
                quote!(::core::option::Option::None)
            };
            let preds = predicates
                .iter()
                .map(|f| quote_spanned!(f.span()=> #wp.predicate(#f)))
                .collect();
            let preds = chunked::tuple(preds, span);
            quote_spanned!(span=> #wp.branch(#preds, #default))
        }
        Op::PassThrough => {
            let checks = node.parents.iter().zip(parents).skip(1).map(|(ident, &p)| {
                let wo = witness(p);
                quote_spanned!(ident.span()=> ::streams_runtime::__private::dsl::Merge(#wp, #wo).check();)
            });
            quote_spanned!(span=> { #(#checks)* #wp.pass_through() })
        }
        Op::JoinMerge => quote_spanned!(span=> #wp.pass_through()),
        Op::To {
            topic,
            serdes,
            partitioner,
        } => {
            let (kp, vp) = picks(serdes, span);
            let part = partitioner_or_default(partitioner, span);
            // Check 8: a topic the topology also reads is written with the serdes its source
            // reads it with (spanned on the topic).
            // (Windowed keys are left out: their default serdes are spelled apart, e.g.
            // `TimeWindowedSerde<TypeDefault, N>` and `TimeWindowedSerde<StringSerde, N>`.)
            let reader = def.nodes.iter().find_map(|n| match &n.kind {
                NodeKind::Source(s)
                    if s.topics.iter().any(|t| t.value() == topic.value())
                        && !s.key.to_token_stream().to_string().contains("Windowed") =>
                {
                    Some(s)
                }
                _ => None,
            });
            let same_serdes = reader.map(|s| {
                let read = super::expand::Types::source(s);
                let (ks, vs) = (&read.key_serde, &read.value_serde);
                // The serdes behind aliases and the witness named anew, so that every token of
                // the call, and so its error, is on the topic.
                let at = topic.span();
                let wp = wp
                    .as_ref()
                    .map(|w| syn::Ident::new(&w.to_string(), w.span().located_at(at)));
                let check = quote_spanned!(at=>
                    ::streams_runtime::__private::dsl::same_topic_serdes::<ReadKey, ReadValue, _>(
                        #wp.written_serdes::<WrittenKey, WrittenValue>()
                    );
                );
                quote! {{
                    type WrittenKey = #kp;
                    type WrittenValue = #vp;
                    type ReadKey = #ks;
                    type ReadValue = #vs;
                    #check
                }}
            });
            // Without check 8, a named serde of a named type is checked once by a marker's impl,
            // so a wrong one is one error (not one more from the graph's type).
            let (kp, vp) = match (reader, parents.first().map(|&p| &types[p])) {
                (None, Some(named)) => (
                    checked_pick(markers, i, "Key", &serdes.key, &named.key).unwrap_or(kp),
                    checked_pick(markers, i, "Value", &serdes.value, &named.value).unwrap_or(vp),
                ),
                _ => (kp, vp),
            };
            return quote_spanned!(span=> #same_serdes let #o = #wp.to::<#kp, #vp, #part>(#name, #topic););
        }
        Op::ToExtractor { f, serdes, partitioner } => {
            let (kp, vp) = picks(serdes, span);
            let part = partitioner_or_default(partitioner, span);
            quote_spanned!(span=> #wp.to_extractor::<#kp, #vp, #part, _>(#f))
        }
        Op::Process(ty) => quote_spanned!(ty.span()=> #wp.process::<#ty>(#st)?),
        Op::RepartitionSink {
            source,
            serdes,
            carried,
            ..
        } => {
            let (kp, vp) = picks(serdes, span);
            let index = source_index(source);
            match carried {
                Carried::Records => quote_spanned!(span=> #wp.repartition_sink::<#kp, #vp>(#index)),
                Carried::Changes => quote_spanned!(span=> #wp.table_repartition_sink::<#kp, #vp>(#index)),
                Carried::Subscriptions => quote_spanned!(span=> #wp.fk_subscription_sink::<#kp, #vp>(#index)),
                Carried::Responses => quote_spanned!(span=> #wp.fk_response_sink::<#kp, #vp>(#index)),
            }
        }
        Op::RepartitionSource { serdes, carried, .. } => {
            // Typed by the sink that writes the topic.
            let sink = def
                .nodes
                .iter()
                .position(|n| {
                    matches!(&n.kind, NodeKind::Op(OpDef { op: Op::RepartitionSink { source, .. }, .. }) if *source == node.name)
                })
                .expect("every repartition source has its sink");
            let ws = witness(sink);
            let (kp, vp) = picks(serdes, span);
            match carried {
                Carried::Records => quote_spanned!(span=> #ws.repartition_source::<#kp, #vp>()),
                Carried::Changes => quote_spanned!(span=> #ws.table_repartition_source::<#kp, #vp>()),
                Carried::Subscriptions => quote_spanned!(span=> #ws.fk_subscription_source::<#kp, #vp>()),
                Carried::Responses => quote_spanned!(span=> #ws.fk_response_source::<#kp, #vp>()),
            }
        }
        Op::TableSource {
            store,
            key,
            value,
            serdes,
            versioned,
        } => {
            let ks = serdes.key.as_ref().map_or_else(
                || quote_spanned!(key.span()=> ::streams_runtime::serde::SerdeOf<#key>),
                |s| quote!(#s),
            );
            let vs = serdes.value.as_ref().map_or_else(
                || quote_spanned!(value.span()=> ::streams_runtime::serde::SerdeOf<#value>),
                |s| quote!(#s),
            );
            if *versioned {
                quote_spanned!(span=> #wp.versioned_table_source::<#ks, #vs>(#st, #store)?)
            } else {
                quote_spanned!(span=> #wp.table_source::<#ks, #vs>(#st, #store)?)
            }
        }
        Op::TableFilter { f, keep } => quote_spanned!(span=> #wp.table_filter(#f, #keep)),
        Op::TableMapValues { f, with_key } => {
            let send_old_values = sends_old_values(def, wiring, i);
            if *with_key {
                quote_spanned!(span=> #wp.table_map_values_with_key(#f, #send_old_values))
            } else {
                quote_spanned!(span=> #wp.table_map_values(#f, #send_old_values))
            }
        }
        Op::ToStream => quote_spanned!(span=> #wp.to_stream()),
        Op::TableGroupBy(f) => quote_spanned!(span=> #wp.table_group_by(#f)),
        Op::Aggregate {
            kind,
            store,
            serdes,
            grouped_values,
        } => {
            let (kp, vp) = picks(serdes, span);
            let np = pick(grouped_values.as_ref(), span);
            match kind {
                AggKind::Count => quote_spanned!(span=> #wp.count::<#kp, #vp, #np>(#st, #store)?),
                AggKind::Reduce(f) => {
                    quote_spanned!(span=> #wp.reduce::<#kp, #vp, #np, _>(#f, #st, #store)?)
                }
                AggKind::Aggregate(init, f) => {
                    quote_spanned!(span=> #wp.aggregate::<#kp, #vp, #np, _, _, _>(#init, #f, #st, #store)?)
                }
                AggKind::TableCount => {
                    quote_spanned!(span=> #wp.table_count::<#kp, #vp>(#st, #store)?)
                }
                AggKind::TableReduce(add, sub) => {
                    quote_spanned!(span=> #wp.table_reduce::<#kp, #vp, _, _>(#add, #sub, #st, #store)?)
                }
                AggKind::TableAggregate(init, add, sub) => {
                    quote_spanned!(span=> #wp.table_aggregate::<#kp, #vp, _, _, _, _>(#init, #add, #sub, #st, #store)?)
                }
            }
        }
        Op::WindowedAggregate {
            kind,
            store,
            serdes,
            grouped_values,
            windows,
            on_window_close,
        } => {
            let (kp, vp) = picks(serdes, span);
            let np = pick(grouped_values.as_ref(), span);
            let emit = if *on_window_close {
                quote_spanned!(span=> ::streams_runtime::window::EmitStrategy::OnWindowClose)
            } else {
                quote_spanned!(span=> ::streams_runtime::window::EmitStrategy::OnWindowUpdate)
            };
            match kind {
                WindowedAggKind::Count => {
                    quote_spanned!(span=> #wp.windowed_count::<#kp, #vp, #np, _>(#windows, #emit, #st, #store)?)
                }
                WindowedAggKind::Reduce(f) => {
                    quote_spanned!(span=> #wp.windowed_reduce::<#kp, #vp, #np, _, _>(#f, #windows, #emit, #st, #store)?)
                }
                WindowedAggKind::Aggregate(init, f) => quote_spanned!(span=>
                    #wp.windowed_aggregate::<#kp, #vp, #np, _, _, _, _>(#init, #f, #windows, #emit, #st, #store)?
                ),
                WindowedAggKind::SessionAggregate(init, f, merger) => quote_spanned!(span=>
                    #wp.session_aggregate::<#kp, #vp, #np, _, _, _, _>(#init, #f, #merger, #windows, #emit, #st, #store)?
                ),
            }
        }
        Op::Suppress {
            store,
            window_closes,
            wait_ms,
            buffer,
            serdes,
        } => {
            let (kp, vp) = picks(serdes, span);
            if *window_closes {
                quote_spanned!(span=> #wp.suppress_until_window_closes::<#kp, #vp>(#wait_ms, #buffer, #st, #store)?)
            } else {
                quote_spanned!(span=> #wp.suppress_until_time_limit::<#kp, #vp>(#wait_ms, #buffer, #st, #store)?)
            }
        }
        Op::StreamTableJoin {
            table,
            mapper: Some(mapper),
            other: _,
            versioned: _,
            stored: _,
            getters: _,
            store,
            left,
            with_key,
            f,
            store_serdes,
            values,
        } => {
            let wt = witness(node_index(def, table));
            let (kp, vp) = picks(store_serdes, span);
            let np = pick(values.as_ref(), span);
            let kind = if *left { JoinKind::Left } else { JoinKind::Inner };
            let method = join_method("global_", "join", kind, *with_key, span);
            quote_spanned!(span=> #wp.#method::<_, _, #kp, #vp, #np, _, _, _>(#wt, #mapper, #f, #st, #store)?)
        }
        Op::StreamTableJoin {
            table,
            mapper: None,
            other,
            store,
            versioned,
            stored,
            getters,
            left,
            with_key,
            f,
            store_serdes,
            values,
        } => {
            let wt = witness(node_index(def, table));
            let check = same_keys(&wp, &wt, other);
            let (kp, vp) = picks(store_serdes, span);
            let np = pick(values.as_ref(), span);
            let kind = if *left { JoinKind::Left } else { JoinKind::Inner };
            let method = join_method("stream_table_", "join", kind, *with_key, span);
            let flavor = table_flavor(*versioned, span);
            let ws = witness(node_index(def, stored));
            let chain = getter_chain(def, getters, span);
            quote_spanned!(span=> {
                #check
                #wp.#method::<#flavor, _, _, _, _, #kp, #vp, #np, _, _>(#wt, #ws, #chain, #f, #st, #store)?
            })
        }
        Op::FkSubscribe {
            extractor,
            left,
            right_table,
            hash_serde,
            foreign_serde,
        } => {
            let wr = witness(node_index(def, right_table));
            let vp = pick(hash_serde, span);
            let fp = pick(foreign_serde, span);
            quote_spanned!(span=> #wp.fk_subscribe::<{ #left }, _, #fp, #vp, _, _>(#wr, #extractor))
        }
        Op::FkReceive { store, serdes } => {
            let (fp, pkp) = picks(serdes, span);
            quote_spanned!(span=> #wp.fk_receive::<#fp, #pkp>(#st, #store)?)
        }
        Op::FkSubscriptionJoin {
            right_table,
            right_store,
            right_versioned,
            right_serdes,
            right_stored,
            right_getters,
        } => {
            let wr = witness(node_index(def, right_table));
            let ws = witness(node_index(def, right_stored));
            let chain = getter_chain(def, right_getters, span);
            let (kp, vp) = picks(right_serdes, span);
            let flavor = table_flavor(*right_versioned, span);
            quote_spanned!(span=>
                #wp.fk_subscription_join::<#flavor, _, _, _, #kp, #vp>(#wr, #ws, #chain, #st, #right_store)?
            )
        }
        Op::FkForeignJoin { store, receive, serdes } => {
            let wr = witness(node_index(def, receive));
            let (fp, pkp) = picks(serdes, span);
            quote_spanned!(span=> #wp.fk_foreign_join::<_, #fp, #pkp>(#wr, #st, #store)?)
        }
        Op::FkResolve {
            left_table,
            left_store,
            left_versioned,
            left_serdes,
            left_stored,
            left_getters,
            hash_serde,
            f,
            left,
            with_key,
        } => {
            let wl = witness(node_index(def, left_table));
            let ws = witness(node_index(def, left_stored));
            let chain = getter_chain(def, left_getters, span);
            let (kp, vp) = picks(left_serdes, span);
            let flavor = table_flavor(*left_versioned, span);
            let kind = if *left { JoinKind::Left } else { JoinKind::Inner };
            let method = join_method("fk_", "resolve", kind, *with_key, span);
            let hp = pick(hash_serde, span);
            quote_spanned!(span=> #wp.#method::<#flavor, _, _, _, #kp, #vp, #hp, _, _>(#wl, #ws, #chain, #f, #st, #left_store)?)
        }
        Op::FkOutput => quote_spanned!(span=> #wp.fk_output()),
        Op::JoinWindow { store, serdes } => {
            let (kp, vp) = picks(serdes, span);
            quote_spanned!(span=> #wp.join_window::<#kp, #vp>(#st, #store)?)
        }
        Op::StreamJoin(join) => {
            let method = join_method("stream_", "join", join.kind, join.with_key, span);
            let wr = witness(node_index(def, &join.right_window));
            let (kp, vp1) = picks(&join.serdes, span);
            let vp2 = pick(&join.right_values, span);
            let (f, windows, right_store) = (&join.f, &join.windows, join.right_store);
            let outer = join.kind != JoinKind::Inner;
            let unjoined = option_tokens(join.outer_store);
            let check = same_keys(&wp, &wr, &join.other);
            quote_spanned!(span=> {
                #check
                #wp.#method::<_, _, #kp, #vp1, #vp2, _, _>(#wr, #f, #outer, #windows, #st, #right_store, #unjoined)?
            })
        }
        Op::StreamJoinRight { left_join } => {
            let (left, join) = left_stream_join(def, left_join);
            let ol = op_var(left);
            let outer = join.kind == JoinKind::Outer;
            let (windows, left_store) = (&join.windows, join.left_store);
            let unjoined = option_tokens(join.outer_store);
            quote_spanned!(span=> #wp.stream_join_right(&#ol, #outer, #windows, #st, #left_store, #unjoined)?)
        }
        Op::TableJoin(join) => {
            let method = join_method("table_", "join", join.kind, join.with_key, span);
            let wr = witness(node_index(def, &join.right_table));
            let (kp, vp) = picks(&join.right_serdes, span);
            let (f, right_store) = (&join.f, join.right_store);
            let needs = join_needs(join.kind);
            let send_old = sends_old_values(def, wiring, i);
            let check = same_keys(&wp, &wr, &join.other);
            let flavor = table_flavor(join.right_versioned, span);
            let ws = witness(node_index(def, &join.right_stored));
            let chain = getter_chain(def, &join.right_getters, span);
            quote_spanned!(span=> {
                #check
                #wp.#method::<#flavor, _, _, _, _, #kp, #vp, _, _>(#wr, #ws, #chain, #f, #needs, #send_old, #st, #right_store)?
            })
        }
        Op::TableJoinRight { left_join } => {
            let (left, join) = left_table_join(def, left_join);
            let ol = op_var(left);
            let (kp, vp) = picks(&join.left_serdes, span);
            let needs = join_needs(join.kind);
            let send_old = sends_old_values(def, wiring, i);
            let left_store = join.left_store;
            let flavor = table_flavor(join.left_versioned, span);
            let ws = witness(node_index(def, &join.left_stored));
            let chain = getter_chain(def, &join.left_getters, span);
            quote_spanned!(span=>
                #wp.table_join_right::<#flavor, _, _, _, _, #kp, #vp, _>(&#ol, #ws, #chain, #needs, #send_old, #st, #left_store)?
            )
        }
    };
    quote_spanned!(span=> let (#o, #w) = #call;)
}

/// The left side of the stream-stream join whose right side names it `left_join`: its index and
/// the join's definition.
fn left_stream_join<'a>(def: &'a TopologyDef, left_join: &syn::Ident) -> (usize, &'a StreamJoinDef) {
    let left = node_index(def, left_join);
    match &def.nodes[left].kind {
        NodeKind::Op(OpDef {
            op: Op::StreamJoin(join),
            ..
        }) => (left, join),
        _ => unreachable!("a right side is made from its left side"),
    }
}

/// The left side of a table-table join (as [`left_stream_join`]).
fn left_table_join<'a>(def: &'a TopologyDef, left_join: &syn::Ident) -> (usize, &'a TableJoinDef) {
    let left = node_index(def, left_join);
    match &def.nodes[left].kind {
        NodeKind::Op(OpDef {
            op: Op::TableJoin(join),
            ..
        }) => (left, join),
        _ => unreachable!("a right side is made from its left side"),
    }
}

/// The name of the witness method of a join of `kind`: `{prefix}{left_|outer_}{verb}`, with
/// `_with_key` when the joiner takes the key (`stream_left_join_with_key`, `fk_resolve`, ...).
fn join_method(prefix: &str, verb: &str, kind: JoinKind, with_key: bool, span: Span) -> syn::Ident {
    let kind = match kind {
        JoinKind::Inner => "",
        JoinKind::Left => "left_",
        JoinKind::Outer => "outer_",
    };
    let with_key = if with_key { "_with_key" } else { "" };
    syn::Ident::new(&format!("{prefix}{kind}{verb}{with_key}"), span)
}

/// The check that a join's other side (witness `other`, named by the user as `name`) is keyed
/// like this side (witness `this`), spanned on the name.
fn same_keys(this: &Option<syn::Ident>, other: &syn::Ident, name: &syn::Ident) -> TokenStream {
    quote_spanned!(name.span()=> ::streams_runtime::__private::dsl::JoinKeys(#this, #other).check();)
}

/// The value getter a join reads a derived table through: each `filter` / `map_values` node
/// between the store and the table, applied again (its closure repeated) to the stored row.
fn getter_chain(def: &TopologyDef, getters: &[syn::Ident], span: Span) -> TokenStream {
    getters.iter().rev().fold(quote_spanned!(span=> ()), |rest, getter| {
        let i = node_index(def, getter);
        let parent = def.nodes[i].parents.first().map(|p| witness(node_index(def, p)));
        match &def.nodes[i].kind {
            NodeKind::Op(OpDef {
                op: Op::TableFilter { f, keep },
                ..
            }) => quote_spanned!(span=> #parent.getter_filter(#f, #keep, #rest)),
            NodeKind::Op(OpDef {
                op: Op::TableMapValues { f, with_key: false },
                ..
            }) => quote_spanned!(span=> #parent.getter_map(#f, #rest)),
            NodeKind::Op(OpDef {
                op: Op::TableMapValues { f, with_key: true },
                ..
            }) => quote_spanned!(span=> #parent.getter_map_with_key(#f, #rest)),
            _ => unreachable!("value getters are filters and mappings"),
        }
    })
}

/// How joins read a table: from a key-value store or a versioned one.
fn table_flavor(versioned: bool, span: Span) -> TokenStream {
    if versioned {
        quote_spanned!(span=> ::streams_runtime::__private::dsl::Versioned)
    } else {
        quote_spanned!(span=> ::streams_runtime::__private::dsl::Plain)
    }
}

/// Which rows a table join's results need.
fn join_needs(kind: JoinKind) -> TokenStream {
    let (left, right) = match kind {
        JoinKind::Inner => (true, true),
        JoinKind::Left => (true, false),
        JoinKind::Outer => (false, false),
    };
    quote!(::streams_runtime::__private::dsl::JoinNeeds { left: #left, right: #right })
}

/// `Some(i)` / `None` as tokens.
fn option_tokens(index: Option<usize>) -> TokenStream {
    match index {
        Some(i) => quote!(::core::option::Option::Some(#i)),
        None => quote!(::core::option::Option::None),
    }
}

/// The index of the node named `name`.
fn node_index(def: &TopologyDef, name: &syn::Ident) -> usize {
    def.nodes
        .iter()
        .position(|n| n.name == *name)
        .expect("DSL operators refer to nodes the lowering made")
}

/// Whether table node `i` (a `map_values`, or a table source or aggregation forwarding what
/// its record cache flushes) must send old values: when a child needs them, as a table
/// `group_by` (to subtract), a table `filter` (to drop updates absent before and after),
/// `suppress` (a buffered key's value before its first update) and a foreign-key join (to
/// unsubscribe the old key) do, or a child `map_values` that must pass them on (Java enables
/// `sendOldValues` upstream of all of them). Uncached table sources and aggregations send old
/// values anyway; a filter always passes them.
fn sends_old_values(def: &TopologyDef, wiring: &Wiring, i: usize) -> bool {
    wiring.children[i].iter().any(|&c| match &def.nodes[c].kind {
        NodeKind::Op(OpDef {
            op: Op::TableGroupBy(_) | Op::TableFilter { .. } | Op::Suppress { .. } | Op::FkSubscribe { .. },
            ..
        }) => true,
        // A table join's merge passes its sides' changes on as they are.
        NodeKind::Op(OpDef {
            op: Op::TableMapValues { .. } | Op::PassThrough | Op::JoinMerge,
            ..
        }) => sends_old_values(def, wiring, c),
        // A left or outer join has its left input send old values, an outer join both (Java's
        // `KTableImpl.doJoin`), and any join passes the need on from downstream.
        NodeKind::Op(OpDef {
            op: Op::TableJoin(join),
            ..
        }) => join.kind != JoinKind::Inner || sends_old_values(def, wiring, c),
        NodeKind::Op(OpDef {
            op: Op::TableJoinRight { left_join },
            ..
        }) => left_table_join(def, left_join).1.kind == JoinKind::Outer || sends_old_values(def, wiring, c),
        _ => false,
    })
}

fn partitioner_or_default(partitioner: &Option<syn::Type>, span: Span) -> TokenStream {
    match partitioner {
        Some(p) => quote!(#p),
        None => quote_spanned!(span=> ::streams_runtime::__private::DefaultPartitioner),
    }
}

/// The expression building DSL node `i` over its `children`.
pub fn build(def: &TopologyDef, wiring: &Wiring, i: usize, children: TokenStream) -> TokenStream {
    let node = &def.nodes[i];
    let NodeKind::Op(OpDef { method, op }) = &node.kind else {
        unreachable!("build is called for DSL nodes")
    };
    let span = method.span();
    let rt = quote_spanned!(span=> ::streams_runtime::__private);
    let o = op_var(i);
    let name = node.runtime_name();
    let id = i as u32;
    match op {
        Op::To { .. } => quote_spanned!(span=> #o),
        Op::Process(ty) => {
            quote_spanned!(span=> #rt::ProcessorNode::<#rt::OwnInput<#ty>, _>::new(#name, #id, #o, #children))
        }
        Op::RepartitionSource { .. } => quote_spanned!(span=> #o.build(#name, #children)),
        // Operators whose store may cache: a commit flushes the cache through them.
        Op::TableSource { versioned: false, .. } | Op::Aggregate { .. } => {
            let send_old_values = sends_old_values(def, wiring, i);
            quote_spanned!(span=> #rt::CachingOpNode::new(#name, #o, #send_old_values, #children))
        }
        _ => quote_spanned!(span=> #rt::OpNode::new(#name, #o, #children)),
    }
}

/// The `NodeSpecKind` of a DSL node.
pub fn spec_kind(def: &TopologyDef, op: &Op) -> TokenStream {
    let t = quote!(::streams_runtime::topology);
    let store_field = |index: usize| {
        let store = &def.stores[index];
        let (name, kind) = (store.name.value(), store.shape.kind());
        quote!(::streams_runtime::state::StoreField { name: #name, kind: #kind })
    };
    match op {
        Op::To { topic, .. } => quote!(#t::NodeSpecKind::Sink { topic: #topic, internal: false }),
        Op::ToExtractor { .. } => quote!(#t::NodeSpecKind::SinkPerRecord),
        Op::RepartitionSink { topic, .. } => quote!(#t::NodeSpecKind::Sink { topic: #topic, internal: true }),
        Op::RepartitionSource { topic, .. } => quote!(#t::NodeSpecKind::Source { topics: &[#topic] }),
        Op::Process(ty) => {
            quote!(#t::NodeSpecKind::Processor { stores: <#ty as ::streams_runtime::__private::ProcessorStores>::STORES })
        }
        Op::TableSource { store, .. }
        | Op::Aggregate { store, .. }
        | Op::WindowedAggregate { store, .. }
        | Op::Suppress { store, .. }
        | Op::StreamTableJoin {
            store, mapper: None, ..
        }
        | Op::JoinWindow { store, .. } => {
            let field = store_field(*store);
            quote!(#t::NodeSpecKind::Processor { stores: &[#field] })
        }
        Op::StreamJoin(join) => {
            let fields = std::iter::once(join.right_store)
                .chain(join.outer_store)
                .map(store_field);
            quote!(#t::NodeSpecKind::Processor { stores: &[#(#fields),*] })
        }
        Op::TableJoin(join) => {
            let field = store_field(join.right_store);
            quote!(#t::NodeSpecKind::Processor { stores: &[#field] })
        }
        Op::FkReceive { store, .. } | Op::FkForeignJoin { store, .. } => {
            let field = store_field(*store);
            quote!(#t::NodeSpecKind::Processor { stores: &[#field] })
        }
        Op::FkSubscriptionJoin { right_store, .. } => {
            let field = store_field(*right_store);
            quote!(#t::NodeSpecKind::Processor { stores: &[#field] })
        }
        Op::FkResolve { left_store, .. } => {
            let field = store_field(*left_store);
            quote!(#t::NodeSpecKind::Processor { stores: &[#field] })
        }
        Op::TableJoinRight { left_join } => {
            let (_, join) = left_table_join(def, left_join);
            let field = store_field(join.left_store);
            quote!(#t::NodeSpecKind::Processor { stores: &[#field] })
        }
        Op::StreamJoinRight { left_join } => {
            let (_, join) = left_stream_join(def, left_join);
            let fields = std::iter::once(join.left_store)
                .chain(join.outer_store)
                .map(store_field);
            quote!(#t::NodeSpecKind::Processor { stores: &[#(#fields),*] })
        }
        _ => quote!(#t::NodeSpecKind::Processor { stores: &[] }),
    }
}
