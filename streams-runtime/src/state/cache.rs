//! Kafka Streams' record cache (Java's `ThreadCache`, `NamedCache` and `LRUCacheEntry`).
//!
//! A caching store keeps the latest serialized value of every key it writes in its
//! [`NamedCache`], marked dirty with the record context of the write, and writes it to the store
//! below (and so to the changelog) only when the cache is flushed: at each commit, or when the
//! stream thread's caches together exceed their budget and the least recently used entry of the
//! store being written is evicted while dirty. Updates of a key between two flushes collapse
//! into one. A DSL operator over a caching store forwards what a flush writes (the store
//! *forwards*, Java's flush listener); a Processor API store only writes it.

use super::ByteMap;
use super::memory::Entry;
use crate::error::StoreError;
use crate::record::{Headers, RecordMetadata};
use std::ops::{Bound, Range, RangeBounds};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Java's default `statestore.cache.max.bytes`: 10 MiB per application instance.
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 10 * 1024 * 1024;

/// The record cache of one stream thread (Java's `ThreadCache`): the byte budget its tasks'
/// caching stores share (`statestore.cache.max.bytes` divided among the instance's threads),
/// and the record being processed, whose context a Processor API store's write through the
/// cache keeps. Only the thread's own tasks use it (the atomics make stores holding it `Send`,
/// as global stores must be; they are not updated concurrently).
#[derive(Debug, Clone)]
pub struct ThreadCache(Arc<ThreadCacheState>);

#[derive(Debug)]
struct ThreadCacheState {
    max_bytes: AtomicU64,
    size_bytes: AtomicU64,
    record: Mutex<(Option<RecordMetadata>, i64)>,
}

impl ThreadCache {
    /// A cache of at most `max_bytes` (0: every write is flushed at once, as in Java).
    pub fn new(max_bytes: u64) -> Self {
        ThreadCache(Arc::new(ThreadCacheState {
            max_bytes: AtomicU64::new(max_bytes),
            size_bytes: AtomicU64::new(0),
            record: Mutex::new((None, -1)),
        }))
    }

    /// The budget in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.0.max_bytes.load(Ordering::Relaxed)
    }

    /// Changes the budget (Java's `ThreadCache.resize`, when stream threads are added or
    /// removed); a smaller budget evicts at the thread's next cached write.
    pub(crate) fn resize(&self, max_bytes: u64) {
        self.0.max_bytes.store(max_bytes, Ordering::Relaxed);
    }

    /// The bytes the thread's caching stores hold now, counted as Java counts them.
    pub fn size_bytes(&self) -> u64 {
        self.0.size_bytes.load(Ordering::Relaxed)
    }

    /// Sets the record being processed (`None` during punctuation) and its timestamp: the
    /// context of a Processor API store's writes (a task with such stores sets it).
    pub(crate) fn set_record(&self, metadata: Option<RecordMetadata>, timestamp: i64) {
        *self.0.record.lock().unwrap_or_else(PoisonError::into_inner) = (metadata, timestamp);
    }

    /// The context a write of the record being processed keeps (no headers: a processor's
    /// store write does not see them).
    pub(super) fn record_context(&self) -> EntryContext {
        let (metadata, timestamp) = *self.0.record.lock().unwrap_or_else(PoisonError::into_inner);
        EntryContext {
            timestamp,
            metadata,
            headers: Headers::new(),
        }
    }

    // One thread updates the size: a load and a store, not a locked read-modify-write.
    fn grow(&self, bytes: u64) {
        let size = &self.0.size_bytes;
        size.store(size.load(Ordering::Relaxed) + bytes, Ordering::Relaxed);
    }

    fn shrink(&self, bytes: u64) {
        let size = &self.0.size_bytes;
        size.store(size.load(Ordering::Relaxed) - bytes, Ordering::Relaxed);
    }

    fn over_budget(&self) -> bool {
        self.size_bytes() > self.max_bytes()
    }
}

impl Default for ThreadCache {
    /// Java's default budget, [`DEFAULT_CACHE_MAX_BYTES`].
    fn default() -> Self {
        ThreadCache::new(DEFAULT_CACHE_MAX_BYTES)
    }
}

