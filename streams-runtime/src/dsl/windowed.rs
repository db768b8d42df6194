//! Aggregations in tumbling and hopping windows (Java's `KStreamWindowAggregate`), and what all
//! windowed aggregations share: the grace check and the emit-on-window-close path (KIP-825).
//!
//! Each record updates every window it falls in whose end is after the close time (the
//! aggregation's own stream time minus grace); a window already closed is skipped, counted as a
//! dropped record and logged. With [`EmitStrategy::OnWindowUpdate`] every update is forwarded as
//! a [`Change`] keyed by [`Windowed`] with the later of the record's and the window's timestamp;
//! with [`EmitStrategy::OnWindowClose`] nothing is forwarded until a window closes, and then its
//! final aggregate once, in window-start order.

use super::aggregate::StreamAggregator;
use super::{Change, Operator};
use crate::error::ProcessingError;
use crate::graph::Children;
use crate::record::{Headers, Record};
use crate::serde::Serde;
use crate::state::WindowStore;
use crate::task::{TaskContext, UNKNOWN_TIME};
use crate::window::{EmitStrategy, TimeWindows, Window, Windowed};

/// Java's default `emit.interval.ms.kstreams.windowed.aggregation`: emit-on-close checks for
/// closed windows at most once per this much wall-clock time.
pub const DEFAULT_EMIT_INTERVAL_MS: i64 = 1000;

/// How an aggregation emits, and when it may look for closed windows again (Java's
/// `TimeTracker`). The close time of the last emission (Java's `lastEmitWindowCloseTime`) is
/// kept by the aggregation's store, so an exactly-once abort rolls it back with the windows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EmitFinal {
    strategy: EmitStrategy,
    next_time_to_emit: i64,
}

impl EmitFinal {
    pub(crate) fn new(strategy: EmitStrategy) -> Self {
        EmitFinal {
            strategy,
            next_time_to_emit: 0,
        }
    }

    /// Whether updates are forwarded as they happen.
    pub(crate) fn on_update(&self) -> bool {
        self.strategy == EmitStrategy::OnWindowUpdate
    }

    /// Whether to look for closed windows now: only when emitting on close, at most once per
    /// emit interval of the task's wall-clock time, and only when the close time moved on from
    /// the `last` emission's.
    pub(crate) fn should_emit(&mut self, task: &TaskContext, close_time: i64, last: i64) -> bool {
        let now = task.system_time_ms();
        if self.on_update() || now < self.next_time_to_emit {
            return false;
        }
        self.next_time_to_emit = now.saturating_add(task.windowed_emit_interval_ms());
        last == UNKNOWN_TIME || last < close_time
    }

    /// Forwards the final results of the windows that closed (each with its timestamp and the
    /// current record's headers).
    pub(crate) fn forward_finals<K, VA, Ch: Children<Windowed<K>, Change<VA>>>(
        &self,
        children: &mut Ch,
        task: &mut TaskContext,
        headers: &Headers,
        finals: impl IntoIterator<Item = (Windowed<K>, VA, i64)>,
    ) -> Result<(), ProcessingError> {
        for (key, aggregate, timestamp) in finals {
            let change = Change::new(Some(aggregate), None);
            forward_update(children, task, key, change, timestamp, headers.clone())?;
        }
        Ok(())
    }
}

/// The windows of `windows` holding `timestamp`, as (first start, last start); `None` when there
/// are none (a negative timestamp).
fn window_starts(windows: &TimeWindows, timestamp: i64) -> Option<(i64, i64)> {
    if timestamp < 0 {
        return None;
    }
    let first = windows.first_start_for(timestamp);
    let last = timestamp / windows.advance_ms() * windows.advance_ms();
    Some((first, last))
}

/// A windowed update to forward.
pub(crate) fn forward_update<K, VA, Ch: Children<Windowed<K>, Change<VA>>>(
    children: &mut Ch,
    task: &mut TaskContext,
    key: Windowed<K>,
    change: Change<VA>,
    timestamp: i64,
    headers: Headers,
) -> Result<(), ProcessingError> {
    children.forward(
        Record {
            key,
            value: change,
            timestamp,
            headers,
        },
        task,
    )
}

/// Counts and logs a record that arrived for a window that has already closed.
pub(crate) fn skip_expired(
    task: &mut TaskContext,
    name: &'static str,
    window: &str,
    close_time: i64,
    stream_time: i64,
) {
    task.skip_record(
        name,
        &format!("record for expired window {window} (expiration {close_time}, stream time {stream_time})"),
    );
}

/// The aggregation node of a grouped stream in tumbling or hopping windows.
pub struct TimeWindowAggregate<A, K, VA, KS, VS> {
    aggregator: A,
    windows: TimeWindows,
    store: WindowStore<K, VA, KS, VS>,
    observed: i64,
    emit: EmitFinal,
}

