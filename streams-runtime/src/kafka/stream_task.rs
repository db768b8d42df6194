//! One active task on a stream thread (Java's `StreamTask`): the task's node graph and stores,
//! its buffered input (a [`PartitionGroup`] merging its partitions in timestamp order), the
//! offsets consumed since the last commit and where to rewind to after an abort.

use super::partition_group::PartitionGroup;
use super::rebalance::{Position, ThreadConsumer};
use super::record_collector::{self, Failed, ThreadProducer};
use super::routes::Routes;
use super::state_directory::TaskDirectory;
use super::state_manager::StateManager;
use super::thread_metrics::TaskRound;
use super::{Shared, kafka_error};
use crate::config::{DeserializationHandler, ProcessingHandler, StreamsConfig};
use crate::error::StreamsError;
use crate::graph::{RawRecord, TaskGraph};
use crate::processor::{PunctuationType, TaskId};
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
    /// Per queue of `group` (input topic), the next offset to consume if records were
    /// processed since the last commit.
    consumed: Vec<Option<i64>>,
    /// Fetched records not yet processed, per input topic.
    group: PartitionGroup,
    state: StateManager,
    /// The task's dropped records already added to the application's count.
    reported_drops: u64,
    /// Per queue of `group`, the offset processing restarts from after an abort: the last
    /// committed position, or the first record fetched (exactly-once rewinds there).
    rewind: Vec<Option<i64>>,
    /// What the task did since the thread last took it (its metrics).
    round: TaskRound,
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
    let mut stores = shared.store_context(
        dir.path().to_owned(),
        config.exactly_once(),
        thread.globals.clone(),
        thread.cache.clone(),
    );
    // The `stream-state-metrics` are Java's DEBUG metrics.
    stores.store_metrics = config.metrics_recording_level >= crate::config::RecordingLevel::Debug;
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
    let group = PartitionGroup::new(routes.inputs_of(id.subtopology));
    Ok(StreamTask {
        task,
        consumed: vec![None; group.len()],
        rewind: vec![None; group.len()],
        group,
        state,
        reported_drops: 0,
        round: TaskRound::default(),
    })
}

/// The wall-clock time in milliseconds.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl<G: TaskGraph> StreamTask<G> {
    /// The task's stores (for interactive queries).
    pub(crate) fn stores(&self) -> &crate::state::StoreSet {
        self.task.stores()
    }

    /// The index of the queue of input topic `topic` (for the thread's routing table).
    pub(crate) fn queue_of(&self, topic: &str) -> Option<usize> {
        self.group.queue_of(topic)
    }

    /// Buffers a fetched record in queue `queue` (`false` if the task has no such queue).
    pub(crate) fn add(&mut self, queue: usize, message: &BorrowedMessage<'_>, wallclock_timestamps: bool) -> bool {
        let timestamp = if wallclock_timestamps {
            now_ms()
        } else {
            message.timestamp().to_millis().unwrap_or(-1)
        };
        let offset = message.offset();
        let headers = message.headers();
        let headers = headers.iter().flat_map(|hs| hs.iter()).map(|h| (h.key, h.value));
        let added = self
            .group
            .push(queue, offset, timestamp, message.key(), message.payload(), headers);
        if let Some(rewind @ None) = self.rewind.get_mut(queue) {
            *rewind = Some(offset);
        }
        added
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
        let mut stream_time = self.task.stream_time();
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
            // A record failing (its deserialization, say) and dropped by a handler counts as
            // dropped, not processed, as in Java.
            let processed = self.task.process(next.source, raw);
            if processed.is_ok() {
                self.round.processed(stream_time, self.task.record_timestamp());
            }
            if let Err(e) = processed {
                let failed = Failed {
                    topic: next.topic,
                    partition,
                    offset: next.offset,
                    key: next.key,
                    value: next.value,
                };
                handle_error(config, producer, &failed, e)?;
                shared.count_dropped(1);
                self.round.dropped += 1;
            }
            if let Some(consumed) = self.consumed.get_mut(next.queue) {
                *consumed = Some(next.offset + 1);
            }
            self.group.release();
            stream_time = self.task.stream_time();
            self.task.punctuate(PunctuationType::StreamTime, stream_time)?;
            record_collector::send_output(producer, routes, partition, &mut self.task)?;
        }
        let drops = self.task.dropped_records();
        let new_drops = drops - std::mem::replace(&mut self.reported_drops, drops);
        shared.count_dropped(new_drops);
        self.round.dropped += new_drops;
        Ok(())
    }

    /// What the task did since the last call (its punctuations included).
    pub(crate) fn take_round(&mut self) -> TaskRound {
        (self.round.punctuations, self.round.punctuate_ns) = self.task.take_punctuation_counts();
        std::mem::take(&mut self.round)
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
        self.consumed_offsets()
            .map(move |(topic, next)| (topic, id.partition, next))
    }

    /// (input topic, next offset) of every input consumed since the last commit.
    fn consumed_offsets(&self) -> impl Iterator<Item = (&'static str, i64)> + '_ {
        (self.consumed.iter().enumerate()).filter_map(|(queue, next)| Some((self.group.topic(queue), (*next)?)))
    }

    /// Adds the offsets to commit to `offsets`.
    pub(crate) fn add_offsets(&self, id: TaskId, offsets: &mut TopicPartitionList) -> Result<(), StreamsError> {
        for (topic, next) in self.consumed_offsets() {
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
        self.consumed.fill(None);
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
        for (rewind, consumed) in self.rewind.iter_mut().zip(&mut self.consumed) {
            if let Some(next) = consumed.take() {
                *rewind = Some(next);
            }
        }
        self.checkpoint(id, routes, producer);
        Ok(())
    }

    /// The transaction was aborted: the task is revived over its committed state and the
    /// consumer goes back to the last committed positions.
    pub(crate) fn aborted(&mut self, id: TaskId, consumer: &ThreadConsumer) -> Result<(), StreamsError> {
        self.task.revive()?;
        self.consumed.fill(None);
        self.group.clear();
        for (queue, offset) in (self.rewind.iter().enumerate()).filter_map(|(q, o)| Some((q, (*o)?))) {
            let topic = self.group.topic(queue);
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
            self.consumed.fill(None);
            self.rewind.fill(None);
        } else if committed {
            self.consumed.fill(None);
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
