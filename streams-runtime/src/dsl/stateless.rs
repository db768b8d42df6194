//! Stateless KStream operators: filter, map, flat_map, select_key, peek, foreach, branch,
//! merge (a pass-through with several parents) and `to` with a topic chosen per record.

use super::Operator;
use crate::error::ProcessingError;
use crate::graph::{Children, Chunks, StreamPartitioner};
use crate::record::Record;
use crate::serde::Serde;
use crate::task::{Destination, TaskContext};

/// Forwards records unchanged: a merge point, or a named branch of a split.
#[derive(Debug, Clone, Copy, Default)]
pub struct PassThrough;

impl<K, V> Operator<K, V> for PassThrough {
    type KeyOut = K;
    type ValueOut = V;
    #[inline]
    fn process<Ch: Children<K, V>>(
        &mut self,
        _: &'static str,
        record: Record<K, V>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        children.forward(record, task)
    }
}

/// `filter` / `filter_not`: forwards records for which the predicate holds (or, negated, fails).
pub struct Filter<F> {
    predicate: F,
    keep: bool,
}

impl<F> Filter<F> {
    /// Keeps records where `predicate` returns `keep`.
    pub fn new(predicate: F, keep: bool) -> Self {
        Filter { predicate, keep }
    }
}

impl<K, V, F: FnMut(&K, &V) -> bool> Operator<K, V> for Filter<F> {
    type KeyOut = K;
    type ValueOut = V;
    #[inline]
    fn process<Ch: Children<K, V>>(
        &mut self,
        _: &'static str,
        record: Record<K, V>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        if (self.predicate)(&record.key, &record.value) == self.keep {
            children.forward(record, task)
        } else {
            Ok(())
        }
    }
}

/// `map`: a new key and value from each record.
pub struct Map<F>(pub F);

impl<K, V, K2, V2, F: FnMut(K, V) -> (K2, V2)> Operator<K, V> for Map<F> {
    type KeyOut = K2;
    type ValueOut = V2;
    #[inline]
    fn process<Ch: Children<K2, V2>>(
        &mut self,
        _: &'static str,
        record: Record<K, V>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        let (key, value) = (self.0)(record.key, record.value);
        children.forward(
            Record {
                key,
                value,
                timestamp: record.timestamp,
                headers: record.headers,
            },
            task,
        )
    }
}

/// `map_values`: a new value from the key and value (Java's `ValueMapperWithKey`; a mapper of
/// the value alone is wrapped into one).
pub struct MapValues<F>(pub F);

impl<K, V, V2, F: FnMut(&K, V) -> V2> Operator<K, V> for MapValues<F> {
    type KeyOut = K;
    type ValueOut = V2;
    #[inline]
    fn process<Ch: Children<K, V2>>(
        &mut self,
        _: &'static str,
        record: Record<K, V>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        children.forward(record.map_value(&mut self.0), task)
    }
}

/// `flat_map`: zero or more records (new keys and values) from each record.
pub struct FlatMap<F>(pub F);

impl<K, V, K2, V2, I, F> Operator<K, V> for FlatMap<F>
where
    F: FnMut(K, V) -> I,
    I: IntoIterator<Item = (K2, V2)>,
{
    type KeyOut = K2;
    type ValueOut = V2;
    #[inline]
    fn process<Ch: Children<K2, V2>>(
        &mut self,
        _: &'static str,
        record: Record<K, V>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        for (key, value) in (self.0)(record.key, record.value) {
            children.forward(
                Record {
                    key,
                    value,
                    timestamp: record.timestamp,
                    headers: record.headers.clone(),
                },
                task,
            )?;
        }
        Ok(())
    }
}

/// `flat_map_values`: zero or more values from each record, each with the record's key (a
/// mapper of the value alone is wrapped into one of the key and value).
pub struct FlatMapValues<F>(pub F);

impl<K: Clone, V, V2, I, F> Operator<K, V> for FlatMapValues<F>
where
    F: FnMut(&K, V) -> I,
    I: IntoIterator<Item = V2>,
{
    type KeyOut = K;
    type ValueOut = V2;
    #[inline]
    fn process<Ch: Children<K, V2>>(
        &mut self,
        _: &'static str,
        record: Record<K, V>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        for value in (self.0)(&record.key, record.value) {
            children.forward(
                Record {
                    key: record.key.clone(),
                    value,
                    timestamp: record.timestamp,
                    headers: record.headers.clone(),
                },
                task,
            )?;
        }
        Ok(())
    }
}

/// `select_key` (and the first half of `group_by`): a new key computed from the record.
pub struct SelectKey<F>(pub F);

impl<K, V, K2, F: FnMut(&K, &V) -> K2> Operator<K, V> for SelectKey<F> {
    type KeyOut = K2;
    type ValueOut = V;
    #[inline]
    fn process<Ch: Children<K2, V>>(
        &mut self,
        _: &'static str,
        record: Record<K, V>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        let key = (self.0)(&record.key, &record.value);
        children.forward(record.with_key(key), task)
    }
}

/// `peek`: calls the action on each record and forwards it unchanged.
pub struct Peek<F>(pub F);

impl<K, V, F: FnMut(&K, &V)> Operator<K, V> for Peek<F> {
    type KeyOut = K;
    type ValueOut = V;
    #[inline]
    fn process<Ch: Children<K, V>>(
        &mut self,
        _: &'static str,
        record: Record<K, V>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        (self.0)(&record.key, &record.value);
        children.forward(record, task)
    }
}

