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
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            match Self::try_lock(config, id)? {
                Some(dir) => return Ok(dir),
                None if Instant::now() >= deadline => {
                    let path = config.state_dir.join(&config.application_id).join(id.to_string());
                    return Err(StreamsError::StateDirectoryLocked { path, task: id });
                }
                None => std::thread::sleep(Duration::from_millis(100)),
            }
        }
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

/// The process id of an instance, and the lock on its application directory that makes it
/// the id's only holder on this machine.
pub(crate) struct ProcessIdentity {
    /// The id.
    pub(crate) id: String,
    _lock: Option<File>,
}

/// The process id of the instance on `state.dir/<application.id>`: the one kept there, or a new
/// one, kept from now on (Java keeps it too). It names the instance in client ids,
/// transactional ids and announcements, so an instance restarted on its state comes back as
/// itself: the range assignor gives it the same partitions back when the group is the same,
/// and they restore only what their checkpoints do not cover. While another instance of the
/// application on this machine holds the directory, the id is a fresh one, not kept (two
/// instances never share an id). An application without persistent stores keeps nothing on
/// disk (as Java's `StateDirectory` without persistent stores): its id is new at every start.
pub(crate) fn process_id(config: &StreamsConfig, persistent_stores: bool) -> Result<ProcessIdentity, StreamsError> {
    if !persistent_stores {
        return Ok(ProcessIdentity {
            id: new_process_id(),
            _lock: None,
        });
    }
    let dir = config.state_dir.join(&config.application_id);
    let io = |source: std::io::Error| StreamsError::Io {
        context: format!("keeping the process id in {}", dir.display()).into(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let lock = File::create(dir.join(".process.lock")).map_err(io)?;
    if lock.try_lock().is_err() {
        tracing::warn!(dir = %dir.display(), "another instance of the application uses this state directory");
        return Ok(ProcessIdentity {
            id: new_process_id(),
            _lock: None,
        });
    }
    let path = dir.join(PROCESS_FILE);
    let kept = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| serde_json::from_str::<ProcessMetadata>(&text).ok())
        .map(|kept| kept.process_id)
        .filter(|id| !id.is_empty());
    let id = match kept {
        Some(id) => id,
        None => {
            let id = new_process_id();
            keep_process_id(config, &id)?;
            id
        }
    };
    Ok(ProcessIdentity { id, _lock: Some(lock) })
}

/// Writes `id` to the process file of the application's directory (again after `clean_up`).
pub(crate) fn keep_process_id(config: &StreamsConfig, id: &str) -> Result<(), StreamsError> {
    let dir = config.state_dir.join(&config.application_id);
    let io = |source: std::io::Error| StreamsError::Io {
        context: format!("keeping the process id in {}", dir.display()).into(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let text = serde_json::to_string(&ProcessMetadata {
        process_id: id.to_owned(),
    })
    .unwrap_or_default();
    std::fs::write(dir.join(PROCESS_FILE), text).map_err(io)
}

/// A process id unique enough to tell instances apart (Java uses a UUID).
fn new_process_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:x}{:x}", nanos & 0xffff_ffff_ffff, std::process::id())
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
        let first = super::process_id(&config, true).unwrap();
        let kept = first.id.clone();
        // While the first holds the directory, a second instance gets an id of its own.
        assert_ne!(super::process_id(&config, true).unwrap().id, kept);
        drop(first);
        assert_eq!(super::process_id(&config, true).unwrap().id, kept);
        std::fs::remove_dir_all(dir.path().join("app")).unwrap();
        assert_ne!(
            super::process_id(&config, true).unwrap().id,
            kept,
            "a wiped state gets a new id"
        );
    }

    #[test]
    fn without_persistent_stores_nothing_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = crate::config::StreamsConfig::new("stateless");
        config.state_dir = dir.path().join("state");
        let first = super::process_id(&config, false).unwrap().id;
        assert_ne!(super::process_id(&config, false).unwrap().id, first);
        assert!(!config.state_dir.exists(), "no directory is created");
    }
}