/// The record context a cache entry keeps from its last write (Java's `ProcessorRecordContext`
/// in an `LRUCacheEntry`): its flush is forwarded with these headers and metadata, and logged
/// with this timestamp unless the value carries its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryContext {
    /// The timestamp of the record that wrote the entry.
    pub timestamp: i64,
    /// Where that record came from (`None` during punctuation).
    pub metadata: Option<RecordMetadata>,
    /// Its headers.
    pub headers: Headers,
}

impl EntryContext {
    /// What Java counts for a context (`ProcessorRecordContext.residentMemorySizeEstimate`):
    /// timestamp, offset, the topic's characters, partition, header keys and values. The
    /// topic's length in characters comes from `topic_len`, which remembers the last topic
    /// measured (writes of one store nearly always come from one topic).
    fn size(&self, topic_len: &mut TopicLen) -> u64 {
        let topic = self.metadata.map_or(0, |m| topic_len.of(m.topic));
        let headers: usize = if self.headers.is_empty() {
            0
        } else {
            (self.headers.entries())
                .map(|(key, value)| utf16_len(key) + value.map_or(0, <[u8]>::len))
                .sum()
        };
        (8 + 8 + topic + 4 + headers) as u64
    }
}

/// The UTF-16 length of the topic measured last, found again by the name's address.
#[derive(Debug, Clone, Copy)]
struct TopicLen {
    topic: &'static str,
    len: usize,
}

impl TopicLen {
    const NONE: TopicLen = TopicLen { topic: "", len: 0 };

    fn of(&mut self, topic: &'static str) -> usize {
        if !std::ptr::eq(self.topic, topic) {
            *self = TopicLen {
                topic,
                len: utf16_len(topic),
            };
        }
        self.len
    }
}

/// The length of `s` in UTF-16 code units (Java's `toCharArray().length`).
fn utf16_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.encode_utf16().count()
    }
}

/// The size Java counts for an entry (`LRUNode.size`): the key, three references, the dirty
/// flag, the value and the record context.
fn entry_size(key: &[u8], value: Option<&[u8]>, context: &EntryContext, topic_len: &mut TopicLen) -> u64 {
    (key.len() + 24 + 1 + value.map_or(0, <[u8]>::len)) as u64 + context.size(topic_len)
}

/// The store below a cache, as the cache reads and writes it.
pub(super) trait Below {
    /// Copies `key`'s value into `into` (cleared first); `false` when the key is absent.
    fn read(&self, key: &[u8], into: &mut Vec<u8>) -> Result<bool, StoreError>;
    /// Writes `key` (`None` deletes it), logging the write with `timestamp` unless the value
    /// carries its own.
    fn write(&mut self, key: &[u8], value: Option<&[u8]>, timestamp: i64) -> Result<(), StoreError>;
}

/// An update a flush wrote to the store, waiting to be forwarded by the operator that owns the
/// store: the key, the new value (`None`: deleted) and, if the operator sends old values, the
/// value the store had before (the last one flushed), as ranges of [`Flushed::bytes`].
#[derive(Debug)]
pub(super) struct FlushedUpdate {
    pub(super) key: Range<usize>,
    pub(super) new: Option<Range<usize>>,
    pub(super) old: Option<Range<usize>>,
    pub(super) context: EntryContext,
}

/// The updates flushes wrote since the operator last forwarded them, bytes in one arena.
#[derive(Debug, Default)]
pub(super) struct Flushed {
    pub(super) bytes: Vec<u8>,
    pub(super) updates: Vec<FlushedUpdate>,
}

impl Flushed {
    fn push(&mut self, key: &[u8], new: Option<&[u8]>, old: Option<&[u8]>, context: EntryContext) {
        let mut append = |data: &[u8]| {
            let start = self.bytes.len();
            self.bytes.extend_from_slice(data);
            start..self.bytes.len()
        };
        let key = append(key);
        let new = new.map(&mut append);
        let old = old.map(&mut append);
        self.updates.push(FlushedUpdate { key, new, old, context });
    }

    pub(super) fn is_empty(&self) -> bool {
        self.updates.is_empty()
    }

    pub(super) fn clear(&mut self) {
        self.bytes.clear();
        self.updates.clear();
    }
}

const NIL: u32 = u32::MAX;

/// The `lru.prev` of a node on the free list (no live node has it: a list's head has `NIL`).
const FREE: u32 = u32::MAX - 1;

