//! Window stores: values per key and window start, kept for the retention period (Java's
//! `WindowStore`), over a [`SegmentedStore`] with Java's window key layout.

use super::key_value::{Layout, NO_TIMESTAMP};
use super::memory::Entry;
use super::segmented::{KeySchema, SegmentedStore};
use super::store_ops::{StoreOp, metered};
use super::{Instance, StoreHandle, StoreInstance, StoreKind, serde_error};
use crate::error::StoreError;
use crate::serde::{Encoded, Serde, SerdeOf};
use crate::window::{Window, Windowed};
use std::cell::RefCell;
use std::marker::PhantomData;
use std::ops::Bound;
use std::rc::Rc;

/// A typed window store handle (Java's `WindowStore<K, V>`): a value per key and window start.
///
/// Declare it as a `#[store]` field of a processor over a `kind: window` store; the DSL's windowed
/// aggregations keep their windows in one. Reads never return windows older than the store's
/// retention period (by the store's stream time: the largest window start put), and a put of
/// such a window is dropped. Writing a value that serializes to null deletes the window.
pub struct WindowStore<K, V, KS = SerdeOf<K>, VS = SerdeOf<V>> {
    inner: Rc<RefCell<SegmentedStore>>,
    /// Whether the store counts its operations (`DEBUG` metrics).
    metered: bool,
    key_serde: KS,
    value_serde: VS,
    types: PhantomData<fn(K) -> V>,
}

impl<K, V, KS: Clone, VS: Clone> Clone for WindowStore<K, V, KS, VS> {
    fn clone(&self) -> Self {
        WindowStore {
            inner: Rc::clone(&self.inner),
            metered: self.metered,
            key_serde: self.key_serde.clone(),
            value_serde: self.value_serde.clone(),
            types: PhantomData,
        }
    }
}

impl<K, V, KS, VS> std::fmt::Debug for WindowStore<K, V, KS, VS> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WindowStore")
            .field("name", &self.inner.borrow().name)
            .finish()
    }
}

impl<K, V, KS: Serde<K>, VS: Serde<V>> StoreHandle for WindowStore<K, V, KS, VS> {
    const KIND: StoreKind = StoreKind::Window;

    fn bind(instance: &StoreInstance) -> Option<Self> {
        match &instance.0 {
            Instance::Window(inner) => Some(WindowStore {
                inner: Rc::clone(inner),
                metered: inner.borrow().ops.is_on(),
                key_serde: KS::default(),
                value_serde: VS::default(),
                types: PhantomData,
            }),
            _ => None,
        }
    }
}

/// Serializes `key` into the store's key buffer; `false` when it is null.
pub(super) fn encode_key<K, KS: Serde<K>>(serde: &KS, inner: &mut SegmentedStore, key: &K) -> Result<bool, StoreError> {
    inner.key_buf.clear();
    let encoded = serde
        .serialize(key, &mut inner.key_buf)
        .map_err(serde_error(inner.name))?;
    Ok(encoded == Encoded::Bytes)
}

/// Serializes `value` (behind `timestamp` in a timestamped store) into the value buffer; `false`
/// when it is null.
pub(super) fn encode_value<V, VS: Serde<V>>(
    serde: &VS,
    inner: &mut SegmentedStore,
    value: Option<&V>,
    timestamp: i64,
) -> Result<bool, StoreError> {
    inner.value_buf.clear();
    let Some(value) = value else { return Ok(false) };
    if inner.timestamped {
        inner.value_buf.extend_from_slice(&timestamp.to_be_bytes());
    }
    let encoded = serde
        .serialize(value, &mut inner.value_buf)
        .map_err(serde_error(inner.name))?;
    Ok(encoded == Encoded::Bytes)
}

/// A stored value and its timestamp.
pub(super) fn decode_value<V, VS: Serde<V>>(serde: &VS, layout: Layout, stored: &[u8]) -> Result<(V, i64), StoreError> {
    let (timestamp, bytes) = layout.split(stored)?;
    let value = serde.deserialize(Some(bytes)).map_err(serde_error(layout.store))?;
    Ok((value, timestamp))
}

pub(super) fn layout(inner: &SegmentedStore) -> Layout {
    Layout {
        store: inner.name,
        timestamped: inner.timestamped,
    }
}

/// `key ++ time ++ seqnum` for a scan bound (times are not negative: a negative bound is 0, so
/// big-endian bytes order the times).
fn window_bound(key: &[u8], time: i64, seqnum: u32) -> Vec<u8> {
    let mut bound = Vec::with_capacity(key.len() + 12);
    bound.extend_from_slice(key);
    bound.extend_from_slice(&time.max(0).to_be_bytes());
    bound.extend_from_slice(&seqnum.to_be_bytes());
    bound
}

