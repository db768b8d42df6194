//! One active task on a stream thread (Java's `StreamTask`): the task's node graph and stores,
//! its buffered input (a [`PartitionGroup`] merging its partitions in timestamp order), the
//! offsets consumed since the last commit and where to rewind to after an abort.

use super::partition_group::PartitionGroup;
use super::rebalance::{Position, ThreadConsumer};
use super::record_collector::{self, Failed, ThreadProducer};
use super::routes::Routes;
use super::state_directory::TaskDirectory;
use super::state_manager::StateManager;
use super::{Shared, kafka_error};
use crate::config::{DeserializationHandler, ProcessingHandler, StreamsConfig};
use crate::error::StreamsError;
use crate::graph::{RawRecord, TaskGraph};
use crate::processor::{PunctuationType, TaskId};
use crate::record::Headers;
use crate::state::{GlobalStores, ThreadCache};
use crate::task::{Task, create_task};
use crate::topology::{NodeSet, Topology};
use rdkafka::consumer::Consumer as _;
use rdkafka::message::{BorrowedMessage, Headers as _, Message};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// An active task.
pub(crate) struct StreamTask<G> {
    task: Task<G>,
    /// (topic, next offset) of every input partition consumed since the last commit.
    consumed: Vec<(&'static str, i64)>,
    /// Fetched records not yet processed, per input topic.
    group: PartitionGroup,
    state: StateManager,
    /// The task's dropped records already added to the application's count.
    reported_drops: u64,
    /// Per input topic, the offset processing restarts from after an abort: the last committed
    /// position, or the first record fetched (exactly-once rewinds there).
    rewind: Vec<(&'static str, i64)>,
}

/// The thread-wide things a stream thread's tasks are created with.
pub(crate) struct ThreadResources<'a> {
    /// The instance's global stores.
    pub(crate) globals: &'a GlobalStores,
    /// Partition counts of the topics sinks may write.
    pub(crate) partitions: &'a BTreeMap<String, usize>,
    /// The thread's record cache.
    pub(crate) cache: &'a ThreadCache,
}

/// Creates task `id` of `topology`: locks its directory, opens its stores (caching ones on the
/// thread's record cache), tells its sinks their topics' partition counts, restores its stores
/// from their changelogs and runs every `init`.
pub(crate) fn create<T: Topology>(
    topology: &T,
    config: &StreamsConfig,
    routes: &Routes,
    thread: &ThreadResources<'_>,
    id: TaskId,
    shared: &Shared,
) -> Result<StreamTask<impl TaskGraph + use<T>>, StreamsError> {
    let dir = TaskDirectory::lock(config, id)?;
    let stores = shared.store_context(
        dir.path().to_owned(),
        config.exactly_once(),
        thread.globals.clone(),
        thread.cache.clone(),
    );
    let partitions = thread.partitions;
    let nodes = NodeSet::Only(&routes.subtopologies[id.subtopology as usize]);
    let mut task = create_task(topology, id, nodes, &config.application_id, &stores, now_ms())?;
    task.set_windowed_emit_interval(i64::try_from(config.windowed_emit_interval.as_millis()).unwrap_or(i64::MAX));
    task.set_outer_join_emit_interval(i64::try_from(config.outer_join_emit_interval.as_millis()).unwrap_or(i64::MAX));
    for (sink, topic) in routes.sinks_of::<T>(id.subtopology, &config.application_id) {
        if let Some(&n) = partitions.get(&topic) {
            task.set_partition_count(sink, n as i32);
        }
    }
    if routes.chooses_topics::<T>(id.subtopology) {
        for (topic, &n) in partitions {
            task.set_other_partition_count(topic, n as i32);
        }
    }
    let state = StateManager::restore(config, dir, task.stores(), id.partition, shared)?;
    tracing::info!(task = %id, "task created");
    Ok(StreamTask {
        task,
        consumed: Vec::new(),
        group: PartitionGroup::new(routes.inputs_of(id.subtopology)),
        state,
        reported_drops: 0,
        rewind: Vec::new(),
    })
}

/// The wall-clock time in milliseconds.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl<G: TaskGraph> StreamTask<G> {
    /// Buffers a fetched record of input topic `topic`.
    pub(crate) fn add(&mut self, topic: &'static str, message: &BorrowedMessage<'_>, wallclock_timestamps: bool) {
        let mut headers = Headers::new();
        if let Some(hs) = message.headers() {
            for h in hs.iter() {
                headers.add(h.key, h.value);
            }
        }
        let timestamp = if wallclock_timestamps {
            now_ms()
        } else {
            message.timestamp().to_millis().unwrap_or(-1)
        };
        if !self.rewind.iter().any(|(t, _)| std::ptr::eq(*t, topic)) {
            self.rewind.push((topic, message.offset()));
        }
        self.group.push(
            topic,
            message.offset(),
            timestamp,
            message.key(),
            message.payload(),
            headers,
        );
    }

