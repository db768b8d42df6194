//! Aggregations of grouped streams and grouped tables (Java's `KStreamAggregate`,
//! `KStreamReduce`, `KTableAggregate`, `KTableReduce`). The result is a table: each update is
//! written to the aggregation's store and forwarded as a [`Change`] of the aggregate, with the
//! later of the record's timestamp and the aggregate's (the store keeps a timestamp with each
//! aggregate). Over a caching store the update goes into the record cache instead, and what a
//! flush of the cache writes is forwarded (one update per key and flush).

use super::{CacheOwner, Change, Operator, flush_owned_cache, forward_flushed};
use crate::error::ProcessingError;
use crate::graph::Children;
use crate::record::Record;
use crate::serde::Serde;
use crate::state::{EntryContext, KeyValueStore, LastWrite};
use crate::task::TaskContext;

/// How a grouped stream folds a value into its group's aggregate.
pub trait StreamAggregator<K, V> {
    /// The aggregate type.
    type Agg;
    /// The new aggregate from the current one (`None` for a new group) and a value.
    fn add(&mut self, key: &K, value: V, aggregate: Option<Self::Agg>) -> Self::Agg;
    /// A new group's aggregate before its first value (Java's initializer; `None` for a
    /// reduction, whose first value starts the aggregate). Windowed aggregations forward it as
    /// a new window's old value, as Java does.
    fn initial(&mut self) -> Option<Self::Agg>;
}

/// `count()`: the number of records per group.
#[derive(Debug, Clone, Copy, Default)]
pub struct Count;

impl<K, V> StreamAggregator<K, V> for Count {
    type Agg = i64;
    #[inline]
    fn add(&mut self, _: &K, _: V, aggregate: Option<i64>) -> i64 {
        aggregate.unwrap_or(0) + 1
    }
    #[inline]
    fn initial(&mut self) -> Option<i64> {
        Some(0)
    }
}

/// `reduce(|aggregate, value| ..)`: the first value starts the aggregate.
pub struct Reduce<F>(pub F);

impl<K, V, F: FnMut(V, V) -> V> StreamAggregator<K, V> for Reduce<F> {
    type Agg = V;
    #[inline]
    fn add(&mut self, _: &K, value: V, aggregate: Option<V>) -> V {
        match aggregate {
            Some(a) => (self.0)(a, value),
            None => value,
        }
    }
    #[inline]
    fn initial(&mut self) -> Option<V> {
        None
    }
}

/// `aggregate(initializer, |key, value, aggregate| ..)`.
pub struct Aggregate<I, F> {
    initializer: I,
    aggregator: F,
}

impl<I, F> Aggregate<I, F> {
    /// An aggregation starting each group at `initializer()`.
    pub fn new(initializer: I, aggregator: F) -> Self {
        Aggregate {
            initializer,
            aggregator,
        }
    }
}

impl<K, V, A, I: FnMut() -> A, F: FnMut(&K, V, A) -> A> StreamAggregator<K, V> for Aggregate<I, F> {
    type Agg = A;
    #[inline]
    fn add(&mut self, key: &K, value: V, aggregate: Option<A>) -> A {
        let aggregate = aggregate.unwrap_or_else(&mut self.initializer);
        (self.aggregator)(key, value, aggregate)
    }
    #[inline]
    fn initial(&mut self) -> Option<A> {
        Some((self.initializer)())
    }
}

/// The aggregation node of a grouped stream over its store. A record with a null key or a
/// null value (as the grouped values' serde `NS` tells) is skipped, as in Java.
pub struct StreamAggregate<A, K, VA, KS, VS, NS> {
    aggregator: A,
    store: KeyValueStore<K, VA, KS, VS>,
    values: NS,
    /// Whether the store caches its updates.
    cached: bool,
    /// The last cached write, when the task flushes after every record.
    last: LastWrite<K, VA>,
}

impl<A, K, VA, KS: Serde<K>, VS: Serde<VA>, NS: Default> StreamAggregate<A, K, VA, KS, VS, NS> {
    /// Aggregates with `aggregator` into `store`.
    pub fn new(aggregator: A, store: KeyValueStore<K, VA, KS, VS>) -> Self {
        StreamAggregate {
            aggregator,
            cached: store.cache_index().is_some(),
            store,
            values: NS::default(),
            last: LastWrite::default(),
        }
    }
}

