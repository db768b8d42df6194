//! Windows (Java's `Window`, `Windowed`, `TimeWindows`, `SlidingWindows`, `SessionWindows`,
//! `EmitStrategy`, `Suppressed.BufferConfig`) and the windowed-key serdes, byte-compatible with
//! Java's `TimeWindowedSerde` and `SessionWindowedSerde`.
//!
//! Window definitions are `const`: `topology!` evaluates them at compile time, so an invalid size,
//! advance or grace is a compile error.

use crate::dsl::{SessionWindowAggregate, SlidingWindowAggregate, TimeWindowAggregate};
use crate::error::StreamsError;
use crate::serde::{Encoded, Serde, SerdeError};
use crate::state::StoreSet;
use std::time::Duration;

/// A window of event time in milliseconds. Time windows hold `start <= t < end`; session windows
/// hold `start <= t <= end` (a session of one record has `start == end`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Window {
    /// The first millisecond of the window.
    pub start: i64,
    /// The end of the window (exclusive for time windows, inclusive for sessions).
    pub end: i64,
}

impl Window {
    /// The window `[start, end)`.
    pub const fn new(start: i64, end: i64) -> Self {
        Window { start, end }
    }
}

/// A key of a windowed aggregation's result: the grouped key and its window (Java's `Windowed<K>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Windowed<K> {
    /// The grouped key.
    pub key: K,
    /// The window.
    pub window: Window,
}

impl<K> Windowed<K> {
    /// `key` in `window`.
    pub const fn new(key: K, window: Window) -> Self {
        Windowed { key, window }
    }
}

/// When a windowed aggregation emits (KIP-825): every update, or one final result per window once
/// it closes (stream time past its end plus grace).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmitStrategy {
    /// Every update of a window is forwarded (Java's default).
    #[default]
    OnWindowUpdate,
    /// Only the final result of each window, once it has closed.
    OnWindowClose,
}

/// Milliseconds of a duration, saturating at `i64::MAX`.
const fn millis(d: Duration) -> i64 {
    let ms = d.as_millis();
    if ms > i64::MAX as u128 { i64::MAX } else { ms as i64 }
}

/// Tumbling (advance = size) and hopping windows of a fixed size, aligned to the epoch (Java's
/// `TimeWindows`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindows {
    size_ms: i64,
    advance_ms: i64,
    grace_ms: i64,
}

impl TimeWindows {
    /// Tumbling windows of `size` that accept records up to `grace` after they end.
    ///
    /// # Panics
    /// When `size` is zero (at compile time in a `topology!`).
    pub const fn of_size_and_grace(size: Duration, grace: Duration) -> Self {
        Self::hopping(size, size, grace)
    }

    /// Hopping windows of `size`, one starting every `advance`, accepting records up to `grace`
    /// after they end.
    ///
    /// # Panics
    /// When `size` or `advance` is zero, or `advance` exceeds `size`.
    pub const fn hopping(size: Duration, advance: Duration, grace: Duration) -> Self {
        let (size_ms, advance_ms) = (millis(size), millis(advance));
        assert!(size_ms > 0, "window size must be at least 1 ms");
        assert!(advance_ms > 0, "window advance must be at least 1 ms");
        assert!(advance_ms <= size_ms, "window advance must not exceed the window size");
        TimeWindows {
            size_ms,
            advance_ms,
            grace_ms: millis(grace),
        }
    }

    /// The window size in ms.
    pub const fn size_ms(&self) -> i64 {
        self.size_ms
    }

    /// The advance in ms (the size for tumbling windows).
    pub const fn advance_ms(&self) -> i64 {
        self.advance_ms
    }

    /// The grace period in ms.
    pub const fn grace_ms(&self) -> i64 {
        self.grace_ms
    }

    /// How long the aggregation's store keeps a window by default: size plus grace.
    pub const fn retention_ms(&self) -> i64 {
        self.size_ms.saturating_add(self.grace_ms)
    }

    /// The start of the first window holding `timestamp`; the windows holding it start there
    /// and every `advance` after, up to `timestamp` (Java's `TimeWindows.windowsFor`).
    #[inline]
    pub fn first_start_for(&self, timestamp: i64) -> i64 {
        ((timestamp - self.size_ms + self.advance_ms).max(0) / self.advance_ms) * self.advance_ms
    }
}

/// Windows of a fixed size that slide with the records: two records fall into a common window
/// when their timestamps differ by at most the time difference (Java's `SlidingWindows`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlidingWindows {
    time_difference_ms: i64,
    grace_ms: i64,
}

