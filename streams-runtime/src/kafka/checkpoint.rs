//! What the stream thread's producer reports back, and the checkpoint files built from it
//! (Java's `OffsetCheckpoint`): after a commit, each task writes the changelog offsets its
//! stores have reached to `state.dir/<application.id>/<task>/.checkpoint`, so a persistent
//! store that survived restores only what came after.

use crate::config::ProductionHandler;
use rdkafka::ClientContext;
use rdkafka::message::Message;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

/// The stream thread's producer context: records the last delivered offset of every changelog
/// partition, and delivery failures for the production handler.
#[derive(Default)]
pub(crate) struct OutputContext {
    changelog_offsets: Mutex<HashMap<String, Vec<(i32, i64)>>>,
    failures: Mutex<Vec<String>>,
}

impl ClientContext for OutputContext {}

impl ProducerContext for OutputContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(m) if m.topic().ends_with("-changelog") => {
                let mut offsets = self.changelog_offsets.lock().unwrap_or_else(|p| p.into_inner());
                let partitions = match offsets.get_mut(m.topic()) {
                    Some(p) => p,
                    None => offsets.entry(m.topic().to_owned()).or_default(),
                };
                match partitions.iter_mut().find(|(p, _)| *p == m.partition()) {
                    Some(entry) => entry.1 = entry.1.max(m.offset()),
                    None => partitions.push((m.partition(), m.offset())),
                }
            }
            Ok(_) => {}
            Err((e, m)) => self.failures.lock().unwrap_or_else(|p| p.into_inner()).push(format!(
                "{}-{}: {e}",
                m.topic(),
                m.partition()
            )),
        }
    }
}

impl OutputContext {
    /// The last delivered offset of a changelog partition.
    pub(crate) fn changelog_offset(&self, topic: &str, partition: i32) -> Option<i64> {
        let offsets = self.changelog_offsets.lock().unwrap_or_else(|p| p.into_inner());
        offsets
            .get(topic)?
            .iter()
            .find(|(p, _)| *p == partition)
            .map(|(_, o)| *o)
    }

    /// Drops the delivery failures collected so far (they belonged to an aborted transaction).
    pub(crate) fn forget_failures(&self) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Delivery failures since the last call: an error under the default production handler,
    /// logged and dropped under `Continue`.
    pub(crate) fn take_failures(&self, handler: ProductionHandler) -> Result<(), String> {
        let failures = std::mem::take(&mut *self.failures.lock().unwrap_or_else(|p| p.into_inner()));
        if failures.is_empty() {
            return Ok(());
        }
        match handler {
            ProductionHandler::Fail => Err(failures.join("; ")),
            ProductionHandler::Continue => {
                for f in failures {
                    tracing::warn!(failure = %f, "a record could not be produced; continuing");
                }
                Ok(())
            }
        }
    }
}

/// Reads a task's checkpoint: changelog topic → last offset in the local stores.
pub(crate) fn read(task_dir: &Path) -> HashMap<String, i64> {
    let Ok(text) = std::fs::read_to_string(task_dir.join(".checkpoint")) else {
        return HashMap::new();
    };
    text.lines()
        .filter_map(|line| {
            let (topic, offset) = line.rsplit_once(' ')?;
            Some((topic.to_owned(), offset.parse().ok()?))
        })
        .collect()
}

/// Writes a task's checkpoint atomically (temporary file, then rename).
pub(crate) fn write(task_dir: &Path, offsets: &[(String, i64)]) -> std::io::Result<()> {
    let text: String = offsets.iter().map(|(t, o)| format!("{t} {o}\n")).collect();
    let tmp = task_dir.join(".checkpoint.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, task_dir.join(".checkpoint"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn checkpoints_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        assert!(super::read(dir.path()).is_empty());
        super::write(dir.path(), &[("app-counts-changelog".to_owned(), 41)]).unwrap();
        assert_eq!(super::read(dir.path()).get("app-counts-changelog"), Some(&41));
    }
}
