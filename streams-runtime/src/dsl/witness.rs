//! What `topology!` generates DSL code against (not a public API; reached through
//! `__private::dsl`). The generated `build` first walks the graph roots first, calling one
//! method per operator on its parent's [`Witness`]: the witness carries the record types, so
//! the user's closures get their parameter types from it and rustc checks them where the user
//! wrote them, and serde bounds are checked against known types (methods, not free functions,
//! so no bound can steer inference). Each returns the operator and the witness of what it
//! forwards; the graph is then assembled leaves first.
//!
//! The signatures spell out operator types in full on purpose: they are what rustc infers.
#![allow(clippy::type_complexity)]

/// Which rows a table join needs (named by generated code).
pub use super::JoinNeeds;
use super::*;
use crate::error::StreamsError;
use crate::graph::{RecordTimestamp, SinkNode, SourceNode, StreamPartitioner};
use crate::processor::ProcessorSpec;
use crate::serde::{DefaultSerde, OptionSerde, Serde};
use crate::state::{GlobalKeyValueStore, KeyValueStore, StoreSet};
use crate::window::{BufferConfig, EmitStrategy, JoinWindows, SessionWindows, WindowSpec, Windowed};
use std::marker::PhantomData;

/// The key and value types of the records leaving a node (zero-sized).
pub struct Witness<K, V>(PhantomData<fn() -> (K, V)>);

impl<K, V> Witness<K, V> {
    /// The witness of records `(K, V)`.
    pub const fn new() -> Self {
        Witness(PhantomData)
    }
}

impl<K, V> Default for Witness<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V> Clone for Witness<K, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K, V> Copy for Witness<K, V> {}

/// Which serde a DSL operator uses for `T`: [`UseDefault`] or [`Explicit<S>`].
#[diagnostic::on_unimplemented(
    message = "no usable serde for `{T}` (`{Self}`)",
    label = "needs a serde for `{T}`",
    note = "name one with `key_serde: ..` / `value_serde: ..`, or implement `DefaultSerde` for `{T}`; a named serde must implement `Serde<{T}>`"
)]
pub trait PickSerde<T> {
    /// The serde.
    type Serde: Serde<T>;
}

/// Check 8 for a `to("topic")` whose topic a source of the topology reads with serdes
/// `(KS, VS)`: the sink writes it (`written`, from [`Witness::written_serdes`]) with the same.
pub fn same_topic_serdes<KS, VS, W: SameSerdes<(KS, VS)>>(written: W) {
    let _ = written;
}

/// The serdes a topic is written with, `Self`, write what the serdes it is read with, `T`, read:
/// key and value each [`SameBytes`].
pub trait SameSerdes<T> {}

impl<A: SameBytes<C>, B: SameBytes<D>, C, D> SameSerdes<(C, D)> for (A, B) {}

/// Serde `Self` writes the bytes serde `T` reads: the same serde, or one is the other's
/// nullable form (`OptionSerde<S>` writes what `S` writes, or null).
#[diagnostic::on_unimplemented(
    message = "this topic is written with serde `{Self}` but a source of the topology reads it with `{T}`",
    label = "written here with `{Self}`",
    note = "use one pair of serdes per topic: name the source's serdes in this `to` (`key_serde:`, `value_serde:`), or change the source's"
)]
pub trait SameBytes<T> {}

impl<S> SameBytes<S> for S {}
impl<S> SameBytes<OptionSerde<S>> for S {}
impl<S> SameBytes<S> for OptionSerde<S> {}

/// The type's default serde.
pub struct UseDefault;

impl<T: DefaultSerde> PickSerde<T> for UseDefault {
    type Serde = T::Serde;
}

/// A serde the topology names.
pub struct Explicit<S>(PhantomData<S>);

impl<T, S: Serde<T>> PickSerde<T> for Explicit<S> {
    type Serde = S;
}

/// Holds when two streams carry the same record types (a merge).
#[diagnostic::on_unimplemented(
    message = "cannot merge a stream of `{Self}` into a stream of `{T}`",
    label = "this stream carries `{Self}`",
    note = "merged streams must have the same key and value types; map one of them first"
)]
pub trait SameRecords<T> {}
impl<T> SameRecords<T> for T {}

/// A stream and another merged into it; built first so both types are known when
/// [`Merge::check`] compares them.
pub struct Merge<A, B>(pub A, pub B);

impl<K, V, K2, V2> Merge<Witness<K, V>, Witness<K2, V2>> {
    /// Checks that the second stream may be merged into the first.
    pub fn check(self)
    where
        (K2, V2): SameRecords<(K, V)>,
    {
    }
}

/// Holds when a processor accepts the records a stream carries.
#[diagnostic::on_unimplemented(
    message = "records of type `{Self}` flow into a processor that accepts `{T}`",
    label = "this stream carries `{Self}`",
    note = "the processor's `input = (K, V)` must match the stream's key and value types"
)]
pub trait Accepts<T> {}
impl<T> Accepts<T> for T {}

/// The source half of a repartition topic, to be given its children.
pub struct SourceParts<K, V, KS, VS>(PhantomData<fn() -> (K, V, KS, VS)>);

impl<K, V, KS: Serde<K>, VS: Serde<V>> SourceParts<K, V, KS, VS> {
    /// The source node.
    pub fn build<Ch>(self, name: &'static str, children: Ch) -> SourceNode<K, V, KS, VS, RecordTimestamp, Ch> {
        SourceNode::new(name, children)
    }
}

fn store<K, V, KS: Serde<K>, VS: Serde<V>>(
    stores: &StoreSet,
    index: usize,
) -> Result<KeyValueStore<K, V, KS, VS>, StreamsError> {
    stores.bind_index(index)
}

