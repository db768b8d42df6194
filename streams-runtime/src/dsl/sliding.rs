//! Aggregations in sliding windows (Java's `KStreamSlidingWindowAggregate`): windows of a fixed
//! time difference, inclusive at both ends, that exist only where records are. A record at `t`
//! gets its left window `[t - d, t]` (holding it and the records before it) and, when later
//! records exist within `d`, its right window `[t + 1, t + 1 + d]`; it updates every existing
//! window it falls in, and creates the right window of the record before it if that window now
//! holds a record. Records before `d` (whose left window would start below zero) share the
//! window `[0, d]`.

use super::aggregate::StreamAggregator;
use super::windowed::{EmitFinal, forward_update, skip_expired};
use super::{Change, Operator};
use crate::error::ProcessingError;
use crate::graph::Children;
use crate::record::{Headers, Record};
use crate::serde::Serde;
use crate::state::WindowStore;
use crate::task::{TaskContext, UNKNOWN_TIME};
use crate::window::{EmitStrategy, SlidingWindows, Window, Windowed};

/// The aggregation node of a grouped stream in sliding windows.
///
/// A record with a null key or a null value (as the grouped values' serde `NS` tells) is
/// skipped, as in Java.
pub struct SlidingWindowAggregate<A, K, VA, KS, VS, NS> {
    aggregator: A,
    values: NS,
    windows: SlidingWindows,
    store: WindowStore<K, VA, KS, VS>,
    observed: i64,
    emit: EmitFinal,
}

impl<A, K, VA, KS, VS, NS: Default> SlidingWindowAggregate<A, K, VA, KS, VS, NS> {
    /// Aggregates with `aggregator` into `store` (a timestamped window store) in `windows`.
    pub fn new(aggregator: A, windows: SlidingWindows, emit: EmitStrategy, store: WindowStore<K, VA, KS, VS>) -> Self {
        SlidingWindowAggregate {
            aggregator,
            values: NS::default(),
            windows,
            store,
            observed: UNKNOWN_TIME,
            emit: EmitFinal::new(emit),
        }
    }
}

/// The record being aggregated, and what one record's processing forwards to.
struct Step<'a, K, V, Ch> {
    name: &'static str,
    key: &'a K,
    value: &'a V,
    timestamp: i64,
    headers: &'a Headers,
    close_time: i64,
    children: &'a mut Ch,
    task: &'a mut TaskContext,
}

