//! A store's writes since the last commit under exactly-once: kept beside the backend, read
//! through (a task sees its own writes), applied to the backend when the transaction commits
//! and dropped when it aborts. This is how an abort rolls the store back without wiping it and
//! restoring it from the changelog, as Java does.

use super::memory::Entry;
use std::collections::BTreeMap;
use std::ops::Bound;

/// Uncommitted writes by serialized key; `None` is a delete.
#[derive(Debug, Default)]
pub(crate) struct Uncommitted {
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl Uncommitted {
    /// The uncommitted write of `key`: `Some(None)` when it was deleted, `None` when the
    /// transaction did not touch it.
    pub(crate) fn get(&self, key: &[u8]) -> Option<Option<&[u8]>> {
        self.writes.get(key).map(Option::as_deref)
    }

    /// Records a write (`None` deletes), reusing the entry's buffer when the key was written.
    pub(crate) fn put(&mut self, key: &[u8], value: Option<&[u8]>) {
        match (self.writes.get_mut(key), value) {
            (Some(Some(slot)), Some(v)) => {
                slot.clear();
                slot.extend_from_slice(v);
            }
            (Some(slot), v) => *slot = v.map(<[u8]>::to_vec),
            (None, v) => {
                self.writes.insert(key.to_vec(), v.map(<[u8]>::to_vec));
            }
        }
    }

    /// The writes, for the backend to apply at commit; leaves none.
    pub(crate) fn take(&mut self) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        std::mem::take(&mut self.writes)
    }

    /// Drops every write (the transaction aborted).
    pub(crate) fn clear(&mut self) {
        self.writes.clear();
    }

    /// Each written key and whether it now has a value (`false`: deleted).
    pub(crate) fn keys(&self) -> impl Iterator<Item = (&[u8], bool)> {
        self.writes.iter().map(|(k, v)| (k.as_slice(), v.is_some()))
    }

    /// `committed` (the backend's entries in `from..to`, in scan order) as the transaction sees
    /// them: uncommitted values replace committed ones, deletes remove them, new keys appear.
    pub(crate) fn overlay_range(
        &self,
        committed: Vec<Entry>,
        from: Bound<&[u8]>,
        to: Bound<&[u8]>,
        reverse: bool,
    ) -> Vec<Entry> {
        let writes = self.writes.range::<[u8], _>((from, to));
        if reverse {
            merge(committed, writes.rev().map(as_write), reverse)
        } else {
            merge(committed, writes.map(as_write), reverse)
        }
    }

    /// `committed` (the backend's entries with `prefix`, ascending) as the transaction sees them.
    pub(crate) fn overlay_prefix(&self, committed: Vec<Entry>, prefix: &[u8]) -> Vec<Entry> {
        let writes = self
            .writes
            .range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(as_write);
        merge(committed, writes, false)
    }
}

/// Merges two sequences sorted the same way (descending when `reverse`); on equal keys the write
/// wins, and a delete (`None`) drops the key.
pub(super) fn merge<'a>(
    committed: Vec<Entry>,
    writes: impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)>,
    reverse: bool,
) -> Vec<Entry> {
    let mut out = Vec::with_capacity(committed.len());
    let mut writes = writes.peekable();
    let comes_first = |a: &[u8], b: &[u8]| if reverse { a > b } else { a < b };
    fn emit(out: &mut Vec<Entry>, key: &[u8], value: Option<&[u8]>) {
        if let Some(v) = value {
            out.push((key.to_vec(), v.to_vec()));
        }
    }
    for (key, value) in committed {
        while let Some((k, v)) = writes.next_if(|(k, _)| comes_first(k, key.as_slice())) {
            emit(&mut out, k, v);
        }
        match writes.next_if(|(k, _)| *k == key.as_slice()) {
            Some((k, v)) => emit(&mut out, k, v),
            None => out.push((key, value)),
        }
    }
    for (k, v) in writes {
        emit(&mut out, k, v);
    }
    out
}

/// A write as [`merge`] takes it.
fn as_write<'a>((key, value): (&'a Vec<u8>, &'a Option<Vec<u8>>)) -> (&'a [u8], Option<&'a [u8]>) {
    (key, value.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(pairs: &[(&str, &str)]) -> Vec<Entry> {
        pairs
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn writes_overlay_committed_entries_in_both_directions() {
        let mut u = Uncommitted::default();
        u.put(b"a", Some(b"A2"));
        u.put(b"c", None);
        u.put(b"d", Some(b"D"));
        u.put(b"f", Some(b"F"));
        let committed = entries(&[("a", "A"), ("b", "B"), ("c", "C"), ("e", "E")]);
        let all = (Bound::Unbounded, Bound::Unbounded);
        assert_eq!(
            u.overlay_range(committed.clone(), all.0, all.1, false),
            entries(&[("a", "A2"), ("b", "B"), ("d", "D"), ("e", "E"), ("f", "F")])
        );
        let mut reversed = committed;
        reversed.reverse();
        assert_eq!(
            u.overlay_range(reversed, all.0, all.1, true),
            entries(&[("f", "F"), ("e", "E"), ("d", "D"), ("b", "B"), ("a", "A2")])
        );
        assert_eq!(u.get(b"c"), Some(None));
        assert_eq!(u.get(b"b"), None);
        assert_eq!(
            u.keys().collect::<Vec<_>>(),
            [(&b"a"[..], true), (b"c", false), (b"d", true), (b"f", true)]
        );
    }
}