/// Operators on streams.
impl<K, V> Witness<K, V> {
    /// A user processor inside the DSL (`process(Type)`).
    pub fn process<P>(self, stores: &StoreSet) -> Result<(P, Witness<P::KeyOut, P::ValueOut>), StreamsError>
    where
        P: ProcessorSpec + crate::__private::ProcessorStores,
        (K, V): Accepts<(P::KeyIn, P::ValueIn)>,
    {
        Ok((P::create(stores)?, Witness::new()))
    }

    /// A pass-through node: a merge point or a named branch.
    pub fn pass_through(self) -> (PassThrough, Self) {
        (PassThrough, self)
    }

    /// `filter` (`keep = true`) and `filter_not` (`keep = false`).
    pub fn filter<F: FnMut(&K, &V) -> bool>(self, f: F, keep: bool) -> (Filter<F>, Self) {
        (Filter::new(f, keep), self)
    }

    /// `map`.
    pub fn map<K2, V2, F: FnMut(K, V) -> (K2, V2)>(self, f: F) -> (Map<F>, Witness<K2, V2>) {
        (Map(f), Witness::new())
    }

    /// `map_values(|v| ..)`.
    pub fn map_values<V2, F: FnMut(V) -> V2>(self, mut f: F) -> (MapValues<impl FnMut(&K, V) -> V2>, Witness<K, V2>) {
        (MapValues(move |_: &K, v| f(v)), Witness::new())
    }

    /// `map_values(|k, v| ..)`.
    pub fn map_values_with_key<V2, F: FnMut(&K, V) -> V2>(self, f: F) -> (MapValues<F>, Witness<K, V2>) {
        (MapValues(f), Witness::new())
    }

    /// `flat_map`.
    pub fn flat_map<K2, V2, I: IntoIterator<Item = (K2, V2)>, F: FnMut(K, V) -> I>(
        self,
        f: F,
    ) -> (FlatMap<F>, Witness<K2, V2>) {
        (FlatMap(f), Witness::new())
    }

    /// `flat_map_values(|v| ..)`.
    pub fn flat_map_values<V2, I: IntoIterator<Item = V2>, F: FnMut(V) -> I>(
        self,
        mut f: F,
    ) -> (FlatMapValues<impl FnMut(&K, V) -> I>, Witness<K, V2>)
    where
        K: Clone,
    {
        (FlatMapValues(move |_: &K, v| f(v)), Witness::new())
    }

    /// `flat_map_values(|k, v| ..)`.
    pub fn flat_map_values_with_key<V2, I: IntoIterator<Item = V2>, F: FnMut(&K, V) -> I>(
        self,
        f: F,
    ) -> (FlatMapValues<F>, Witness<K, V2>)
    where
        K: Clone,
    {
        (FlatMapValues(f), Witness::new())
    }

    /// `select_key`, and the key selection of `group_by`.
    pub fn select_key<K2, F: FnMut(&K, &V) -> K2>(self, f: F) -> (SelectKey<F>, Witness<K2, V>) {
        (SelectKey(f), Witness::new())
    }

    /// `peek`.
    pub fn peek<F: FnMut(&K, &V)>(self, f: F) -> (Peek<F>, Self) {
        (Peek(f), self)
    }

    /// `foreach`.
    pub fn foreach<F: FnMut(&K, &V)>(self, f: F) -> (Foreach<F>, Self) {
        (Foreach(f), self)
    }

    /// One predicate of a `split`.
    pub fn predicate<F: FnMut(&K, &V) -> bool>(self, f: F) -> F {
        f
    }

    /// `split` over the predicates (a tuple); `default` is the default branch's child index.
    pub fn branch<P: BranchPredicates<K, V>>(self, predicates: P, default: Option<usize>) -> (Branch<P>, Self) {
        (Branch::new(predicates, default), self)
    }

    /// `to("topic")`.
    pub fn to<KP: PickSerde<K>, VP: PickSerde<V>, P: StreamPartitioner<K, V>>(
        self,
        name: &'static str,
        topic: &'static str,
    ) -> SinkNode<KP::Serde, VP::Serde, P> {
        SinkNode::new(name, topic)
    }

    /// The serdes a `to("topic")` writes with, for [`same_topic_serdes`].
    pub fn written_serdes<KP: PickSerde<K>, VP: PickSerde<V>>(&self) -> (KP::Serde, VP::Serde) {
        (KP::Serde::default(), VP::Serde::default())
    }

    /// `to(|k, v| "topic")`.
    pub fn to_extractor<KP: PickSerde<K>, VP: PickSerde<V>, P: StreamPartitioner<K, V>, F>(
        self,
        f: F,
    ) -> (TopicSink<F, KP::Serde, VP::Serde, P>, Self)
    where
        F: FnMut(&K, &V) -> &'static str,
    {
        (TopicSink::new(f), self)
    }

    /// The sink half of a repartition topic read by the source at index `source`.
    pub fn repartition_sink<KP: PickSerde<K>, VP: PickSerde<V>>(
        self,
        source: usize,
    ) -> (RepartitionSink<KP::Serde, VP::Serde>, Self) {
        (RepartitionSink::new(source), self)
    }

    /// The source half of a repartition topic.
    pub fn repartition_source<KP: PickSerde<K>, VP: PickSerde<V>>(
        self,
    ) -> (SourceParts<K, V, KP::Serde, VP::Serde>, Self) {
        (SourceParts(PhantomData), self)
    }

    /// `count()` of a grouped stream into the store at `index`.
    pub fn count<KP: PickSerde<K>, VP: PickSerde<i64>, NP: PickSerde<V>>(
        self,
        stores: &StoreSet,
        index: usize,
    ) -> Result<
        (
            StreamAggregate<Count, K, i64, KP::Serde, VP::Serde, NP::Serde>,
            Witness<K, Change<i64>>,
        ),
        StreamsError,
    > {
        Ok((StreamAggregate::new(Count, store(stores, index)?), Witness::new()))
    }