/// Where [`NamedCache::read_slot`] found a key, for the write that follows.
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot(Option<u32>);

/// The neighbours of a node in one of the cache's lists.
#[derive(Debug, Clone, Copy)]
struct Links {
    prev: u32,
    next: u32,
}

const UNLINKED: Links = Links { prev: NIL, next: NIL };

/// A doubly linked list of nodes threaded through one of their [`Links`].
#[derive(Debug, Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

const EMPTY: List = List { head: NIL, tail: NIL };

/// One cached key.
#[derive(Debug)]
struct Node {
    key: Arc<[u8]>,
    /// The value bytes (meaningless when `present` is false).
    value: Vec<u8>,
    /// `false`: a cached delete (a tombstone until it is flushed).
    present: bool,
    dirty: bool,
    context: EntryContext,
    size: u64,
    /// Recency: the list's head is the least recently used.
    lru: Links,
    /// Dirty keys in the order they were last written (Java's `dirtyKeys` `LinkedHashSet`,
    /// re-inserted on every write).
    dirt: Links,
}

#[inline]
fn lru(n: &mut Node) -> &mut Links {
    &mut n.lru
}

#[inline]
fn dirt(n: &mut Node) -> &mut Links {
    &mut n.dirt
}

#[inline]
fn unlink(nodes: &mut [Node], list: &mut List, i: u32, links: fn(&mut Node) -> &mut Links) {
    let Links { prev, next } = *links(&mut nodes[i as usize]);
    match prev {
        NIL => list.head = next,
        p => links(&mut nodes[p as usize]).next = next,
    }
    match next {
        NIL => list.tail = prev,
        n => links(&mut nodes[n as usize]).prev = prev,
    }
    *links(&mut nodes[i as usize]) = UNLINKED;
}

#[inline]
fn push_back(nodes: &mut [Node], list: &mut List, i: u32, links: fn(&mut Node) -> &mut Links) {
    *links(&mut nodes[i as usize]) = Links {
        prev: list.tail,
        next: NIL,
    };
    match list.tail {
        NIL => list.head = i,
        t => links(&mut nodes[t as usize]).next = i,
    }
    list.tail = i;
}

/// The cache of one store of one task (Java's `NamedCache`).
#[derive(Debug)]
pub(super) struct NamedCache {
    thread: ThreadCache,
    /// The store's index in its task's store set: a commit's flush is dispatched by it.
    store: usize,
    /// Whether the operator owning the store forwards what a flush writes (Java's flush
    /// listener); otherwise a flush only writes to the store.
    forwards: bool,
    /// Whether forwarded updates carry the store's previous value (Java's `sendOldValues`: what
    /// is downstream needs it).
    send_old_values: bool,
    index: ByteMap<u32>,
    nodes: Vec<Node>,
    /// Nodes no key uses (their value buffers are reused).
    free: Vec<u32>,
    lru: List,
    dirty: List,
    size_bytes: u64,
    flushed: Flushed,
    /// Scratch buffers: a value read from below, flushed tombstones to drop.
    scratch: Vec<u8>,
    deleted: Vec<u32>,
    topic_len: TopicLen,
}

impl NamedCache {
    /// An empty cache of the store at `store`, drawing on `thread`'s budget.
    pub(super) fn new(thread: ThreadCache, store: usize) -> Self {
        NamedCache {
            thread,
            store,
            forwards: false,
            send_old_values: false,
            index: ByteMap::default(),
            nodes: Vec::new(),
            free: Vec::new(),
            lru: EMPTY,
            dirty: EMPTY,
            size_bytes: 0,
            flushed: Flushed::default(),
            scratch: Vec::new(),
            deleted: Vec::new(),
            topic_len: TopicLen::NONE,
        }
    }

    /// The store's index in its task's store set.
    pub(super) fn store(&self) -> usize {
        self.store
    }

    /// Makes flushes keep what they write for the owning operator to forward, with the store's
    /// previous values if `send_old_values`.
    pub(super) fn forward_flushes(&mut self, send_old_values: bool) {
        self.forwards = true;
        self.send_old_values = send_old_values;
    }

    /// Whether flushes are kept for forwarding.
    pub(super) fn forwards(&self) -> bool {
        self.forwards
    }

    /// The context a write of the record being processed keeps.
    pub(super) fn record_context(&self) -> EntryContext {
        self.thread.record_context()
    }

