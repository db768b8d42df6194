//! KStream-KTable and KStream-GlobalKTable joins (Java's `KStreamKTableJoin`,
//! `KStreamGlobalKTableJoin`): each stream record looks its key (or, for a global table, the key
//! its key mapper picks) up in the table's store and joins what is there at that moment; table
//! updates trigger nothing.

use super::Operator;
use crate::error::ProcessingError;
use crate::error::StoreError;
use crate::graph::Children;
use crate::record::Record;
use crate::serde::Serde;
use crate::state::{GlobalKeyValueStore, KeyValueStore, VersionedKeyValueStore};
use crate::task::TaskContext;

/// How a stream-table join combines a stream value with the table's value at the record's key.
pub trait TableJoiner<K, V, VT> {
    /// The joined value type.
    type Out;
    /// Whether a record without a row is joined too (a left join).
    const LEFT: bool;
    /// The result for `value` and the table's row (`None`: no row), or `None` when the join
    /// emits nothing (an inner join without a row).
    fn join(&mut self, key: &K, value: &V, row: Option<&VT>) -> Option<Self::Out>;
}

/// Where a join reads a table's rows: its store (plain or versioned), or a global table's.
pub trait TableRows {
    /// The table's key type.
    type Key;
    /// The table's value type.
    type Value;
    /// The current row of `key` and its timestamp, if any.
    fn latest(&self, key: &Self::Key) -> Result<Option<(Self::Value, i64)>, StoreError>;
    /// The row of `key` as of `timestamp`: a versioned table's version valid then (KIP-914),
    /// any other table's current row.
    fn as_of(&self, key: &Self::Key, timestamp: i64) -> Result<Option<Self::Value>, StoreError> {
        let _ = timestamp;
        Ok(self.latest(key)?.map(|(v, _)| v))
    }
}

/// The rows of a key-value store (a table's own, or a global table's): the current row at
/// any time.
macro_rules! key_value_rows {
    ($($store:ident),*) => {$(
        impl<K, V, KS: Serde<K>, VS: Serde<V>> TableRows for $store<K, V, KS, VS> {
            type Key = K;
            type Value = V;
            #[inline]
            fn latest(&self, key: &K) -> Result<Option<(V, i64)>, StoreError> {
                self.get_with_timestamp(key)
            }
            #[inline]
            fn as_of(&self, key: &K, _: i64) -> Result<Option<V>, StoreError> {
                self.get(key)
            }
        }
    )*};
}

key_value_rows!(KeyValueStore, GlobalKeyValueStore);

impl<K, V, KS: Serde<K>, VS: Serde<V>> TableRows for VersionedKeyValueStore<K, V, KS, VS> {
    type Key = K;
    type Value = V;
    #[inline]
    fn latest(&self, key: &K) -> Result<Option<(V, i64)>, StoreError> {
        Ok(self.get(key)?.map(|r| (r.value, r.timestamp)))
    }
    #[inline]
    fn as_of(&self, key: &K, timestamp: i64) -> Result<Option<V>, StoreError> {
        Ok(self.get_as_of(key, timestamp)?.map(|r| r.value))
    }
}

/// The operators between a materialized table and the table a join reads (Java's value
/// getters): applied to the stored row on each read. `()` is the stored row itself; a pair
/// applies its first step, then the rest.
pub trait RowGetter<K, V> {
    /// The row type the join sees.
    type Out;
    /// The row the join sees for the stored row `value` (`None`: filtered out).
    fn apply(&self, key: &K, value: V) -> Option<Self::Out>;
}

impl<K, V> RowGetter<K, V> for () {
    type Out = V;
    #[inline]
    fn apply(&self, _: &K, value: V) -> Option<V> {
        Some(value)
    }
}

/// A `filter` (`keep = true`) or `filter_not` between the store and the join.
pub struct FilterStep<F> {
    predicate: F,
    keep: bool,
}