    /// `reduce` of a grouped stream.
    pub fn reduce<KP: PickSerde<K>, VP: PickSerde<V>, NP: PickSerde<V>, F: FnMut(V, V) -> V>(
        self,
        f: F,
        stores: &StoreSet,
        index: usize,
    ) -> Result<
        (
            StreamAggregate<Reduce<F>, K, V, KP::Serde, VP::Serde, NP::Serde>,
            Witness<K, Change<V>>,
        ),
        StreamsError,
    >
    where
        V: Clone,
    {
        Ok((StreamAggregate::new(Reduce(f), store(stores, index)?), Witness::new()))
    }

    /// `aggregate` of a grouped stream.
    pub fn aggregate<
        KP: PickSerde<K>,
        VP: PickSerde<VA>,
        NP: PickSerde<V>,
        VA: Clone,
        I: FnMut() -> VA,
        F: FnMut(&K, V, VA) -> VA,
    >(
        self,
        initializer: I,
        aggregator: F,
        stores: &StoreSet,
        index: usize,
    ) -> Result<
        (
            StreamAggregate<Aggregate<I, F>, K, VA, KP::Serde, VP::Serde, NP::Serde>,
            Witness<K, Change<VA>>,
        ),
        StreamsError,
    > {
        Ok((
            StreamAggregate::new(Aggregate::new(initializer, aggregator), store(stores, index)?),
            Witness::new(),
        ))
    }
}

/// Windowed aggregations of grouped streams.
impl<K, V> Witness<K, V> {
    /// `count()` in windows, into the window or session store at `index`.
    pub fn windowed_count<KP: PickSerde<K>, VP: PickSerde<i64>, NP: PickSerde<V>, W: WindowSpec>(
        self,
        windows: W,
        emit: EmitStrategy,
        stores: &StoreSet,
        index: usize,
    ) -> Result<
        (
            W::Aggregate<Count, K, i64, KP::Serde, VP::Serde, NP::Serde>,
            Witness<Windowed<K>, Change<i64>>,
        ),
        StreamsError,
    > {
        Ok((windows.aggregate(Count, emit, stores, index)?, Witness::new()))
    }

    /// `reduce` in windows.
    pub fn windowed_reduce<KP: PickSerde<K>, VP: PickSerde<V>, NP: PickSerde<V>, W: WindowSpec, F: FnMut(V, V) -> V>(
        self,
        f: F,
        windows: W,
        emit: EmitStrategy,
        stores: &StoreSet,
        index: usize,
    ) -> Result<
        (
            W::Aggregate<Reduce<F>, K, V, KP::Serde, VP::Serde, NP::Serde>,
            Witness<Windowed<K>, Change<V>>,
        ),
        StreamsError,
    > {
        Ok((windows.aggregate(Reduce(f), emit, stores, index)?, Witness::new()))
    }

    /// `aggregate` in tumbling, hopping or sliding windows.
    pub fn windowed_aggregate<
        KP: PickSerde<K>,
        VP: PickSerde<VA>,
        NP: PickSerde<V>,
        W: WindowSpec,
        VA: Clone,
        I: FnMut() -> VA,
        F: FnMut(&K, V, VA) -> VA,
    >(
        self,
        initializer: I,
        aggregator: F,
        windows: W,
        emit: EmitStrategy,
        stores: &StoreSet,
        index: usize,
    ) -> Result<
        (
            W::Aggregate<Aggregate<I, F>, K, VA, KP::Serde, VP::Serde, NP::Serde>,
            Witness<Windowed<K>, Change<VA>>,
        ),
        StreamsError,
    > {
        let aggregate = Aggregate::new(initializer, aggregator);
        Ok((windows.aggregate(aggregate, emit, stores, index)?, Witness::new()))
    }

    /// `aggregate` in session windows, with the merger of sessions that grow together.
    #[allow(clippy::too_many_arguments)]
    pub fn session_aggregate<
        KP: PickSerde<K>,
        VP: PickSerde<VA>,
        NP: PickSerde<V>,
        VA: Clone,
        I: FnMut() -> VA,
        F: FnMut(&K, V, VA) -> VA,
        M: FnMut(&K, VA, VA) -> VA,
    >(
        self,
        initializer: I,
        aggregator: F,
        merger: M,
        windows: SessionWindows,
        emit: EmitStrategy,
        stores: &StoreSet,
        index: usize,
    ) -> Result<
        (
            SessionWindowAggregate<SessionAggregateFns<I, F, M>, K, VA, KP::Serde, VP::Serde>,
            Witness<Windowed<K>, Change<VA>>,
        ),
        StreamsError,
    > {
        let aggregate = SessionAggregateFns::new(initializer, aggregator, merger);
        let node = <SessionWindows as WindowSpec>::aggregate::<_, K, VA, KP::Serde, VP::Serde, NP::Serde>(
            windows, aggregate, emit, stores, index,
        )?;
        Ok((node, Witness::new()))
    }
}

/// Suppression of windowed tables.
impl<K, V> Witness<Windowed<K>, Change<V>> {
    /// `suppress(until_window_closes(buffer))`: each window's final result once it has closed
    /// (`grace_ms` after its end); the buffer lives in the store at `index`.
    pub fn suppress_until_window_closes<KP: PickSerde<Windowed<K>>, VP: PickSerde<V>>(
        self,
        grace_ms: i64,
        buffer: BufferConfig,
        stores: &StoreSet,
        index: usize,
    ) -> Result<(Suppress<Windowed<K>, V, KP::Serde, VP::Serde, WindowEndTime>, Self), StreamsError> {
        let suppress = Suppress::new(WindowEndTime, grace_ms, buffer, true, store(stores, index)?);
        Ok((suppress, self))
    }
}