impl SlidingWindows {
    /// Sliding windows of `time_difference` (inclusive on both ends) with `grace`.
    ///
    /// # Panics
    /// When `time_difference` is zero.
    pub const fn of_time_difference_and_grace(time_difference: Duration, grace: Duration) -> Self {
        let time_difference_ms = millis(time_difference);
        assert!(
            time_difference_ms > 0,
            "a sliding window's time difference must be at least 1 ms"
        );
        SlidingWindows {
            time_difference_ms,
            grace_ms: millis(grace),
        }
    }

    /// The time difference in ms (a window spans `[start, start + difference]`).
    pub const fn time_difference_ms(&self) -> i64 {
        self.time_difference_ms
    }

    /// The grace period in ms.
    pub const fn grace_ms(&self) -> i64 {
        self.grace_ms
    }

    /// How long the aggregation's store keeps a window by default: twice the time difference
    /// plus grace, as in Java.
    pub const fn retention_ms(&self) -> i64 {
        self.time_difference_ms.saturating_mul(2).saturating_add(self.grace_ms)
    }
}

/// The windows of a stream-stream join (Java's `JoinWindows`): a record of the left stream
/// joins the right stream's records of the same key from `before` earlier to `after` later
/// (the right stream's records look the other way); records are accepted until `grace` after
/// their window closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinWindows {
    before_ms: i64,
    after_ms: i64,
    grace_ms: i64,
}

impl JoinWindows {
    /// Symmetric windows of `time_difference` either way, with `grace`.
    pub const fn of_time_difference_and_grace(time_difference: Duration, grace: Duration) -> Self {
        let difference = millis(time_difference);
        JoinWindows {
            before_ms: difference,
            after_ms: difference,
            grace_ms: millis(grace),
        }
    }

    /// Symmetric windows of `time_difference` either way, without grace.
    pub const fn of_time_difference_without_grace(time_difference: Duration) -> Self {
        Self::of_time_difference_and_grace(time_difference, Duration::ZERO)
    }

    /// These windows reaching `before` into the past of a left record.
    pub const fn before(self, before: Duration) -> Self {
        JoinWindows {
            before_ms: millis(before),
            ..self
        }
    }

    /// These windows reaching `after` into the future of a left record.
    pub const fn after(self, after: Duration) -> Self {
        JoinWindows {
            after_ms: millis(after),
            ..self
        }
    }

    /// How far back from a left record the windows reach, in ms.
    pub const fn before_ms(&self) -> i64 {
        self.before_ms
    }

    /// How far forward from a left record the windows reach, in ms.
    pub const fn after_ms(&self) -> i64 {
        self.after_ms
    }

    /// The grace period in ms.
    pub const fn grace_ms(&self) -> i64 {
        self.grace_ms
    }

    /// The windows' size, `before + after` in ms.
    pub const fn size_ms(&self) -> i64 {
        self.before_ms.saturating_add(self.after_ms)
    }

    /// How long the join's window stores keep a record: size plus grace, as in Java.
    pub const fn retention_ms(&self) -> i64 {
        self.size_ms().saturating_add(self.grace_ms)
    }
}

/// Sessions: a key's records closer than the inactivity gap belong to one session (Java's
/// `SessionWindows`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionWindows {
    gap_ms: i64,
    grace_ms: i64,
}

impl SessionWindows {
    /// Sessions closed by `gap` of inactivity, accepting records up to `grace` after they end.
    ///
    /// # Panics
    /// When `gap` is zero.
    pub const fn of_inactivity_gap_and_grace(gap: Duration, grace: Duration) -> Self {
        let gap_ms = millis(gap);
        assert!(gap_ms > 0, "a session's inactivity gap must be at least 1 ms");
        SessionWindows {
            gap_ms,
            grace_ms: millis(grace),
        }
    }

    /// The inactivity gap in ms.
    pub const fn inactivity_gap_ms(&self) -> i64 {
        self.gap_ms
    }

    /// The grace period in ms.
    pub const fn grace_ms(&self) -> i64 {
        self.grace_ms
    }

    /// How long the aggregation's store keeps a session by default: gap plus grace.
    pub const fn retention_ms(&self) -> i64 {
        self.gap_ms.saturating_add(self.grace_ms)
    }
}

/// A kind of window a grouped stream is aggregated in: it picks the aggregation node and the
/// store (a window store for time and sliding windows, a session store for sessions).
#[allow(clippy::type_complexity)] // the node types are what the aggregation is
pub trait WindowSpec: Copy {
    /// The aggregation node of aggregator `A` over keys `K`, aggregates `VA`, key and aggregate
    /// serdes `KS`, `VS` and the grouped values' serde `NS`.
    type Aggregate<A, K, VA, KS, VS, NS>;

