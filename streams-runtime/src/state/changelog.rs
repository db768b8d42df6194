//! The changelog seam: a logged store records every write here; the task drains the buffer
//! into its record collector after each record or punctuation, addressed to the store's
//! changelog topic (`<application.id>-<store>-changelog`).
//!
//! Keys and values go into one reused byte arena, so logging a write allocates nothing once the
//! buffer has grown to its working size.

use std::ops::Range;

#[derive(Debug)]
struct ChangelogEntry {
    key: Range<usize>,
    value: Option<Range<usize>>,
    timestamp: Option<i64>,
}

/// The writes of one store not yet handed to the record collector.
#[derive(Debug, Default)]
pub(crate) struct ChangelogBuffer {
    bytes: Vec<u8>,
    entries: Vec<ChangelogEntry>,
}

impl ChangelogBuffer {
    /// Records a put (`Some`) or a delete (`None`, a tombstone on the changelog), with the
    /// changelog record's timestamp (`None`: the current record's).
    pub(crate) fn record(&mut self, key: &[u8], value: Option<&[u8]>, timestamp: Option<i64>) {
        let key = self.append(key);
        let value = value.map(|v| self.append(v));
        self.entries.push(ChangelogEntry { key, value, timestamp });
    }

    fn append(&mut self, data: &[u8]) -> Range<usize> {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(data);
        start..self.bytes.len()
    }

    /// Hands every recorded write to `sink`, in write order, and empties the buffer.
    pub(crate) fn drain(&mut self, mut sink: impl FnMut(&[u8], Option<&[u8]>, Option<i64>)) {
        for e in &self.entries {
            sink(
                &self.bytes[e.key.clone()],
                e.value.clone().map(|v| &self.bytes[v]),
                e.timestamp,
            );
        }
        self.entries.clear();
        self.bytes.clear();
    }

    /// Whether there is nothing to drain.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
