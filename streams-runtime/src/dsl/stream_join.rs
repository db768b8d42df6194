//! KStream-KStream windowed joins (Java's `KStreamJoinWindow`, `KStreamKStreamJoin` and its
//! left and right sides): each side buffers its records in a window store, and a record joins
//! the other side's records of the same key within the join windows. Left and outer joins keep
//! a record that found no partner in a store shared by both sides (Java's outer-join store) and
//! emit it joined with `None` only once its window has closed.

use super::Operator;
use crate::error::ProcessingError;
use crate::graph::Children;
use crate::record::Record;
use crate::serde::{Encoded, Serde, SerdeError};
use crate::state::{KeyValueStore, WindowStore};
use crate::task::{TaskContext, UNKNOWN_TIME};
use crate::window::JoinWindows;
use std::cell::Cell;
use std::marker::PhantomData;
use std::rc::Rc;

/// How a stream-stream join combines the two sides: called with both values for a match, and
/// with one of them for a left or outer result; `None` where the join emits nothing.
pub trait StreamJoiner<K, V1, V2> {
    /// The joined value type.
    type Out;
    /// The result for `left` and `right` (at least one is present).
    fn join(&mut self, key: &K, left: Option<&V1>, right: Option<&V2>) -> Option<Self::Out>;
}

/// Defines a joiner type: `$name<F>` calls `F` with `$args`, built from the key and the
/// (left, right) values, when the values `$needs` are present.
macro_rules! stream_joiner {
    ($(#[$doc:meta])* $name:ident, |$k:ident, $l:ident, $r:ident| ($($arg:expr),*): ($($ty:ty),*)) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name<F>(pub F);

        impl<K, V1, V2, VR, F: FnMut($($ty),*) -> VR> StreamJoiner<K, V1, V2> for $name<F> {
            type Out = VR;
            #[inline]
            #[allow(unused_variables)]
            fn join(&mut self, $k: &K, $l: Option<&V1>, $r: Option<&V2>) -> Option<VR> {
                Some((self.0)($($arg),*))
            }
        }
    };
}

stream_joiner!(
    /// An inner join's joiner `|key, left, right|`.
    InnerStreamJoiner, |key, left, right| (key, left?, right?): (&K, &V1, &V2)
);
stream_joiner!(
    /// An inner join's joiner of values only, `|left, right|`.
    InnerValueStreamJoiner, |key, left, right| (left?, right?): (&V1, &V2)
);
stream_joiner!(
    /// A left join's joiner `|key, left, right: Option<&_>|`.
    LeftStreamJoiner, |key, left, right| (key, left?, right): (&K, &V1, Option<&V2>)
);
stream_joiner!(
    /// A left join's joiner of values only, `|left, right: Option<&_>|`.
    LeftValueStreamJoiner, |key, left, right| (left?, right): (&V1, Option<&V2>)
);
stream_joiner!(
    /// An outer join's joiner `|key, left: Option<&_>, right: Option<&_>|`.
    OuterStreamJoiner, |key, left, right| (key, left, right): (&K, Option<&V1>, Option<&V2>)
);
stream_joiner!(
    /// An outer join's joiner of values only, `|left: Option<&_>, right: Option<&_>|`.
    OuterValueStreamJoiner, |key, left, right| (left, right): (Option<&V1>, Option<&V2>)
);

/// The time both sides of one join share (Java's `TimeTracker`): the largest timestamp either
/// side has seen, the earliest record waiting in the outer-join store (`i64::MAX` if none is
/// known), and when (wall clock) the store may next be scanned.
#[derive(Debug)]
pub struct JoinTime {
    stream_time: Cell<i64>,
    min_time: Cell<i64>,
    next_time_to_emit: Cell<i64>,
}

impl Default for JoinTime {
    fn default() -> Self {
        JoinTime {
            stream_time: Cell::new(UNKNOWN_TIME),
            min_time: Cell::new(i64::MAX),
            next_time_to_emit: Cell::new(0),
        }
    }
}

/// A key of the outer-join store: the record's timestamp, its side and its key, serialized as
/// Java's `TimestampedKeyAndJoinSide` (8-byte big-endian timestamp, 1 for left or 0 for right,
/// the key's bytes), so the store iterates in time order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinSideKey<K> {
    /// The record's timestamp.
    pub timestamp: i64,
    /// Whether the record came from the left stream.
    pub left: bool,
    /// The record's key.
    pub key: K,
}