/// The timestamp of an aggregate's update: the later of the record's and the aggregate's.
#[inline]
fn later(record: i64, aggregate: Option<i64>) -> i64 {
    aggregate.map_or(record, |a| a.max(record))
}

impl<K, V, A, KS, VS, NS> Operator<K, V> for StreamAggregate<A, K, A::Agg, KS, VS, NS>
where
    A: StreamAggregator<K, V>,
    A::Agg: Clone,
    KS: Serde<K>,
    VS: Serde<A::Agg>,
    NS: Serde<V>,
{
    type KeyOut = K;
    type ValueOut = Change<A::Agg>;
    #[inline]
    fn process<Ch: Children<K, Change<A::Agg>>>(
        &mut self,
        name: &'static str,
        record: Record<K, V>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        let Record {
            key,
            value,
            timestamp,
            headers,
        } = record;
        if self.values.is_null(&value) {
            task.skip_record(name, "null value in an aggregation");
            return Ok(());
        }
        let aggregator = &mut self.aggregator;
        // A cached write that the next flush forwards (the driver's) is kept typed for it.
        let keep = self.cached && task.flushes_every_record();
        let mut written = None;
        let update = |old: Option<(A::Agg, i64)>| {
            let (agg, agg_ts) = old.unzip();
            let new = aggregator.add(&key, value, agg);
            if keep {
                written = Some(new.clone());
            }
            (Some(new), later(timestamp, agg_ts))
        };
        if self.cached {
            let context = EntryContext {
                timestamp,
                metadata: task.record_metadata(),
                headers,
            };
            if !self.store.update_in_cache(&key, update, context)? {
                task.skip_record(name, "null key in an aggregation");
            } else if let Some(new) = written {
                self.store.remember_write(&mut self.last, key, new);
            }
            return forward_flushed(&self.store, &mut self.last, children, task);
        }
        let Some((change, timestamp)) = self.store.update_timestamped(&key, update)? else {
            task.skip_record(name, "null key in an aggregation");
            return Ok(());
        };
        children.forward(
            Record {
                key,
                value: change,
                timestamp,
                headers,
            },
            task,
        )
    }
}

/// How a grouped table folds row updates into its group's aggregate: the old value is
/// subtracted, the new one added.
pub trait TableAggregator<K, V> {
    /// The aggregate type.
    type Agg;
    /// The new aggregate after `change`, from the current one (`None` for a new group).
    fn apply(&mut self, key: &K, change: Change<V>, aggregate: Option<Self::Agg>) -> Option<Self::Agg>;
}

/// `count()` of a grouped table: rows per group.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableCount;

impl<K, V> TableAggregator<K, V> for TableCount {
    type Agg = i64;
    #[inline]
    fn apply(&mut self, _: &K, change: Change<V>, aggregate: Option<i64>) -> Option<i64> {
        let mut count = aggregate;
        if let (Some(_), Some(c)) = (&change.old, count) {
            count = Some(c - 1);
        }
        if change.new.is_some() {
            count = Some(count.unwrap_or(0) + 1);
        }
        count
    }
}

/// `reduce(adder, subtractor)` of a grouped table: the first value starts the aggregate.
pub struct TableReduce<A, S> {
    adder: A,
    subtractor: S,
}

impl<A, S> TableReduce<A, S> {
    /// A reduction with these adder and subtractor.
    pub fn new(adder: A, subtractor: S) -> Self {
        TableReduce { adder, subtractor }
    }
}

impl<K, V, A: FnMut(V, V) -> V, S: FnMut(V, V) -> V> TableAggregator<K, V> for TableReduce<A, S> {
    type Agg = V;
    #[inline]
    fn apply(&mut self, _: &K, change: Change<V>, aggregate: Option<V>) -> Option<V> {
        let intermediate = match (change.old, aggregate) {
            (Some(old), Some(agg)) => Some((self.subtractor)(agg, old)),
            (_, agg) => agg,
        };
        match (change.new, intermediate) {
            (Some(new), Some(agg)) => Some((self.adder)(agg, new)),
            (Some(new), None) => Some(new),
            (None, agg) => agg,
        }
    }
}

/// `aggregate(initializer, adder, subtractor)` of a grouped table.
pub struct TableAggregateFns<I, A, S> {
    initializer: I,
    adder: A,
    subtractor: S,
}