    /// Processes the buffered records that may go now, in timestamp order, punctuating in
    /// stream time and sending the output after each; a failed record goes to the handlers.
    pub(crate) fn process(
        &mut self,
        id: TaskId,
        config: &StreamsConfig,
        producer: &ThreadProducer,
        routes: &Routes,
        shared: &Shared,
        now: Instant,
    ) -> Result<(), StreamsError> {
        let partition = id.partition;
        while let Some(next) = self.group.next(config.max_task_idle, now) {
            let raw = RawRecord {
                topic: next.topic,
                partition,
                offset: next.offset,
                timestamp: next.timestamp,
                key: next.key,
                value: next.value,
                headers: next.headers,
            };
            if let Err(e) = self.task.process(next.source, raw) {
                let failed = Failed {
                    topic: next.topic,
                    partition,
                    offset: next.offset,
                    key: next.key,
                    value: next.value,
                };
                handle_error(config, producer, &failed, e)?;
                shared.count_dropped(1);
            }
            let (topic, offset) = (next.topic, next.offset + 1);
            self.group.release();
            match self.consumed.iter_mut().find(|(t, _)| std::ptr::eq(*t, topic)) {
                Some(entry) => entry.1 = offset,
                None => self.consumed.push((topic, offset)),
            }
            let stream_time = self.task.stream_time();
            self.task.punctuate(PunctuationType::StreamTime, stream_time)?;
            record_collector::send_output(producer, routes, partition, &mut self.task)?;
        }
        let drops = self.task.dropped_records();
        shared.count_dropped(drops - std::mem::replace(&mut self.reported_drops, drops));
        Ok(())
    }

    /// Runs the wall-clock punctuations due at `now` and sends their output.
    pub(crate) fn punctuate_wall_clock(
        &mut self,
        id: TaskId,
        now: i64,
        producer: &ThreadProducer,
        routes: &Routes,
    ) -> Result<(), StreamsError> {
        self.task.punctuate(PunctuationType::WallClockTime, now)?;
        record_collector::send_output(producer, routes, id.partition, &mut self.task)
    }

    /// Prepares a commit: flushes the record caches (what they forward is output too) and
    /// sends whatever output is queued in the task.
    pub(crate) fn prepare_commit(
        &mut self,
        id: TaskId,
        producer: &ThreadProducer,
        routes: &Routes,
    ) -> Result<(), StreamsError> {
        let flushed = self.task.flush_caches();
        record_collector::send_output(producer, routes, id.partition, &mut self.task)?;
        flushed
    }

    /// Whether a processor asked for a commit since the last call.
    pub(crate) fn take_commit_request(&mut self) -> bool {
        self.task.take_commit_request()
    }