/// Suppression of any table.
impl<K, V> Witness<K, Change<V>> {
    /// `suppress(until_time_limit(limit, buffer))`: a key's updates are held until stream time is
    /// `limit_ms` past the first one, then its latest is forwarded.
    pub fn suppress_until_time_limit<KP: PickSerde<K>, VP: PickSerde<V>>(
        self,
        limit_ms: i64,
        buffer: BufferConfig,
        stores: &StoreSet,
        index: usize,
    ) -> Result<(Suppress<K, V, KP::Serde, VP::Serde, RecordTime>, Self), StreamsError> {
        let suppress = Suppress::new(RecordTime, limit_ms, buffer, false, store(stores, index)?);
        Ok((suppress, self))
    }
}

/// The materializing source of a `table`.
impl<K, V: Clone> Witness<Option<K>, Option<V>> {
    /// A `table` source materialized in the store at `index`, with the table's serdes.
    pub fn table_source<KS: Serde<K>, VS: Serde<V>>(
        self,
        stores: &StoreSet,
        index: usize,
    ) -> Result<(TableSource<K, V, KS, VS>, Witness<K, Change<V>>), StreamsError> {
        Ok((TableSource::new(store(stores, index)?), Witness::new()))
    }
}

/// The materializing source of a versioned `table`.
impl<K, V: Clone> Witness<Option<K>, Option<V>> {
    /// A `table` source materialized in the versioned store at `index`.
    pub fn versioned_table_source<KS: Serde<K>, VS: Serde<V>>(
        self,
        stores: &StoreSet,
        index: usize,
    ) -> Result<(VersionedTableSource<K, V, KS, VS>, Witness<K, Change<V>>), StreamsError> {
        Ok((VersionedTableSource::new(stores.bind_index(index)?), Witness::new()))
    }
}

/// The steps of a join's value getter: a table's `filter` / `map_values` applied again to its
/// parent's stored rows (Java's `KTableValueGetter`). Each takes the rest of the chain.
impl<K, V> Witness<K, Change<V>> {
    /// A `filter` (`keep`) or `filter_not` step.
    pub fn getter_filter<F: Fn(&K, &V) -> bool, R>(self, f: F, keep: bool, rest: R) -> (FilterStep<F>, R) {
        (FilterStep::new(f, keep), rest)
    }

    /// A `map_values(|v| ..)` step.
    pub fn getter_map<V2, F: Fn(V) -> V2, R>(
        self,
        f: F,
        rest: R,
    ) -> (MapStep<impl Fn(&K, V) -> V2 + use<K, V, V2, F, R>>, R) {
        (MapStep(move |_: &K, v| f(v)), rest)
    }

    /// A `map_values(|k, v| ..)` step.
    pub fn getter_map_with_key<V2, F: Fn(&K, V) -> V2, R>(self, f: F, rest: R) -> (MapStep<F>, R) {
        (MapStep(f), rest)
    }
}

/// Operators on tables.
impl<K, V> Witness<K, Change<V>> {
    /// `filter` / `filter_not` on a table.
    pub fn table_filter<F: FnMut(&K, &V) -> bool>(self, f: F, keep: bool) -> (TableFilter<F>, Self) {
        (TableFilter::new(f, keep), self)
    }

    /// `map_values(|v| ..)` on a table.
    pub fn table_map_values<V2, F: FnMut(V) -> V2>(
        self,
        mut f: F,
        send_old_values: bool,
    ) -> (TableMapValues<impl FnMut(&K, V) -> V2>, Witness<K, Change<V2>>) {
        (
            TableMapValues::new(move |_: &K, v| f(v), send_old_values),
            Witness::new(),
        )
    }

    /// `map_values(|k, v| ..)` on a table.
    pub fn table_map_values_with_key<V2, F: FnMut(&K, V) -> V2>(
        self,
        f: F,
        send_old_values: bool,
    ) -> (TableMapValues<F>, Witness<K, Change<V2>>) {
        (TableMapValues::new(f, send_old_values), Witness::new())
    }

    /// `to_stream`.
    pub fn to_stream(self) -> (ToStream, Witness<K, Option<V>>) {
        (ToStream, Witness::new())
    }

    /// `group_by` on a table: the row mapper.
    pub fn table_group_by<K2: PartialEq, V2, F: FnMut(&K, V) -> (K2, V2)>(
        self,
        f: F,
    ) -> (TableGroupBy<F>, Witness<K2, Change<V2>>) {
        (TableGroupBy(f), Witness::new())
    }

    /// The sink half of a table's repartition topic (values are [`Change`]s).
    pub fn table_repartition_sink<KP: PickSerde<K>, VP: PickSerde<V>>(
        self,
        source: usize,
    ) -> (RepartitionSink<KP::Serde, ChangeSerde<VP::Serde>>, Self) {
        (RepartitionSink::new(source), self)
    }

    /// The source half of a table's repartition topic.
    pub fn table_repartition_source<KP: PickSerde<K>, VP: PickSerde<V>>(
        self,
    ) -> (SourceParts<K, Change<V>, KP::Serde, ChangeSerde<VP::Serde>>, Self) {
        (SourceParts(PhantomData), self)
    }

    /// `count()` of a grouped table.
    pub fn table_count<KP: PickSerde<K>, VP: PickSerde<i64>>(
        self,
        stores: &StoreSet,
        index: usize,
    ) -> Result<
        (
            TableAggregate<TableCount, K, i64, KP::Serde, VP::Serde>,
            Witness<K, Change<i64>>,
        ),
        StreamsError,
    > {
        Ok((TableAggregate::new(TableCount, store(stores, index)?), Witness::new()))
    }