impl<I, A, S> TableAggregateFns<I, A, S> {
    /// An aggregation with these initializer, adder and subtractor.
    pub fn new(initializer: I, adder: A, subtractor: S) -> Self {
        TableAggregateFns {
            initializer,
            adder,
            subtractor,
        }
    }
}

impl<K, V, VA, I, A, S> TableAggregator<K, V> for TableAggregateFns<I, A, S>
where
    I: FnMut() -> VA,
    A: FnMut(&K, V, VA) -> VA,
    S: FnMut(&K, V, VA) -> VA,
{
    type Agg = VA;
    #[inline]
    fn apply(&mut self, key: &K, change: Change<V>, aggregate: Option<VA>) -> Option<VA> {
        let intermediate = match (change.old, aggregate) {
            (Some(old), Some(agg)) => Some((self.subtractor)(key, old, agg)),
            (_, agg) => agg,
        };
        match change.new {
            Some(new) => {
                let agg = intermediate.unwrap_or_else(&mut self.initializer);
                Some((self.adder)(key, new, agg))
            }
            None => intermediate,
        }
    }
}

impl<A, K, VA, KS: Serde<K>, VS: Serde<VA>, NS, Ch: Children<K, Change<VA>>> CacheOwner<Ch>
    for StreamAggregate<A, K, VA, KS, VS, NS>
{
    fn forward_flushes(&mut self, send_old_values: bool) {
        self.store.forward_cache_flushes(send_old_values);
    }

    fn flush_cache(
        &mut self,
        store: usize,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Option<Result<(), ProcessingError>> {
        flush_owned_cache(&self.store, &mut self.last, store, children, task)
    }
}

/// The aggregation node of a grouped table over its store.
pub struct TableAggregate<A, K, VA, KS, VS> {
    aggregator: A,
    store: KeyValueStore<K, VA, KS, VS>,
    /// Whether the store caches its updates.
    cached: bool,
}

impl<A, K, VA, KS: Serde<K>, VS: Serde<VA>> TableAggregate<A, K, VA, KS, VS> {
    /// Aggregates with `aggregator` into `store`.
    pub fn new(aggregator: A, store: KeyValueStore<K, VA, KS, VS>) -> Self {
        TableAggregate {
            aggregator,
            cached: store.cache_index().is_some(),
            store,
        }
    }
}

impl<A, K, VA, KS: Serde<K>, VS: Serde<VA>, Ch: Children<K, Change<VA>>> CacheOwner<Ch>
    for TableAggregate<A, K, VA, KS, VS>
{
    fn forward_flushes(&mut self, send_old_values: bool) {
        self.store.forward_cache_flushes(send_old_values);
    }

    fn flush_cache(
        &mut self,
        store: usize,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Option<Result<(), ProcessingError>> {
        flush_owned_cache(&self.store, &mut LastWrite::default(), store, children, task)
    }
}

impl<K, V, A, KS, VS> Operator<K, Change<V>> for TableAggregate<A, K, A::Agg, KS, VS>
where
    A: TableAggregator<K, V>,
    A::Agg: Clone,
    KS: Serde<K>,
    VS: Serde<A::Agg>,
{
    type KeyOut = K;
    type ValueOut = Change<A::Agg>;
    #[inline]
    fn process<Ch: Children<K, Change<A::Agg>>>(
        &mut self,
        name: &'static str,
        record: Record<K, Change<V>>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        let Record {
            key,
            value,
            timestamp,
            headers,
        } = record;
        let aggregator = &mut self.aggregator;
        let update = |old: Option<(A::Agg, i64)>| {
            let (agg, agg_ts) = old.unzip();
            (aggregator.apply(&key, value, agg), later(timestamp, agg_ts))
        };
        if self.cached {
            let context = EntryContext {
                timestamp,
                metadata: task.record_metadata(),
                headers,
            };
            if !self.store.update_in_cache(&key, update, context)? {
                task.skip_record(name, "null key in an aggregation");
            }
            return forward_flushed(&self.store, &mut LastWrite::default(), children, task);
        }
        let Some((change, timestamp)) = self.store.update_timestamped(&key, update)? else {
            task.skip_record(name, "null key in an aggregation");
            return Ok(());
        };
        children.forward(
            Record {
                key,
                value: change,
                timestamp,
                headers,
            },
            task,
        )
    }
}
