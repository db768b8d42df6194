//! Tables (Java's `KTable`): the `table` and `global_table` clauses, and the operators on a
//! table.

use super::args::arity;
use super::stream::key_only;
use super::{
    Call, Dur, Grouping, Handle, Kind, Lowering, NodeDef, NodeKind, Op, Operator, Scope, Serdes, SourceDef, StoreDef,
    StoreShape, Stream, Table,
};
use syn::spanned::Spanned;
use syn::{Ident, LitStr, Type};

pub(super) const OPERATORS: &[Operator] = &[
    Operator::new(&["filter", "filter_not"], Lowering::Table(filter)),
    Operator::new(&["map_values"], Lowering::Table(map_values)),
    Operator::new(&["to_stream"], Lowering::Table(to_stream)),
    Operator::new(&["group_by"], Lowering::Table(group_by)),
];

impl Scope<'_> {
    /// A `table` or `global_table` clause: a source of nullable keys and values, and the
    /// materializing table source over a store.
    pub fn add_table(
        &mut self,
        ident: Ident,
        mut source: SourceDef,
        store: Option<LitStr>,
        persistent: Option<bool>,
        caching: Option<bool>,
        versioned: Option<Dur>,
    ) {
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
        // A table named with `store:` is materialized, and so cached unless told otherwise (Java's
        // `Materialized.as`); a versioned or global one is not.
        let caching = match caching {
            Some(caching) => Some(caching),
            None if versioned.is_some() || global => Some(false),
            None if store.is_some() => Some(true),
            None => None,
        };
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
        let shape = match &versioned {
            Some(history) => StoreShape::Versioned {
                history_retention_ms: history.millis_expr(),
            },
            None => StoreShape::KeyValue,
        };
        let store = self.add_store(StoreDef {
            ident: ident.clone(),
            name: store_name,
            shape,
            key: Some(key.clone()),
            value: Some(value.clone()),
            dsl: true,
            queryable: true,
            key_serde: serdes.key.clone(),
            value_serde: serdes.value.clone(),
            persistent,
            // A global table's topic is its changelog.
            logging: !global,
            // A versioned store keeps its versions' timestamps itself.
            timestamped: versioned.is_none(),
            caching,
        });
        let node = self.add_op(
            &ident,
            vec![ident.clone()],
            Op::TableSource {
                store,
                key,
                value,
                serdes: serdes.clone(),
                versioned: versioned.is_some(),
            },
        );
        let table = Table {
            serdes,
            windowed: None,
            store: Some(store),
            versioned: versioned.is_some(),
            stored: Some(node.clone()),
            getters: Vec::new(),
        };
        let kind = if global {
            Kind::GlobalTable(table)
        } else {
            Kind::Table(table)
        };
        self.bind(&ident, Handle { node, kind });
    }
}

fn filter(scope: &mut Scope<'_>, mut call: Call, table: Table) -> Option<Handle> {
    let f = scope.required_closure(&mut call.args, 0, "predicate", 2, "|key, value| bool")?;
    call.args.finish(scope.cx, "filter(|key, value| bool)");
    let keep = call.method == "filter";
    let node = scope.add_op(&call.method, call.parents(), Op::TableFilter { f, keep });
    let mut getters = table.getters.clone();
    getters.push(node.clone());
    Handle::table(node, Table { getters, ..table })
}

fn map_values(scope: &mut Scope<'_>, mut call: Call, table: Table) -> Option<Handle> {
    let f = scope.required_closure(&mut call.args, 0, "mapper", 0, "|value| new_value")?;
    call.args.finish(scope.cx, "map_values(|value| new_value)");
    let with_key = arity(&f) == Some(2);
    let node = scope.add_op(&call.method, call.parents(), Op::TableMapValues { f, with_key });
    Handle::table(
        node.clone(),
        Table {
            serdes: key_only(&table.serdes),
            getters: table.getters.iter().cloned().chain([node]).collect(),
            ..table
        },
    )
}

fn to_stream(scope: &mut Scope<'_>, mut call: Call, table: Table) -> Option<Handle> {
    call.args.finish(scope.cx, "to_stream()");
    // The stream's values are nullable: a value serde applies through `OptionSerde`.
    let serdes = Serdes {
        key: table.serdes.key,
        value: table
            .serdes
            .value
            .as_ref()
            .map(|v| -> Type { syn::parse_quote_spanned!(v.span()=> ::streams_runtime::serde::OptionSerde<#v>) }),
    };
    let node = scope.add_op(&call.method, vec![call.node], Op::ToStream);
    Handle::stream_of(
        node,
        Stream {
            repartition: false,
            serdes,
            windowed_key: table.windowed.is_some(),
        },
    )
}

fn group_by(scope: &mut Scope<'_>, mut call: Call, table: Table) -> Option<Handle> {
    let f = scope.required_closure(&mut call.args, 0, "selector", 2, "|key, value| (new_key, new_value)")?;
    let serdes = call.args.serdes();
    call.args.finish(
        scope.cx,
        "group_by(|key, value| (new_key, new_value), key_serde: .., value_serde: ..)",
    );
    // The grouping needs old values, which materializes the source table (Java's
    // `enableSendingOldValues(true)`).
    if let Some(store) = table.store {
        scope.materialize(store);
    }
    let node = scope.add_op(&call.method, call.parents(), Op::TableGroupBy(f));
    Handle::grouped(
        node,
        Grouping {
            method: call.method,
            serdes,
            repartition: true,
            table: true,
        },
    )
}