/// The serde of [`JoinSideKey`] over the key serde `KS`.
#[derive(Debug, Clone, Copy, Default)]
pub struct JoinSideKeySerde<KS>(KS);

impl<K, KS: Serde<K>> Serde<JoinSideKey<K>> for JoinSideKeySerde<KS> {
    fn serialize(&self, value: &JoinSideKey<K>, out: &mut Vec<u8>) -> Result<Encoded, SerdeError> {
        let mark = out.len();
        out.extend_from_slice(&value.timestamp.to_be_bytes());
        out.push(u8::from(value.left));
        if self.0.serialize(&value.key, out)? == Encoded::Null {
            out.truncate(mark);
            return Ok(Encoded::Null);
        }
        Ok(Encoded::Bytes)
    }

    fn deserialize(&self, data: Option<&[u8]>) -> Result<JoinSideKey<K>, SerdeError> {
        let bytes = crate::serde::non_null(data, "join side key")?;
        let Some((timestamp, rest)) = bytes.split_first_chunk::<8>() else {
            return Err(SerdeError::WrongSize {
                type_name: "join side key",
                expected: 9,
                actual: bytes.len(),
            });
        };
        let Some((&side, key)) = rest.split_first() else {
            return Err(SerdeError::WrongSize {
                type_name: "join side key",
                expected: 9,
                actual: bytes.len(),
            });
        };
        Ok(JoinSideKey {
            timestamp: i64::from_be_bytes(*timestamp),
            left: side == 1,
            key: self.0.deserialize(Some(key))?,
        })
    }
}

/// The records waiting in the outer-join store under one [`JoinSideKey`], in arrival order
/// (Java keeps a list per key too): the values of one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unjoined<V1, V2> {
    /// Left-stream values.
    Left(Vec<V1>),
    /// Right-stream values.
    Right(Vec<V2>),
}

/// The serde of [`Unjoined`]: a side byte (1 left, 0 right, as Java's `LeftOrRightValue`), then
/// each value as a 4-byte big-endian length and its bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnjoinedSerde<VS1, VS2>(VS1, VS2);

