//! Aggregations of a grouped stream (Java's `KGroupedStream`) or a grouped table
//! (`KGroupedTable`) into a table backed by a key-value store.

use super::{AggKind, Call, Grouping, Handle, Lowering, Op, Operator, Scope, Serdes, StoreDef, StoreShape, Table};
use syn::{Ident, LitStr};

pub(super) const OPERATORS: &[Operator] = &[
    Operator::new(&["count"], Lowering::GroupedStream(count)),
    Operator::new(&["reduce"], Lowering::GroupedStream(reduce)),
    Operator::new(&["aggregate"], Lowering::GroupedStream(aggregate)),
    Operator::new(&["count"], Lowering::GroupedTable(table_count)),
    Operator::new(&["reduce"], Lowering::GroupedTable(table_reduce)),
    Operator::new(&["aggregate"], Lowering::GroupedTable(table_aggregate)),
];

fn count(scope: &mut Scope<'_>, call: Call, grouping: Grouping) -> Option<Handle> {
    scope.aggregate(call, AggKind::Count, grouping)
}

fn reduce(scope: &mut Scope<'_>, mut call: Call, grouping: Grouping) -> Option<Handle> {
    let f = scope.required_closure(&mut call.args, 0, "reducer", 2, "|aggregate, value| new_aggregate")?;
    scope.aggregate(call, AggKind::Reduce(f), grouping)
}

fn aggregate(scope: &mut Scope<'_>, mut call: Call, grouping: Grouping) -> Option<Handle> {
    let init = scope.required_closure(&mut call.args, 0, "initializer", 0, "|| initial_aggregate")?;
    let f = scope.required_closure(
        &mut call.args,
        1,
        "aggregator",
        3,
        "|key, value, aggregate| new_aggregate",
    )?;
    scope.aggregate(call, AggKind::Aggregate(init, f), grouping)
}

fn table_count(scope: &mut Scope<'_>, call: Call, grouping: Grouping) -> Option<Handle> {
    scope.aggregate(call, AggKind::TableCount, grouping)
}

fn table_reduce(scope: &mut Scope<'_>, mut call: Call, grouping: Grouping) -> Option<Handle> {
    let adder = scope.required_closure(&mut call.args, 0, "adder", 2, "|aggregate, value| new_aggregate")?;
    let Some(sub) = call.args.closure(1, "subtractor") else {
        scope.cx.error_spanned_by(
            &call.method,
            "reducing a grouped table needs a subtractor as well as an adder: reduce(|agg, v| .., |agg, v| ..) — an update removes the old value from its group before adding the new one",
        );
        return None;
    };
    scope.aggregate(call, AggKind::TableReduce(adder, sub), grouping)
}

fn table_aggregate(scope: &mut Scope<'_>, mut call: Call, grouping: Grouping) -> Option<Handle> {
    let init = scope.required_closure(&mut call.args, 0, "initializer", 0, "|| initial_aggregate")?;
    let adder = scope.required_closure(&mut call.args, 1, "adder", 3, "|key, value, aggregate| new_aggregate")?;
    let Some(sub) = call.args.closure(2, "subtractor") else {
        scope.cx.error_spanned_by(
            &call.method,
            "aggregating a grouped table needs a subtractor: aggregate(|| init, |k, v, agg| .., |k, v, agg| ..) — an update removes the old value from its group before adding the new one",
        );
        return None;
    };
    scope.aggregate(call, AggKind::TableAggregate(init, adder, sub), grouping)
}

impl Scope<'_> {
    /// An aggregation of a grouped stream or table into its store, after the repartition topic
    /// the grouping needs (named after the store, as in Java).
    fn aggregate(&mut self, call: Call, kind: AggKind, grouping: Grouping) -> Option<Handle> {
        let Call {
            method,
            mut args,
            node: mut parent,
        } = call;
        let method = &method;
        let Grouping {
            method: grouped_by,
            serdes: group_serdes,
            repartition,
            table,
        } = grouping;
        let store_name = args.string("store");
        let queryable = store_name.is_some();
        let (persistent, logging) = (args.boolean("persistent"), args.boolean("logging"));
        let caching = args.boolean("caching");
        let explicit_value_serde = args.ty("value_serde");
        // Options Java sets through `Materialized` (a store name, persistence, logging, caching,
        // serdes).
        let materialized =
            persistent.is_some() || logging.is_some() || caching.is_some() || explicit_value_serde.is_some();
        let logging = logging.unwrap_or(true);
        // A reduction's aggregate has the grouped values' type, so it inherits their serde.
        let value_serde = explicit_value_serde.or_else(|| match kind {
            AggKind::Reduce(_) | AggKind::TableReduce(..) => group_serdes.value.clone(),
            _ => None,
        });
        args.finish(
            self.cx,
            &format!("{method}(.., store: \"name\", persistent: bool, logging: bool, caching: bool, value_serde: ..)"),
        );
        // Java's order of generated names. A grouped stream (`KGroupedStreamImpl`): the store
        // (after one burnt name for `count(Materialized)` without a store name), the
        // aggregation, the repartition topic's nodes. A grouped table (`KGroupedTableImpl`): the
        // store (`KTABLE-AGGREGATE-STATE-STORE` for reduce too), the repartition sink and source
        // (always generated names), the aggregation.
        let generated_store = |scope: &mut Self, prefix: &str| {
            LitStr::new(&scope.next_name(&format!("{prefix}-STATE-STORE")), method.span())
        };
        let (store_lit, display) = if table {
            let store_lit = store_name.unwrap_or_else(|| generated_store(self, "KTABLE-AGGREGATE"));
            if repartition {
                let topic = format!("{}-repartition", store_lit.value());
                let sink = self.next_name("KSTREAM-SINK");
                let source = self.next_name("KSTREAM-SOURCE");
                parent = self.repartition_nodes(
                    &grouped_by,
                    parent,
                    topic,
                    group_serdes.clone(),
                    super::Carried::Changes,
                    sink,
                    source,
                );
            }
            (store_lit, self.next_name(kind.prefix()))
        } else {
            if matches!(kind, AggKind::Count) && store_name.is_none() && materialized {
                self.next_name("KSTREAM-AGGREGATE-STATE-STORE");
            }
            let store_lit = store_name.unwrap_or_else(|| generated_store(self, kind.prefix()));
            let display = self.next_name(kind.prefix());
            if repartition {
                parent = self.repartition(&grouped_by, parent, &store_lit.value(), group_serdes.clone(), false);
            }
            (store_lit, display)
        };
        let store = self.add_store(StoreDef {
            ident: Ident::new(&format!("__dsl_store_{}", self.stores.len()), method.span()),
            name: store_lit,
            shape: StoreShape::KeyValue,
            key: None,
            value: None,
            dsl: true,
            queryable,
            key_serde: group_serdes.key.clone(),
            value_serde: value_serde.clone(),
            persistent,
            logging,
            timestamped: true,
            // Java's aggregations cache unless `Materialized.withCachingDisabled()`.
            caching: Some(caching.unwrap_or(true)),
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
        Handle::table(
            node.clone(),
            Table {
                serdes,
                windowed: None,
                store: Some(store),
                versioned: false,
                stored: Some(node),
                getters: Vec::new(),
            },
        )
    }
}
