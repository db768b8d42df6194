//! The records a task has fetched but not processed, one queue per input topic (Java's
//! `PartitionGroup` and `RecordQueue`): the task processes the record with the smallest
//! timestamp among the queue heads, so its input partitions are merged in timestamp order. With
//! `max.task.idle.ms` above 0, a task whose input partitions are not all buffered waits that
//! long for the empty ones before going on without them.

use crate::record::Headers;
use std::collections::VecDeque;
use std::ops::Range;
use std::time::{Duration, Instant};

/// A fetched record; its bytes live in its queue's arena.
struct Buffered {
    offset: i64,
    timestamp: i64,
    key: Option<Range<usize>>,
    value: Option<Range<usize>>,
    headers: Headers,
}

/// The buffered records of one input topic of a task.
struct RecordQueue {
    topic: &'static str,
    source: usize,
    records: VecDeque<Buffered>,
    /// Reset whenever the queue is empty, so buffering allocates nothing once warm.
    bytes: Vec<u8>,
}

/// A record taken from a queue, ready to process.
pub(crate) struct Next<'a> {
    pub(crate) topic: &'static str,
    pub(crate) source: usize,
    pub(crate) offset: i64,
    pub(crate) timestamp: i64,
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) value: Option<&'a [u8]>,
    pub(crate) headers: Headers,
}

/// The queues of one task.
#[derive(Default)]
pub(crate) struct PartitionGroup {
    queues: Vec<RecordQueue>,
    /// Since when some input has had nothing buffered while others had (for `max.task.idle.ms`).
    waiting_since: Option<Instant>,
    /// The queue whose head was handed out by `next` and must be released by `release`.
    taken: Option<usize>,
}

impl PartitionGroup {
    /// A group over the task's input topics (`(topic, source index)`).
    pub(crate) fn new(inputs: impl IntoIterator<Item = (&'static str, usize)>) -> Self {
        PartitionGroup {
            queues: inputs
                .into_iter()
                .map(|(topic, source)| RecordQueue {
                    topic,
                    source,
                    records: VecDeque::new(),
                    bytes: Vec::new(),
                })
                .collect(),
            waiting_since: None,
            taken: None,
        }
    }

    /// Buffers a fetched record of `topic`.
    pub(crate) fn push(
        &mut self,
        topic: &'static str,
        offset: i64,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: Headers,
    ) {
        let Some(queue) = self.queues.iter_mut().find(|q| std::ptr::eq(q.topic, topic)) else {
            return;
        };
        let mut copy = |data: Option<&[u8]>| {
            data.map(|d| {
                let start = queue.bytes.len();
                queue.bytes.extend_from_slice(d);
                start..queue.bytes.len()
            })
        };
        let (key, value) = (copy(key), copy(value));
        queue.records.push_back(Buffered {
            offset,
            timestamp,
            key,
            value,
            headers,
        });
    }

    /// The next record to process, if the task may process now: the smallest head timestamp
    /// (ties to the first input), once every input has data or `max_idle` has passed.
    pub(crate) fn next(&mut self, max_idle: Duration, now: Instant) -> Option<Next<'_>> {
        let ready = self.queues.iter().all(|q| !q.records.is_empty());
        if !ready && !max_idle.is_zero() {
            let since = *self.waiting_since.get_or_insert(now);
            if now.duration_since(since) < max_idle {
                return None;
            }
        }
        if ready {
            self.waiting_since = None;
        }
        let (index, _) = self
            .queues
            .iter()
            .enumerate()
            .filter_map(|(i, q)| q.records.front().map(|r| (i, r.timestamp)))
            .min_by_key(|(_, ts)| *ts)?;
        let queue = &mut self.queues[index];
        let record = queue.records.pop_front()?;
        let slice = |r: &Option<Range<usize>>| r.clone().map(|r| &queue.bytes[r]);
        let next = Next {
            topic: queue.topic,
            source: queue.source,
            offset: record.offset,
            timestamp: record.timestamp,
            key: slice(&record.key),
            value: slice(&record.value),
            headers: record.headers,
        };
        self.taken = Some(index);
        Some(next)
    }

    /// Drops every buffered record (the partitions were revoked; the consumer fetches them
    /// again from where processing stopped).
    pub(crate) fn clear(&mut self) {
        for queue in &mut self.queues {
            queue.records.clear();
            queue.bytes.clear();
        }
        self.waiting_since = None;
        self.taken = None;
    }

    /// Ends the processing of the record `next` handed out (its queue's arena may be reset).
    pub(crate) fn release(&mut self) {
        if let Some(index) = self.taken.take() {
            let queue = &mut self.queues[index];
            if queue.records.is_empty() {
                queue.bytes.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(group: &mut PartitionGroup, idle: Duration) -> Vec<(&'static str, i64)> {
        let mut out = Vec::new();
        while let Some(n) = group.next(idle, Instant::now()) {
            out.push((n.topic, n.timestamp));
            group.release();
        }
        out
    }

    #[test]
    fn records_are_merged_in_timestamp_order() {
        let mut group = PartitionGroup::new([("a", 0), ("b", 1)]);
        for (t, ts) in [("a", 1), ("a", 5), ("b", 3), ("b", 4), ("a", 6)] {
            group.push(
                if t == "a" { "a" } else { "b" },
                0,
                ts,
                None,
                Some(b"v"),
                Headers::new(),
            );
        }
        assert_eq!(
            drain(&mut group, Duration::ZERO),
            [("a", 1), ("b", 3), ("b", 4), ("a", 5), ("a", 6)]
        );
        assert!(group.next(Duration::ZERO, Instant::now()).is_none());
        group.push("a", 0, 9, None, None, Headers::new());
        group.clear();
        assert!(group.next(Duration::ZERO, Instant::now()).is_none(), "cleared");
    }

    #[test]
    fn with_max_task_idle_an_empty_input_is_waited_for() {
        let mut group = PartitionGroup::new([("a", 0), ("b", 1)]);
        group.push("a", 0, 1, None, None, Headers::new());
        assert!(
            group.next(Duration::from_secs(60), Instant::now()).is_none(),
            "b has nothing yet"
        );
        let later = Instant::now() + Duration::from_secs(61);
        assert_eq!(group.next(Duration::from_secs(60), later).map(|n| n.timestamp), Some(1));
    }
}