impl<K, V, KS: Serde<K>, VS: Serde<V>> WindowStore<K, V, KS, VS> {
    /// The store's name.
    pub fn name(&self) -> &'static str {
        self.inner.borrow().name
    }

    /// Writes `value` for `key` in the window starting at `window_start` (a value that
    /// serializes to null deletes the window).
    pub fn put(&self, key: &K, value: &V, window_start: i64) -> Result<(), StoreError> {
        self.write(key, Some(value), window_start, NO_TIMESTAMP)
    }

    /// Deletes `key`'s window starting at `window_start`.
    pub fn delete(&self, key: &K, window_start: i64) -> Result<(), StoreError> {
        self.write(key, None, window_start, NO_TIMESTAMP)
    }

    /// Writes or deletes (`None`) a window, keeping `timestamp` with the value in a timestamped
    /// store (the DSL's aggregations).
    pub(crate) fn write(
        &self,
        key: &K,
        value: Option<&V>,
        window_start: i64,
        timestamp: i64,
    ) -> Result<(), StoreError> {
        metered(self.metered, &self.inner, StoreOp::Put, || {
            let mut inner = self.inner.borrow_mut();
            if !encode_key(&self.key_serde, &mut inner, key)? {
                return Ok(());
            }
            inner.push_window_suffix(window_start);
            let present = encode_value(&self.value_serde, &mut inner, value, timestamp)?;
            inner.write(present)
        })
    }

    /// The value of `key` in the window starting at `window_start` (Java's `fetch(key, time)`).
    pub fn get(&self, key: &K, window_start: i64) -> Result<Option<V>, StoreError> {
        Ok(self.get_timestamped(key, window_start)?.map(|(v, _)| v))
    }

    /// Like [`get`](Self::get), with the timestamp kept with the value.
    pub(crate) fn get_timestamped(&self, key: &K, window_start: i64) -> Result<Option<(V, i64)>, StoreError> {
        metered(self.metered, &self.inner, StoreOp::Fetch, || {
            let mut inner = self.inner.borrow_mut();
            if !encode_key(&self.key_serde, &mut inner, key)? {
                return Ok(None);
            }
            inner.key_buf.extend_from_slice(&window_start.to_be_bytes());
            inner.key_buf.extend_from_slice(&0u32.to_be_bytes());
            let layout = layout(&inner);
            inner.get(|stored| stored.map(|s| decode_value(&self.value_serde, layout, s)).transpose())?
        })
    }

    /// `key`'s windows starting in `time_from..=time_to`, earliest first, as (start, value).
    pub fn fetch(&self, key: &K, time_from: i64, time_to: i64) -> Result<WindowStoreIterator<V, VS>, StoreError> {
        metered(self.metered, &self.inner, StoreOp::Fetch, || {
            self.fetch_key(key, time_from, time_to, false)
        })
    }

    /// Like [`fetch`](Self::fetch), latest first.
    pub fn backward_fetch(
        &self,
        key: &K,
        time_from: i64,
        time_to: i64,
    ) -> Result<WindowStoreIterator<V, VS>, StoreError> {
        metered(self.metered, &self.inner, StoreOp::Fetch, || {
            self.fetch_key(key, time_from, time_to, true)
        })
    }

    fn fetch_key(
        &self,
        key: &K,
        time_from: i64,
        time_to: i64,
        reverse: bool,
    ) -> Result<WindowStoreIterator<V, VS>, StoreError> {
        let mut inner = self.inner.borrow_mut();
        let mut entries = Vec::new();
        if encode_key(&self.key_serde, &mut inner, key)? {
            let key = inner.key_buf.clone();
            let (from, to) = (window_bound(&key, time_from, 0), window_bound(&key, time_to, u32::MAX));
            entries = inner.scan_key(&key, (time_from, time_to), (&from, &to), reverse)?;
        }
        Ok(WindowStoreIterator {
            layout: layout(&inner),
            entries: entries.into_iter(),
            value_serde: self.value_serde.clone(),
            types: PhantomData,
        })
    }

    /// The windows of keys in `key_from..=key_to` (`None` leaves a side open) starting in
    /// `time_from..=time_to`.
    pub fn fetch_range(
        &self,
        key_from: Option<&K>,
        key_to: Option<&K>,
        time_from: i64,
        time_to: i64,
    ) -> Result<WindowedIterator<K, V, KS, VS>, StoreError> {
        self.scan_keys(key_from, key_to, time_from, time_to, false)
    }

    /// Every window starting in `time_from..=time_to`.
    pub fn fetch_all(&self, time_from: i64, time_to: i64) -> Result<WindowedIterator<K, V, KS, VS>, StoreError> {
        self.scan_keys(None, None, time_from, time_to, false)
    }

    /// Like [`fetch_all`](Self::fetch_all), in reverse order.
    pub fn backward_fetch_all(
        &self,
        time_from: i64,
        time_to: i64,
    ) -> Result<WindowedIterator<K, V, KS, VS>, StoreError> {
        self.scan_keys(None, None, time_from, time_to, true)
    }

    /// Every live window: segment by segment, by serialized key and start within a segment.
    pub fn all(&self) -> Result<WindowedIterator<K, V, KS, VS>, StoreError> {
        self.scan_keys(None, None, i64::MIN, i64::MAX, false)
    }

    /// Like [`all`](Self::all), in reverse order.
    pub fn backward_all(&self) -> Result<WindowedIterator<K, V, KS, VS>, StoreError> {
        self.scan_keys(None, None, i64::MIN, i64::MAX, true)
    }

    /// The windows of keys in `key_from..=key_to` starting in `time_from..=time_to` (counted as
    /// a `fetch`).
    fn scan_keys(
        &self,
        key_from: Option<&K>,
        key_to: Option<&K>,
        time_from: i64,
        time_to: i64,
        reverse: bool,
    ) -> Result<WindowedIterator<K, V, KS, VS>, StoreError> {
        metered(self.metered, &self.inner, StoreOp::Fetch, || {
            let inner = self.inner.borrow();
            let encode = |k: &K| -> Result<Vec<u8>, StoreError> {
                let mut buf = Vec::new();
                self.key_serde.serialize(k, &mut buf).map_err(serde_error(inner.name))?;
                Ok(buf)
            };
            let from_key = key_from.map(encode).transpose()?;
            let to_key = key_to.map(encode).transpose()?;
            // A key sharing `from_key` as a prefix sorts after `from_key ++ time`: start the scan at
            // the key's first possible entry (Java's `WindowKeySchema.lowerRange`).
            let lower = from_key.as_ref().map(|k| window_bound(k, 0, 0));
            let upper = to_key.as_ref().map(|k| window_bound(k, time_to, u32::MAX));
            let mut entries = match (&from_key, &to_key) {
                (Some(f), Some(t)) if f > t => Vec::new(),
                _ => inner.scan(
                    time_from,
                    time_to,
                    lower.as_deref().map_or(Bound::Unbounded, Bound::Included),
                    upper.as_deref().map_or(Bound::Unbounded, Bound::Included),
                    reverse,
                )?,
            };
            entries.retain(|(k, _)| {
                let (Some(key), Some(t)) = (KeySchema::Window.key(k), KeySchema::Window.segment_time(k)) else {
                    return false;
                };
                (time_from..=time_to).contains(&t)
                    && from_key.as_deref().is_none_or(|f| key >= f)
                    && to_key.as_deref().is_none_or(|u| key <= u)
            });
            Ok(self.iter(&inner, entries))
        })
    }

    fn iter(&self, inner: &SegmentedStore, entries: Vec<Entry>) -> WindowedIterator<K, V, KS, VS> {
        WindowedIterator {
            schema: KeySchema::Window,
            window_size_ms: inner.window_size_ms,
            layout: layout(inner),
            entries: entries.into_iter(),
            key_serde: self.key_serde.clone(),
            value_serde: self.value_serde.clone(),
            types: PhantomData,
        }
    }

    /// The windows of `key` starting in `time_from..=time_to`, earliest first, as (start, value,
    /// timestamp kept with the value).
    pub(crate) fn fetch_timestamped(
        &self,
        key: &K,
        time_from: i64,
        time_to: i64,
    ) -> Result<Vec<(i64, V, i64)>, StoreError> {
        let iter = self.fetch(key, time_from, time_to)?;
        let (layout, serde) = (iter.layout, iter.value_serde.clone());
        iter.entries
            .map(|(k, v)| {
                let start = KeySchema::Window.segment_time(&k).unwrap_or_default();
                let (value, ts) = decode_value(&serde, layout, &v)?;
                Ok((start, value, ts))
            })
            .collect()
    }

    /// The windows starting in `time_from..=time_to` ordered by start, then serialized key (what
    /// Java's time-ordered store gives an aggregation emitting on window close), each with the
    /// timestamp kept with its value.
    pub(crate) fn fetch_all_by_time(
        &self,
        time_from: i64,
        time_to: i64,
    ) -> Result<Vec<(Windowed<K>, V, i64)>, StoreError> {
        metered(self.metered, &self.inner, StoreOp::Fetch, || {
            let inner = self.inner.borrow();
            let floor = inner.min_live_time() - 1;
            let mut entries = inner.scan_from(floor, time_from, time_to, Bound::Unbounded, Bound::Unbounded, false)?;
            entries.retain(|(k, _)| {
                KeySchema::Window
                    .segment_time(k)
                    .is_some_and(|t| (time_from..=time_to).contains(&t))
            });
            let iter = self.iter(&inner, Vec::new());
            entries.sort_by(|(a, _), (b, _)| {
                let time = |k: &[u8]| KeySchema::Window.segment_time(k);
                time(a).cmp(&time(b)).then_with(|| a.cmp(b))
            });
            entries
                .iter()
                .map(|(k, v)| {
                    let windowed = iter.decode_key(k)?;
                    let (value, ts) = decode_value(&iter.value_serde, iter.layout, v)?;
                    Ok((windowed, value, ts))
                })
                .collect()
        })
    }

    /// The close time the aggregation over this store last emitted final results at
    /// (`UNKNOWN_TIME`: never); rolled back with the store on an exactly-once abort.
    pub(crate) fn emitted_close_time(&self) -> i64 {
        self.inner.borrow().emitted_close_time()
    }

    /// Records the close time of an emission of final results.
    pub(crate) fn set_emitted_close_time(&self, close_time: i64) {
        self.inner.borrow_mut().set_emitted_close_time(close_time);
    }

    /// The store's stream time (the largest window start put).
    pub fn observed_stream_time(&self) -> i64 {
        self.inner.borrow().observed_stream_time()
    }

    /// Puts dropped because their window was already past the retention period.
    pub fn expired_records(&self) -> u64 {
        self.inner.borrow().expired_records()
    }

    /// Flushes buffered writes to the backend.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.inner.borrow().flush()
    }

    /// The number of time segments the store holds (old ones are dropped as stream time passes
    /// the retention period).
    pub fn segment_count(&self) -> usize {
        self.inner.borrow().segment_count()
    }
}