impl<F> FilterStep<F> {
    /// The step keeping rows for which `predicate` returns `keep`.
    pub fn new(predicate: F, keep: bool) -> Self {
        FilterStep { predicate, keep }
    }
}

impl<K, V, F: Fn(&K, &V) -> bool, R: RowGetter<K, V>> RowGetter<K, V> for (FilterStep<F>, R) {
    type Out = R::Out;
    #[inline]
    fn apply(&self, key: &K, value: V) -> Option<R::Out> {
        if (self.0.predicate)(key, &value) != self.0.keep {
            return None;
        }
        self.1.apply(key, value)
    }
}

/// A `map_values` between the store and the join.
pub struct MapStep<F>(pub F);

impl<K, V, V2, F: Fn(&K, V) -> V2, R: RowGetter<K, V2>> RowGetter<K, V> for (MapStep<F>, R) {
    type Out = R::Out;
    #[inline]
    fn apply(&self, key: &K, value: V) -> Option<R::Out> {
        self.1.apply(key, (self.0.0)(key, value))
    }
}

/// A table derived from a materialized one by `filter` / `map_values`: its rows are the stored
/// rows through the getter `C`.
pub struct Derived<T, C> {
    rows: T,
    getter: C,
}

impl<T, C> Derived<T, C> {
    /// The rows of `rows` seen through `getter`.
    pub fn new(rows: T, getter: C) -> Self {
        Derived { rows, getter }
    }
}

impl<T: TableRows, C: RowGetter<T::Key, T::Value>> TableRows for Derived<T, C> {
    type Key = T::Key;
    type Value = C::Out;
    #[inline]
    fn latest(&self, key: &T::Key) -> Result<Option<(C::Out, i64)>, StoreError> {
        Ok(self
            .rows
            .latest(key)?
            .and_then(|(v, ts)| self.getter.apply(key, v).map(|v| (v, ts))))
    }
    #[inline]
    fn as_of(&self, key: &T::Key, timestamp: i64) -> Result<Option<C::Out>, StoreError> {
        Ok(self.rows.as_of(key, timestamp)?.and_then(|v| self.getter.apply(key, v)))
    }
}

/// The table key a stream record looks up.
pub trait TableKey<K, V> {
    /// The table's key type.
    type Key;
    /// Calls `f` with the key to look up for the record (`key`, `value`).
    fn with_key<R>(&mut self, key: &K, value: &V, f: impl FnOnce(&Self::Key) -> R) -> R;
}

/// A table keyed like the stream: the record's own key.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordKey;

impl<K, V> TableKey<K, V> for RecordKey {
    type Key = K;
    #[inline]
    fn with_key<R>(&mut self, key: &K, _: &V, f: impl FnOnce(&K) -> R) -> R {
        f(key)
    }
}

/// A global table's key, picked from the record by a key mapper `|key, value| table_key`.
pub struct MappedKey<F>(pub F);

impl<K, V, GK, F: FnMut(&K, &V) -> GK> TableKey<K, V> for MappedKey<F> {
    type Key = GK;
    #[inline]
    fn with_key<R>(&mut self, key: &K, value: &V, f: impl FnOnce(&GK) -> R) -> R {
        f(&(self.0)(key, value))
    }
}

/// An inner join's joiner `|key, value, row|`: records without a table row produce nothing.
pub struct InnerJoiner<F>(pub F);

impl<K, V, VT, VR, F: FnMut(&K, &V, &VT) -> VR> TableJoiner<K, V, VT> for InnerJoiner<F> {
    type Out = VR;
    const LEFT: bool = false;
    #[inline]
    fn join(&mut self, key: &K, value: &V, row: Option<&VT>) -> Option<VR> {
        row.map(|row| (self.0)(key, value, row))
    }
}

/// An inner join's joiner of values only, `|value, row|`.
pub struct InnerValueJoiner<F>(pub F);