impl<A, K, VA, KS, VS> TimeWindowAggregate<A, K, VA, KS, VS> {
    /// Aggregates with `aggregator` into `store` (a timestamped window store) in `windows`.
    pub fn new(aggregator: A, windows: TimeWindows, emit: EmitStrategy, store: WindowStore<K, VA, KS, VS>) -> Self {
        TimeWindowAggregate {
            aggregator,
            windows,
            store,
            observed: UNKNOWN_TIME,
            emit: EmitFinal::new(emit),
        }
    }
}

impl<A, K, VA, KS: Serde<K>, VS: Serde<VA>> TimeWindowAggregate<A, K, VA, KS, VS> {
    /// Emits the windows that closed since the last emission (emit on window close).
    fn emit_closed<Ch: Children<Windowed<K>, Change<VA>>>(
        &mut self,
        children: &mut Ch,
        task: &mut TaskContext,
        headers: &Headers,
        close_time: i64,
    ) -> Result<(), ProcessingError> {
        if self.emit.on_update() {
            return Ok(());
        }
        let last = self.store.emitted_close_time();
        if !self.emit.should_emit(task, close_time, last) {
            return Ok(());
        }
        let size = self.windows.size_ms();
        let upper = close_time.saturating_sub(size);
        if upper < 0 {
            return Ok(());
        }
        let lower = if last == UNKNOWN_TIME {
            0
        } else {
            (last - size).max(0) + 1
        };
        // Nothing new has closed when the same windows hold both bounds.
        if last != UNKNOWN_TIME && window_starts(&self.windows, upper) == window_starts(&self.windows, lower - 1) {
            return Ok(());
        }
        let finals = self.store.fetch_all_by_time(lower, upper)?;
        self.emit.forward_finals(children, task, headers, finals)?;
        self.store.set_emitted_close_time(close_time);
        Ok(())
    }
}

impl<K, V, A, KS, VS> Operator<K, V> for TimeWindowAggregate<A, K, A::Agg, KS, VS>
where
    A: StreamAggregator<K, V>,
    A::Agg: Clone,
    K: Clone,
    V: Clone,
    KS: Serde<K>,
    VS: Serde<A::Agg>,
{
    type KeyOut = Windowed<K>;
    type ValueOut = Change<A::Agg>;

    fn process<Ch: Children<Windowed<K>, Change<A::Agg>>>(
        &mut self,
        name: &'static str,
        record: Record<K, V>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        let Record {
            key,
            value,
            timestamp,
            headers,
        } = record;
        if KS::default().is_null(&key) {
            task.skip_record(name, "null key in a windowed aggregation");
            return Ok(());
        }
        self.observed = self.observed.max(timestamp);
        let close_time = self.observed.saturating_sub(self.windows.grace_ms());
        let (size, advance) = (self.windows.size_ms(), self.windows.advance_ms());
        // The last window takes the key and value; the ones before get copies.
        let (mut key, mut value) = (Some(key), Some(value));
        let mut start = self.windows.first_start_for(timestamp);
        while start <= timestamp {
            let Some(end) = start.checked_add(size) else {
                // Java's `TimeWindow` refuses such a window with an exception, too.
                return Err(ProcessingError::msg(format!(
                    "the window starting at {start} of the record at {timestamp} would end after the largest timestamp"
                )));
            };
            let next = start.checked_add(advance).filter(|&next| next <= timestamp);
            let value = if next.is_some() { value.clone() } else { value.take() };
            let (Some(value), Some(k)) = (value, key.as_ref()) else {
                break;
            };
            if end > close_time {
                let old = self.store.get_timestamped(k, start)?;
                let (old_aggregate, new_timestamp) = match old {
                    Some((aggregate, ts)) => (Some(aggregate), ts.max(timestamp)),
                    None => (self.aggregator.initial(), timestamp),
                };
                let aggregate = self.aggregator.add(k, value, old_aggregate.clone());
                self.store.write(k, Some(&aggregate), start, new_timestamp)?;
                if self.emit.on_update() {
                    let owned = if next.is_some() {
                        k.clone()
                    } else {
                        key.take().expect("present until the last window")
                    };
                    let windowed = Windowed::new(owned, Window::new(start, end));
                    let change = Change::new(Some(aggregate), old_aggregate);
                    forward_update(children, task, windowed, change, new_timestamp, headers.clone())?;
                }
            } else {
                skip_expired(task, name, &format!("[{start},{end})"), close_time, self.observed);
            }
            match next {
                Some(next) => start = next,
                None => break,
            }
        }
        self.emit_closed(children, task, &headers, close_time)
    }
}