impl<A, K, VA, KS, VS, NS> SlidingWindowAggregate<A, K, VA, KS, VS, NS>
where
    K: Clone,
    VA: Clone,
    KS: Serde<K>,
    VS: Serde<VA>,
{
    fn difference(&self) -> i64 {
        self.windows.time_difference_ms()
    }

    /// Adds the record to the window starting at `start`, whose aggregate and timestamp are
    /// `existing` (`None`: a new window starting from the initializer), unless the window has
    /// closed (Java's `updateWindowAndForward`).
    fn update<V: Clone, Ch: Children<Windowed<K>, Change<VA>>>(
        &mut self,
        step: &mut Step<'_, K, V, Ch>,
        start: i64,
        existing: Option<(VA, i64)>,
    ) -> Result<(), ProcessingError>
    where
        A: StreamAggregator<K, V, Agg = VA>,
    {
        let end = start + self.difference();
        if end < step.close_time {
            skip_expired(
                step.task,
                step.name,
                &format!("[{start},{end}]"),
                step.close_time,
                self.observed,
            );
            return Ok(());
        }
        let (old, new_timestamp) = match existing {
            Some((aggregate, ts)) => (Some(aggregate), ts.max(step.timestamp)),
            None => (self.aggregator.initial(), step.timestamp),
        };
        let aggregate = self.aggregator.add(step.key, step.value.clone(), old.clone());
        self.store.write(step.key, Some(&aggregate), start, new_timestamp)?;
        self.forward(step, start, Change::new(Some(aggregate), old), new_timestamp)
    }

    fn forward<V, Ch: Children<Windowed<K>, Change<VA>>>(
        &self,
        step: &mut Step<'_, K, V, Ch>,
        start: i64,
        change: Change<VA>,
        timestamp: i64,
    ) -> Result<(), ProcessingError> {
        if !self.emit.on_update() {
            return Ok(());
        }
        let key = Windowed::new(step.key.clone(), Window::new(start, start + self.difference()));
        forward_update(step.children, step.task, key, change, timestamp, step.headers.clone())
    }

    /// Creates the record's right window `[t + 1, t + 1 + d]` with the aggregate of the records
    /// after it (without the record itself).
    fn create_right_window<V, Ch: Children<Windowed<K>, Change<VA>>>(
        &mut self,
        step: &mut Step<'_, K, V, Ch>,
        right: (VA, i64),
    ) -> Result<(), ProcessingError> {
        let start = step.timestamp + 1;
        let (aggregate, timestamp) = right;
        self.store.write(step.key, Some(&aggregate), start, timestamp)?;
        self.forward(step, start, Change::new(Some(aggregate), None), timestamp)
    }

    /// A record at or after the time difference: walks the key's windows from the latest back
    /// (Java's `processReverse`), then creates the windows that are missing.
    fn process_late<V: Clone, Ch: Children<Windowed<K>, Change<VA>>>(
        &mut self,
        step: &mut Step<'_, K, V, Ch>,
    ) -> Result<(), ProcessingError>
    where
        A: StreamAggregator<K, V, Agg = VA>,
    {
        let (d, t) = (self.difference(), step.timestamp);
        let windows = self.store.fetch_timestamped(step.key, (t - 2 * d).max(0), t + 1)?;
        let mut starts = Vec::with_capacity(windows.len());
        let mut left: Option<VA> = None;
        let mut right: Option<(VA, i64)> = None;
        let (mut left_created, mut right_created) = (false, false);
        let mut previous: Option<i64> = None;
        for (start, aggregate, max_timestamp) in windows.into_iter().rev() {
            starts.push(start);
            let end = start + d;
            if start == t + 1 {
                right_created = true;
            } else if end > t {
                if right.is_none() {
                    right = Some((aggregate.clone(), max_timestamp));
                }
                self.update(step, start, Some((aggregate, max_timestamp)))?;
            } else if end == t {
                left_created = true;
                self.update(step, start, Some((aggregate, max_timestamp)))?;
                if max_timestamp < t {
                    previous = Some(max_timestamp);
                } else {
                    return Ok(());
                }
            } else {
                left = Some(aggregate);
                previous = Some(max_timestamp);
                break;
            }
        }
        if let Some(previous) = previous {
            let start = previous + 1;
            if !starts.contains(&start) && start + d >= t {
                self.update(step, start, None)?;
            }
        }
        if !left_created {
            let left_not_empty = previous.is_some_and(|p| t - d <= p);
            let existing = match left {
                Some(aggregate) if left_not_empty => Some((aggregate, t)),
                _ => None,
            };
            self.update(step, t - d, existing)?;
        }
        if !right_created && let Some(right) = right.filter(|(_, ts)| *ts > t) {
            self.create_right_window(step, right)?;
        }
        Ok(())
    }

    /// A record before the time difference: its left window would start below zero, so it goes
    /// into `[0, d]` (Java's `processEarly`).
    fn process_early<V: Clone, Ch: Children<Windowed<K>, Change<VA>>>(
        &mut self,
        step: &mut Step<'_, K, V, Ch>,
    ) -> Result<(), ProcessingError>
    where
        A: StreamAggregator<K, V, Agg = VA>,
    {
        let t = step.timestamp;
        let windows = self.store.fetch_timestamped(step.key, 0, t + 1)?;
        let mut combined: Option<(VA, i64)> = None;
        let mut right: Option<(VA, i64)> = None;
        let mut right_created = false;
        let mut starts = Vec::with_capacity(windows.len());
        let mut previous: Option<i64> = None;
        for (start, aggregate, max_timestamp) in windows {
            starts.push(start);
            if start == 0 {
                if max_timestamp < t {
                    previous = Some(max_timestamp);
                }
                combined = Some((aggregate, max_timestamp));
            } else if start <= t {
                right = Some((aggregate.clone(), max_timestamp));
                self.update(step, start, Some((aggregate, max_timestamp)))?;
            } else if start == t + 1 {
                right_created = true;
            }
        }
        if right.is_none()
            && let Some(c) = combined.as_ref().filter(|(_, ts)| *ts > t)
        {
            right = Some(c.clone());
        }
        if !right_created && let Some(right) = right.filter(|(_, ts)| *ts > t) {
            self.create_right_window(step, right)?;
        }
        if let Some(previous) = previous
            && !starts.contains(&(previous + 1))
        {
            self.update(step, previous + 1, None)?;
        }
        self.update(step, 0, combined)
    }

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
        let d = self.difference();
        let upper = close_time.saturating_sub(d).saturating_sub(1);
        if upper < 0 {
            return Ok(());
        }
        let lower = if last == UNKNOWN_TIME { 0 } else { (last - d).max(0) };
        let finals = self.store.fetch_all_by_time(lower, upper)?;
        self.emit.forward_finals(children, task, headers, finals)?;
        self.store.set_emitted_close_time(close_time);
        Ok(())
    }
}

impl<K, V, A, KS, VS, NS> Operator<K, V> for SlidingWindowAggregate<A, K, A::Agg, KS, VS, NS>
where
    NS: Serde<V>,
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
        if KS::default().is_null(&key) || self.values.is_null(&value) {
            task.skip_record(name, "null key or value in a sliding-window aggregation");
            return Ok(());
        }
        self.observed = self.observed.max(timestamp);
        if timestamp.checked_add(2 * self.difference() + 1).is_none() {
            return Err(ProcessingError::msg(format!(
                "the sliding windows of the record at {timestamp} would end after the largest timestamp"
            )));
        }
        let close_time = self.observed.saturating_sub(self.windows.grace_ms());
        let end = timestamp.saturating_add(self.difference());
        if end < close_time {
            skip_expired(task, name, &format!("[{timestamp},{end}]"), close_time, self.observed);
            return Ok(());
        }
        let mut step = Step {
            name,
            key: &key,
            value: &value,
            timestamp,
            headers: &headers,
            close_time,
            children,
            task,
        };
        if timestamp < self.difference() {
            // Java looks for closed windows after late records only.
            return self.process_early(&mut step);
        }
        self.process_late(&mut step)?;
        let Step { children, task, .. } = step;
        self.emit_closed(children, task, &headers, close_time)
    }
}
