//! The in-memory key-value backend: a B-tree ordered by the serialized key bytes, like Java's
//! `InMemoryKeyValueStore`.

use std::collections::BTreeMap;
use std::ops::Bound;

/// Key and value bytes of an entry.
pub(crate) type Entry = (Vec<u8>, Vec<u8>);

/// Ordered byte map.
#[derive(Debug, Default)]
pub(crate) struct InMemoryKvStore {
    map: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl InMemoryKvStore {
    pub(crate) fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.map.get(key).map(Vec::as_slice)
    }

    /// Overwrites in place when the key exists, so updates of hot keys do not allocate.
    pub(crate) fn put(&mut self, key: &[u8], value: &[u8]) {
        match self.map.get_mut(key) {
            Some(slot) => {
                slot.clear();
                slot.extend_from_slice(value);
            }
            None => {
                self.map.insert(key.to_vec(), value.to_vec());
            }
        }
    }

    /// The value bytes of `key`, to read and overwrite in place with one lookup.
    pub(crate) fn slot(&mut self, key: &[u8]) -> Option<&mut Vec<u8>> {
        self.map.get_mut(key)
    }

    pub(crate) fn delete(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        self.map.remove(key)
    }

    /// Entries with keys within the bounds (the caller ensures `from <= to`).
    pub(crate) fn scan(&self, from: Bound<&[u8]>, to: Bound<&[u8]>, reverse: bool) -> Vec<Entry> {
        let range = self.map.range::<[u8], _>((from, to));
        let clone = |(k, v): (&Vec<u8>, &Vec<u8>)| (k.clone(), v.clone());
        if reverse {
            range.rev().map(clone).collect()
        } else {
            range.map(clone).collect()
        }
    }

    pub(crate) fn prefix_scan(&self, prefix: &[u8]) -> Vec<Entry> {
        self.map
            .range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    pub(crate) fn len(&self) -> u64 {
        self.map.len() as u64
    }
}
