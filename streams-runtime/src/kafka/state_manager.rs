//! A task's stores on this machine (Java's `ProcessorStateManager`): its locked directory, the
//! restore of its logged stores from their changelogs when the task is created (a persistent
//! store from its checkpoint on), and the checkpoint written after each commit.

use super::Shared;
use super::checkpoint;
use super::record_collector::ThreadProducer;
use super::restore;
use super::routes::Routes;
use super::state_directory::TaskDirectory;
use crate::config::StreamsConfig;
use crate::error::StreamsError;
use crate::state::StoreSet;
use rdkafka::producer::Producer as _;
use std::collections::HashMap;

/// The state of one task.
pub(crate) struct StateManager {
    dir: TaskDirectory,
    /// The last changelog offset the task's stores reflect, per changelog topic.
    checkpoint: HashMap<String, i64>,
}

impl StateManager {
    /// Restores `stores` (just opened in `dir`) from partition `partition` of their changelogs.
    pub(crate) fn restore(
        config: &StreamsConfig,
        dir: TaskDirectory,
        stores: &StoreSet,
        partition: i32,
        shared: &Shared,
    ) -> Result<Self, StreamsError> {
        let checkpoint = restore::restore_stores(config, stores, partition, shared, &checkpoint::read(dir.path()))?;
        Ok(StateManager { dir, checkpoint })
    }

    /// Writes the changelog offsets the stores reflect (delivered by the flushed producer) to
    /// the task's checkpoint file; a failure only costs a longer restore, so it is logged.
    pub(crate) fn checkpoint(&mut self, stores: &StoreSet, routes: &Routes, producer: &ThreadProducer, partition: i32) {
        for (store, _) in stores.logged() {
            let changelog = &routes.changelogs[store];
            if let Some(offset) = producer.context().changelog_offset(store, partition) {
                // The producer may have written this partition in an earlier ownership of the task.
                let reached = self.checkpoint.entry(changelog.to_owned()).or_insert(offset);
                *reached = (*reached).max(offset);
            }
        }
        let offsets: Vec<(String, i64)> = self.checkpoint.iter().map(|(t, o)| (t.clone(), *o)).collect();
        if let Err(e) = checkpoint::write(self.dir.path(), &offsets) {
            tracing::warn!(dir = %self.dir.path().display(), error = %e, "could not write the checkpoint");
        }
    }
}