    /// Whether a flush would write something, or flushed updates wait to be forwarded.
    pub(super) fn has_work(&self) -> bool {
        self.dirty.head != NIL || !self.flushed.is_empty()
    }

    /// Whether flushed updates wait to be forwarded.
    pub(super) fn has_flushed(&self) -> bool {
        !self.flushed.is_empty()
    }

    /// The flushed updates waiting to be forwarded.
    pub(super) fn flushed_mut(&mut self) -> &mut Flushed {
        &mut self.flushed
    }

    /// Reads `key` through the cache: the cached value (or cached delete), else the store's,
    /// which then enters the cache as a clean entry (Java's `CachingKeyValueStore.getInternal`;
    /// that can evict, and so flush).
    pub(super) fn read<R>(
        &mut self,
        key: &[u8],
        below: &mut impl Below,
        read: impl FnOnce(Option<&[u8]>) -> R,
    ) -> Result<R, StoreError> {
        self.read_slot(key, below, read).map(|(result, _)| result)
    }

    /// [`read`](Self::read), with where the key was found for the write that follows it
    /// ([`put_at`](Self::put_at)): a read-modify-write looks the key up once.
    pub(super) fn read_slot<R>(
        &mut self,
        key: &[u8],
        below: &mut impl Below,
        read: impl FnOnce(Option<&[u8]>) -> R,
    ) -> Result<(R, Slot), StoreError> {
        if let Some(&i) = self.index.get(key) {
            unlink(&mut self.nodes, &mut self.lru, i, lru);
            push_back(&mut self.nodes, &mut self.lru, i, lru);
            let node = &self.nodes[i as usize];
            return Ok((read(node.present.then_some(node.value.as_slice())), Slot(Some(i))));
        }
        let mut value = std::mem::take(&mut self.scratch);
        let found = below.read(key, &mut value);
        let result = match found {
            Ok(true) => {
                let result = read(Some(&value));
                let context = EntryContext {
                    timestamp: -1,
                    metadata: None,
                    headers: Headers::new(),
                };
                self.write(None, key, Some(&value), context, false, below)
                    .map(|()| (result, Slot(None)))
            }
            Ok(false) => Ok((read(None), Slot(None))),
            Err(e) => Err(e),
        };
        self.scratch = value;
        result
    }

    /// Writes `key` into the cache (`None`: deletes it), dirty, with the context of the write;
    /// evicts while the thread's caches are over budget.
    pub(super) fn put(
        &mut self,
        key: &[u8],
        value: Option<&[u8]>,
        context: EntryContext,
        below: &mut impl Below,
    ) -> Result<(), StoreError> {
        self.write(None, key, value, context, true, below)
    }

    /// [`put`](Self::put) of the key [`read_slot`](Self::read_slot) just read.
    pub(super) fn put_at(
        &mut self,
        slot: Slot,
        key: &[u8],
        value: Option<&[u8]>,
        context: EntryContext,
        below: &mut impl Below,
    ) -> Result<(), StoreError> {
        self.write(slot.0, key, value, context, true, below)
    }

    /// Writes `key` at the node `at` if it still holds the key, else where the index has it.
    fn write(
        &mut self,
        at: Option<u32>,
        key: &[u8],
        value: Option<&[u8]>,
        context: EntryContext,
        dirty: bool,
        below: &mut impl Below,
    ) -> Result<(), StoreError> {
        let size = entry_size(key, value, &context, &mut self.topic_len);
        let found = match at {
            Some(i)
                if self
                    .nodes
                    .get(i as usize)
                    .is_some_and(|n| *n.key == *key && n.lru.prev != FREE) =>
            {
                Some(i)
            }
            _ => self.index.get(key).copied(),
        };
        let i = match found {
            Some(i) => {
                let old = self.nodes[i as usize].size;
                self.size_bytes -= old;
                self.thread.shrink(old);
                // Moved to the back of both lists (it may be there already: a read just used it).
                if self.lru.tail != i {
                    unlink(&mut self.nodes, &mut self.lru, i, lru);
                    push_back(&mut self.nodes, &mut self.lru, i, lru);
                }
                if self.nodes[i as usize].dirty && self.dirty.tail != i {
                    unlink(&mut self.nodes, &mut self.dirty, i, dirt);
                    push_back(&mut self.nodes, &mut self.dirty, i, dirt);
                } else if !self.nodes[i as usize].dirty && dirty {
                    push_back(&mut self.nodes, &mut self.dirty, i, dirt);
                }
                i
            }
            None => {
                let i = self.new_node(key);
                push_back(&mut self.nodes, &mut self.lru, i, lru);
                if dirty {
                    push_back(&mut self.nodes, &mut self.dirty, i, dirt);
                }
                i
            }
        };
        let node = &mut self.nodes[i as usize];
        node.value.clear();
        if let Some(v) = value {
            node.value.extend_from_slice(v);
        }
        node.present = value.is_some();
        node.dirty = dirty;
        node.context = context;
        node.size = size;
        self.size_bytes += size;
        self.thread.grow(size);
        while self.thread.over_budget() && self.lru.head != NIL {
            self.evict(below)?;
        }
        Ok(())
    }