    /// `reduce(adder, subtractor)` of a grouped table.
    pub fn table_reduce<KP: PickSerde<K>, VP: PickSerde<V>, A: FnMut(V, V) -> V, S: FnMut(V, V) -> V>(
        self,
        adder: A,
        subtractor: S,
        stores: &StoreSet,
        index: usize,
    ) -> Result<
        (
            TableAggregate<TableReduce<A, S>, K, V, KP::Serde, VP::Serde>,
            Witness<K, Change<V>>,
        ),
        StreamsError,
    >
    where
        V: Clone,
    {
        Ok((
            TableAggregate::new(TableReduce::new(adder, subtractor), store(stores, index)?),
            Witness::new(),
        ))
    }

    /// `aggregate(initializer, adder, subtractor)` of a grouped table.
    pub fn table_aggregate<KP, VP, VA, I, A, S>(
        self,
        initializer: I,
        adder: A,
        subtractor: S,
        stores: &StoreSet,
        index: usize,
    ) -> Result<
        (
            TableAggregate<TableAggregateFns<I, A, S>, K, VA, KP::Serde, VP::Serde>,
            Witness<K, Change<VA>>,
        ),
        StreamsError,
    >
    where
        KP: PickSerde<K>,
        VP: PickSerde<VA>,
        VA: Clone,
        I: FnMut() -> VA,
        A: FnMut(&K, V, VA) -> VA,
        S: FnMut(&K, V, VA) -> VA,
    {
        Ok((
            TableAggregate::new(
                TableAggregateFns::new(initializer, adder, subtractor),
                store(stores, index)?,
            ),
            Witness::new(),
        ))
    }
}

/// Holds when a stream or table keyed by `Self` may be joined with one keyed by `T`.
#[diagnostic::on_unimplemented(
    message = "cannot join records keyed by `{T}` with a table or stream keyed by `{Self}`",
    label = "this is keyed by `{Self}`",
    note = "both sides of a join must have the same key type; change one side's key first (`select_key`, `map`), which repartitions it"
)]
pub trait SameKey<T> {}
impl<T> SameKey<T> for T {}

/// The two sides of a join; built first so both key types are known when [`JoinKeys::check`]
/// compares them (the generated call is spanned on the other side's name).
pub struct JoinKeys<A, B>(pub A, pub B);

impl<K, V, K2, V2> JoinKeys<Witness<K, V>, Witness<K2, V2>> {
    /// Checks that the other side is keyed like this one.
    pub fn check(self)
    where
        K2: SameKey<K>,
    {
    }
}

/// How a table keeps its rows, for the joins that read them: in a key-value store ([`Plain`]) or
/// a versioned one ([`Versioned`], read as of each stream record's time).
pub trait TableFlavor {
    /// The handle joins read the rows through.
    type Rows<K, V, KS: Serde<K>, VS: Serde<V>>: TableRows<Key = K, Value = V> + crate::state::StoreHandle;
}

/// A table in a key-value store.
pub struct Plain;

impl TableFlavor for Plain {
    type Rows<K, V, KS: Serde<K>, VS: Serde<V>> = KeyValueStore<K, V, KS, VS>;
}

/// A table in a versioned key-value store.
pub struct Versioned;

impl TableFlavor for Versioned {
    type Rows<K, V, KS: Serde<K>, VS: Serde<V>> = crate::state::VersionedKeyValueStore<K, V, KS, VS>;
}

