//! `suppress` (Java's `KTableSuppressProcessor` over an `InMemoryTimeOrderedKeyValueChangeBuffer`):
//! table updates wait in a buffer, one entry per key (the latest update, with the value the key
//! had before the first buffered one), ordered by buffer time and key; an entry is forwarded once
//! the suppression's stream time has passed its buffer time by the suppression's wait.
//!
//! - `until_window_closes`: buffer time is the window's end and the wait is the windows' grace, so
//!   each window's final result leaves exactly once, after the window closes; deletions are not
//!   forwarded (there is nothing final to delete).
//! - `until_time_limit(d)`: buffer time is the first buffered update's timestamp, the wait `d`.
//!
//! A bounded buffer that overflows emits its oldest entries early or fails the task, as
//! configured. The buffer is kept in a logged key-value store (the changelog Java's buffer has
//! too), so it survives restarts and exactly-once aborts; its record format is this library's
//! own (time, timestamp, prior, old and new value, the record context's size and headers), not
//! Java's.

use super::{Change, Operator};
use crate::error::ProcessingError;
use crate::graph::Children;
use crate::record::{Headers, Record};
use crate::serde::{BytesSerde, Encoded, Serde};
use crate::state::KeyValueStore;
use crate::task::{TaskContext, UNKNOWN_TIME};
use crate::window::{BufferConfig, BufferFullStrategy, Windowed};
use std::collections::{BTreeMap, HashMap};

/// The time a key's entry is buffered under.
pub trait BufferTime<K> {
    /// The buffer time of an update of `key` carried by a record at `timestamp`.
    fn time(&self, key: &K, timestamp: i64) -> i64;
}

/// Buffer time is the record's timestamp (`until_time_limit`).
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordTime;

impl<K> BufferTime<K> for RecordTime {
    #[inline]
    fn time(&self, _: &K, timestamp: i64) -> i64 {
        timestamp
    }
}

/// Buffer time is the window's end (`until_window_closes`).
#[derive(Debug, Clone, Copy, Default)]
pub struct WindowEndTime;

impl<K> BufferTime<Windowed<K>> for WindowEndTime {
    #[inline]
    fn time(&self, key: &Windowed<K>, _: i64) -> i64 {
        key.window.end
    }
}

/// A buffered update: serialized values, and the context of the latest record.
#[derive(Debug, Clone)]
struct Buffered {
    /// The key's value before the first buffered update.
    prior: Option<Vec<u8>>,
    /// The old value of the latest update.
    old: Option<Vec<u8>>,
    /// The new value of the latest update.
    new: Option<Vec<u8>>,
    /// Whether `prior` is the latest update's old value (counted once in the size, as in Java).
    prior_is_old: bool,
    timestamp: i64,
    headers: Headers,
    /// Bytes of the record context (timestamp, offset, partition, topic, headers) in the size.
    context_size: u64,
}

impl Buffered {
    /// Java's estimate of the entry's memory: buffer time, key, values and record context.
    fn size(&self, key: &[u8]) -> u64 {
        let len = |b: &Option<Vec<u8>>| b.as_ref().map_or(0, |b| b.len() as u64);
        let old = if self.prior_is_old { 0 } else { len(&self.old) };
        8 + key.len() as u64 + len(&self.prior) + old + len(&self.new) + self.context_size
    }