    fn new_node(&mut self, key: &[u8]) -> u32 {
        let key: Arc<[u8]> = Arc::from(key);
        let i = match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize].key = Arc::clone(&key);
                i
            }
            None => {
                self.nodes.push(Node {
                    key: Arc::clone(&key),
                    value: Vec::new(),
                    present: false,
                    dirty: false,
                    context: EntryContext {
                        timestamp: -1,
                        metadata: None,
                        headers: Headers::new(),
                    },
                    size: 0,
                    lru: UNLINKED,
                    dirt: UNLINKED,
                });
                u32::try_from(self.nodes.len() - 1).expect("fewer than 2^32 cached keys per store")
            }
        };
        self.index.insert(key, i);
        i
    }

    /// Drops the node at `i` from the index, the recency list and the size (it must not be
    /// in the dirty list).
    fn remove(&mut self, i: u32) {
        let node = &mut self.nodes[i as usize];
        self.index.remove(&node.key);
        node.context.headers = Headers::new();
        let size = node.size;
        self.size_bytes -= size;
        self.thread.shrink(size);
        unlink(&mut self.nodes, &mut self.lru, i, lru);
        self.nodes[i as usize].lru.prev = FREE;
        self.free.push(i);
    }

    /// Evicts the least recently used entry; a dirty one is flushed first, with every other
    /// dirty entry (Java's `NamedCache.evict`).
    fn evict(&mut self, below: &mut impl Below) -> Result<(), StoreError> {
        let eldest = self.lru.head;
        let result = if self.nodes[eldest as usize].dirty {
            self.flush_from(Some(eldest), below)
        } else {
            Ok(())
        };
        self.remove(eldest);
        result
    }

    /// Writes every dirty entry to the store, in the order they were last written.
    pub(super) fn flush(&mut self, below: &mut impl Below) -> Result<(), StoreError> {
        self.flush_from(None, below)
    }

    /// Flushes `evicted` (dirty, about to leave the cache) first, then the other dirty entries;
    /// flushed deletes leave the cache.
    fn flush_from(&mut self, evicted: Option<u32>, below: &mut impl Below) -> Result<(), StoreError> {
        if let Some(i) = evicted {
            unlink(&mut self.nodes, &mut self.dirty, i, dirt);
            self.nodes[i as usize].dirty = false;
            self.write_back(i, below)?;
        }
        let mut deleted = std::mem::take(&mut self.deleted);
        let mut i = std::mem::replace(&mut self.dirty, EMPTY).head;
        let mut result = Ok(());
        while i != NIL {
            let node = &mut self.nodes[i as usize];
            let next = node.dirt.next;
            node.dirt = UNLINKED;
            node.dirty = false;
            if !node.present {
                deleted.push(i);
            }
            if result.is_ok() {
                result = self.write_back(i, below);
            }
            i = next;
        }
        for &i in &deleted {
            self.remove(i);
        }
        deleted.clear();
        self.deleted = deleted;
        result
    }

    /// Writes one entry to the store. When flushes are forwarded, the store's value before the
    /// write is kept as the update's old value, and an update from absent to deleted is neither
    /// written nor forwarded (Java's `CachingKeyValueStore.putAndMaybeForward`).
    fn write_back(&mut self, i: u32, below: &mut impl Below) -> Result<(), StoreError> {
        let NamedCache {
            nodes,
            scratch,
            flushed,
            forwards,
            send_old_values,
            ..
        } = self;
        let node = &nodes[i as usize];
        let value = node.present.then_some(node.value.as_slice());
        if !*forwards {
            return below.write(&node.key, value, node.context.timestamp);
        }
        // The store's value is read only when it is sent, or to tell whether a delete deletes.
        let had_value = (*send_old_values || value.is_none()) && below.read(&node.key, scratch)?;
        if value.is_none() && !had_value {
            return Ok(());
        }
        below.write(&node.key, value, node.context.timestamp)?;
        let old = (*send_old_values && had_value).then_some(scratch.as_slice());
        let context = EntryContext {
            // Most records have no headers: nothing to clone.
            headers: if node.context.headers.is_empty() {
                Headers::new()
            } else {
                node.context.headers.clone()
            },
            ..node.context
        };
        flushed.push(&node.key, value, old, context);
        Ok(())
    }

    /// Drops every entry, dirty or not, and the updates waiting to be forwarded (the
    /// exactly-once transaction aborted: the store is back at its last commit).
    pub(super) fn clear(&mut self) {
        self.thread.shrink(self.size_bytes);
        self.size_bytes = 0;
        self.index.clear();
        self.nodes.clear();
        self.free.clear();
        self.lru = EMPTY;
        self.dirty = EMPTY;
        self.flushed.clear();
    }

    /// `entries` (the store's, in scan order, within `range`) as the store reads them through
    /// the cache: cached values replace the store's, cached deletes hide them, keys only in the
    /// cache appear. Every cached entry in the range counts as used (Java's cache iterator
    /// reads each through `get`).
    pub(super) fn overlay(
        &mut self,
        entries: Vec<Entry>,
        range: (Bound<&[u8]>, Bound<&[u8]>),
        reverse: bool,
    ) -> Vec<Entry> {
        let mut cached: Vec<u32> = (self.index.iter())
            .filter(|(k, _)| range.contains(&&k[..]))
            .map(|(_, &i)| i)
            .collect();
        if cached.is_empty() {
            return entries;
        }
        cached.sort_unstable_by(|&a, &b| {
            let order = self.nodes[a as usize].key.cmp(&self.nodes[b as usize].key);
            if reverse { order.reverse() } else { order }
        });
        for &i in &cached {
            unlink(&mut self.nodes, &mut self.lru, i, lru);
            push_back(&mut self.nodes, &mut self.lru, i, lru);
        }
        let writes = cached.iter().map(|&i| {
            let node = &self.nodes[i as usize];
            (&node.key[..], node.present.then_some(node.value.as_slice()))
        });
        super::uncommitted::merge(entries, writes, reverse)
    }

    /// Like [`overlay`](Self::overlay) for the entries whose key starts with `prefix`.
    pub(super) fn overlay_prefix(&mut self, entries: Vec<Entry>, prefix: &[u8]) -> Vec<Entry> {
        let mut cached: Vec<u32> = (self.index.iter())
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, &i)| i)
            .collect();
        if cached.is_empty() {
            return entries;
        }
        cached.sort_unstable_by(|&a, &b| self.nodes[a as usize].key.cmp(&self.nodes[b as usize].key));
        for &i in &cached {
            unlink(&mut self.nodes, &mut self.lru, i, lru);
            push_back(&mut self.nodes, &mut self.lru, i, lru);
        }
        let writes = cached.iter().map(|&i| {
            let node = &self.nodes[i as usize];
            (&node.key[..], node.present.then_some(node.value.as_slice()))
        });
        super::uncommitted::merge(entries, writes, false)
    }
}