/// One key's windows from a [`WindowStore::fetch`]: (window start, value), deserialized as read
/// from a snapshot taken when the fetch was made.
pub struct WindowStoreIterator<V, VS> {
    layout: Layout,
    entries: std::vec::IntoIter<Entry>,
    value_serde: VS,
    types: PhantomData<fn() -> V>,
}

impl<V, VS: Serde<V>> Iterator for WindowStoreIterator<V, VS> {
    type Item = Result<(i64, V), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (k, v) = self.entries.next()?;
        let start = KeySchema::Window.segment_time(&k).unwrap_or_default();
        Some(decode_value(&self.value_serde, self.layout, &v).map(|(value, _)| (start, value)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

/// Windows of several keys (window or session store): (windowed key, value), deserialized as read
/// from a snapshot taken when the read was made.
pub struct WindowedIterator<K, V, KS, VS> {
    pub(super) schema: KeySchema,
    pub(super) window_size_ms: i64,
    pub(super) layout: Layout,
    pub(super) entries: std::vec::IntoIter<Entry>,
    pub(super) key_serde: KS,
    pub(super) value_serde: VS,
    pub(super) types: PhantomData<fn(K) -> V>,
}

impl<K, V, KS: Serde<K>, VS: Serde<V>> WindowedIterator<K, V, KS, VS> {
    fn decode(&self, k: &[u8], v: &[u8]) -> Result<(Windowed<K>, V), StoreError> {
        let key = self.decode_key(k)?;
        let (value, _) = decode_value(&self.value_serde, self.layout, v)?;
        Ok((key, value))
    }

    /// The windowed key of a store key.
    pub(super) fn decode_key(&self, k: &[u8]) -> Result<Windowed<K>, StoreError> {
        let store = self.layout.store;
        let bytes = self.schema.key(k).unwrap_or_default();
        let key = self.key_serde.deserialize(Some(bytes)).map_err(serde_error(store))?;
        let window = match self.schema {
            KeySchema::Window => {
                let start = self.schema.segment_time(k).unwrap_or_default();
                Window::new(start, start.saturating_add(self.window_size_ms))
            }
            KeySchema::Session => Window::new(
                KeySchema::session_start(k),
                self.schema.segment_time(k).unwrap_or_default(),
            ),
        };
        Ok(Windowed::new(key, window))
    }
}

impl<K, V, KS: Serde<K>, VS: Serde<V>> Iterator for WindowedIterator<K, V, KS, VS> {
    type Item = Result<(Windowed<K>, V), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (k, v) = self.entries.next()?;
        Some(self.decode(&k, &v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}
