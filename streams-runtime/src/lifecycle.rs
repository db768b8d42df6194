//! The lifecycle of an application, outside the `kafka` feature so errors can name it.

/// The lifecycle state of an application (Java's `KafkaStreams.State`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Built, not started.
    Created,
    /// Threads are joining the group or taking over partitions.
    Rebalancing,
    /// Processing.
    Running,
    /// `close` was called; threads are committing and stopping.
    PendingShutdown,
    /// Stopped cleanly.
    NotRunning,
    /// A stream thread failed.
    Error,
}