/// `foreach`: calls the action on each record; a terminal operation.
pub struct Foreach<F>(pub F);

impl<K, V, F: FnMut(&K, &V)> Operator<K, V> for Foreach<F> {
    type KeyOut = K;
    type ValueOut = V;
    #[inline]
    fn process<Ch: Children<K, V>>(
        &mut self,
        _: &'static str,
        record: Record<K, V>,
        _: &mut Ch,
        _: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        (self.0)(&record.key, &record.value);
        Ok(())
    }
}

/// The predicates of a `split`, as a tuple of up to eight (or [`Chunks`] of such tuples); the
/// first that holds picks the branch.
pub trait BranchPredicates<K, V> {
    /// How many predicates there are.
    const LEN: usize;
    /// The index of the first predicate that holds.
    fn select(&mut self, key: &K, value: &V) -> Option<usize>;
}

macro_rules! predicates_tuple {
    ($($i:tt $P:ident),*) => {
        impl<K, V, $($P: FnMut(&K, &V) -> bool),*> BranchPredicates<K, V> for ($($P,)*) {
            const LEN: usize = [$($i),*].len();
            #[inline]
            fn select(&mut self, key: &K, value: &V) -> Option<usize> {
                $(if (self.$i)(key, value) { return Some($i); })*
                None
            }
        }
    };
}

predicates_tuple!(0 A);
predicates_tuple!(0 A, 1 B);
predicates_tuple!(0 A, 1 B, 2 C);
predicates_tuple!(0 A, 1 B, 2 C, 3 D);
predicates_tuple!(0 A, 1 B, 2 C, 3 D, 4 E);
predicates_tuple!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F);
predicates_tuple!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G);
predicates_tuple!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H);

macro_rules! predicates_chunks {
    ($($i:tt $P:ident),*) => {
        impl<K, V, $($P: BranchPredicates<K, V>),*> BranchPredicates<K, V> for Chunks<($($P,)*)> {
            const LEN: usize = 0 $(+ $P::LEN)*;
            #[inline]
            fn select(&mut self, key: &K, value: &V) -> Option<usize> {
                let offset = 0;
                $(
                    if let Some(index) = self.0.$i.select(key, value) {
                        return Some(offset + index);
                    }
                    let offset = offset + $P::LEN;
                )*
                let _ = offset;
                None
            }
        }
    };
}

predicates_chunks!(0 A);
predicates_chunks!(0 A, 1 B);
predicates_chunks!(0 A, 1 B, 2 C);
predicates_chunks!(0 A, 1 B, 2 C, 3 D);
predicates_chunks!(0 A, 1 B, 2 C, 3 D, 4 E);
predicates_chunks!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F);
predicates_chunks!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G);
predicates_chunks!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H);

/// `split`: each record goes to the first branch whose predicate holds, else to the default
/// branch (the last child) if there is one, else nowhere (Java's `BranchedKStream`).
pub struct Branch<P> {
    predicates: P,
    default: Option<usize>,
}

impl<P> Branch<P> {
    /// Branches on `predicates`; `default` is the child index of the default branch.
    pub fn new(predicates: P, default: Option<usize>) -> Self {
        Branch { predicates, default }
    }
}

impl<K, V, P: BranchPredicates<K, V>> Operator<K, V> for Branch<P> {
    type KeyOut = K;
    type ValueOut = V;
    #[inline]
    fn process<Ch: Children<K, V>>(
        &mut self,
        _: &'static str,
        record: Record<K, V>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        match self.predicates.select(&record.key, &record.value).or(self.default) {
            Some(index) => children.forward_to(index, record, task),
            None => Ok(()),
        }
    }
}

/// `to` with a topic chosen per record (Java's `TopicNameExtractor`): the extractor returns one
/// of the topics the application writes.
pub struct TopicSink<F, KS, VS, P> {
    extractor: F,
    key_serde: KS,
    value_serde: VS,
    partitioner: P,
}

impl<F, KS: Default, VS: Default, P: Default> TopicSink<F, KS, VS, P> {
    /// A sink writing each record to the topic `extractor` names.
    pub fn new(extractor: F) -> Self {
        TopicSink {
            extractor,
            key_serde: KS::default(),
            value_serde: VS::default(),
            partitioner: P::default(),
        }
    }
}

impl<K, V, F, KS, VS, P> Operator<K, V> for TopicSink<F, KS, VS, P>
where
    F: FnMut(&K, &V) -> &'static str,
    KS: Serde<K>,
    VS: Serde<V>,
    P: StreamPartitioner<K, V>,
{
    type KeyOut = K;
    type ValueOut = V;
    #[inline]
    fn process<Ch: Children<K, V>>(
        &mut self,
        _: &'static str,
        record: Record<K, V>,
        _: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        let topic = (self.extractor)(&record.key, &record.value);
        let partitions = task.partition_count(topic);
        let partition = self
            .partitioner
            .partition(topic, &record.key, &record.value, partitions);
        task.send(
            Destination::Topic(topic),
            partition,
            (&self.key_serde, &record.key),
            (&self.value_serde, &record.value),
            record.timestamp,
            record.headers,
        )
        .map_err(ProcessingError::from)
    }
}
