//! KTable operators: the materializing table source, filter, map_values, to_stream and the
//! key-changing group_by (Java's `KTableSource`, `KTableFilter`, `KTableMapValues`,
//! `KTableImpl.toStream`, `KTableRepartitionMap`).

use super::{CacheOwner, Change, Operator, flush_owned_cache, forward_flushed};
use crate::error::ProcessingError;
use crate::graph::Children;
use crate::record::Record;
use crate::serde::Serde;
use crate::state::{EntryContext, KeyValueStore, LastWrite, NOT_PUT, PUT_LATEST, VersionedKeyValueStore};
use crate::task::TaskContext;

/// Turns a topic's records into table updates: a null key is skipped, a null value deletes the
/// row; each update is written to the table's store (with the record's timestamp) and forwarded
/// with the value it replaced. A tombstone for an absent row is forwarded too (as Java's
/// uncached table source does: a table join emits the tombstone of a row that never joined, a
/// filter drops it). Over a caching store the update goes into the record cache instead, and
/// what a flush of the cache writes is forwarded: the latest update of each key since the
/// last flush, and no tombstone for a row the store never had (Java's cached table source).
pub struct TableSource<K, V, KS, VS> {
    store: KeyValueStore<K, V, KS, VS>,
    /// Whether the store caches its updates.
    cached: bool,
}

impl<K, V, KS: Serde<K>, VS: Serde<V>> TableSource<K, V, KS, VS> {
    /// A table source materialized in `store`.
    pub fn new(store: KeyValueStore<K, V, KS, VS>) -> Self {
        let cached = store.cache_index().is_some();
        TableSource { store, cached }
    }
}

