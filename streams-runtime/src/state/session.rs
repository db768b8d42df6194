//! Session stores: a value per key and session (Java's `SessionStore`), over a
//! [`SegmentedStore`] with Java's session key layout (`key ++ end ++ start`).

use super::key_value::NO_TIMESTAMP;
use super::segmented::{KeySchema, SegmentedStore};
use super::store_ops::{StoreOp, metered};
use super::window::{WindowedIterator, decode_value, encode_key, encode_value, layout};
use super::{Instance, StoreHandle, StoreInstance, StoreKind, serde_error};
use crate::error::StoreError;
use crate::serde::{Encoded, Serde, SerdeOf};
use crate::window::Windowed;
use std::cell::RefCell;
use std::marker::PhantomData;
use std::ops::Bound;
use std::rc::Rc;

/// A typed session store handle (Java's `SessionStore<K, V>`): a value per key and session
/// window (`start..=end`).
///
/// Declare it as a `#[store]` field of a processor over a `kind: session` store; the DSL's
/// session aggregations keep their sessions in one. Sessions ending at or before the store's
/// stream time (the largest session end put) minus the retention period are gone.
pub struct SessionStore<K, V, KS = SerdeOf<K>, VS = SerdeOf<V>> {
    inner: Rc<RefCell<SegmentedStore>>,
    /// Whether the store counts its operations (`DEBUG` metrics).
    metered: bool,
    key_serde: KS,
    value_serde: VS,
    types: PhantomData<fn(K) -> V>,
}

impl<K, V, KS: Clone, VS: Clone> Clone for SessionStore<K, V, KS, VS> {
    fn clone(&self) -> Self {
        SessionStore {
            inner: Rc::clone(&self.inner),
            metered: self.metered,
            key_serde: self.key_serde.clone(),
            value_serde: self.value_serde.clone(),
            types: PhantomData,
        }
    }
}

impl<K, V, KS, VS> std::fmt::Debug for SessionStore<K, V, KS, VS> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionStore")
            .field("name", &self.inner.borrow().name)
            .finish()
    }
}

impl<K, V, KS: Serde<K>, VS: Serde<V>> StoreHandle for SessionStore<K, V, KS, VS> {
    const KIND: StoreKind = StoreKind::Session;