    /// The store value: time, timestamp, whether prior is old, prior, old and new as (length or
    /// -1, bytes), the record context's size, then the headers (count, then key and value each as
    /// (length or -1, bytes)).
    fn encode(&self, time: i64, out: &mut Vec<u8>) {
        fn part(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
            match bytes {
                Some(bytes) => {
                    out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                    out.extend_from_slice(bytes);
                }
                None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
        out.clear();
        out.extend_from_slice(&time.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.push(u8::from(self.prior_is_old));
        for value in [&self.prior, &self.old, &self.new] {
            part(out, value.as_deref());
        }
        out.extend_from_slice(&self.context_size.to_be_bytes());
        out.extend_from_slice(&(self.headers.len() as u32).to_be_bytes());
        for header in &self.headers {
            part(out, Some(header.key.as_bytes()));
            part(out, header.value.as_deref());
        }
    }

    /// Reads a store value back (`None` if it is not one).
    fn decode(mut bytes: &[u8]) -> Option<(i64, Buffered)> {
        fn chunk<const N: usize>(bytes: &mut &[u8]) -> Option<[u8; N]> {
            let (head, tail) = bytes.split_first_chunk::<N>()?;
            *bytes = tail;
            Some(*head)
        }
        fn part(bytes: &mut &[u8]) -> Option<Option<Vec<u8>>> {
            let len = i32::from_be_bytes(chunk::<4>(bytes)?);
            if len < 0 {
                return Some(None);
            }
            let (head, tail) = bytes.split_at_checked(len as usize)?;
            *bytes = tail;
            Some(Some(head.to_vec()))
        }
        let time = i64::from_be_bytes(chunk::<8>(&mut bytes)?);
        let timestamp = i64::from_be_bytes(chunk::<8>(&mut bytes)?);
        let [prior_is_old] = chunk::<1>(&mut bytes)?;
        let (prior, old, new) = (part(&mut bytes)?, part(&mut bytes)?, part(&mut bytes)?);
        let context_size = u64::from_be_bytes(chunk::<8>(&mut bytes)?);
        let mut headers = Headers::new();
        for _ in 0..u32::from_be_bytes(chunk::<4>(&mut bytes)?) {
            let key = String::from_utf8(part(&mut bytes)??).ok()?;
            let value = part(&mut bytes)?;
            headers.add(key, value.as_deref());
        }
        let buffered = Buffered {
            prior,
            old,
            new,
            prior_is_old: prior_is_old == 1,
            timestamp,
            headers,
            context_size,
        };
        Some((time, buffered))
    }
}

/// The suppression node of a table.
pub struct Suppress<K, V, KS, VS, T> {
    time: T,
    wait_ms: i64,
    config: BufferConfig,
    /// Deletions are dropped (final results: a window that ends deleted has no final result).
    drop_tombstones: bool,
    store: KeyValueStore<Vec<u8>, Vec<u8>, BytesSerde, BytesSerde>,
    /// The entries by (buffer time, serialized key).
    entries: BTreeMap<(i64, Vec<u8>), Buffered>,
    /// The buffer time of each key's entry.
    times: HashMap<Vec<u8>, i64>,
    bytes: u64,
    observed: i64,
    /// The store's abort count the buffer was last loaded at (`None`: not loaded yet).
    loaded_at: Option<u64>,
    key_serde: KS,
    value_serde: VS,
    scratch: Vec<u8>,
    types: std::marker::PhantomData<fn(K) -> V>,
}

impl<K, V, KS: Default, VS: Default, T> Suppress<K, V, KS, VS, T> {
    /// A suppression that forwards an entry `wait_ms` after its buffer time (by `time`), within
    /// the bounds of `config`, buffering in `store`.
    pub fn new(
        time: T,
        wait_ms: i64,
        config: BufferConfig,
        drop_tombstones: bool,
        store: KeyValueStore<Vec<u8>, Vec<u8>, BytesSerde, BytesSerde>,
    ) -> Self {
        Suppress {
            time,
            wait_ms,
            config,
            drop_tombstones,
            store,
            entries: BTreeMap::new(),
            times: HashMap::new(),
            bytes: 0,
            observed: UNKNOWN_TIME,
            loaded_at: None,
            key_serde: KS::default(),
            value_serde: VS::default(),
            scratch: Vec::new(),
            types: std::marker::PhantomData,
        }
    }
}

impl<K, V, KS: Serde<K>, VS: Serde<V>, T: BufferTime<K>> Suppress<K, V, KS, VS, T> {
    /// Rebuilds the buffer from its store: at the first record, after a restore, and after an
    /// exactly-once abort rolled the store back.
    fn load(&mut self) -> Result<(), ProcessingError> {
        let aborts = self.store.aborts();
        if self.loaded_at == Some(aborts) {
            return Ok(());
        }
        self.entries.clear();
        self.times.clear();
        self.bytes = 0;
        for entry in self.store.all()? {
            let (key, value) = entry?;
            let Some((time, buffered)) = Buffered::decode(&value) else {
                return Err(ProcessingError::msg(format!(
                    "suppression buffer {}: unreadable entry",
                    self.store.name()
                )));
            };
            self.bytes += buffered.size(&key);
            self.times.insert(key.clone(), time);
            self.entries.insert((time, key), buffered);
        }
        self.loaded_at = Some(aborts);
        Ok(())
    }

    fn serialize_value(&mut self, value: Option<&V>) -> Result<Option<Vec<u8>>, ProcessingError> {
        let Some(value) = value else { return Ok(None) };
        let mut out = Vec::new();
        Ok((self.value_serde.serialize(value, &mut out)? == Encoded::Bytes).then_some(out))
    }

    /// Buffers an update, keeping the key's first buffer time and prior value.
    fn buffer(
        &mut self,
        key: Vec<u8>,
        change: Change<V>,
        timestamp: i64,
        headers: Headers,
        time: i64,
        task: &TaskContext,
    ) -> Result<(), ProcessingError> {
        let new = self.serialize_value(change.new.as_ref())?;
        let old = self.serialize_value(change.old.as_ref())?;
        let topic_len = task.record_metadata().map_or(0, |m| m.topic.len() as u64);
        let header_len: u64 = headers
            .iter()
            .map(|h| (h.key.len() + h.value.as_ref().map_or(0, Vec::len)) as u64)
            .sum();
        let context_size = 8 + 8 + 4 + topic_len + header_len;
        let buffered = |prior: Option<Vec<u8>>, old: Option<Vec<u8>>| Buffered {
            // Java's `BufferValue` keeps one copy when the old value equals the prior one.
            prior_is_old: prior == old,
            prior,
            old,
            new,
            timestamp,
            headers,
            context_size,
        };
        match self.times.get(&key).copied() {
            // A buffered key keeps its buffer time and prior value; the entry is replaced in place.
            Some(time) => {
                let slot = (time, key);
                let entry = self.entries.get_mut(&slot).expect("indexed entries exist");
                self.bytes -= entry.size(&slot.1);
                *entry = buffered(entry.prior.take(), old);
                self.bytes += entry.size(&slot.1);
                entry.encode(time, &mut self.scratch);
                self.store.put(&slot.1, &self.scratch)?;
            }
            None => {
                let entry = buffered(old.clone(), old);
                self.bytes += entry.size(&key);
                entry.encode(time, &mut self.scratch);
                self.store.put(&key, &self.scratch)?;
                self.times.insert(key.clone(), time);
                self.entries.insert((time, key), entry);
            }
        }
        Ok(())
    }

    fn over_capacity(&self) -> bool {
        self.config.max_records.is_some_and(|n| self.times.len() as u64 > n)
            || self.config.max_bytes.is_some_and(|n| self.bytes > n)
    }

    /// Forwards and removes the oldest entry.
    fn evict_first<Ch: Children<K, Change<V>>>(
        &mut self,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        let Some(((_, key), buffered)) = self.entries.pop_first() else {
            return Ok(());
        };
        self.times.remove(&key);
        self.bytes -= buffered.size(&key);
        self.store.delete(&key)?;
        if buffered.new.is_none() && self.drop_tombstones {
            return Ok(());
        }
        let value = |bytes: &Option<Vec<u8>>| -> Result<Option<V>, ProcessingError> {
            Ok(match bytes {
                Some(b) => Some(self.value_serde.deserialize(Some(b))?),
                None => None,
            })
        };
        let change = Change::new(value(&buffered.new)?, value(&buffered.old)?);
        let record = Record {
            key: self.key_serde.deserialize(Some(&key))?,
            value: change,
            timestamp: buffered.timestamp,
            headers: buffered.headers,
        };
        children.forward(record, task)
    }
}

impl<K, V, KS, VS, T> Operator<K, Change<V>> for Suppress<K, V, KS, VS, T>
where
    KS: Serde<K>,
    VS: Serde<V>,
    T: BufferTime<K>,
{
    type KeyOut = K;
    type ValueOut = Change<V>;

    fn process<Ch: Children<K, Change<V>>>(
        &mut self,
        name: &'static str,
        record: Record<K, Change<V>>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        self.load()?;
        let Record {
            key,
            value,
            timestamp,
            headers,
        } = record;
        self.observed = self.observed.max(timestamp);
        let time = self.time.time(&key, timestamp);
        let mut key_bytes = Vec::new();
        if self.key_serde.serialize(&key, &mut key_bytes)? == Encoded::Null {
            task.skip_record(name, "null key in a suppression");
            return Ok(());
        }
        self.buffer(key_bytes, value, timestamp, headers, time, task)?;
        let expiry = self.observed - self.wait_ms;
        while self.entries.first_key_value().is_some_and(|((t, _), _)| *t <= expiry) {
            self.evict_first(children, task)?;
        }
        if self.over_capacity() {
            match self.config.when_full {
                BufferFullStrategy::EmitEarly => {
                    while self.over_capacity() {
                        self.evict_first(children, task)?;
                    }
                }
                BufferFullStrategy::ShutDown => {
                    return Err(ProcessingError::msg(format!(
                        "{name} buffer exceeded its max capacity. Currently [{}/{}] records and [{}/{}] bytes.",
                        self.times.len(),
                        self.config.max_records.map_or(i64::MAX, |n| n as i64),
                        self.bytes,
                        self.config.max_bytes.map_or(i64::MAX, |n| n as i64),
                    )));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffered_update_reads_back_from_its_store_value() {
        let mut headers = Headers::new();
        headers.add("trace", Some(b"t1")).add("empty", None);
        let buffered = Buffered {
            prior: None,
            old: Some(b"1".to_vec()),
            new: Some(b"22".to_vec()),
            prior_is_old: false,
            timestamp: 42,
            headers,
            context_size: 33,
        };
        let mut bytes = Vec::new();
        buffered.encode(50, &mut bytes);
        let (time, back) = Buffered::decode(&bytes).unwrap();
        assert_eq!(time, 50);
        assert_eq!(back.size(b"k"), buffered.size(b"k"));
        assert_eq!(
            (&back.prior, &back.old, &back.new),
            (&None, &Some(b"1".to_vec()), &Some(b"22".to_vec()))
        );
        assert_eq!((back.timestamp, back.context_size, back.prior_is_old), (42, 33, false));
        assert_eq!(back.headers, buffered.headers);
        assert!(Buffered::decode(&bytes[..bytes.len() - 1]).is_none());
    }
}