impl<K, V: Clone, KS: Serde<K>, VS: Serde<V>, Ch: Children<K, Change<V>>> CacheOwner<Ch> for TableSource<K, V, KS, VS> {
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

impl<K, V: Clone, KS: Serde<K>, VS: Serde<V>> Operator<Option<K>, Option<V>> for TableSource<K, V, KS, VS> {
    type KeyOut = K;
    type ValueOut = Change<V>;
    #[inline]
    fn process<Ch: Children<K, Change<V>>>(
        &mut self,
        name: &'static str,
        record: Record<Option<K>, Option<V>>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        let Some(key) = record.key else {
            task.skip_record(name, "null key in a table's topic");
            return Ok(());
        };
        if self.cached {
            let context = EntryContext {
                timestamp: record.timestamp,
                metadata: task.record_metadata(),
                headers: record.headers,
            };
            let update = |_| (record.value, record.timestamp);
            if !self.store.update_in_cache(&key, update, context)? {
                task.skip_record(name, "key serializes to null");
            }
            return forward_flushed(&self.store, &mut LastWrite::default(), children, task);
        }
        let Some((change, _)) = self
            .store
            .update_timestamped(&key, |_| (record.value, record.timestamp))?
        else {
            task.skip_record(name, "key serializes to null");
            return Ok(());
        };
        children.forward(
            Record {
                key,
                value: change,
                timestamp: record.timestamp,
                headers: record.headers,
            },
            task,
        )
    }
}

/// The source of a versioned table (KIP-914): every update is kept as a version at its
/// timestamp, so joins can read the row as of a stream record's time. An update newer than the
/// key's latest version is forwarded with the value it replaces; one older than the history
/// retention is dropped (and counted by the store). An out-of-order update within the history
/// retention is stored but not forwarded: Java forwards it flagged as not the latest, which
/// its joins and `group_by` drop and only `to_stream`, `filter` and `map_values` pass on.
pub struct VersionedTableSource<K, V, KS, VS> {
    store: VersionedKeyValueStore<K, V, KS, VS>,
}

impl<K, V, KS, VS> VersionedTableSource<K, V, KS, VS> {
    /// A table source materialized in `store`.
    pub fn new(store: VersionedKeyValueStore<K, V, KS, VS>) -> Self {
        VersionedTableSource { store }
    }
}

impl<K, V: Clone, KS: Serde<K>, VS: Serde<V>> Operator<Option<K>, Option<V>> for VersionedTableSource<K, V, KS, VS> {
    type KeyOut = K;
    type ValueOut = Change<V>;
    #[inline]
    fn process<Ch: Children<K, Change<V>>>(
        &mut self,
        name: &'static str,
        record: Record<Option<K>, Option<V>>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        let Some(key) = record.key else {
            task.skip_record(name, "null key in a table's topic");
            return Ok(());
        };
        let old = self.store.get(&key)?.map(|r| r.value);
        let code = self.store.write(&key, record.value.as_ref(), record.timestamp)?;
        match code {
            NOT_PUT => task.skip_record(name, "update older than the versioned table's history retention"),
            PUT_LATEST => children.forward(
                Record {
                    key,
                    value: Change::new(record.value, old),
                    timestamp: record.timestamp,
                    headers: record.headers,
                },
                task,
            )?,
            _ => {}
        }
        Ok(())
    }
}

/// `filter` / `filter_not` on a table: a row that fails the predicate reads as absent, so
/// downstream sees a tombstone for it. The old value is filtered too (the parent always sends
/// it to a filter) and an update in which both read as absent is not forwarded: a row that never
/// passed the filter produces no tombstones (Java's `KTableFilter`, which has its parent send
/// old values).
pub struct TableFilter<F> {
    predicate: F,
    keep: bool,
}

impl<F> TableFilter<F> {
    /// Keeps rows where `predicate` returns `keep`.
    pub fn new(predicate: F, keep: bool) -> Self {
        TableFilter { predicate, keep }
    }
}

impl<K, V, F: FnMut(&K, &V) -> bool> Operator<K, Change<V>> for TableFilter<F> {
    type KeyOut = K;
    type ValueOut = Change<V>;
    #[inline]
    fn process<Ch: Children<K, Change<V>>>(
        &mut self,
        _: &'static str,
        record: Record<K, Change<V>>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        let Record {
            key,
            value: change,
            timestamp,
            headers,
        } = record;
        let mut keep = |v: Option<V>| v.filter(|v| (self.predicate)(&key, v) == self.keep);
        let new = keep(change.new);
        let old = keep(change.old);
        if new.is_none() && old.is_none() {
            return Ok(());
        }
        children.forward(
            Record {
                key,
                value: Change { new, old },
                timestamp,
                headers,
            },
            task,
        )
    }
}

/// `map_values` on a table: the mapper applies to the new value, and to the old value when a
/// downstream aggregation needs old values (Java's `sendOldValues`).
pub struct TableMapValues<F> {
    mapper: F,
    send_old_values: bool,
}

impl<F> TableMapValues<F> {
    /// Maps values with `mapper`.
    pub fn new(mapper: F, send_old_values: bool) -> Self {
        TableMapValues {
            mapper,
            send_old_values,
        }
    }
}

impl<K, V, V2, F: FnMut(&K, V) -> V2> Operator<K, Change<V>> for TableMapValues<F> {
    type KeyOut = K;
    type ValueOut = Change<V2>;
    #[inline]
    fn process<Ch: Children<K, Change<V2>>>(
        &mut self,
        _: &'static str,
        record: Record<K, Change<V>>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        let TableMapValues {
            mapper,
            send_old_values,
        } = self;
        let record = record.map_value(|key, change| Change {
            new: change.new.map(|v| mapper(key, v)),
            old: change.old.filter(|_| *send_old_values).map(|v| mapper(key, v)),
        });
        children.forward(record, task)
    }
}

/// `to_stream`: the changelog stream of a table; a deleted row is a record with a `None` value
/// (a tombstone once written to a topic).
#[derive(Debug, Clone, Copy, Default)]
pub struct ToStream;

impl<K, V> Operator<K, Change<V>> for ToStream {
    type KeyOut = K;
    type ValueOut = Option<V>;
    #[inline]
    fn process<Ch: Children<K, Option<V>>>(
        &mut self,
        _: &'static str,
        record: Record<K, Change<V>>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        children.forward(record.map_value(|_, change| change.new), task)
    }
}

/// `group_by` on a table: maps each row to a new key and value. An update whose old and new
/// rows map to the same key travels as one change; otherwise the old row's removal goes to its
/// group first, then the new row's addition to its own (Java's `KTableRepartitionMap`).
pub struct TableGroupBy<F>(pub F);

impl<K, V, K2: PartialEq, V2, F: FnMut(&K, V) -> (K2, V2)> Operator<K, Change<V>> for TableGroupBy<F> {
    type KeyOut = K2;
    type ValueOut = Change<V2>;
    #[inline]
    fn process<Ch: Children<K2, Change<V2>>>(
        &mut self,
        _: &'static str,
        record: Record<K, Change<V>>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        let key = record.key;
        let new = record.value.new.map(|v| (self.0)(&key, v));
        let old = record.value.old.map(|v| (self.0)(&key, v));
        let send = |key, change, children: &mut Ch, task: &mut TaskContext| {
            children.forward(
                Record {
                    key,
                    value: change,
                    timestamp: record.timestamp,
                    headers: record.headers.clone(),
                },
                task,
            )
        };
        match (new, old) {
            (Some((nk, nv)), Some((ok, ov))) if nk == ok => send(nk, Change::new(Some(nv), Some(ov)), children, task),
            (new, old) => {
                if let Some((ok, ov)) = old {
                    send(ok, Change::new(None, Some(ov)), children, task)?;
                }
                if let Some((nk, nv)) = new {
                    send(nk, Change::new(Some(nv), None), children, task)?;
                }
                Ok(())
            }
        }
    }
}
