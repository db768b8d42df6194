//! What a DSL node does: the operators the lowering produces and code generation reads.

use proc_macro2::TokenStream;
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
    /// The merge of a join's two sides (their types agree by construction; a key mismatch is
    /// reported at the join).
    JoinMerge,
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
    /// Writes the internal topic read by the node `source`.
    RepartitionSink {
        source: Ident,
        topic: String,
        serdes: Serdes,
        carried: Carried,
    },
    RepartitionSource {
        topic: String,
        serdes: Serdes,
        carried: Carried,
    },
    /// Materializes a `table`'s topic in the store at `store` (a versioned store if `versioned`).
    TableSource {
        store: usize,
        key: Type,
        value: Type,
        serdes: Serdes,
        versioned: bool,
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
    /// A windowed aggregation into the window or session store at `store`.
    WindowedAggregate {
        kind: WindowedAggKind,
        store: usize,
        /// The grouped key's serde (the store's inner key serde) and the aggregate's.
        serdes: Serdes,
        /// The grouped values' serde, as for `Aggregate`.
        grouped_values: Box<Option<Type>>,
        /// The windows: a const expression (`Topology::__WINDOWS_0`).
        windows: TokenStream,
        /// Emit each window's final result when it closes, not every update.
        on_window_close: bool,
    },
    /// A stream-table join reading the table of node `table` from the store at `store`; with a
    /// key mapper, a join with a global table.
    StreamTableJoin {
        table: Ident,
        /// The table's name as the user wrote it (key mismatches are reported there).
        other: Ident,
        mapper: Option<Expr>,
        store: usize,
        /// The table's store is versioned.
        versioned: bool,
        /// The node whose rows the store holds, and the `filter`/`map_values` nodes between it
        /// and the joined table (applied to each row read).
        stored: Ident,
        getters: Vec<Ident>,
        left: bool,
        /// The joiner takes the key first.
        with_key: bool,
        f: Expr,
        /// The serdes the table's store was declared with.
        store_serdes: Serdes,
        /// The stream values' serde, if inherited or named (it tells which values are null).
        values: Box<Option<Type>>,
    },
    /// Buffers one side of a stream-stream join in its window store.
    JoinWindow {
        store: usize,
        serdes: Serdes,
    },
    /// The left side of a stream-stream join (which holds the join's definition).
    StreamJoin(Box<super::join::StreamJoinDef>),
    /// The right side of the stream-stream join whose left side is the node `left_join`.
    StreamJoinRight {
        left_join: Ident,
    },
    /// The left side of a table-table join (which holds the join's definition).
    TableJoin(Box<super::join::TableJoinDef>),
    /// The right side of the table-table join whose left side is the node `left_join`.
    TableJoinRight {
        left_join: Ident,
    },
    /// A foreign-key join's subscription of left rows (`left`: a left join) to the foreign keys
    /// `extractor` picks; `right_table` is the right table's node (its key type is the foreign key).
    FkSubscribe {
        extractor: Expr,
        left: bool,
        right_table: Ident,
        /// The left table's value serde (it hashes left values).
        hash_serde: Option<Type>,
        /// The foreign key's serde (the right table's key serde).
        foreign_serde: Option<Type>,
    },
    /// Keeps subscriptions in the store at `store`.
    FkReceive {
        store: usize,
        /// The foreign key's and the left key's serdes.
        serdes: Serdes,
    },
    /// Answers subscriptions from the right table's store.
    FkSubscriptionJoin {
        right_table: Ident,
        right_store: usize,
        right_versioned: bool,
        right_serdes: Serdes,
        /// The node whose rows the right store holds and the operators between it and the
        /// right table (Java's value getter).
        right_stored: Ident,
        right_getters: Vec<Ident>,
    },
    /// Answers the subscribers of a changed right row; `receive` is the receiving node (its
    /// witness carries the left key type).
    FkForeignJoin {
        store: usize,
        receive: Ident,
        /// The foreign key's and the left key's serdes.
        serdes: Serdes,
    },
    /// Joins answers with the current left rows.
    FkResolve {
        left_table: Ident,
        left_store: usize,
        left_versioned: bool,
        left_serdes: Serdes,
        /// The node whose rows the left store holds and the operators between it and the left
        /// table.
        left_stored: Ident,
        left_getters: Vec<Ident>,
        /// The left table's value serde (it hashes the current left value).
        hash_serde: Option<Type>,
        f: Expr,
        left: bool,
        with_key: bool,
    },
    /// The joined table's changes.
    FkOutput,
    /// `suppress` with its buffer in the key-value store at `store`.
    Suppress {
        store: usize,
        /// `until_window_closes` (else `until_time_limit`).
        window_closes: bool,
        /// How long updates wait: the windows' grace or the time limit (an `i64` const expression).
        wait_ms: TokenStream,
        /// A `BufferConfig` expression.
        buffer: TokenStream,
        /// The table's inherited serdes.
        serdes: Serdes,
    },
}