    fn bind(instance: &StoreInstance) -> Option<Self> {
        match &instance.0 {
            Instance::Session(inner) => Some(SessionStore {
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

impl<K, V, KS: Serde<K>, VS: Serde<V>> SessionStore<K, V, KS, VS> {
    /// The store's name.
    pub fn name(&self) -> &'static str {
        self.inner.borrow().name
    }

    /// Serializes the session's key into the store key buffer; `false` when the key is null.
    fn encode_session(&self, inner: &mut SegmentedStore, session: &Windowed<K>) -> Result<bool, StoreError> {
        let present = encode_key(&self.key_serde, inner, &session.key)?;
        inner.key_buf.extend_from_slice(&session.window.end.to_be_bytes());
        inner.key_buf.extend_from_slice(&session.window.start.to_be_bytes());
        Ok(present)
    }

    /// Writes the aggregate of a session (a value that serializes to null removes it).
    pub fn put(&self, session: &Windowed<K>, value: &V) -> Result<(), StoreError> {
        metered(self.metered, &self.inner, StoreOp::Put, || {
            let mut inner = self.inner.borrow_mut();
            if !self.encode_session(&mut inner, session)? {
                return Ok(());
            }
            let present = encode_value(&self.value_serde, &mut inner, Some(value), NO_TIMESTAMP)?;
            inner.write(present)
        })
    }

    /// Removes a session.
    pub fn remove(&self, session: &Windowed<K>) -> Result<(), StoreError> {
        metered(self.metered, &self.inner, StoreOp::Remove, || {
            let mut inner = self.inner.borrow_mut();
            if !self.encode_session(&mut inner, session)? {
                return Ok(());
            }
            inner.write(false)
        })
    }

    /// The aggregate of `key`'s session `start..=end`, if it exists.
    pub fn fetch_session(&self, key: &K, start: i64, end: i64) -> Result<Option<V>, StoreError> {
        metered(self.metered, &self.inner, StoreOp::Fetch, || {
            let mut inner = self.inner.borrow_mut();
            if !encode_key(&self.key_serde, &mut inner, key)? {
                return Ok(None);
            }
            inner.key_buf.extend_from_slice(&end.to_be_bytes());
            inner.key_buf.extend_from_slice(&start.to_be_bytes());
            let layout = layout(&inner);
            inner.get(|stored| {
                stored
                    .map(|s| decode_value(&self.value_serde, layout, s).map(|(value, _)| value))
                    .transpose()
            })?
        })
    }

    /// `key`'s sessions that end at or after `earliest_end` and start at or before
    /// `latest_start`, by end time (Java's `findSessions`).
    pub fn find_sessions(
        &self,
        key: &K,
        earliest_end: i64,
        latest_start: i64,
    ) -> Result<WindowedIterator<K, V, KS, VS>, StoreError> {
        self.find(key, earliest_end, latest_start, false)
    }

    /// Like [`find_sessions`](Self::find_sessions), latest first.
    pub fn backward_find_sessions(
        &self,
        key: &K,
        earliest_end: i64,
        latest_start: i64,
    ) -> Result<WindowedIterator<K, V, KS, VS>, StoreError> {
        self.find(key, earliest_end, latest_start, true)
    }

    /// Every session of `key`, by end time.
    pub fn fetch(&self, key: &K) -> Result<WindowedIterator<K, V, KS, VS>, StoreError> {
        self.find(key, i64::MIN, i64::MAX, false)
    }

    /// Every live session: segment by segment, by serialized key, end and start within one.
    pub fn all(&self) -> Result<WindowedIterator<K, V, KS, VS>, StoreError> {
        metered(self.metered, &self.inner, StoreOp::Fetch, || {
            let inner = self.inner.borrow();
            let entries = inner.scan(i64::MIN, i64::MAX, Bound::Unbounded, Bound::Unbounded, false)?;
            Ok(self.iter(&inner, entries))
        })
    }

    /// `key`'s sessions ending at or after `earliest_end` and starting at or before
    /// `latest_start` (counted as a `fetch`).
    fn find(
        &self,
        key: &K,
        earliest_end: i64,
        latest_start: i64,
        reverse: bool,
    ) -> Result<WindowedIterator<K, V, KS, VS>, StoreError> {
        metered(self.metered, &self.inner, StoreOp::Fetch, || {
            let inner = self.inner.borrow();
            let mut bytes = Vec::new();
            let encoded = self
                .key_serde
                .serialize(key, &mut bytes)
                .map_err(serde_error(inner.name))?;
            if encoded == Encoded::Null {
                return Ok(self.iter(&inner, Vec::new()));
            }
            // Times are not negative, so big-endian bytes order them; the bounds span every start.
            let mut from = bytes.clone();
            from.extend_from_slice(&earliest_end.max(0).to_be_bytes());
            from.extend_from_slice(&[0; 8]);
            let mut to = bytes.clone();
            to.extend_from_slice(&[0xff; 16]);
            let mut entries = inner.scan_key(&bytes, (earliest_end, i64::MAX), (&from, &to), reverse)?;
            entries.retain(|(k, _)| KeySchema::session_start(k) <= latest_start);
            Ok(self.iter(&inner, entries))
        })
    }

    fn iter(&self, inner: &SegmentedStore, entries: Vec<(Vec<u8>, Vec<u8>)>) -> WindowedIterator<K, V, KS, VS> {
        WindowedIterator {
            schema: KeySchema::Session,
            window_size_ms: 0,
            layout: layout(inner),
            entries: entries.into_iter(),
            key_serde: self.key_serde.clone(),
            value_serde: self.value_serde.clone(),
            types: PhantomData,
        }
    }

    /// Every session ending in `earliest_end..=latest_end` that the store still holds (not
    /// clamped to the retention period, as Java's time-ordered session store), ordered by end,
    /// then start, then serialized key (that store's `end ++ start ++ key` order): what an
    /// aggregation emitting on window close reads.
    pub(crate) fn sessions_ending_between(
        &self,
        earliest_end: i64,
        latest_end: i64,
    ) -> Result<WindowedIterator<K, V, KS, VS>, StoreError> {
        metered(self.metered, &self.inner, StoreOp::Fetch, || {
            let inner = self.inner.borrow();
            let mut entries = inner.scan_from(
                i64::MIN,
                earliest_end,
                latest_end,
                Bound::Unbounded,
                Bound::Unbounded,
                false,
            )?;
            entries.retain(|(k, _)| {
                KeySchema::Session
                    .segment_time(k)
                    .is_some_and(|end| (earliest_end..=latest_end).contains(&end))
            });
            entries.sort_by(|(a, _), (b, _)| {
                let end = |k: &[u8]| KeySchema::Session.segment_time(k);
                let start = |k: &[u8]| KeySchema::session_start(k);
                end(a)
                    .cmp(&end(b))
                    .then_with(|| start(a).cmp(&start(b)))
                    .then_with(|| KeySchema::Session.key(a).cmp(&KeySchema::Session.key(b)))
            });
            Ok(self.iter(&inner, entries))
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

    /// The store's stream time (the largest session end put).
    pub fn observed_stream_time(&self) -> i64 {
        self.inner.borrow().observed_stream_time()
    }

    /// Flushes buffered writes to the backend.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.inner.borrow().flush()
    }
}