impl Drop for NamedCache {
    /// A closed task's store gives its bytes back to the thread's budget (Java's
    /// `ThreadCache.close(namespace)`); what was dirty has been flushed by the task's close.
    fn drop(&mut self) {
        self.thread.shrink(self.size_bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A store below the cache: a map, and the writes it received.
    #[derive(Default)]
    struct Map {
        values: BTreeMap<Vec<u8>, Vec<u8>>,
        writes: Vec<(Vec<u8>, Option<Vec<u8>>, i64)>,
    }

    impl Below for Map {
        fn read(&self, key: &[u8], into: &mut Vec<u8>) -> Result<bool, StoreError> {
            into.clear();
            match self.values.get(key) {
                Some(v) => {
                    into.extend_from_slice(v);
                    Ok(true)
                }
                None => Ok(false),
            }
        }

        fn write(&mut self, key: &[u8], value: Option<&[u8]>, timestamp: i64) -> Result<(), StoreError> {
            match value {
                Some(v) => self.values.insert(key.to_vec(), v.to_vec()),
                None => self.values.remove(key),
            };
            self.writes.push((key.to_vec(), value.map(<[u8]>::to_vec), timestamp));
            Ok(())
        }
    }

    fn context(timestamp: i64) -> EntryContext {
        EntryContext {
            timestamp,
            metadata: Some(RecordMetadata {
                topic: "in",
                partition: 0,
                offset: timestamp,
            }),
            headers: Headers::new(),
        }
    }

    fn updates(cache: &mut NamedCache) -> Vec<(String, Option<String>, Option<String>, i64)> {
        let text = |b: &Flushed, r: &Range<usize>| String::from_utf8(b.bytes[r.clone()].to_vec()).unwrap();
        let flushed = std::mem::take(cache.flushed_mut());
        flushed
            .updates
            .iter()
            .map(|u| {
                (
                    text(&flushed, &u.key),
                    u.new.as_ref().map(|r| text(&flushed, r)),
                    u.old.as_ref().map(|r| text(&flushed, r)),
                    u.context.timestamp,
                )
            })
            .collect()
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    #[test]
    fn a_flush_writes_the_latest_value_of_each_key_in_the_order_keys_were_last_written() {
        let mut below = Map::default();
        let mut cache = NamedCache::new(ThreadCache::default(), 0);
        cache.forward_flushes(true);
        cache.put(b"a", Some(b"1"), context(1), &mut below).unwrap();
        cache.put(b"b", Some(b"1"), context(2), &mut below).unwrap();
        cache.put(b"a", Some(b"2"), context(3), &mut below).unwrap();
        assert!(below.writes.is_empty());
        cache.flush(&mut below).unwrap();
        assert_eq!(
            updates(&mut cache),
            [("b".into(), s("1"), None, 2), ("a".into(), s("2"), None, 3)]
        );
        cache.put(b"a", Some(b"3"), context(4), &mut below).unwrap();
        cache.put(b"b", None, context(5), &mut below).unwrap();
        // A delete of a key the store never had is neither written nor forwarded.
        cache.put(b"c", None, context(6), &mut below).unwrap();
        cache.flush(&mut below).unwrap();
        assert_eq!(
            updates(&mut cache),
            [("a".into(), s("3"), s("2"), 4), ("b".into(), None, s("1"), 5)]
        );
        assert_eq!(below.writes.len(), 4);
        // Flushed deletes leave the cache; values stay, clean.
        assert_eq!(cache.index.len(), 1);
        assert!(!cache.has_work());
    }

    #[test]
    fn a_dropped_cache_gives_its_bytes_back_to_the_thread() {
        let thread = ThreadCache::default();
        let mut below = Map::default();
        let mut kept = NamedCache::new(thread.clone(), 0);
        kept.put(b"k", Some(b"v"), context(1), &mut below).unwrap();
        let kept_bytes = thread.size_bytes();
        let mut closed = NamedCache::new(thread.clone(), 1);
        closed.put(b"a", Some(b"1"), context(1), &mut below).unwrap();
        closed.put(b"b", Some(b"2"), context(2), &mut below).unwrap();
        assert_eq!(thread.size_bytes(), 3 * kept_bytes);
        drop(closed);
        assert_eq!(thread.size_bytes(), kept_bytes);
        drop(kept);
        assert_eq!(thread.size_bytes(), 0);
    }

    #[test]
    fn without_old_values_a_flush_reads_the_store_only_for_a_delete() {
        let mut below = Map::default();
        below.values.insert(b"a".to_vec(), b"0".to_vec());
        let mut cache = NamedCache::new(ThreadCache::default(), 0);
        cache.forward_flushes(false);
        cache.put(b"a", Some(b"1"), context(1), &mut below).unwrap();
        cache.put(b"b", None, context(2), &mut below).unwrap();
        cache.flush(&mut below).unwrap();
        assert_eq!(updates(&mut cache), [("a".into(), s("1"), None, 1)]);
        cache.put(b"a", None, context(3), &mut below).unwrap();
        cache.flush(&mut below).unwrap();
        assert_eq!(updates(&mut cache), [("a".into(), None, None, 3)]);
        assert!(below.values.is_empty());
    }

    #[test]
    fn sizes_are_counted_as_java_counts_them() {
        let thread = ThreadCache::default();
        let mut below = Map::default();
        let mut cache = NamedCache::new(thread.clone(), 0);
        let mut ctx = context(1);
        ctx.headers.add("h", Some(b"xyz"));
        cache.put(b"key", Some(b"value"), ctx, &mut below).unwrap();
        // key 3 + 24 + dirty 1 + value 5 + timestamp 8 + offset 8 + topic 2 + partition 4 + header 1 + 3
        assert_eq!(thread.size_bytes(), 59);
        // A clean entry read from below has an empty context: 2 + 24 + 1 + 1 + 8 + 8 + 4.
        below.values.insert(b"kk".to_vec(), b"v".to_vec());
        cache
            .read(b"kk", &mut below, |v| assert_eq!(v, Some(&b"v"[..])))
            .unwrap();
        assert_eq!(thread.size_bytes(), 59 + 48);
        cache.clear();
        assert_eq!(thread.size_bytes(), 0);
    }

    #[test]
    fn over_budget_the_least_recently_used_entry_is_evicted_and_a_dirty_one_flushes_the_store() {
        // Room for two entries of 1-byte keys and values with the test context (47 + 2 each).
        let thread = ThreadCache::new(98);
        let mut below = Map::default();
        let mut cache = NamedCache::new(thread.clone(), 0);
        cache.forward_flushes(true);
        cache.put(b"a", Some(b"1"), context(1), &mut below).unwrap();
        cache.put(b"b", Some(b"1"), context(2), &mut below).unwrap();
        cache.read(b"a", &mut below, |_| ()).unwrap();
        assert!(below.writes.is_empty());
        // `b` is the eldest now: evicting it flushes it first, then the other dirty entries in
        // the order they were written (`c`, written just now, included).
        cache.put(b"c", Some(b"1"), context(3), &mut below).unwrap();
        assert_eq!(
            updates(&mut cache),
            [
                ("b".into(), s("1"), None, 2),
                ("a".into(), s("1"), None, 1),
                ("c".into(), s("1"), None, 3)
            ]
        );
        assert_eq!(thread.size_bytes(), 98);
        assert_eq!(cache.index.len(), 2);
        // A budget of 0 flushes every write at once.
        let mut below = Map::default();
        let mut cache = NamedCache::new(ThreadCache::new(0), 0);
        cache.forward_flushes(true);
        cache.put(b"a", Some(b"1"), context(1), &mut below).unwrap();
        cache.put(b"a", Some(b"2"), context(2), &mut below).unwrap();
        assert_eq!(
            updates(&mut cache),
            [("a".into(), s("1"), None, 1), ("a".into(), s("2"), s("1"), 2)]
        );
        assert!(cache.index.is_empty());
    }

    #[test]
    fn scans_see_cached_values_and_deletes_over_the_store() {
        let mut below = Map::default();
        let mut cache = NamedCache::new(ThreadCache::default(), 0);
        cache.put(b"b", Some(b"B2"), context(1), &mut below).unwrap();
        cache.put(b"c", None, context(2), &mut below).unwrap();
        cache.put(b"e", Some(b"E"), context(3), &mut below).unwrap();
        let store = vec![
            (b"a".to_vec(), b"A".to_vec()),
            (b"b".to_vec(), b"B".to_vec()),
            (b"c".to_vec(), b"C".to_vec()),
        ];
        let all = cache.overlay(store.clone(), (Bound::Unbounded, Bound::Excluded(&b"e"[..])), false);
        assert_eq!(all, [(b"a".to_vec(), b"A".to_vec()), (b"b".to_vec(), b"B2".to_vec())]);
        let mut reversed = store;
        reversed.reverse();
        let all = cache.overlay(reversed, (Bound::Unbounded, Bound::Unbounded), true);
        let keys: Vec<&[u8]> = all.iter().map(|(k, _)| &k[..]).collect();
        assert_eq!(keys, [&b"e"[..], b"b", b"a"]);
        // A flush without forwarding writes every dirty entry, deletes included.
        cache.flush(&mut below).unwrap();
        assert_eq!(below.writes.len(), 3);
        assert!(cache.flushed.is_empty());
    }
}
