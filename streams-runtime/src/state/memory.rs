//! The in-memory key-value backend: entries ordered by the serialized key bytes, like Java's
//! `InMemoryKeyValueStore`, with a hash index for point reads and writes (the join and
//! aggregation paths), so those do not descend a B-tree of heap-allocated keys.

use super::ByteMap;
use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::Arc;

/// Key and value bytes of an entry.
pub(crate) type Entry = (Vec<u8>, Vec<u8>);

/// Ordered byte map: values by key in a hash map, the keys (shared with it) in a B-tree set for
/// ordered scans.
#[derive(Debug, Default)]
pub(crate) struct InMemoryKvStore {
    values: ByteMap<Vec<u8>>,
    order: BTreeSet<Arc<[u8]>>,
}

impl InMemoryKvStore {
    pub(crate) fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.values.get(key).map(Vec::as_slice)
    }

    /// Overwrites in place when the key exists, so updates of hot keys do not allocate.
    pub(crate) fn put(&mut self, key: &[u8], value: &[u8]) {
        match self.values.get_mut(key) {
            Some(slot) => {
                slot.clear();
                slot.extend_from_slice(value);
            }
            None => {
                let key: Arc<[u8]> = Arc::from(key);
                self.order.insert(Arc::clone(&key));
                self.values.insert(key, value.to_vec());
            }
        }
    }

    /// The value bytes of `key`, to read and overwrite in place with one lookup.
    pub(crate) fn slot(&mut self, key: &[u8]) -> Option<&mut Vec<u8>> {
        self.values.get_mut(key)
    }

    pub(crate) fn delete(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        let value = self.values.remove(key)?;
        self.order.remove(key);
        Some(value)
    }

    fn entry(&self, key: &Arc<[u8]>) -> Entry {
        let value = self.values.get(key).cloned().unwrap_or_default();
        (key.to_vec(), value)
    }

    /// Entries with keys within the bounds (the caller ensures `from <= to`).
    pub(crate) fn scan(&self, from: Bound<&[u8]>, to: Bound<&[u8]>, reverse: bool) -> Vec<Entry> {
        let range = self.order.range::<[u8], _>((from, to));
        if reverse {
            range.rev().map(|k| self.entry(k)).collect()
        } else {
            range.map(|k| self.entry(k)).collect()
        }
    }

    pub(crate) fn prefix_scan(&self, prefix: &[u8]) -> Vec<Entry> {
        self.order
            .range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|k| k.starts_with(prefix))
            .map(|k| self.entry(k))
            .collect()
    }

    pub(crate) fn len(&self) -> u64 {
        self.values.len() as u64
    }
}
