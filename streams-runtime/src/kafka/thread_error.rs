//! Why a stream thread's run ended: internal control flow the public error type does not show.

use crate::error::StreamsError;

/// How a stream thread's run failed.
#[derive(Debug)]
pub(crate) enum ThreadError {
    /// Another instance took over the thread's tasks (its transactional producer was fenced,
    /// Java's `TaskMigratedException`): the thread drops its tasks without committing and starts
    /// again, without asking the uncaught exception handler.
    Migrated(String),
    /// The thread failed; the handler decides what happens next.
    Failed(StreamsError),
}

impl From<StreamsError> for ThreadError {
    fn from(error: StreamsError) -> Self {
        ThreadError::Failed(error)
    }
}