    /// The positions processed and not yet committed.
    pub(crate) fn positions(&self, id: TaskId) -> impl Iterator<Item = Position> + '_ {
        self.consumed
            .iter()
            .map(move |&(topic, next)| (topic, id.partition, next))
    }

    /// Adds the offsets to commit to `offsets`.
    pub(crate) fn add_offsets(&self, id: TaskId, offsets: &mut TopicPartitionList) -> Result<(), StreamsError> {
        for &(topic, next) in &self.consumed {
            offsets
                .add_partition_offset(topic, id.partition, Offset::Offset(next))
                .map_err(kafka_error("building the commit"))?;
        }
        Ok(())
    }

    /// Flushes the stores (before their offsets are committed).
    pub(crate) fn flush(&mut self) -> Result<(), StreamsError> {
        self.task.flush()
    }

    /// The offsets were committed (at-least-once): nothing is pending, the checkpoint follows.
    pub(crate) fn committed(&mut self, id: TaskId, routes: &Routes, producer: &ThreadProducer) {
        self.consumed.clear();
        self.checkpoint(id, routes, producer);
    }

    /// Writes the task's checkpoint: the changelog offsets its stores reflect.
    pub(crate) fn checkpoint(&mut self, id: TaskId, routes: &Routes, producer: &ThreadProducer) {
        self.state
            .checkpoint(self.task.stores(), routes, producer, id.partition);
    }

    /// The transaction was committed: the stores apply their writes, an abort would now rewind
    /// to here, the checkpoint follows.
    pub(crate) fn committed_transaction(
        &mut self,
        id: TaskId,
        routes: &Routes,
        producer: &ThreadProducer,
    ) -> Result<(), StreamsError> {
        self.task.commit_state()?;
        self.task.flush()?;
        for (topic, next) in self.consumed.drain(..) {
            match self.rewind.iter_mut().find(|(t, _)| std::ptr::eq(*t, topic)) {
                Some(entry) => entry.1 = next,
                None => self.rewind.push((topic, next)),
            }
        }
        self.checkpoint(id, routes, producer);
        Ok(())
    }

    /// The transaction was aborted: the task is revived over its committed state and the
    /// consumer goes back to the last committed positions.
    pub(crate) fn aborted(&mut self, id: TaskId, consumer: &ThreadConsumer) -> Result<(), StreamsError> {
        self.task.revive()?;
        self.consumed.clear();
        self.group.clear();
        for &(topic, offset) in &self.rewind {
            consumer
                .seek(topic, id.partition, Offset::Offset(offset), Duration::from_secs(10))
                .map_err(kafka_error(format!("rewinding {topic}-{}", id.partition)))?;
        }
        Ok(())
    }

    /// The task's partitions were revoked; under exactly-once the transaction was committed
    /// (`committed`) or aborted at revocation. Buffered records are dropped (the partitions
    /// restart from their positions if they come back).
    pub(crate) fn suspend(&mut self, exactly_once: bool, committed: bool) -> Result<(), StreamsError> {
        self.group.clear();
        if exactly_once {
            if committed {
                self.task.commit_state()?;
            } else {
                self.task.revive()?;
            }
            self.consumed.clear();
            self.rewind.clear();
        } else if committed {
            self.consumed.clear();
        }
        Ok(())
    }

    /// Closes the task cleanly: flushes the record caches (sending what they forward), flushes
    /// and checkpoints the stores, runs every `close`.
    pub(crate) fn close(mut self, id: TaskId, routes: &Routes, producer: &ThreadProducer) -> Result<(), StreamsError> {
        self.prepare_commit(id, producer, routes)?;
        self.task.flush()?;
        self.checkpoint(id, routes, producer);
        self.task.close()
    }

    /// Closes the task after its last commit (the thread stops).
    pub(crate) fn close_committed(self) -> Result<(), StreamsError> {
        self.task.close()
    }
}

/// Applies the configured handler to a record that failed: skip it (logged, with a copy in the
/// dead-letter topic if one is set) or fail the thread.
fn handle_error(
    config: &StreamsConfig,
    producer: &ThreadProducer,
    failed: &Failed<'_>,
    error: StreamsError,
) -> Result<(), StreamsError> {
    let continue_ = match &error {
        StreamsError::Deserialization { .. } | StreamsError::InvalidTimestamp { .. } => {
            config.deserialization_handler == DeserializationHandler::LogAndContinue
        }
        StreamsError::Processing { .. } => config.processing_handler == ProcessingHandler::LogAndContinue,
        _ => false,
    };
    if let (Some(dlq), StreamsError::Deserialization { .. }) = (&config.dead_letter_topic, &error) {
        record_collector::send_dead_letter(producer, dlq, failed, &error)?;
    }
    if continue_ {
        tracing::warn!(
            topic = failed.topic,
            partition = failed.partition,
            offset = failed.offset,
            %error,
            "skipping record"
        );
        Ok(())
    } else {
        Err(error)
    }
}