/// Stream-table joins, one method per joiner form: the table's witness gives the row type, its
/// store the rows.
macro_rules! stream_table_join {
    ($(#[$doc:meta])* $method:ident, $joiner:ident, ($($arg:ty),*)) => {
        impl<K, V> Witness<K, V> {
            $(#[$doc])*
            #[allow(clippy::type_complexity)]
            #[allow(clippy::too_many_arguments)]
            pub fn $method<S: TableFlavor, KT, VT, VB, C, KP: PickSerde<K>, VP: PickSerde<VB>, NP: PickSerde<V>, VR, F>(
                self,
                _table: Witness<KT, Change<VT>>,
                _stored: Witness<KT, Change<VB>>,
                getter: C,
                f: F,
                stores: &StoreSet,
                index: usize,
            ) -> Result<
                (
                    StreamTableJoin<$joiner<F>, RecordKey, Derived<S::Rows<K, VB, KP::Serde, VP::Serde>, C>, KP::Serde, NP::Serde>,
                    Witness<K, VR>,
                ),
                StreamsError,
            >
            where
                C: RowGetter<K, VB, Out = VT>,
                F: FnMut($($arg),*) -> VR,
            {
                let rows = Derived::new(stores.bind_index(index)?, getter);
                Ok((StreamTableJoin::new($joiner(f), RecordKey, rows), Witness::new()))
            }
        }
    };
}

stream_table_join!(
    /// `join(table, |value, row| ..)`.
    stream_table_join, InnerValueJoiner, (&V, &VT)
);
stream_table_join!(
    /// `join(table, |key, value, row| ..)`.
    stream_table_join_with_key, InnerJoiner, (&K, &V, &VT)
);
stream_table_join!(
    /// `left_join(table, |value, row: Option<&_>| ..)`.
    stream_table_left_join, LeftValueJoiner, (&V, Option<&VT>)
);
stream_table_join!(
    /// `left_join(table, |key, value, row: Option<&_>| ..)`.
    stream_table_left_join_with_key, LeftJoiner, (&K, &V, Option<&VT>)
);

/// Stream-global table joins, one method per joiner form: the key mapper picks the global
/// table's key from each record.
macro_rules! global_join {
    ($(#[$doc:meta])* $method:ident, $joiner:ident, ($($arg:ty),*)) => {
        impl<K, V> Witness<K, V> {
            $(#[$doc])*
            #[allow(clippy::type_complexity)]
            pub fn $method<GK, VT, KP: PickSerde<GK>, VP: PickSerde<VT>, NP: PickSerde<V>, VR, M, F>(
                self,
                _table: Witness<GK, Change<VT>>,
                mapper: M,
                f: F,
                stores: &StoreSet,
                index: usize,
            ) -> Result<
                (
                    StreamTableJoin<
                        $joiner<F>,
                        MappedKey<M>,
                        GlobalKeyValueStore<GK, VT, KP::Serde, VP::Serde>,
                        KP::Serde,
                        NP::Serde,
                    >,
                    Witness<K, VR>,
                ),
                StreamsError,
            >
            where
                M: FnMut(&K, &V) -> GK,
                F: FnMut($($arg),*) -> VR,
            {
                Ok((StreamTableJoin::new($joiner(f), MappedKey(mapper), stores.bind_global(index)?), Witness::new()))
            }
        }
    };
}

global_join!(
    /// `join(global_table, |key, value| table_key, |value, row| ..)`.
    global_join, InnerValueJoiner, (&V, &VT)
);
global_join!(
    /// `join(global_table, |key, value| table_key, |key, value, row| ..)`.
    global_join_with_key, InnerJoiner, (&K, &V, &VT)
);
global_join!(
    /// `left_join(global_table, |key, value| table_key, |value, row: Option<&_>| ..)`.
    global_left_join, LeftValueJoiner, (&V, Option<&VT>)
);
global_join!(
    /// `left_join(global_table, |key, value| table_key, |key, value, row: Option<&_>| ..)`.
    global_left_join_with_key, LeftJoiner, (&K, &V, Option<&VT>)
);

fn window_store<K, V, KS: Serde<K>, VS: Serde<V>>(
    stores: &StoreSet,
    index: usize,
) -> Result<crate::state::WindowStore<K, V, KS, VS>, StreamsError> {
    stores.bind_index(index)
}

/// The parts of a stream-stream join's side: the outer-join store at `unjoined` (left and outer
/// joins), the windows, and whether the side emits records without a partner.
fn join_parts<K, V1, V2, KS: Serde<K>, VS1: Serde<V1>, VS2: Serde<V2>>(
    windows: JoinWindows,
    outer: bool,
    unjoined: Option<usize>,
    time: std::rc::Rc<JoinTime>,
    stores: &StoreSet,
) -> Result<JoinSideParts<K, V1, V2, KS, VS1, VS2>, StreamsError> {
    Ok(JoinSideParts {
        windows,
        outer,
        unjoined: unjoined.map(|i| stores.bind_index(i)).transpose()?,
        time,
    })
}

/// Stream-stream joins: each side's window node, then the left side's join (which takes the
/// joiner), then the right side's (made from the left's).
impl<K, V> Witness<K, V> {
    /// The node buffering one side's records in its join window store at `index`.
    pub fn join_window<KP: PickSerde<K>, VP: PickSerde<V>>(
        self,
        stores: &StoreSet,
        index: usize,
    ) -> Result<(JoinWindow<K, V, KP::Serde, VP::Serde>, Self), StreamsError> {
        Ok((JoinWindow::new(window_store(stores, index)?), self))
    }

    /// The right side of a stream-stream join whose left side is `left`: it joins with the
    /// left side's window store at `other` and shares the left side's joiner and time.
    #[allow(clippy::type_complexity)]
    pub fn stream_join_right<J, V1, KS, VS1, VS2>(
        self,
        left: &StreamJoin<J, K, V1, V, KS, VS1, VS2, true>,
        outer: bool,
        windows: JoinWindows,
        stores: &StoreSet,
        other: usize,
        unjoined: Option<usize>,
    ) -> Result<(StreamJoin<J, K, V1, V, KS, VS1, VS2, false>, Witness<K, J::Out>), StreamsError>
    where
        J: StreamJoiner<K, V1, V> + Clone,
        KS: Serde<K>,
        VS1: Serde<V1>,
        VS2: Serde<V>,
    {
        let (joiner, time) = left.shared();
        let parts = join_parts(windows, outer, unjoined, time, stores)?;
        Ok((
            StreamJoin::right(joiner, window_store(stores, other)?, parts),
            Witness::new(),
        ))
    }
}

/// The left side of a stream-stream join, one method per joiner form (the right side is made
/// from it and shares its joiner).
macro_rules! stream_join_left {
    ($(#[$doc:meta])* $method:ident, $joiner:ident, ($($arg:ty),*)) => {
        impl<K, V> Witness<K, V> {
            $(#[$doc])*
            #[allow(clippy::too_many_arguments, clippy::type_complexity)]
            pub fn $method<K2, V2, KP: PickSerde<K>, VP1: PickSerde<V>, VP2: PickSerde<V2>, VR, F>(
                self,
                _right: Witness<K2, V2>,
                f: F,
                outer: bool,
                windows: JoinWindows,
                stores: &StoreSet,
                other: usize,
                unjoined: Option<usize>,
            ) -> Result<
                (
                    StreamJoin<$joiner<F>, K, V, V2, KP::Serde, VP1::Serde, VP2::Serde, true>,
                    Witness<K, VR>,
                ),
                StreamsError,
            >
            where
                F: FnMut($($arg),*) -> VR + Clone,
            {
                let parts = join_parts(windows, outer, unjoined, std::rc::Rc::default(), stores)?;
                Ok((StreamJoin::left($joiner(f), window_store(stores, other)?, parts), Witness::new()))
            }
        }
    };
}

stream_join_left!(
    /// `join(right, |left, right| .., join_windows(..))`.
    stream_join, InnerValueStreamJoiner, (&V, &V2)
);
stream_join_left!(
    /// `join(right, |key, left, right| .., join_windows(..))`.
    stream_join_with_key, InnerStreamJoiner, (&K, &V, &V2)
);
stream_join_left!(
    /// `left_join(right, |left, right: Option<&_>| .., join_windows(..))`.
    stream_left_join, LeftValueStreamJoiner, (&V, Option<&V2>)
);
stream_join_left!(
    /// `left_join(right, |key, left, right: Option<&_>| .., join_windows(..))`.
    stream_left_join_with_key, LeftStreamJoiner, (&K, &V, Option<&V2>)
);
stream_join_left!(
    /// `outer_join(right, |left: Option<&_>, right: Option<&_>| .., join_windows(..))`.
    stream_outer_join, OuterValueStreamJoiner, (Option<&V>, Option<&V2>)
);
stream_join_left!(
    /// `outer_join(right, |key, left: Option<&_>, right: Option<&_>| .., join_windows(..))`.
    stream_outer_join_with_key, OuterStreamJoiner, (&K, Option<&V>, Option<&V2>)
);

/// Table-table joins: the left side takes the joiner, the right side is made from the left.
impl<K, V> Witness<K, Change<V>> {
    /// The right side of the table join whose left side is `left`, joining with the left
    /// table's store at `other`.
    #[allow(clippy::type_complexity)]
    #[allow(clippy::too_many_arguments)]
    pub fn table_join_right<S: TableFlavor, J, V1, VB, C, KP: PickSerde<K>, VP: PickSerde<VB>, T>(
        self,
        left: &TableJoin<J, T, V1, V, true>,
        _stored: Witness<K, Change<VB>>,
        getter: C,
        needs: JoinNeeds,
        send_old_values: bool,
        stores: &StoreSet,
        other: usize,
    ) -> Result<
        (
            TableJoin<J, Derived<S::Rows<K, VB, KP::Serde, VP::Serde>, C>, V1, V, false>,
            Witness<K, Change<J::Out>>,
        ),
        StreamsError,
    >
    where
        J: StreamJoiner<K, V1, V> + Clone,
        C: RowGetter<K, VB, Out = V1>,
    {
        let joiner = left.joiner().clone();
        let rows = Derived::new(stores.bind_index(other)?, getter);
        Ok((TableJoin::new(joiner, rows, needs, send_old_values), Witness::new()))
    }
}

/// The left side of a table-table join, one method per joiner form (the right side is made
/// from it and shares its joiner).
macro_rules! table_join_left {
    ($(#[$doc:meta])* $method:ident, $joiner:ident, ($($arg:ty),*)) => {
        impl<K, V> Witness<K, Change<V>> {
            $(#[$doc])*
            #[allow(clippy::type_complexity)]
            #[allow(clippy::too_many_arguments)]
            pub fn $method<S: TableFlavor, K2, V2, VB, C, KP: PickSerde<K>, VP: PickSerde<VB>, VR, F>(
                self,
                _right: Witness<K2, Change<V2>>,
                _stored: Witness<K2, Change<VB>>,
                getter: C,
                f: F,
                needs: JoinNeeds,
                send_old_values: bool,
                stores: &StoreSet,
                other: usize,
            ) -> Result<
                (
                    TableJoin<$joiner<F>, Derived<S::Rows<K, VB, KP::Serde, VP::Serde>, C>, V, V2, true>,
                    Witness<K, Change<VR>>,
                ),
                StreamsError,
            >
            where
                C: RowGetter<K, VB, Out = V2>,
                F: FnMut($($arg),*) -> VR + Clone,
            {
                let rows = Derived::new(stores.bind_index(other)?, getter);
                Ok((TableJoin::new($joiner(f), rows, needs, send_old_values), Witness::new()))
            }
        }
    };
}

table_join_left!(
    /// `table.join(other, |left, right| ..)`.
    table_join, InnerValueStreamJoiner, (&V, &V2)
);
table_join_left!(
    /// `table.join(other, |key, left, right| ..)`.
    table_join_with_key, InnerStreamJoiner, (&K, &V, &V2)
);
table_join_left!(
    /// `table.left_join(other, |left, right: Option<&_>| ..)`.
    table_left_join, LeftValueStreamJoiner, (&V, Option<&V2>)
);
table_join_left!(
    /// `table.left_join(other, |key, left, right: Option<&_>| ..)`.
    table_left_join_with_key, LeftStreamJoiner, (&K, &V, Option<&V2>)
);
table_join_left!(
    /// `table.outer_join(other, |left: Option<&_>, right: Option<&_>| ..)`.
    table_outer_join, OuterValueStreamJoiner, (Option<&V>, Option<&V2>)
);
table_join_left!(
    /// `table.outer_join(other, |key, left: Option<&_>, right: Option<&_>| ..)`.
    table_outer_join_with_key, OuterStreamJoiner, (&K, Option<&V>, Option<&V2>)
);

/// Foreign-key joins: the left side's subscriptions, the internal topics, the right side's
/// processors, and the resolver that joins the answers with the left rows.
impl<K, V> Witness<K, Change<V>> {
    /// Subscribes left rows to the right table's keys that `extractor` picks from their values
    /// (`LEFT`: a left join).
    pub fn fk_subscribe<const LEFT: bool, KR, FP: PickSerde<KR>, VP: PickSerde<V>, VF, F>(
        self,
        _right: Witness<KR, Change<VF>>,
        extractor: F,
    ) -> (
        SubscriptionSend<F, FP::Serde, VP::Serde, LEFT>,
        Witness<Option<KR>, Subscription<K>>,
    )
    where
        F: FnMut(&V) -> KR,
    {
        (SubscriptionSend::new(extractor), Witness::new())
    }

    /// Answers the subscribers (of the subscription store at `index`, whose subscriptions the
    /// node of `_receive` receives) of each changed right row.
    #[allow(clippy::type_complexity)]
    pub fn fk_foreign_join<PK, FP: PickSerde<K>, PKP: PickSerde<PK>>(
        self,
        _receive: Witness<Option<K>, Subscription<PK>>,
        stores: &StoreSet,
        index: usize,
    ) -> Result<(ForeignTableJoin<K, PK, FP::Serde, PKP::Serde>, Witness<PK, Response<V>>), StreamsError> {
        Ok((ForeignTableJoin::new(stores.bind_index(index)?), Witness::new()))
    }
}

/// The subscription topic and the right side's subscription processors.
impl<FK, PK> Witness<Option<FK>, Subscription<PK>> {
    /// The sink of the subscription topic read by the source at `source` (null foreign keys
    /// included).
    pub fn fk_subscription_sink<FP: PickSerde<FK>, PKP: PickSerde<PK>>(
        self,
        source: usize,
    ) -> (
        RepartitionSink<OptionSerde<FP::Serde>, SubscriptionSerde<PKP::Serde>>,
        Self,
    ) {
        (RepartitionSink::keeping_null_keys(source), self)
    }

    /// The source of the subscription topic.
    #[allow(clippy::type_complexity)]
    pub fn fk_subscription_source<FP: PickSerde<FK>, PKP: PickSerde<PK>>(
        self,
    ) -> (
        SourceParts<Option<FK>, Subscription<PK>, OptionSerde<FP::Serde>, SubscriptionSerde<PKP::Serde>>,
        Self,
    ) {
        (SourceParts(PhantomData), self)
    }

    /// Keeps subscriptions in the store at `index`.
    pub fn fk_receive<FP: PickSerde<FK>, PKP: PickSerde<PK>>(
        self,
        stores: &StoreSet,
        index: usize,
    ) -> Result<(SubscriptionReceive<FK, PK, FP::Serde, PKP::Serde>, Self), StreamsError> {
        Ok((SubscriptionReceive::new(stores.bind_index(index)?), self))
    }

    /// Answers subscriptions from the right table's store at `index`.
    #[allow(clippy::type_complexity)]
    pub fn fk_subscription_join<S: TableFlavor, VF, VB, C, KP: PickSerde<FK>, VP: PickSerde<VB>>(
        self,
        _right: Witness<FK, Change<VF>>,
        _stored: Witness<FK, Change<VB>>,
        getter: C,
        stores: &StoreSet,
        index: usize,
    ) -> Result<
        (
            SubscriptionJoin<Derived<S::Rows<FK, VB, KP::Serde, VP::Serde>, C>>,
            Witness<PK, Response<VF>>,
        ),
        StreamsError,
    >
    where
        C: RowGetter<FK, VB, Out = VF>,
    {
        let rows = Derived::new(stores.bind_index(index)?, getter);
        Ok((SubscriptionJoin::new(rows), Witness::new()))
    }
}

/// The response topic.
impl<PK, VF> Witness<PK, Response<VF>> {
    /// The sink of the response topic read by the source at `source`.
    pub fn fk_response_sink<PKP: PickSerde<PK>, VFP: PickSerde<VF>>(
        self,
        source: usize,
    ) -> (RepartitionSink<PKP::Serde, ResponseSerde<VFP::Serde>>, Self) {
        (RepartitionSink::new(source), self)
    }

    /// The source of the response topic.
    #[allow(clippy::type_complexity)]
    pub fn fk_response_source<PKP: PickSerde<PK>, VFP: PickSerde<VF>>(
        self,
    ) -> (
        SourceParts<PK, Response<VF>, PKP::Serde, ResponseSerde<VFP::Serde>>,
        Self,
    ) {
        (SourceParts(PhantomData), self)
    }
}

/// The resolver of a foreign-key join, one method per joiner form.
macro_rules! fk_resolve {
    ($(#[$doc:meta])* $method:ident, $joiner:ident, ($($arg:ty),*)) => {
        impl<PK, VF> Witness<PK, Response<VF>> {
            $(#[$doc])*
            #[allow(clippy::type_complexity)]
            #[allow(clippy::too_many_arguments)]
            pub fn $method<S: TableFlavor, V, VB, C, KP: PickSerde<PK>, VP: PickSerde<VB>, HP: PickSerde<V>, VR, F>(
                self,
                _left: Witness<PK, Change<V>>,
                _stored: Witness<PK, Change<VB>>,
                getter: C,
                f: F,
                stores: &StoreSet,
                index: usize,
            ) -> Result<
                (
                    ResponseJoin<$joiner<F>, Derived<S::Rows<PK, VB, KP::Serde, VP::Serde>, C>, HP::Serde>,
                    Witness<PK, Option<VR>>,
                ),
                StreamsError,
            >
            where
                C: RowGetter<PK, VB, Out = V>,
                F: FnMut($($arg),*) -> VR,
            {
                let rows = Derived::new(stores.bind_index(index)?, getter);
                Ok((ResponseJoin::new($joiner(f), rows), Witness::new()))
            }
        }
    };
}

fk_resolve!(
    /// `join(other, |v| fk, |value, other| ..)`.
    fk_resolve, InnerValueStreamJoiner, (&V, &VF)
);
fk_resolve!(
    /// `join(other, |v| fk, |key, value, other| ..)`.
    fk_resolve_with_key, InnerStreamJoiner, (&PK, &V, &VF)
);
fk_resolve!(
    /// `left_join(other, |v| fk, |value, other: Option<&_>| ..)`.
    fk_left_resolve, LeftValueStreamJoiner, (&V, Option<&VF>)
);
fk_resolve!(
    /// `left_join(other, |v| fk, |key, value, other: Option<&_>| ..)`.
    fk_left_resolve_with_key, LeftStreamJoiner, (&PK, &V, Option<&VF>)
);

/// The joined table of a foreign-key join.
impl<K, VR> Witness<K, Option<VR>> {
    /// The joined table's changes.
    pub fn fk_output(self) -> (JoinOutput<VR>, Witness<K, Change<VR>>) {
        (JoinOutput::default(), Witness::new())
    }
}