fn write_values<V, VS: Serde<V>>(serde: &VS, values: &[V], out: &mut Vec<u8>) -> Result<(), SerdeError> {
    for value in values {
        let at = out.len();
        out.extend_from_slice(&[0; 4]);
        serde.serialize(value, out)?;
        let len = u32::try_from(out.len() - at - 4).map_err(|_| SerdeError::WrongSize {
            type_name: "unjoined value",
            expected: u32::MAX as usize,
            actual: out.len() - at - 4,
        })?;
        out[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }
    Ok(())
}

fn read_values<V, VS: Serde<V>>(serde: &VS, mut bytes: &[u8]) -> Result<Vec<V>, SerdeError> {
    let mut values = Vec::new();
    while let Some((len, rest)) = bytes.split_first_chunk::<4>() {
        let len = u32::from_be_bytes(*len) as usize;
        if rest.len() < len {
            return Err(SerdeError::WrongSize {
                type_name: "unjoined value",
                expected: len,
                actual: rest.len(),
            });
        }
        values.push(serde.deserialize(Some(&rest[..len]))?);
        bytes = &rest[len..];
    }
    if !bytes.is_empty() {
        return Err(SerdeError::WrongSize {
            type_name: "unjoined value",
            expected: 4,
            actual: bytes.len(),
        });
    }
    Ok(values)
}

impl<V1, V2, VS1: Serde<V1>, VS2: Serde<V2>> Serde<Unjoined<V1, V2>> for UnjoinedSerde<VS1, VS2> {
    fn serialize(&self, value: &Unjoined<V1, V2>, out: &mut Vec<u8>) -> Result<Encoded, SerdeError> {
        match value {
            Unjoined::Left(values) => {
                out.push(1);
                write_values(&self.0, values, out)?;
            }
            Unjoined::Right(values) => {
                out.push(0);
                write_values(&self.1, values, out)?;
            }
        }
        Ok(Encoded::Bytes)
    }

    fn deserialize(&self, data: Option<&[u8]>) -> Result<Unjoined<V1, V2>, SerdeError> {
        let bytes = crate::serde::non_null(data, "unjoined values")?;
        match bytes.split_first() {
            Some((1, rest)) => Ok(Unjoined::Left(read_values(&self.0, rest)?)),
            Some((_, rest)) => Ok(Unjoined::Right(read_values(&self.1, rest)?)),
            None => Err(SerdeError::WrongSize {
                type_name: "unjoined values",
                expected: 1,
                actual: 0,
            }),
        }
    }
}

/// The outer-join store of a join of `K`-keyed streams of `V1` (left) and `V2` (right).
pub type OuterJoinStore<K, V1, V2, KS, VS1, VS2> =
    KeyValueStore<JoinSideKey<K>, Unjoined<V1, V2>, JoinSideKeySerde<KS>, UnjoinedSerde<VS1, VS2>>;

/// The node before each side's join (Java's `KStreamJoinWindow`): buffers the side's records in
/// its window store (a record starts its own window), then forwards them. A put the store drops
/// as expired is counted as a dropped record.
pub struct JoinWindow<K, V, KS, VS> {
    store: WindowStore<K, V, KS, VS>,
}

impl<K, V, KS, VS> JoinWindow<K, V, KS, VS> {
    /// Buffers into `store`.
    pub fn new(store: WindowStore<K, V, KS, VS>) -> Self {
        JoinWindow { store }
    }
}

impl<K, V, KS: Serde<K>, VS: Serde<V>> Operator<K, V> for JoinWindow<K, V, KS, VS> {
    type KeyOut = K;
    type ValueOut = V;
    #[inline]
    fn process<Ch: Children<K, V>>(
        &mut self,
        name: &'static str,
        record: Record<K, V>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        // Java forwards first, then buffers; the join reads the other side's store only, so
        // buffering first is the same and needs no copy of the record.
        let expired = self.store.expired_records();
        self.store.put(&record.key, &record.value, record.timestamp)?;
        if self.store.expired_records() != expired {
            task.skip_record(name, "record for an expired join window");
        }
        children.forward(record, task)
    }
}

/// One side of a stream-stream join: the left side (`LEFT`) joins left records with buffered
/// right ones, the right side the other way round. `V` is this side's value type, `VO` the
/// other's; `V1`/`V2` are the join's left and right types.
pub struct StreamJoin<J, K, V1, V2, KS, VS1, VS2, const LEFT: bool> {
    joiner: J,
    /// This side's reach into the other's past and future (the windows' before and after for
    /// the left side, after and before for the right).
    reach_back_ms: i64,
    reach_ahead_ms: i64,
    windows: JoinWindows,
    /// Whether this side's records are emitted without a partner (left side of left and outer
    /// joins, right side of outer joins).
    outer: bool,
    other_left: Option<WindowStore<K, V1, KS, VS1>>,
    other_right: Option<WindowStore<K, V2, KS, VS2>>,
    unjoined: Option<OuterJoinStore<K, V1, V2, KS, VS1, VS2>>,
    time: Rc<JoinTime>,
    key_serde: KS,
    values: PhantomData<fn(V1, V2)>,
}

/// What a stream-stream join side is made of, besides its joiner.
pub struct JoinSideParts<K, V1, V2, KS, VS1, VS2> {
    /// The windows.
    pub windows: JoinWindows,
    /// Whether this side emits records without a partner.
    pub outer: bool,
    /// The outer-join store, for left and outer joins.
    pub unjoined: Option<OuterJoinStore<K, V1, V2, KS, VS1, VS2>>,
    /// The time both sides share.
    pub time: Rc<JoinTime>,
}

impl<J, K, V1, V2, KS: Default, VS1, VS2> StreamJoin<J, K, V1, V2, KS, VS1, VS2, true> {
    /// The left side, joining with the right side's window store `other`.
    pub fn left(joiner: J, other: WindowStore<K, V2, KS, VS2>, parts: JoinSideParts<K, V1, V2, KS, VS1, VS2>) -> Self {
        StreamJoin {
            joiner,
            reach_back_ms: parts.windows.before_ms(),
            reach_ahead_ms: parts.windows.after_ms(),
            windows: parts.windows,
            outer: parts.outer,
            other_left: None,
            other_right: Some(other),
            unjoined: parts.unjoined,
            time: parts.time,
            key_serde: KS::default(),
            values: PhantomData,
        }
    }
}

impl<J, K, V1, V2, KS: Default, VS1, VS2> StreamJoin<J, K, V1, V2, KS, VS1, VS2, false> {
    /// The right side, joining with the left side's window store `other`.
    pub fn right(joiner: J, other: WindowStore<K, V1, KS, VS1>, parts: JoinSideParts<K, V1, V2, KS, VS1, VS2>) -> Self {
        StreamJoin {
            joiner,
            reach_back_ms: parts.windows.after_ms(),
            reach_ahead_ms: parts.windows.before_ms(),
            windows: parts.windows,
            outer: parts.outer,
            other_left: Some(other),
            other_right: None,
            unjoined: parts.unjoined,
            time: parts.time,
            key_serde: KS::default(),
            values: PhantomData,
        }
    }
}

impl<J, K, V1, V2, KS, VS1, VS2, const LEFT: bool> StreamJoin<J, K, V1, V2, KS, VS1, VS2, LEFT> {
    /// The joiner and the time the other side shares (the right side is made from the left).
    pub fn shared(&self) -> (J, Rc<JoinTime>)
    where
        J: Clone,
    {
        (self.joiner.clone(), Rc::clone(&self.time))
    }
}

impl<J, K, V1, V2, KS, VS1, VS2, const LEFT: bool> StreamJoin<J, K, V1, V2, KS, VS1, VS2, LEFT>
where
    J: StreamJoiner<K, V1, V2>,
    K: Clone,
    KS: Serde<K>,
    VS1: Serde<V1>,
    VS2: Serde<V2>,
{
    /// Emits the unjoined records whose windows have closed, oldest first (Java's
    /// `emitNonJoinedOuterRecords`), then deletes them.
    fn emit_unjoined<Ch: Children<K, J::Out>, V>(
        &mut self,
        record: &Record<K, V>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        let Some(store) = &self.unjoined else { return Ok(()) };
        let time = &*self.time;
        let stream_time = time.stream_time.get();
        // Java's arithmetic wraps: an unknown minimum (after a restore) always scans.
        if time
            .min_time
            .get()
            .wrapping_add(self.reach_ahead_ms)
            .wrapping_add(self.windows.grace_ms())
            >= stream_time
        {
            return Ok(());
        }
        let now = task.system_time_ms();
        if now < time.next_time_to_emit.get() {
            return Ok(());
        }
        time.next_time_to_emit
            .set(now.saturating_add(task.outer_join_emit_interval_ms()));
        time.min_time.set(i64::MAX);
        let grace = self.windows.grace_ms();
        let (mut left_open, mut right_open) = (false, false);
        let mut emitted = Vec::new();
        for entry in store.all()? {
            let (side_key, values) = entry?;
            time.min_time.set(side_key.timestamp);
            if left_open && right_open {
                break;
            }
            // A left record waits for right records up to `after` later, a right one for left
            // records up to `before` later.
            let look_back = if side_key.left {
                self.windows.after_ms()
            } else {
                self.windows.before_ms()
            };
            if side_key.timestamp + look_back + grace >= stream_time {
                if side_key.left {
                    left_open = true;
                } else {
                    right_open = true;
                }
                continue;
            }
            let results: Vec<J::Out> = match &values {
                Unjoined::Left(values) => values
                    .iter()
                    .filter_map(|v| self.joiner.join(&side_key.key, Some(v), None))
                    .collect(),
                Unjoined::Right(values) => values
                    .iter()
                    .filter_map(|v| self.joiner.join(&side_key.key, None, Some(v)))
                    .collect(),
            };
            for value in results {
                children.forward(
                    Record {
                        key: side_key.key.clone(),
                        value,
                        timestamp: side_key.timestamp,
                        headers: record.headers.clone(),
                    },
                    task,
                )?;
            }
            emitted.push(side_key);
        }
        for key in &emitted {
            store.delete(key)?;
        }
        Ok(())
    }

    /// Adds a record without a partner to the outer-join store, under its timestamp, side and
    /// key.
    fn keep_unjoined(
        store: &OuterJoinStore<K, V1, V2, KS, VS1, VS2>,
        key: JoinSideKey<K>,
        add: impl FnOnce(Option<Unjoined<V1, V2>>) -> Unjoined<V1, V2>,
    ) -> Result<(), ProcessingError>
    where
        V1: Clone,
        V2: Clone,
    {
        store.update(&key, |old| Some(add(old)))?;
        Ok(())
    }
}

/// The per-record work of one side; `$this` is the side's value type, `$store` the field of the
/// other side's window store, `$pair` puts (this, other) in (left, right) order
/// and `$unjoined` wraps this side's values for the outer-join store.
macro_rules! join_side {
    ($left:literal, $this:ident, $this_serde:ident, $store:ident, $pair:ident, $unjoined:ident) => {
        impl<J, K, V1, V2, KS, VS1, VS2> Operator<K, $this> for StreamJoin<J, K, V1, V2, KS, VS1, VS2, $left>
        where
            J: StreamJoiner<K, V1, V2>,
            K: Clone,
            V1: Clone,
            V2: Clone,
            KS: Serde<K>,
            VS1: Serde<V1>,
            VS2: Serde<V2>,
        {
            type KeyOut = K;
            type ValueOut = J::Out;
            fn process<Ch: Children<K, J::Out>>(
                &mut self,
                name: &'static str,
                record: Record<K, $this>,
                children: &mut Ch,
                task: &mut TaskContext,
            ) -> Result<(), ProcessingError> {
                let pair = $pair::<V1, V2>;
                let timestamp = record.timestamp;
                let stream_time = &self.time.stream_time;
                stream_time.set(stream_time.get().max(timestamp));
                let null_key = self.key_serde.is_null(&record.key);
                let null_value = $this_serde::default().is_null(&record.value);
                if self.outer && null_key && !null_value {
                    let (l, r) = pair(&record.value, None);
                    if let Some(joined) = self.joiner.join(&record.key, l, r) {
                        children.forward(record.map_value(|_, _| joined), task)?;
                    }
                    return Ok(());
                }
                if null_key || null_value {
                    task.skip_record(name, "null key or value in a stream-stream join");
                    return Ok(());
                }
                if timestamp == self.time.stream_time.get() {
                    self.emit_unjoined(&record, children, task)?;
                }
                let from = timestamp.saturating_sub(self.reach_back_ms).max(0);
                let to = timestamp.saturating_add(self.reach_ahead_ms).max(0);
                let Some(others) = &self.$store else { return Ok(()) };
                let mut matched = false;
                for other in others.fetch(&record.key, from, to)? {
                    let (other_ts, other_value) = other?;
                    matched = true;
                    if let Some(store) = &self.unjoined {
                        store.delete(&JoinSideKey {
                            timestamp: other_ts,
                            left: !$left,
                            key: record.key.clone(),
                        })?;
                    }
                    let (l, r) = pair(&record.value, Some(&other_value));
                    if let Some(joined) = self.joiner.join(&record.key, l, r) {
                        children.forward(
                            Record {
                                key: record.key.clone(),
                                value: joined,
                                timestamp: timestamp.max(other_ts),
                                headers: record.headers.clone(),
                            },
                            task,
                        )?;
                    }
                }
                if !self.outer || matched {
                    return Ok(());
                }
                match &self.unjoined {
                    Some(store) if to >= self.time.stream_time.get() => {
                        let min_time = &self.time.min_time;
                        min_time.set(min_time.get().min(timestamp));
                        let Record { key, value, .. } = record;
                        let side_key = JoinSideKey {
                            timestamp,
                            left: $left,
                            key,
                        };
                        Self::keep_unjoined(store, side_key, |old| match old {
                            Some(Unjoined::$unjoined(mut values)) => {
                                values.push(value);
                                Unjoined::$unjoined(values)
                            }
                            _ => Unjoined::$unjoined(vec![value]),
                        })
                    }
                    // No store, or the record's window has already closed: its result is due.
                    _ => {
                        let (l, r) = pair(&record.value, None);
                        match self.joiner.join(&record.key, l, r) {
                            Some(joined) => children.forward(record.map_value(|_, _| joined), task),
                            None => Ok(()),
                        }
                    }
                }
            }
        }
    };
}

/// A left record and a right one in the join's order.
fn left_first<'a, V1, V2>(this: &'a V1, other: Option<&'a V2>) -> (Option<&'a V1>, Option<&'a V2>) {
    (Some(this), other)
}

/// A right record and a left one in the join's order.
fn right_second<'a, V1, V2>(this: &'a V2, other: Option<&'a V1>) -> (Option<&'a V1>, Option<&'a V2>) {
    (other, Some(this))
}

join_side!(true, V1, VS1, other_right, left_first, Left);
join_side!(false, V2, VS2, other_left, right_second, Right);