impl<K, V, VT, VR, F: FnMut(&V, &VT) -> VR> TableJoiner<K, V, VT> for InnerValueJoiner<F> {
    type Out = VR;
    const LEFT: bool = false;
    #[inline]
    fn join(&mut self, _: &K, value: &V, row: Option<&VT>) -> Option<VR> {
        row.map(|row| (self.0)(value, row))
    }
}

/// A left join's joiner `|key, value, row: Option<&_>|`: a record without a row joins `None`.
pub struct LeftJoiner<F>(pub F);

impl<K, V, VT, VR, F: FnMut(&K, &V, Option<&VT>) -> VR> TableJoiner<K, V, VT> for LeftJoiner<F> {
    type Out = VR;
    const LEFT: bool = true;
    #[inline]
    fn join(&mut self, key: &K, value: &V, row: Option<&VT>) -> Option<VR> {
        Some((self.0)(key, value, row))
    }
}

/// A left join's joiner of values only, `|value, row: Option<&_>|`.
pub struct LeftValueJoiner<F>(pub F);

impl<K, V, VT, VR, F: FnMut(&V, Option<&VT>) -> VR> TableJoiner<K, V, VT> for LeftValueJoiner<F> {
    type Out = VR;
    const LEFT: bool = true;
    #[inline]
    fn join(&mut self, _: &K, value: &V, row: Option<&VT>) -> Option<VR> {
        Some((self.0)(value, row))
    }
}

/// `stream.join(table, ..)` / `left_join` (and the same with a global table and a key mapper
/// `M`): the table is read from its store (Java's `KTableValueGetter`); the result keeps the
/// stream record's key, timestamp and headers. A record whose value is null (as the stream's
/// value serde `NS` reports it) is skipped and counted, as Java drops it; so is a record whose
/// table key is null (as the table's key serde reports it), except that a left join joins it
/// with no row (KIP-962).
pub struct StreamTableJoin<J, M, T, KS, NS> {
    joiner: J,
    mapper: M,
    table: T,
    key_serde: KS,
    values: NS,
}

impl<J, M, T, KS: Default, NS: Default> StreamTableJoin<J, M, T, KS, NS> {
    /// A join reading the table from `table`, looking up the keys `mapper` picks; `KS` is the
    /// table keys' serde (it tells which keys are null).
    pub fn new(joiner: J, mapper: M, table: T) -> Self {
        StreamTableJoin {
            joiner,
            mapper,
            table,
            key_serde: KS::default(),
            values: NS::default(),
        }
    }
}

impl<K, V, J, M, T, KS, NS> Operator<K, V> for StreamTableJoin<J, M, T, KS, NS>
where
    J: TableJoiner<K, V, T::Value>,
    M: TableKey<K, V>,
    T: TableRows<Key = M::Key>,
    KS: Serde<M::Key>,
    NS: Serde<V>,
{
    type KeyOut = K;
    type ValueOut = J::Out;
    #[inline]
    fn process<Ch: Children<K, J::Out>>(
        &mut self,
        name: &'static str,
        record: Record<K, V>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        if self.values.is_null(&record.value) {
            task.skip_record(name, "null value in a stream-table join");
            return Ok(());
        }
        let timestamp = record.timestamp;
        let StreamTableJoin {
            mapper,
            table,
            key_serde,
            ..
        } = self;
        let (null_key, row) = mapper.with_key(&record.key, &record.value, |key| {
            if key_serde.is_null(key) {
                return Ok((true, None));
            }
            table.as_of(key, timestamp).map(|row| (false, row))
        })?;
        if null_key && !J::LEFT {
            task.skip_record(name, "null join key in a stream-table join");
            return Ok(());
        }
        let Some(joined) = self.joiner.join(&record.key, &record.value, row.as_ref()) else {
            return Ok(());
        };
        children.forward(record.map_value(|_, _| joined), task)
    }
}
