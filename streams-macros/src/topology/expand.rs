//! Code generation for a checked `topology!`: the topology type, the compile-time checks that
//! need the processors' own declarations, typed accessors, and the `Topology` impl whose
//! `build` wires the static node graph.

use super::check::Wiring;
use super::chunked;
use super::dsl::{Op, OpDef};
use super::expand_dsl;
use super::model::{NodeDef, NodeKind, SinkDef, SourceDef, StoreDef, StoreShape, TopologyDef};
use super::record_types;
use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

/// The type expressions of the records leaving a source or Processor API node.
pub(super) fn output_types(node: &NodeDef) -> Option<(TokenStream, TokenStream)> {
    match &node.kind {
        NodeKind::Source(s) => Some((s.key.to_token_stream(), s.value.to_token_stream())),
        NodeKind::Processor(p) => Some(processor_outputs(&p.ty)),
        NodeKind::Sink(_) | NodeKind::Op(_) => None,
    }
}

/// The key and value types processor `ty` forwards.
pub(super) fn processor_outputs(ty: &syn::Type) -> (TokenStream, TokenStream) {
    let rt = quote!(::streams_runtime::__private);
    (
        quote!(<#ty as #rt::ProcessorSpec>::KeyOut),
        quote!(<#ty as #rt::ProcessorSpec>::ValueOut),
    )
}

/// The explicit serde, or the default serde of `ty` spanned on `span` (the user's token that
/// implies it), so a type without a default serde is reported there.
pub(super) fn serde_or_default(explicit: &Option<syn::Type>, ty: &TokenStream, span: proc_macro2::Span) -> TokenStream {
    match explicit {
        Some(s) => s.to_token_stream(),
        None => quote_spanned!(span=> ::streams_runtime::serde::SerdeOf<#ty>),
    }
}

/// The variable of node `index` in `build` (mixed-site: invisible to the user's closures).
fn var(index: usize) -> syn::Ident {
    format_ident!("__node_{}", index, span = proc_macro2::Span::mixed_site())
}

/// `WordCount` → `word_count`, for accessor names made from node and store names.
fn snake(ident: &syn::Ident) -> String {
    let mut out = String::new();
    for (i, c) in ident.to_string().chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Key and value types of a source, sink or store, with the serdes that apply to them.
pub(super) struct Types {
    key: TokenStream,
    value: TokenStream,
    pub(super) key_serde: TokenStream,
    pub(super) value_serde: TokenStream,
}

impl Types {
    /// Declared types; default serdes are spanned on the type tokens.
    fn declared(
        key: &syn::Type,
        value: &syn::Type,
        key_serde: &Option<syn::Type>,
        value_serde: &Option<syn::Type>,
    ) -> Self {
        Types {
            key: key.to_token_stream(),
            value: value.to_token_stream(),
            key_serde: serde_or_default(key_serde, &key.to_token_stream(), key.span()),
            value_serde: serde_or_default(value_serde, &value.to_token_stream(), value.span()),
        }
    }

    pub(super) fn source(s: &SourceDef) -> Self {
        Self::declared(&s.key, &s.value, &s.key_serde, &s.value_serde)
    }

    /// A store's types, when declared (a DSL aggregation's store has inferred types).
    fn store(s: &StoreDef) -> Option<Self> {
        Some(Self::declared(
            s.key.as_ref()?,
            s.value.as_ref()?,
            &s.key_serde,
            &s.value_serde,
        ))
    }

    /// A sink takes its first parent's output types; default serdes are spanned on its name.
    fn sink(def: &TopologyDef, wiring: &Wiring, i: usize, s: &SinkDef) -> Self {
        let (key, value) = output_types(&def.nodes[wiring.parents[i][0]]).expect("parents are never sinks");
        let span = def.nodes[i].name.span();
        Types {
            key_serde: serde_or_default(&s.key_serde, &key, span),
            value_serde: serde_or_default(&s.value_serde, &value, span),
            key,
            value,
        }
    }

    /// The handle type of a store of this shape over these types and serdes.
    fn store_handle(&self, shape: &StoreShape) -> TokenStream {
        let Types {
            key,
            value,
            key_serde,
            value_serde,
        } = self;
        let handle = shape.handle();
        quote!(#handle<#key, #value, #key_serde, #value_serde>)
    }
}

/// Checks that the serdes handle the types, each spanned on the serde the user named, or else on
/// `key_span` / `value_span`. Without `named`, only the default serdes (a named serde of a
/// source or sink is checked by `checked_serde`).
fn serde_checks(
    types: &Types,
    (key_serde, value_serde): (&Option<syn::Type>, &Option<syn::Type>),
    key_span: proc_macro2::Span,
    value_span: proc_macro2::Span,
    named: bool,
) -> TokenStream {
    let check = |ty, serde, named_serde: &Option<syn::Type>, span: proc_macro2::Span| match named_serde {
        Some(s) => named.then(|| serde_check(ty, serde, s.span())),
        None => Some(serde_check(ty, serde, span)),
    };
    let key_check = check(&types.key, &types.key_serde, key_serde, key_span);
    let value_check = check(&types.value, &types.value_serde, value_serde, value_span);
    quote!(#key_check #value_check)
}

/// Checks that `serde` (de)serializes `ty`, spanned on `span`.
fn serde_check(ty: &TokenStream, serde: &TokenStream, span: proc_macro2::Span) -> TokenStream {
    quote_spanned!(span=> const _: () = ::streams_runtime::__private::assert_serde::<#ty, #serde>();)
}

/// The `ProcessorInput` marker of Processor API node `node` of type `ty`, declared in
/// `markers`: its impl checks once that the processor accepts what its first parent produces
/// (`parent`, mentioned at `edge`; rustc reports a mismatch at the processor's type, pointing at
/// its `input = ..`), so a mismatch is one error rather than one more from the graph's type.
fn processor_input(
    markers: &mut Vec<TokenStream>,
    node: usize,
    ty: &syn::Type,
    edge: proc_macro2::Span,
    parent: &NodeDef,
) -> TokenStream {
    let (key, value) = output_types(parent).expect("parents are never sinks");
    let marker = format_ident!("__ProcessorInput{}", node, span = proc_macro2::Span::mixed_site());
    let rt = quote!(::streams_runtime::__private);
    let processor = quote_spanned!(edge=> type Processor = #ty;);
    markers.push(quote! {
        struct #marker;
        impl #rt::ProcessorInput for #marker {
            type Key = #key;
            type Value = #value;
            #processor
        }
    });
    quote!(#marker)
}

/// The serde of a source's or sink's key or value (`part`) in the graph. A serde the topology
/// names is `Checked<M>` over a marker `M` declared in `markers`, whose impl checks it once,
/// spanned on it, so a wrong serde is one error rather than one more from the graph's type. A
/// default serde is `SerdeOf<T>`, spanned on `span` (a type without one fails wherever it is
/// named: the graph would hold a serde it cannot make).
pub(super) fn checked_serde(
    markers: &mut Vec<TokenStream>,
    node: usize,
    part: &str,
    ty: &TokenStream,
    serde: &Option<syn::Type>,
    span: proc_macro2::Span,
) -> TokenStream {
    let Some(serde) = serde else {
        return serde_or_default(&None, ty, span);
    };
    let marker = format_ident!("__Serde{}{}", part, node, span = proc_macro2::Span::mixed_site());
    let serde = quote_spanned!(serde.span()=> #serde);
    let rt = quote!(::streams_runtime::__private);
    markers.push(quote! {
        struct #marker;
        impl #rt::CheckedSerde for #marker {
            type Type = #ty;
            type Serde = #serde;
        }
    });
    quote!(#rt::Checked<#marker>)
}

/// The index of processor `p`'s `#[store]` field bound to store `s` if it has one of the store's
/// kind, else `usize::MAX` (a const expression: a field of another kind is
/// `check_processor_stores`'s error alone).
fn store_field_index(s: &StoreDef, p: &syn::Type) -> TokenStream {
    let (store_name, kind) = (&s.name, s.shape.kind());
    quote! {{
        let fields = <#p as ::streams_runtime::__private::ProcessorStores>::STORES;
        let i = ::streams_runtime::__private::field_index(fields, #store_name);
        if i < fields.len() && ::core::matches!(fields[i].kind, #kind) { i } else { usize::MAX }
    }}
}

/// The handle type of a `store` clause's store: from its declared types, or else the type of
/// the first processor field bound to it (`NoStoreField` if none is: `check_store_used`
/// reports that).
fn store_clause_handle(s: &StoreDef, processors: &[&syn::Type]) -> TokenStream {
    if let Some(types) = Types::store(s) {
        return types.store_handle(&s.shape);
    }
    processors
        .iter()
        .rev()
        .fold(quote!(::streams_runtime::__private::NoStoreField), |acc, p| {
            let field = store_field_index(s, p);
            quote!(<#p as ::streams_runtime::__private::StoreFieldType<#field, #acc>>::Handle)
        })
}

/// Generates everything for a topology that passed its checks.
pub fn expand(def: &TopologyDef, wiring: &Wiring) -> TokenStream {
    let rt = quote!(::streams_runtime::__private);
    let name = &def.name;
    let name_str = name.to_string();
    let nodes = &def.nodes;

    // --- compile-time checks spanned on the user's tokens ---
    let mut checks = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        match &n.kind {
            NodeKind::Source(s) => {
                // Named serdes are checked where the graph declares them (`checked_serde`).
                let types = Types::source(s);
                let (k, v) = (&types.key, &types.value);
                let serdes = (&s.key_serde, &s.value_serde);
                checks.push(serde_checks(&types, serdes, s.key.span(), s.value.span(), false));
                if let Some(te) = &s.timestamp_extractor {
                    checks.push(
                        quote_spanned!(te.span()=> const _: () = ::streams_runtime::__private::assert_timestamp_extractor::<#te, #k, #v>();),
                    );
                }
            }
            NodeKind::Processor(p) => {
                let ty = &p.ty;
                checks.push(
                    quote_spanned!(ty.span()=> const _: () = ::streams_runtime::__private::assert_processor::<#ty>();),
                );
                // The first parent's records are checked by `processor_input`.
                for (k, &parent) in wiring.parents[i].iter().enumerate().skip(1) {
                    let (pk, pv) = output_types(&nodes[parent]).expect("parents are never sinks");
                    let edge = n.parents[k].span();
                    checks.push(quote_spanned!(edge=>
                        const _: () = ::streams_runtime::__private::assert_flows_into::<#pk, <#ty as ::streams_runtime::__private::ProcessorSpec>::KeyIn>();
                        const _: () = ::streams_runtime::__private::assert_flows_into::<#pv, <#ty as ::streams_runtime::__private::ProcessorSpec>::ValueIn>();
                    ));
                }
                checks.push(quote_spanned!(ty.span()=>
                    const _: () = ::streams_runtime::__private::check_processor_stores(#name_str, ::core::stringify!(#ty), <#ty as ::streams_runtime::__private::ProcessorStores>::STORES, STORE_DECLS);
                ));
            }
            NodeKind::Sink(s) => {
                let types = Types::sink(def, wiring, i, s);
                let (k, v) = (&types.key, &types.value);
                for (idx, &parent) in wiring.parents[i].iter().enumerate().skip(1) {
                    let (pk, pv) = output_types(&nodes[parent]).expect("parents are never sinks");
                    let edge = n.parents[idx].span();
                    checks.push(quote_spanned!(edge=>
                        const _: () = ::streams_runtime::__private::assert_flows_into::<#pk, #k>();
                        const _: () = ::streams_runtime::__private::assert_flows_into::<#pv, #v>();
                    ));
                }
                let serdes = (&s.key_serde, &s.value_serde);
                checks.push(serde_checks(&types, serdes, n.name.span(), n.name.span(), false));
                if let Some(part) = &s.partitioner {
                    checks
                        .push(quote_spanned!(part.span()=> const _: () = ::streams_runtime::__private::assert_partitioner::<#part, #k, #v>();));
                }
            }
            NodeKind::Op(OpDef {
                op: Op::Process(ty), ..
            }) => {
                checks.push(
                    quote_spanned!(ty.span()=> const _: () = ::streams_runtime::__private::assert_processor::<#ty>();),
                );
                checks.push(quote_spanned!(ty.span()=>
                    const _: () = ::streams_runtime::__private::check_processor_stores(#name_str, ::core::stringify!(#ty), <#ty as ::streams_runtime::__private::ProcessorStores>::STORES, STORE_DECLS);
                ));
            }
            NodeKind::Op(_) => {}
        }
    }
    let processors: Vec<&syn::Type> = nodes
        .iter()
        .filter_map(|n| match &n.kind {
            NodeKind::Processor(p) => Some(&p.ty),
            NodeKind::Op(OpDef {
                op: Op::Process(ty), ..
            }) => Some(ty),
            _ => None,
        })
        .collect();
    // A store declared `persistent: true` needs the runtime's RocksDB: without its feature, a
    // compile error at the store's name rather than a failure when the store opens (undeclared,
    // a store is then in memory).
    for s in def.stores.iter().filter(|s| s.persistent == Some(true)) {
        let store_name = &s.name;
        checks.push(quote_spanned!(store_name.span()=>
            const _: () = ::streams_runtime::__private::check_persistent_store(#store_name);
        ));
    }
    // Stores the DSL creates are checked where they are made (their types are inferred).
    for s in def.stores.iter().filter(|s| !s.dsl) {
        if let Some(types) = Types::store(s) {
            let serdes = (&s.key_serde, &s.value_serde);
            checks.push(serde_checks(&types, serdes, s.key.span(), s.value.span(), true));
        }
        let store_name = &s.name;
        let ident = &s.ident;
        checks.push(quote_spanned!(ident.span()=>
            const _: () = ::streams_runtime::__private::check_store_used(#name_str, #store_name, &[#(<#processors as ::streams_runtime::__private::ProcessorStores>::STORES),*], STORE_DECLS);
        ));
        let handle = store_clause_handle(s, &processors);
        for p in &processors {
            let field = store_field_index(s, p);
            checks.push(quote_spanned!(ident.span()=>
                const _: () = ::streams_runtime::__private::assert_same_store::<
                    <#p as ::streams_runtime::__private::StoreFieldType<#field, #handle>>::Handle,
                    #handle,
                >();
            ));
        }
    }
    checks.extend(def.const_checks.iter().cloned());
    let store_decls = def.stores.iter().map(|s| {
        let (n, kind) = (&s.name, s.shape.kind());
        quote!(#rt::StoreDecl { name: #n, kind: #kind })
    });

    // --- static metadata ---
    let node_specs = nodes.iter().enumerate().map(|(i, n)| {
        let node_name = n.runtime_name();
        let parents = &wiring.parents[i];
        let kind = match &n.kind {
            NodeKind::Source(s) => {
                let topics = &s.topics;
                quote!(::streams_runtime::topology::NodeSpecKind::Source { topics: &[#(#topics),*] })
            }
            NodeKind::Processor(p) => {
                let ty = &p.ty;
                quote!(::streams_runtime::topology::NodeSpecKind::Processor { stores: <#ty as #rt::ProcessorStores>::STORES })
            }
            NodeKind::Sink(s) => {
                let topic = &s.topic;
                quote!(::streams_runtime::topology::NodeSpecKind::Sink { topic: #topic, internal: false })
            }
            NodeKind::Op(op) => expand_dsl::spec_kind(def, &op.op),
        };
        quote!(::streams_runtime::topology::NodeSpec { name: #node_name, kind: #kind, parents: &[#(#parents),*] })
    });
    let source_nodes: Vec<(usize, &NodeDef)> = nodes.iter().enumerate().filter(|(_, n)| n.is_source()).collect();
    let source_specs = source_nodes.iter().map(|(_, n)| {
        let node_name = n.runtime_name();
        match &n.kind {
            NodeKind::Source(s) => {
                let (topics, global) = (&s.topics, s.global);
                quote!(::streams_runtime::topology::SourceSpec { name: #node_name, topics: &[#(#topics),*], internal: false, global: #global })
            }
            NodeKind::Op(OpDef { op: Op::RepartitionSource { topic, .. }, .. }) => {
                quote!(::streams_runtime::topology::SourceSpec { name: #node_name, topics: &[#topic], internal: true, global: false })
            }
            _ => unreachable!("source_nodes holds sources"),
        }
    });
    let store_specs = def.stores.iter().map(|s| {
        let (n, logging, timestamped) = (&s.name, s.logging, s.timestamped);
        let persistent = match s.persistent {
            Some(persistent) => quote!(#persistent),
            None => quote!(::streams_runtime::__private::PERSISTENT_BY_DEFAULT),
        };
        let caching = s.caching.unwrap_or(false);
        let kind = s.shape.kind();
        let (retention_ms, window_size_ms, retain_duplicates) = match &s.shape {
            StoreShape::KeyValue => (quote!(0), quote!(0), false),
            StoreShape::Window {
                retention_ms,
                window_size_ms,
                retain_duplicates,
            } => (retention_ms.clone(), window_size_ms.clone(), *retain_duplicates),
            StoreShape::Session { retention_ms } => (retention_ms.clone(), quote!(0), false),
            StoreShape::Versioned { history_retention_ms } => (history_retention_ms.clone(), quote!(0), false),
        };
        quote!(::streams_runtime::state::StoreSpec {
            name: #n,
            kind: #kind,
            persistent: #persistent,
            logging: #logging,
            timestamped: #timestamped,
            retention_ms: #retention_ms,
            window_size_ms: #window_size_ms,
            retain_duplicates: #retain_duplicates,
            caching: #caching,
        })
    });

    // --- typed accessors for the test driver ---
    let mut accessors = Vec::new();
    let mut taken = std::collections::HashSet::new();
    for (index, (_, n)) in source_nodes.iter().enumerate() {
        let NodeKind::Source(s) = &n.kind else { continue };
        let Types {
            key: k,
            value: v,
            key_serde: ks,
            value_serde: vs,
        } = Types::source(s);
        let f = format_ident!("source_{}", snake(&n.name));
        taken.insert(f.to_string());
        let topic = &s.topics[0];
        let doc = format!("The source `{}` (topic \"{}\").", n.name, topic.value());
        accessors.push(quote! {
            #[doc = #doc]
            pub const fn #f() -> ::streams_runtime::topology::SourceRef<#k, #v, #ks, #vs> {
                ::streams_runtime::topology::SourceRef::new(#index, #topic)
            }
        });
    }
    for (i, n) in nodes.iter().enumerate() {
        let NodeKind::Sink(s) = &n.kind else { continue };
        let Types {
            key: k,
            value: v,
            key_serde: ks,
            value_serde: vs,
        } = Types::sink(def, wiring, i, s);
        let f = format_ident!("sink_{}", snake(&n.name));
        taken.insert(f.to_string());
        let topic = &s.topic;
        let doc = format!("The sink `{}` (topic \"{}\").", n.name, topic.value());
        accessors.push(quote! {
            #[doc = #doc]
            pub const fn #f() -> ::streams_runtime::topology::SinkRef<#k, #v, #ks, #vs> {
                ::streams_runtime::topology::SinkRef::new(#topic)
            }
        });
    }
    for (index, s) in def.stores.iter().enumerate() {
        // A DSL store without declared types gets its accessor from `record_types::dsl_accessors`.
        if s.dsl && s.key.is_none() {
            continue;
        }
        let f = format_ident!("store_{}", snake(&s.ident));
        taken.insert(f.to_string());
        let handle = store_clause_handle(s, &processors);
        let doc = format!("The store \"{}\".", s.name.value());
        accessors.push(quote! {
            #[doc = #doc]
            pub const fn #f() -> ::streams_runtime::topology::StoreRef<#handle> {
                ::streams_runtime::topology::StoreRef::new(#index)
            }
        });
    }

    // --- the operators, typed roots first from their parents' witnesses ---
    let source_index = |ident: &syn::Ident| {
        source_nodes
            .iter()
            .position(|(_, n)| n.name == *ident)
            .expect("a repartition sink names a source of this topology")
    };
    let order = forward_order(def, wiring);
    let types = record_types::named_types(def, wiring, &order);
    let (dsl_accessors, type_checks) = record_types::dsl_accessors(def, wiring, &order, &types, &mut taken);
    let mut markers = Vec::new();
    accessors.extend(dsl_accessors);
    let mut forward = Vec::new();
    for &i in &order {
        let n = &nodes[i];
        let w = expand_dsl::witness(i);
        let span = n.name.span();
        match &n.kind {
            NodeKind::Source(s) => {
                let (k, v) = (&s.key, &s.value);
                forward.push(quote_spanned!(span=> let #w = #rt::dsl::Witness::<#k, #v>::new();));
            }
            NodeKind::Processor(p) => {
                let ty = &p.ty;
                forward.push(quote_spanned!(span=>
                    let #w = #rt::dsl::Witness::<<#ty as #rt::ProcessorSpec>::KeyOut, <#ty as #rt::ProcessorSpec>::ValueOut>::new();
                ));
            }
            NodeKind::Sink(_) => {}
            NodeKind::Op(_) => forward.push(expand_dsl::forward(def, wiring, i, source_index, &types, &mut markers)),
        }
    }

    // --- the graph, built leaves first ---
    let st = expand_dsl::stores_param();
    let mut uses_left: Vec<usize> = wiring.parents.iter().map(Vec::len).collect();
    let mut node_lets: Vec<TokenStream> = vec![TokenStream::new(); nodes.len()];
    for &i in &wiring.leaves_first {
        let n = &nodes[i];
        let v = var(i);
        let node_name = n.name.to_string();
        let children: Vec<TokenStream> = wiring.children[i]
            .iter()
            .map(|&c| {
                let cv = var(c);
                uses_left[c] -= 1;
                // Spanned on the child's mention of this parent: a type mismatch shows there.
                let edge = wiring.parents[c]
                    .iter()
                    .position(|&p| p == i)
                    .map_or(n.name.span(), |k| nodes[c].parents[k].span());
                if wiring.parents[c].len() > 1 && uses_left[c] > 0 {
                    quote_spanned!(edge=> ::core::clone::Clone::clone(&#cv))
                } else {
                    quote_spanned!(edge=> #cv)
                }
            })
            .collect();
        let children = chunked::tuple(children, n.name.span());
        let id = i as u32;
        let span = n.name.span();
        let rt = quote_spanned!(span=> ::streams_runtime::__private);
        let node = match &n.kind {
            NodeKind::Source(s) => {
                let (k, vt) = (&s.key, &s.value);
                let ks = checked_serde(&mut markers, i, "Key", &quote!(#k), &s.key_serde, k.span());
                let vs = checked_serde(&mut markers, i, "Value", &quote!(#vt), &s.value_serde, vt.span());
                let te = s.timestamp_extractor.as_ref().map_or_else(
                    || quote_spanned!(span=> ::streams_runtime::__private::RecordTimestamp),
                    ToTokens::to_token_stream,
                );
                quote_spanned!(span=> #rt::SourceNode::<#k, #vt, #ks, #vs, #te, _>::new(#node_name, #children))
            }
            NodeKind::Processor(p) => {
                let ty = &p.ty;
                let input = processor_input(&mut markers, i, ty, n.parents[0].span(), &nodes[wiring.parents[i][0]]);
                quote_spanned!(span=> #rt::ProcessorNode::<#input, _>::new(#node_name, #id, <#ty as #rt::ProcessorStores>::create(#st)?, #children))
            }
            NodeKind::Sink(s) => {
                let Types { key, value, .. } = Types::sink(def, wiring, i, s);
                let ks = checked_serde(&mut markers, i, "Key", &key, &s.key_serde, span);
                let vs = checked_serde(&mut markers, i, "Value", &value, &s.value_serde, span);
                let part = s.partitioner.as_ref().map_or_else(
                    || quote_spanned!(span=> ::streams_runtime::__private::DefaultPartitioner),
                    ToTokens::to_token_stream,
                );
                let topic = &s.topic;
                quote_spanned!(span=> #rt::SinkNode::<#ks, #vs, #part>::new(#node_name, #topic))
            }
            NodeKind::Op(_) => expand_dsl::build(def, wiring, i, children),
        };
        let node = if wiring.parents[i].len() > 1 {
            quote_spanned!(span=> #rt::Shared::new(#node_name, #node))
        } else {
            node
        };
        node_lets[i] = quote_spanned!(span=> let #v = #node;);
    }
    // A task builds only the wiring components of its sub-topology (the test driver builds all):
    // each component's sources are `Some` there and `None` elsewhere.
    let nodes_param = syn::Ident::new("nodes", proc_macro2::Span::mixed_site());
    let mut build = Vec::new();
    for component in wiring_components(wiring) {
        let first = component[0];
        let lets = wiring
            .leaves_first
            .iter()
            .filter(|i| component.contains(i))
            .map(|&i| &node_lets[i]);
        let sources: Vec<syn::Ident> = component
            .iter()
            .filter(|&&i| nodes[i].is_source())
            .map(|&i| var(i))
            .collect();
        let nones = sources.iter().map(|_| quote!(::core::option::Option::None));
        build.push(quote! {
            let (#(#sources,)*) = if #nodes_param.contains(#first) {
                #(#lets)*
                (#(::core::option::Option::Some(#sources),)*)
            } else {
                (#(#nones,)*)
            };
        });
    }
    let source_vars = source_nodes
        .iter()
        .map(|(i, n)| {
            let v = var(*i);
            quote_spanned!(n.name.span()=> #v)
        })
        .collect();
    let sources = chunked::tuple(source_vars, name.span());

    // Spanned on the topology's name: wiring errors that surface in the graph's type show there.
    let build_fn = quote_spanned! {name.span()=>
        fn build(
            &self,
            #st: &::streams_runtime::__private::StoreSet,
            #nodes_param: ::streams_runtime::topology::NodeSet<'_>,
        ) -> ::core::result::Result<impl ::streams_runtime::__private::TaskGraph + use<>, ::streams_runtime::error::StreamsError> {
            let _ = #st;
            #(#markers)*
            #(#forward)*
            #(#type_checks)*
            #(#build)*
            ::core::result::Result::Ok(#sources)
        }
    };
    let topology_impl = quote_spanned! {name.span()=>
        impl ::streams_runtime::topology::Topology for #name {
            const NAME: &'static str = #name_str;
            const NODES: &'static [::streams_runtime::topology::NodeSpec] = &[#(#node_specs),*];
            const SOURCES: &'static [::streams_runtime::topology::SourceSpec] = &[#(#source_specs),*];
            const STORES: &'static [::streams_runtime::state::StoreSpec] = &[#(#store_specs),*];

            #build_fn
        }
    };
    let consts = &def.consts;
    let attrs = &def.attrs;
    let vis = &def.vis;
    let type_doc = if attrs.iter().any(|a| a.path().is_ident("doc")) {
        quote!()
    } else {
        let doc = format!("The topology `{name}`, generated by `topology!`.");
        quote!(#[doc = #doc])
    };
    quote! {
        #(#attrs)*
        #type_doc
        #[derive(Debug, Clone, Copy, Default)]
        #vis struct #name;

        const _: () = {
            const STORE_DECLS: &[#rt::StoreDecl] = &[#(#store_decls),*];
            #(#checks)*
        };

        impl #name {
            #(#consts)*
            #(#accessors)*
        }

        #topology_impl
    }
}

/// The connected components of the wiring (repartition topics do not connect), each as its
/// node indices in ascending order, ordered by their first node.
fn wiring_components(wiring: &Wiring) -> Vec<Vec<usize>> {
    let n = wiring.parents.len();
    let mut component: Vec<Option<usize>> = vec![None; n];
    let mut components: Vec<Vec<usize>> = Vec::new();
    for start in 0..n {
        if component[start].is_some() {
            continue;
        }
        let id = components.len();
        let mut members = Vec::new();
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            if component[i].is_some() {
                continue;
            }
            component[i] = Some(id);
            members.push(i);
            stack.extend(wiring.parents[i].iter().chain(&wiring.children[i]).copied());
        }
        members.sort_unstable();
        components.push(members);
    }
    components
}

/// Node indices in an order where every node comes after its parents, and a repartition
/// topic's source after the sink that writes it (its records' types come from there).
fn forward_order(def: &TopologyDef, wiring: &Wiring) -> Vec<usize> {
    fn visit(i: usize, def: &TopologyDef, wiring: &Wiring, done: &mut [bool], out: &mut Vec<usize>) {
        if std::mem::replace(&mut done[i], true) {
            return;
        }
        for &p in &wiring.parents[i] {
            visit(p, def, wiring, done, out);
        }
        // A join's witness needs the other side's (typed by a node that is not its parent).
        if let NodeKind::Op(OpDef { op, .. }) = &def.nodes[i].kind
            && let Some(read) = op.reads_node()
            && let Some(t) = def.nodes.iter().position(|n| n.name == *read)
        {
            visit(t, def, wiring, done, out);
        }
        if let NodeKind::Op(OpDef {
            op: Op::RepartitionSource { .. },
            ..
        }) = &def.nodes[i].kind
        {
            let writer = def.nodes.iter().position(|n| {
                matches!(&n.kind, NodeKind::Op(OpDef { op: Op::RepartitionSink { source, .. }, .. }) if *source == def.nodes[i].name)
            });
            if let Some(w) = writer {
                visit(w, def, wiring, done, out);
            }
        }
        out.push(i);
    }
    let mut done = vec![false; def.nodes.len()];
    let mut out = Vec::new();
    for i in 0..def.nodes.len() {
        visit(i, def, wiring, &mut done, &mut out);
    }
    out
}

/// On errors, still declare the type so uses elsewhere do not cascade into more errors.
pub fn declare_only(def: &TopologyDef) -> TokenStream {
    let (attrs, vis, name) = (&def.attrs, &def.vis, &def.name);
    quote! {
        #(#attrs)*
        #[derive(Debug, Clone, Copy, Default)]
        #vis struct #name;
    }
}
