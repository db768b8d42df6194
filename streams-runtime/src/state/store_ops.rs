//! What a key-value store's operations cost, counted when the application records `DEBUG`
//! metrics (Java's `MeteredKeyValueStore` sensors): per operation, the calls and their time in
//! nanoseconds, taken by the stream thread into its `stream-state-metrics`.

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
}

impl StoreOp {
    /// Every operation, in the order of [`StoreOps::take`]'s tallies.
    pub(crate) const ALL: [StoreOp; 9] = [
        StoreOp::Put,
        StoreOp::PutIfAbsent,
        StoreOp::PutAll,
        StoreOp::Get,
        StoreOp::Delete,
        StoreOp::All,
        StoreOp::Range,
        StoreOp::PrefixScan,
        StoreOp::Flush,
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
        assert_eq!(StoreOp::ALL.map(|op| op as usize), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
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
