//! What a DSL node does: the operators the lowering produces and code generation reads.

use syn::{Expr, Ident, LitStr, Type};

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
    pub(super) fn or(self, inherited: &Serdes) -> Serdes {
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
    pub(super) fn prefix(&self) -> &'static str {
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
    pub(super) fn prefix(&self) -> &'static str {
        match self {
            AggKind::Count | AggKind::Aggregate(..) => "KSTREAM-AGGREGATE",
            AggKind::Reduce(_) => "KSTREAM-REDUCE",
            AggKind::TableCount | AggKind::TableAggregate(..) => "KTABLE-AGGREGATE",
            AggKind::TableReduce(..) => "KTABLE-REDUCE",
        }
    }
}