    /// The aggregation node, bound to the store at `index` of the task's stores.
    fn aggregate<A, K, VA, KS: Serde<K>, VS: Serde<VA>, NS: Default>(
        self,
        aggregator: A,
        emit: EmitStrategy,
        stores: &StoreSet,
        index: usize,
    ) -> Result<Self::Aggregate<A, K, VA, KS, VS, NS>, StreamsError>;
}

/// Implements [`WindowSpec`] for windows `$windows` with the aggregation node `$node` (whose
/// `new(aggregator, windows, emit, store)` binds the store).
macro_rules! window_spec {
    ($windows:ident => $node:ident<A, K, VA, KS, VS $(, $ns:ident)?>) => {
        #[allow(clippy::type_complexity)]
        impl WindowSpec for $windows {
            type Aggregate<A, K, VA, KS, VS, NS> = $node<A, K, VA, KS, VS $(, $ns)?>;

            fn aggregate<A, K, VA, KS: Serde<K>, VS: Serde<VA>, NS: Default>(
                self,
                aggregator: A,
                emit: EmitStrategy,
                stores: &StoreSet,
                index: usize,
            ) -> Result<Self::Aggregate<A, K, VA, KS, VS, NS>, StreamsError> {
                Ok($node::new(aggregator, self, emit, stores.bind_index(index)?))
            }
        }
    };
}

window_spec!(TimeWindows => TimeWindowAggregate<A, K, VA, KS, VS>);
window_spec!(SlidingWindows => SlidingWindowAggregate<A, K, VA, KS, VS, NS>);
window_spec!(SessionWindows => SessionWindowAggregate<A, K, VA, KS, VS>);

/// What a suppression buffer does when a bound is exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferFullStrategy {
    /// Emit the oldest records early, before their time (Java's `emitEarlyWhenFull`).
    EmitEarly,
    /// Stop the application with an error (Java's `shutDownWhenFull`).
    ShutDown,
}

/// The bounds of a suppression buffer (Java's `Suppressed.BufferConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferConfig {
    /// At most this many records (`None`: unbounded).
    pub max_records: Option<u64>,
    /// At most this many bytes of keys and values (`None`: unbounded).
    pub max_bytes: Option<u64>,
    /// What happens when a bound is exceeded.
    pub when_full: BufferFullStrategy,
}

impl BufferConfig {
    /// An unbounded buffer (strict: it never emits early).
    pub const fn unbounded() -> Self {
        BufferConfig {
            max_records: None,
            max_bytes: None,
            when_full: BufferFullStrategy::ShutDown,
        }
    }

    /// No bounds yet, emitting early when a bound set later is exceeded.
    pub const fn new() -> Self {
        BufferConfig {
            max_records: None,
            max_bytes: None,
            when_full: BufferFullStrategy::EmitEarly,
        }
    }

    /// At most `n` records.
    pub const fn max_records(self, n: u64) -> Self {
        BufferConfig {
            max_records: Some(n),
            ..self
        }
    }

    /// At most `n` bytes.
    pub const fn max_bytes(self, n: u64) -> Self {
        BufferConfig {
            max_bytes: Some(n),
            ..self
        }
    }

    /// Fail instead of emitting early when full.
    pub const fn shut_down_when_full(self) -> Self {
        BufferConfig {
            when_full: BufferFullStrategy::ShutDown,
            ..self
        }
    }

    /// Emit the oldest records early when full.
    pub const fn emit_early_when_full(self) -> Self {
        BufferConfig {
            when_full: BufferFullStrategy::EmitEarly,
            ..self
        }
    }

    /// Whether the buffer never emits a result early (what final results need).
    pub const fn is_strict(&self) -> bool {
        matches!(self.when_full, BufferFullStrategy::ShutDown)
            || (self.max_records.is_none() && self.max_bytes.is_none())
    }
}

impl Default for BufferConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// Splits `bytes` into its first part and the big-endian `i64` that ends it.
fn split_i64<'a>(bytes: &'a [u8], type_name: &'static str) -> Result<(&'a [u8], i64), SerdeError> {
    let Some((rest, last)) = bytes.split_last_chunk::<8>() else {
        return Err(SerdeError::WrongSize {
            type_name,
            expected: 8,
            actual: bytes.len(),
        });
    };
    Ok((rest, i64::from_be_bytes(*last)))
}

