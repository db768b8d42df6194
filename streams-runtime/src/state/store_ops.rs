//! What a store's operations cost, counted when the application records `DEBUG` metrics
//! (Java's `MeteredKeyValueStore`, `MeteredWindowStore` and `MeteredSessionStore` sensors): per
//! operation, the calls and their time in nanoseconds, taken by the stream thread into its
//! `stream-state-metrics`.

use std::cell::RefCell;
use std::time::Instant;

/// A store operation with a Java metric (`<name>-rate`, `<name>-latency-avg/max`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum StoreOp {
    Put,
    PutIfAbsent,
    PutAll,
    Get,
    Delete,
    All,
    Range,
    PrefixScan,
    Flush,
    /// A window or session store's reads (`get`, `fetch`, `find_sessions`, `all`, ...).
    Fetch,
    /// A session store's `remove`.
    Remove,
}

impl StoreOp {
    /// Every operation, in the order of [`StoreOps::take`]'s tallies.
    pub(crate) const ALL: [StoreOp; 11] = [
        StoreOp::Put,
        StoreOp::PutIfAbsent,
        StoreOp::PutAll,
        StoreOp::Get,
        StoreOp::Delete,
        StoreOp::All,
        StoreOp::Range,
        StoreOp::PrefixScan,
        StoreOp::Flush,
        StoreOp::Fetch,
        StoreOp::Remove,
    ];

    /// Java's names of the operation's rate, average and maximum latency (nanoseconds).
    pub(crate) fn metric_names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            StoreOp::Put => ("put-rate", "put-latency-avg", "put-latency-max"),
            StoreOp::PutIfAbsent => (
                "put-if-absent-rate",
                "put-if-absent-latency-avg",
                "put-if-absent-latency-max",
            ),
            StoreOp::PutAll => ("put-all-rate", "put-all-latency-avg", "put-all-latency-max"),
            StoreOp::Get => ("get-rate", "get-latency-avg", "get-latency-max"),
            StoreOp::Delete => ("delete-rate", "delete-latency-avg", "delete-latency-max"),
            StoreOp::All => ("all-rate", "all-latency-avg", "all-latency-max"),
            StoreOp::Range => ("range-rate", "range-latency-avg", "range-latency-max"),
            StoreOp::PrefixScan => ("prefix-scan-rate", "prefix-scan-latency-avg", "prefix-scan-latency-max"),
            StoreOp::Flush => ("flush-rate", "flush-latency-avg", "flush-latency-max"),
            StoreOp::Fetch => ("fetch-rate", "fetch-latency-avg", "fetch-latency-max"),
            StoreOp::Remove => ("remove-rate", "remove-latency-avg", "remove-latency-max"),
        }
    }

    /// Java's name of the operation.
    #[cfg(test)]
    fn java_name(self) -> &'static str {
        match self {
            StoreOp::Put => "put",
            StoreOp::PutIfAbsent => "put-if-absent",
            StoreOp::PutAll => "put-all",
            StoreOp::Get => "get",
            StoreOp::Delete => "delete",
            StoreOp::All => "all",
            StoreOp::Range => "range",
            StoreOp::PrefixScan => "prefix-scan",
            StoreOp::Flush => "flush",
            StoreOp::Fetch => "fetch",
            StoreOp::Remove => "remove",
        }
    }
}

/// The calls of one operation since the thread last took them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OpTally {
    pub(crate) calls: u64,
    pub(crate) nanos: u64,
    pub(crate) max_nanos: u64,
}

/// The tallies of a store's operations.
#[derive(Debug, Default)]
pub(crate) struct StoreOps([OpTally; StoreOp::ALL.len()]);

/// A store whose operations a [`Meter`] counts.
pub(crate) trait Metered {
    /// The store's meter.
    fn meter(&mut self) -> &mut Meter;
}

/// Runs `run`, counted as a call of `op` by `store`'s meter when `on` (a handle's cached
/// [`Meter::is_on`], so an uncounted store pays one branch).
#[inline]
pub(crate) fn metered<S: Metered, R>(on: bool, store: &RefCell<S>, op: StoreOp, run: impl FnOnce() -> R) -> R {
    if !on {
        return run();
    }
    let started = Some(Instant::now());
    let result = run();
    store.borrow_mut().meter().done(op, started);
    result
}

/// Runs `run` on `store`, counted as a call of `op` when the store counts its operations.
#[inline]
pub(crate) fn timed<S: Metered, R>(store: &mut S, op: StoreOp, run: impl FnOnce(&mut S) -> R) -> R {
    let started = store.meter().started();
    let result = run(store);
    store.meter().done(op, started);
    result
}

/// A store's counting of its operations: on when the application records `DEBUG` metrics.
#[derive(Debug, Default)]
pub(crate) struct Meter(Option<Box<StoreOps>>);

impl Meter {
    /// A meter that counts if `on`.
    pub(crate) fn new(on: bool) -> Meter {
        Meter(on.then(Box::default))
    }

    /// Whether it counts.
    pub(crate) fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// When an operation starts (`None`: the store does not count).
    #[inline]
    pub(crate) fn started(&self) -> Option<Instant> {
        self.0.as_ref().map(|_| Instant::now())
    }

    /// Counts a call of `op` that started at `started`.
    #[inline]
    pub(crate) fn done(&mut self, op: StoreOp, started: Option<Instant>) {
        if let (Some(ops), Some(started)) = (&mut self.0, started) {
            ops.add(op, started);
        }
    }

    /// The operations counted since the last call (`None` if the store does not count them).
    pub(crate) fn take(&mut self) -> Option<[OpTally; StoreOp::ALL.len()]> {
        self.0.as_mut().map(|ops| ops.take())
    }
}

impl StoreOps {
    /// Counts one call of `op` that started at `started`.
    pub(crate) fn add(&mut self, op: StoreOp, started: Instant) {
        let nanos = started.elapsed().as_nanos() as u64;
        let tally = &mut self.0[op as usize];
        tally.calls += 1;
        tally.nanos += nanos;
        tally.max_nanos = tally.max_nanos.max(nanos);
    }

    /// The tallies since the last call, by [`StoreOp::ALL`] order.
    pub(crate) fn take(&mut self) -> [OpTally; StoreOp::ALL.len()] {
        std::mem::take(&mut self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_tallied_per_operation_and_taken_once() {
        let mut ops = StoreOps::default();
        let started = Instant::now();
        ops.add(StoreOp::Get, started);
        ops.add(StoreOp::Get, started);
        ops.add(StoreOp::Put, started);
        let tallies = ops.take();
        assert_eq!(
            (
                tallies[StoreOp::Get as usize].calls,
                tallies[StoreOp::Put as usize].calls
            ),
            (2, 1)
        );
        assert!(tallies[StoreOp::Get as usize].max_nanos <= tallies[StoreOp::Get as usize].nanos);
        assert_eq!(ops.take(), [OpTally::default(); StoreOp::ALL.len()]);
        assert_eq!(StoreOp::ALL.map(|op| op as usize), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        for op in StoreOp::ALL {
            let name = op.java_name();
            let expected = (
                format!("{name}-rate"),
                format!("{name}-latency-avg"),
                format!("{name}-latency-max"),
            );
            let (rate, avg, max) = op.metric_names();
            assert_eq!((rate.to_owned(), avg.to_owned(), max.to_owned()), expected);
        }
    }
}
