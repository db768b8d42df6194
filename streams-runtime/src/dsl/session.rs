//! Aggregations in session windows (Java's `KStreamSessionWindowAggregate`). A record at `t`
//! joins every session of its key that ends at or after `t - gap` and starts at or before
//! `t + gap`: those sessions are merged (their aggregates combined with the merger, in end-time
//! order) into one spanning them all and the record, the merged ones are removed from the store
//! and forwarded as deletions, and the new session is forwarded with its aggregate. Forwarded
//! records carry the session's end as their timestamp. A record whose merged session ends before
//! the close time (stream time minus grace minus gap) is dropped.

use super::aggregate::{Count, Reduce, StreamAggregator};
use super::windowed::{EmitFinal, forward_update, skip_expired};
use super::{Change, Operator};
use crate::error::ProcessingError;
use crate::graph::Children;
use crate::record::{Headers, Record};
use crate::serde::Serde;
use crate::state::SessionStore;
use crate::task::{TaskContext, UNKNOWN_TIME};
use crate::window::{EmitStrategy, SessionWindows, Window, Windowed};

/// How a session aggregation combines the aggregates of sessions it merges.
pub trait SessionMerger<K, V>: StreamAggregator<K, V> {
    /// `merged` (`None` before the first session) combined with the next session's aggregate.
    fn merge(&mut self, key: &K, merged: Option<Self::Agg>, next: Self::Agg) -> Self::Agg;
}

impl<K, V> SessionMerger<K, V> for Count {
    #[inline]
    fn merge(&mut self, _: &K, merged: Option<i64>, next: i64) -> i64 {
        merged.unwrap_or(0) + next
    }
}

impl<K, V, F: FnMut(V, V) -> V> SessionMerger<K, V> for Reduce<F> {
    #[inline]
    fn merge(&mut self, _: &K, merged: Option<V>, next: V) -> V {
        match merged {
            Some(merged) => (self.0)(merged, next),
            None => next,
        }
    }
}

/// `aggregate(initializer, aggregator, merger)` of session windows.
pub struct SessionAggregateFns<I, F, M> {
    initializer: I,
    aggregator: F,
    merger: M,
}

impl<I, F, M> SessionAggregateFns<I, F, M> {
    /// An aggregation of sessions with these initializer, aggregator and merger.
    pub fn new(initializer: I, aggregator: F, merger: M) -> Self {
        SessionAggregateFns {
            initializer,
            aggregator,
            merger,
        }
    }
}

impl<K, V, A, I, F, M> StreamAggregator<K, V> for SessionAggregateFns<I, F, M>
where
    I: FnMut() -> A,
    F: FnMut(&K, V, A) -> A,
{
    type Agg = A;
    #[inline]
    fn add(&mut self, key: &K, value: V, aggregate: Option<A>) -> A {
        let aggregate = aggregate.unwrap_or_else(&mut self.initializer);
        (self.aggregator)(key, value, aggregate)
    }
    #[inline]
    fn initial(&mut self) -> Option<A> {
        Some((self.initializer)())
    }
}

impl<K, V, A, I, F, M> SessionMerger<K, V> for SessionAggregateFns<I, F, M>
where
    I: FnMut() -> A,
    F: FnMut(&K, V, A) -> A,
    M: FnMut(&K, A, A) -> A,
{
    #[inline]
    fn merge(&mut self, key: &K, merged: Option<A>, next: A) -> A {
        let merged = merged.unwrap_or_else(&mut self.initializer);
        (self.merger)(key, merged, next)
    }
}

/// The aggregation node of a grouped stream in session windows.
pub struct SessionWindowAggregate<A, K, VA, KS, VS> {
    aggregator: A,
    windows: SessionWindows,
    store: SessionStore<K, VA, KS, VS>,
    observed: i64,
    emit: EmitFinal,
}

impl<A, K, VA, KS, VS> SessionWindowAggregate<A, K, VA, KS, VS> {
    /// Aggregates with `aggregator` into `store` in `windows`.
    pub fn new(aggregator: A, windows: SessionWindows, emit: EmitStrategy, store: SessionStore<K, VA, KS, VS>) -> Self {
        SessionWindowAggregate {
            aggregator,
            windows,
            store,
            observed: UNKNOWN_TIME,
            emit: EmitFinal::new(emit),
        }
    }
}

impl<A, K, VA, KS: Serde<K>, VS: Serde<VA>> SessionWindowAggregate<A, K, VA, KS, VS> {
    /// Emits the sessions that closed since the last emission (emit on window close).
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
        let upper = close_time.saturating_sub(1);
        let lower = last.max(0);
        if upper < 0 || upper < lower {
            return Ok(());
        }
        let finals = self
            .store
            .sessions_ending_between(lower, upper)?
            .map(|entry| {
                entry.map(|(key, aggregate)| {
                    let end = key.window.end;
                    (key, aggregate, end)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.emit.forward_finals(children, task, headers, finals)?;
        self.store.set_emitted_close_time(close_time);
        Ok(())
    }
}

impl<K, V, A, KS, VS> Operator<K, V> for SessionWindowAggregate<A, K, A::Agg, KS, VS>
where
    A: SessionMerger<K, V>,
    A::Agg: Clone,
    K: Clone,
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
            task.skip_record(name, "null key in a session aggregation");
            return Ok(());
        }
        self.observed = self.observed.max(timestamp);
        let gap = self.windows.inactivity_gap_ms();
        let close_time = self
            .observed
            .saturating_sub(self.windows.grace_ms())
            .saturating_sub(gap);
        let mut merged_sessions = Vec::new();
        let mut window = Window::new(timestamp, timestamp);
        let mut aggregate = None;
        for session in self
            .store
            .find_sessions(&key, timestamp.saturating_sub(gap), timestamp.saturating_add(gap))?
        {
            let (session, session_aggregate) = session?;
            aggregate = Some(self.aggregator.merge(&key, aggregate, session_aggregate.clone()));
            window = Window::new(
                window.start.min(session.window.start),
                window.end.max(session.window.end),
            );
            merged_sessions.push((session, session_aggregate));
        }
        if window.end < close_time {
            skip_expired(
                task,
                name,
                &format!("[{},{}]", window.start, window.end),
                close_time,
                self.observed,
            );
        } else {
            if window != Window::new(timestamp, timestamp) {
                for (session, old) in merged_sessions {
                    self.store.remove(&session)?;
                    if self.emit.on_update() {
                        let end = session.window.end;
                        forward_update(
                            children,
                            task,
                            session,
                            Change::new(None, Some(old)),
                            end,
                            headers.clone(),
                        )?;
                    }
                }
            }
            let aggregate = self.aggregator.add(&key, value, aggregate);
            let session = Windowed::new(key, window);
            self.store.put(&session, &aggregate)?;
            if self.emit.on_update() {
                let change = Change::new(Some(aggregate), None);
                forward_update(children, task, session, change, window.end, headers.clone())?;
            }
        }
        self.emit_closed(children, task, &headers, close_time)
    }
}