/// Keys of time-windowed results: the key's bytes and the window's 8-byte big-endian start (Java's
/// `TimeWindowedSerde`). The end is not on the wire: it is read back as start + `SIZE_MS` (Java's
/// `TimeWindowedDeserializer` with the window size; without one the end is `i64::MAX`, as Java's
/// default `Long.MAX_VALUE` size gives).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeWindowedSerde<KS, const SIZE_MS: i64 = { i64::MAX }>(pub KS);

impl<K, KS: Serde<K>, const SIZE_MS: i64> Serde<Windowed<K>> for TimeWindowedSerde<KS, SIZE_MS> {
    #[inline]
    fn serialize(&self, value: &Windowed<K>, out: &mut Vec<u8>) -> Result<Encoded, SerdeError> {
        let mark = out.len();
        if self.0.serialize(&value.key, out)? == Encoded::Null {
            out.truncate(mark);
            return Ok(Encoded::Null);
        }
        out.extend_from_slice(&value.window.start.to_be_bytes());
        Ok(Encoded::Bytes)
    }

    fn deserialize(&self, data: Option<&[u8]>) -> Result<Windowed<K>, SerdeError> {
        let data = crate::serde::non_null(data, "Windowed")?;
        let (key, start) = split_i64(data, "time-windowed key")?;
        Ok(Windowed {
            key: self.0.deserialize(Some(key))?,
            window: Window::new(start, start.saturating_add(SIZE_MS)),
        })
    }

    fn is_null(&self, value: &Windowed<K>) -> bool {
        self.0.is_null(&value.key)
    }
}

/// Keys of session-windowed results: the key's bytes, then the session's end and start as 8-byte
/// big-endian numbers (Java's `SessionWindowedSerde`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionWindowedSerde<KS>(pub KS);

impl<K, KS: Serde<K>> Serde<Windowed<K>> for SessionWindowedSerde<KS> {
    #[inline]
    fn serialize(&self, value: &Windowed<K>, out: &mut Vec<u8>) -> Result<Encoded, SerdeError> {
        let mark = out.len();
        if self.0.serialize(&value.key, out)? == Encoded::Null {
            out.truncate(mark);
            return Ok(Encoded::Null);
        }
        out.extend_from_slice(&value.window.end.to_be_bytes());
        out.extend_from_slice(&value.window.start.to_be_bytes());
        Ok(Encoded::Bytes)
    }

    fn deserialize(&self, data: Option<&[u8]>) -> Result<Windowed<K>, SerdeError> {
        let data = crate::serde::non_null(data, "Windowed")?;
        let (rest, start) = split_i64(data, "session-windowed key")?;
        let (key, end) = split_i64(rest, "session-windowed key")?;
        Ok(Windowed {
            key: self.0.deserialize(Some(key))?,
            window: Window::new(start, end),
        })
    }

    fn is_null(&self, value: &Windowed<K>) -> bool {
        self.0.is_null(&value.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serde::StringSerde;

    #[test]
    fn windowed_keys_have_java_bytes() {
        let key = Windowed::new("ab".to_owned(), Window::new(10, 20));
        let mut out = Vec::new();
        TimeWindowedSerde::<StringSerde, 10>::default()
            .serialize(&key, &mut out)
            .unwrap();
        assert_eq!(out, b"ab\0\0\0\0\0\0\0\x0a");
        assert_eq!(
            TimeWindowedSerde::<StringSerde, 10>::default()
                .deserialize(Some(&out))
                .unwrap(),
            key
        );
        assert_eq!(
            TimeWindowedSerde::<StringSerde>::default()
                .deserialize(Some(&out))
                .unwrap()
                .window,
            Window::new(10, i64::MAX)
        );
        out.clear();
        SessionWindowedSerde(StringSerde).serialize(&key, &mut out).unwrap();
        assert_eq!(out, b"ab\0\0\0\0\0\0\0\x14\0\0\0\0\0\0\0\x0a");
        assert_eq!(SessionWindowedSerde(StringSerde).deserialize(Some(&out)).unwrap(), key);
    }

    #[test]
    fn hopping_windows_start_where_java_starts_them() {
        let w = TimeWindows::hopping(Duration::from_millis(10), Duration::from_millis(3), Duration::ZERO);
        assert_eq!(w.first_start_for(0), 0);
        assert_eq!(w.first_start_for(5), 0);
        assert_eq!(w.first_start_for(12), 3);
        assert_eq!(w.first_start_for(13), 6);
        assert!(!BufferConfig::new().max_records(3).is_strict());
        assert!(BufferConfig::unbounded().is_strict());
        assert!(BufferConfig::new().max_bytes(9).shut_down_when_full().is_strict());
    }
}
