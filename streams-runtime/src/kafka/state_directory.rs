//! Task directories under `state.dir` (Java's `StateDirectory`): one per task,
//! `<state.dir>/<application.id>/<task>`, locked while a thread of this machine runs the task,
//! so two instances (or two threads handing a task over) never open the same stores at once.

use crate::config::StreamsConfig;
use crate::error::StreamsError;
use crate::processor::TaskId;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a new task waits for its directory's lock.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// A task's directory, locked for as long as this value lives.
pub(crate) struct TaskDirectory {
    path: PathBuf,
    _lock: File,
}

impl TaskDirectory {
    /// Creates and locks the directory of task `id`. Another thread of this instance may still
    /// hold it until it handles the same rebalance (Java backs off and retries too); another
    /// instance holds it until it stops: after `LOCK_WAIT` that is an error.
    pub(crate) fn lock(config: &StreamsConfig, id: TaskId) -> Result<Self, StreamsError> {
        let path = config.state_dir.join(&config.application_id).join(id.to_string());
        let io = |source: std::io::Error| StreamsError::Io {
            context: format!("state directory {}", path.display()).into(),
            source,
        };
        std::fs::create_dir_all(&path).map_err(io)?;
        let lock = File::create(path.join(".lock")).map_err(io)?;
        let deadline = Instant::now() + LOCK_WAIT;
        while lock.try_lock().is_err() {
            if Instant::now() >= deadline {
                return Err(StreamsError::StateDirectoryLocked { path, task: id });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(TaskDirectory { path, _lock: lock })
    }

    /// Creates and locks the directory of task `id` if no one holds it now (`None` if someone
    /// does): a standby replica does not wait for a directory an active task holds.
    pub(crate) fn try_lock(config: &StreamsConfig, id: TaskId) -> Result<Option<Self>, StreamsError> {
        let path = config.state_dir.join(&config.application_id).join(id.to_string());
        let io = |source: std::io::Error| StreamsError::Io {
            context: format!("state directory {}", path.display()).into(),
            source,
        };
        std::fs::create_dir_all(&path).map_err(io)?;
        let lock = File::create(path.join(".lock")).map_err(io)?;
        if lock.try_lock().is_err() {
            return Ok(None);
        }
        Ok(Some(TaskDirectory { path, _lock: lock }))
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}
