//! Task directories under `state.dir` (Java's `StateDirectory`): one per task,
//! `<state.dir>/<application.id>/<task>`, locked while a thread of this machine runs the task,
//! so two instances (or two threads handing a task over) never open the same stores at once;
//! and the instance's process id, kept in the application's directory across restarts.

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

/// The file that keeps the process id (Java's `kafka-streams-process-metadata`).
const PROCESS_FILE: &str = "kafka-streams-process-metadata";

/// The process id of the instance on `state.dir/<application.id>`: the one kept there, or a new
/// one, kept from now on (Java keeps it too). It names the instance in client ids,
/// transactional ids and announcements, so an instance restarted on its state comes back as
/// itself: the range assignor gives it the same partitions back when the group is the same,
/// and they restore only what their checkpoints do not cover.
pub(crate) fn process_id(config: &StreamsConfig) -> Result<String, StreamsError> {
    let dir = config.state_dir.join(&config.application_id);
    let path = dir.join(PROCESS_FILE);
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(kept) = serde_json::from_str::<ProcessMetadata>(&text)
        && !kept.process_id.is_empty()
    {
        return Ok(kept.process_id);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let id = format!("{:x}{:x}", nanos & 0xffff_ffff_ffff, std::process::id());
    let io = |source: std::io::Error| StreamsError::Io {
        context: format!("keeping the process id in {}", path.display()).into(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let text = serde_json::to_string(&ProcessMetadata { process_id: id.clone() }).unwrap_or_default();
    std::fs::write(&path, text).map_err(io)?;
    Ok(id)
}

/// What the process file holds.
#[derive(serde::Serialize, serde::Deserialize)]
struct ProcessMetadata {
    #[serde(rename = "processId")]
    process_id: String,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_process_id_is_kept_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = crate::config::StreamsConfig::new("app");
        config.state_dir = dir.path().to_owned();
        let first = super::process_id(&config).unwrap();
        assert_eq!(super::process_id(&config).unwrap(), first);
        std::fs::remove_dir_all(dir.path().join("app")).unwrap();
        assert_ne!(
            super::process_id(&config).unwrap(),
            first,
            "a wiped state gets a new id"
        );
    }
}
