//! The records a task has fetched but not processed, one queue per input topic (Java's
//! `PartitionGroup` and `RecordQueue`): the task processes the record with the smallest
//! timestamp among the queue heads, so its input partitions are merged in timestamp order. With
//! `max.task.idle.ms` above 0, a task whose input partitions are not all buffered waits that
//! long for the empty ones before going on without them. Queues are addressed by index (the
//! stream thread's routing table resolves each fetched record's queue once per assignment).

use crate::record::{self, Headers};
use std::collections::VecDeque;
use std::ops::Range;
use std::time::{Duration, Instant};

/// A fetched record; its bytes (key, value and encoded headers) live in its queue's arena.
struct Buffered {
    offset: i64,
    timestamp: i64,
    key: Option<Range<usize>>,
    value: Option<Range<usize>>,
    headers: Range<usize>,
    header_count: usize,
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
    /// The index of the queue it came from.
    pub(crate) queue: usize,
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

    /// The index of the queue of input topic `topic`, if the task reads it.
    pub(crate) fn queue_of(&self, topic: &str) -> Option<usize> {
        self.queues.iter().position(|q| q.topic == topic)
    }

    /// The input topic of queue `queue`.
    pub(crate) fn topic(&self, queue: usize) -> &'static str {
        self.queues.get(queue).map_or("", |q| q.topic)
    }

    /// The number of queues (input topics).
    pub(crate) fn len(&self) -> usize {
        self.queues.len()
    }

    /// Buffers a fetched record in queue `queue` (`false` if there is no such queue), its
    /// headers encoded into the queue's arena.
    pub(crate) fn push<'h>(
        &mut self,
        queue: usize,
        offset: i64,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: impl IntoIterator<Item = (&'h str, Option<&'h [u8]>)>,
    ) -> bool {
        let Some(queue) = self.queues.get_mut(queue) else {
            return false;
        };
        let bytes = &mut queue.bytes;
        let mut copy = |data: Option<&[u8]>| {
            data.map(|d| {
                let start = bytes.len();
                bytes.extend_from_slice(d);
                start..bytes.len()
            })
        };
        let (key, value) = (copy(key), copy(value));
        let start = bytes.len();
        let mut header_count = 0;
        for (k, v) in headers {
            record::encode(bytes, k, v);
            header_count += 1;
        }
        queue.records.push_back(Buffered {
            offset,
            timestamp,
            key,
            value,
            headers: start..bytes.len(),
            header_count,
        });
        true
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
            queue: index,
            topic: queue.topic,
            source: queue.source,
            offset: record.offset,
            timestamp: record.timestamp,
            key: slice(&record.key),
            value: slice(&record.value),
            headers: Headers::from_encoded(&queue.bytes[record.headers], record.header_count),
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
            let queue = group.queue_of(t).unwrap();
            assert!(group.push(queue, 0, ts, None, Some(b"v"), []));
        }
        assert_eq!(
            drain(&mut group, Duration::ZERO),
            [("a", 1), ("b", 3), ("b", 4), ("a", 5), ("a", 6)]
        );
        assert!(group.next(Duration::ZERO, Instant::now()).is_none());
        assert!(group.push(0, 0, 9, None, None, []));
        group.clear();
        assert!(group.next(Duration::ZERO, Instant::now()).is_none(), "cleared");
    }

    #[test]
    fn with_max_task_idle_an_empty_input_is_waited_for() {
        let mut group = PartitionGroup::new([("a", 0), ("b", 1)]);
        assert!(group.push(0, 0, 1, None, None, []));
        assert!(
            group.next(Duration::from_secs(60), Instant::now()).is_none(),
            "b has nothing yet"
        );
        let later = Instant::now() + Duration::from_secs(61);
        assert_eq!(group.next(Duration::from_secs(60), later).map(|n| n.timestamp), Some(1));
    }

    #[test]
    fn a_record_keeps_its_bytes_and_headers_and_names_its_queue() {
        let mut group = PartitionGroup::new([("a", 0), ("b", 1)]);
        assert_eq!(
            (group.queue_of("b"), group.queue_of("c"), group.len()),
            (Some(1), None, 2)
        );
        assert!(!group.push(2, 0, 1, None, None, []), "no third queue");
        let headers = [("h", Some(&b"1"[..])), ("n", None), ("h", Some(&b""[..]))];
        assert!(group.push(1, 7, 1, Some(b"k"), Some(b"v"), headers));
        let next = group.next(Duration::ZERO, Instant::now()).unwrap();
        assert_eq!(
            (next.queue, next.topic, next.source, next.offset, next.key, next.value),
            (1, "b", 1, 7, Some(&b"k"[..]), Some(&b"v"[..]))
        );
        let mut expected = Headers::new();
        expected.add("h", Some(b"1")).add("n", None).add("h", Some(b""));
        assert_eq!(next.headers, expected);
    }
}