/// What an internal topic carries, which decides its value serde.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Carried {
    /// A stream's records (a repartition topic).
    Records,
    /// A table's changes (a grouped table's repartition topic).
    Changes,
    /// A foreign-key join's subscriptions (key: the foreign key, null kept; serdes: foreign
    /// key's and the left key's).
    Subscriptions,
    /// A foreign-key join's responses (serdes: the left key's and the right value's).
    Responses,
}

impl Carried {
    /// A stream's records or a table's changes.
    pub fn of(table: bool) -> Carried {
        if table { Carried::Changes } else { Carried::Records }
    }
}

/// The aggregation an `Op::WindowedAggregate` runs.
pub enum WindowedAggKind {
    Count,
    Reduce(Expr),
    Aggregate(Expr, Expr),
    /// Initializer, aggregator and the merger of two sessions.
    SessionAggregate(Expr, Expr, Expr),
}

impl WindowedAggKind {
    /// Java's name prefix for the aggregation node (and, with `-STATE-STORE`, its store).
    pub(super) fn prefix(&self) -> &'static str {
        match self {
            WindowedAggKind::Reduce(_) => "KSTREAM-REDUCE",
            _ => "KSTREAM-AGGREGATE",
        }
    }
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
            Op::PassThrough | Op::JoinMerge => "KSTREAM-MERGE",
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
            Op::WindowedAggregate { kind, .. } => kind.prefix(),
            Op::Suppress { .. } => "KTABLE-SUPPRESS",
            // Java names a global table join `LEFTJOIN` whatever its kind.
            Op::StreamTableJoin { left: true, .. } | Op::StreamTableJoin { mapper: Some(_), .. } => "KSTREAM-LEFTJOIN",
            Op::JoinWindow { .. } => "KSTREAM-WINDOWED",
            Op::StreamJoin(_) => "KSTREAM-JOINTHIS",
            Op::StreamJoinRight { .. } => "KSTREAM-JOINOTHER",
            Op::TableJoin(_) => "KTABLE-JOINTHIS",
            Op::FkSubscribe { .. } => "KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION",
            Op::FkReceive { .. } | Op::FkSubscriptionJoin { .. } | Op::FkForeignJoin { .. } => {
                "KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR"
            }
            Op::FkResolve { .. } => "KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-RESOLVER-PROCESSOR",
            Op::FkOutput => "KTABLE-FK-JOIN-OUTPUT",
            Op::TableJoinRight { .. } => "KTABLE-JOINOTHER",
            Op::StreamTableJoin { left: false, .. } => "KSTREAM-JOIN",
        }
    }
}

impl Op {
    /// The node (not a parent) whose witness this operator's forward pass reads: the table a
    /// stream joins, the right side of a stream-stream join, the left side it is made from.
    pub fn reads_node(&self) -> Option<&Ident> {
        match self {
            Op::StreamTableJoin { table, .. } => Some(table),
            Op::StreamJoin(def) => Some(&def.right_window),
            Op::StreamJoinRight { left_join } | Op::TableJoinRight { left_join } => Some(left_join),
            Op::TableJoin(def) => Some(&def.right_table),
            Op::FkSubscribe { right_table, .. } | Op::FkSubscriptionJoin { right_table, .. } => Some(right_table),
            Op::FkForeignJoin { receive, .. } => Some(receive),
            Op::FkResolve { left_table, .. } => Some(left_table),
            _ => None,
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
