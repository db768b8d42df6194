//! A stream thread's tasks (Java's `TaskManager`): creates (and restores) the tasks of the
//! partitions assigned to the thread as soon as they are assigned, suspends them between a
//! revocation and the next assignment, closes those whose partitions went elsewhere, routes
//! fetched records to them (through a [`RoutingTable`] built at each assignment), and commits
//! them: offsets under at-least-once, the transaction under exactly-once.

use super::exactly_once::{self, CommitFailure};
use super::query::{LocalStores, QueryMailbox};
use super::rebalance::{self, Position, RebalanceEvents, ThreadConsumer};
use super::record_collector::{self, ThreadProducer};
use super::routes::Routes;
use super::routing_table::{Route, RoutingTable};
use super::stream_task::{StreamTask, now_ms};
use super::thread_error::ThreadError;
use super::thread_metrics::TaskRound;
use super::{Fault, Shared, State, kafka_error};
use crate::config::StreamsConfig;
use crate::error::StreamsError;
use crate::graph::TaskGraph;
use crate::processor::TaskId;
use rdkafka::TopicPartitionList;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Message};
use std::sync::Arc;
use std::time::Instant;

/// The tasks of one stream thread; `C` creates a task.
pub(crate) struct TaskManager<'a, G, C> {
    /// The running tasks, ordered by id; the routing table addresses them by position.
    tasks: Vec<(TaskId, StreamTask<G>)>,
    /// Where the records of each assigned partition go, rebuilt at every assignment.
    routing: RoutingTable,
    create: C,
    config: &'a StreamsConfig,
    routes: &'a Routes,
    shared: &'a Shared,
    /// The thread's index, for its metadata.
    thread: usize,
    /// The thread's query mailbox, told when the tasks can be queried.
    mailbox: &'a QueryMailbox,
    /// Between a revocation and the next assignment: no processing, punctuation or commit
    /// (the partitions may be someone else's by now).
    suspended: bool,
}

impl<'a, G: TaskGraph, C: FnMut(TaskId) -> Result<StreamTask<G>, StreamsError>> TaskManager<'a, G, C> {
    /// No tasks yet; `create` makes one.
    pub(crate) fn new(
        config: &'a StreamsConfig,
        routes: &'a Routes,
        shared: &'a Shared,
        thread: usize,
        mailbox: &'a QueryMailbox,
        create: C,
    ) -> Self {
        TaskManager {
            tasks: Vec::new(),
            routing: RoutingTable::default(),
            create,
            config,
            routes,
            shared,
            thread,
            mailbox,
            suspended: false,
        }
    }

    /// Whether the tasks are suspended by a revocation not yet followed by an assignment.
    pub(crate) fn suspended(&self) -> bool {
        self.suspended
    }

    /// Every position processed and not yet committed.
    fn positions(&self) -> Vec<Position> {
        self.tasks.iter().flat_map(|(id, t)| t.positions(*id)).collect()
    }

    /// Handles what rebalances did during `poll`. On revocation the tasks' caches are flushed
    /// and the processed offsets committed before the partitions are unassigned (if the broker
    /// refuses, the consumer resumes reassigned partitions at the thread's positions), and
    /// buffered records are dropped (they are fetched again). On assignment, tasks whose
    /// partitions stayed go on with their stores as they are (Java resumes suspended tasks);
    /// the others are flushed, checkpointed and closed; the tasks of newly assigned partitions
    /// are created and restored now.
    pub(crate) fn on_rebalance(
        &mut self,
        events: RebalanceEvents,
        consumer: &ThreadConsumer,
        producer: &Arc<ThreadProducer>,
    ) -> Result<(), ThreadError> {
        tracing::debug!(instance = self.shared.process_id(), ?events, "rebalance");
        if let Some(error) = events.failure {
            return Err(error.into());
        }
        if events.revoked && consumer.context().cooperative() {
            self.revoke_cooperatively(&events.revoked_partitions, events.unassign, consumer, producer)?;
        } else if events.revoked {
            // Not queryable until the tasks are assigned, restored and running again.
            self.mailbox.set_available(false);
            let committed = if events.unassign {
                let committed = self.commit_on_revocation(consumer, producer);
                if let Err(e) = consumer.unassign() {
                    tracing::warn!(error = %e, "unassigning revoked partitions");
                }
                committed?
            } else {
                false
            };
            self.suspended = true;
            self.shared.transition(State::Rebalancing);
            for (_, task) in &mut self.tasks {
                task.suspend(self.config.exactly_once(), committed)?;
            }
        }
        let Some(assigned) = events.assigned else {
            return Ok(());
        };
        self.mailbox.set_available(false);
        let mut wanted: Vec<TaskId> = assigned
            .iter()
            .filter_map(|(topic, p)| self.routes.task_for(topic, *p))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        self.shared.claim_tasks(self.thread, &wanted);
        let (kept, lost): (Vec<_>, Vec<_>) = std::mem::take(&mut self.tasks)
            .into_iter()
            .partition(|(id, _)| wanted.binary_search(id).is_ok());
        for (id, task) in lost {
            tracing::info!(task = %id, "task revoked");
            task.close(id, self.routes, producer)?;
        }
        // Both in id order: the kept tasks take their places among the new ones.
        let mut kept = kept.into_iter().peekable();
        for &id in &wanted {
            let task = match kept.next_if(|(kept_id, _)| *kept_id == id) {
                Some((_, task)) => task,
                None => (self.create)(id)?,
            };
            self.tasks.push((id, task));
        }
        self.route(&assigned);
        let partitions = self.source_partitions(&assigned);
        self.shared.set_active_tasks(self.thread, wanted, partitions);
        if !self.shared.stopping() {
            self.shared.transition(State::Running);
        }
        self.suspended = false;
        self.mailbox.set_available(true);
        Ok(())
    }

    /// A cooperative revocation of `revoked` (with their partners): commits what every task
    /// processed (one producer, one transaction), closes the tasks of the revoked partitions and
    /// gives the partitions up; the other tasks go on. Stopping (`unassign` false), the context
    /// gave them up already and nothing is committed here.
    fn revoke_cooperatively(
        &mut self,
        revoked: &[(String, i32)],
        unassign: bool,
        consumer: &ThreadConsumer,
        producer: &Arc<ThreadProducer>,
    ) -> Result<(), ThreadError> {
        self.shared.transition(State::Rebalancing);
        if !unassign {
            return Ok(());
        }
        self.commit_with(consumer, producer, CommitMode::Sync)?;
        let mut gone: Vec<TaskId> = (revoked.iter())
            .filter_map(|(topic, p)| self.routes.task_for(topic, *p))
            .collect();
        gone.sort_unstable();
        gone.dedup();
        let (closed, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.tasks)
            .into_iter()
            .partition(|(id, _)| gone.binary_search(id).is_ok());
        self.tasks = kept;
        for (id, task) in closed {
            tracing::info!(task = %id, "task revoked");
            task.close(id, self.routes, producer)?;
        }
        let mut partitions = TopicPartitionList::new();
        for (topic, partition) in revoked {
            partitions.add_partition(topic, *partition);
        }
        consumer
            .incremental_unassign(&partitions)
            .map_err(kafka_error("giving up revoked partitions"))?;
        let remaining: Vec<(String, i32)> = (consumer.assignment())
            .map_err(kafka_error("reading the assignment after a revocation"))?
            .elements()
            .iter()
            .map(|e| (e.topic().to_owned(), e.partition()))
            .collect();
        self.route(&remaining);
        let ids = self.tasks.iter().map(|(id, _)| *id).collect();
        self.shared
            .set_active_tasks(self.thread, ids, self.source_partitions(&remaining));
        Ok(())
    }

    /// Rebuilds the routing table for the assigned partitions `assigned`.
    fn route(&mut self, assigned: &[(String, i32)]) {
        self.routing = RoutingTable::default();
        for (topic, partition) in assigned {
            if let Some((topic, route)) = self.route_of(topic, *partition) {
                self.routing.insert(topic, *partition, route);
            }
        }
    }

    /// The assigned partitions the topology reads.
    fn source_partitions(&self, assigned: &[(String, i32)]) -> Vec<(String, i32)> {
        (assigned.iter())
            .filter(|(topic, _)| self.routes.sources.contains_key(topic.as_str()))
            .cloned()
            .collect()
    }

    /// The route of `partition` of `topic` among the current tasks (with the topic's
    /// `'static` name), if the topology reads the topic.
    fn route_of(&self, topic: &str, partition: i32) -> Option<(&'static str, Route)> {
        let &(source, topic) = self.routes.sources.get(topic)?;
        let id = self.routes.task_of(source, partition);
        let task = self.tasks.binary_search_by_key(&id, |(id, _)| *id).ok()?;
        let queue = self.tasks[task].1.queue_of(topic)?;
        Some((topic, Route { task, queue }))
    }

    /// Buffers a fetched record in its task's queue, found through the routing table. A record
    /// that has none (not expected: librdkafka delivers only assigned partitions) is counted as
    /// dropped and logged with its topic, partition and offset.
    pub(crate) fn add(&mut self, message: &BorrowedMessage<'_>) {
        let added = match self.routing.route(message.topic(), message.partition()) {
            Some(route) => (self.tasks.get_mut(route.task))
                .is_some_and(|(_, task)| task.add(route.queue, message, self.config.wallclock_timestamps)),
            None => false,
        };
        if !added {
            report_unroutable(self.shared, message.topic(), message.partition(), message.offset());
        }
    }

    /// Processes what every task may process now, then runs the wall-clock punctuations due;
    /// adds what each task did to `counts`.
    pub(crate) fn process(
        &mut self,
        producer: &ThreadProducer,
        counts: &mut Vec<(TaskId, TaskRound)>,
    ) -> Result<(), StreamsError> {
        let now = Instant::now();
        for (id, task) in &mut self.tasks {
            task.process(*id, self.config, producer, self.routes, self.shared, now)?;
        }
        let now = now_ms();
        for (id, task) in &mut self.tasks {
            task.punctuate_wall_clock(*id, now, producer, self.routes)?;
            counts.push((*id, task.take_round()));
        }
        Ok(())
    }

    /// The ids of the thread's tasks.
    pub(crate) fn active_ids(&self) -> impl Iterator<Item = TaskId> + '_ {
        self.tasks.iter().map(|(id, _)| *id)
    }

    /// Whether a processor of any task asked for a commit since the last call.
    pub(crate) fn commit_requested(&mut self) -> bool {
        let mut requested = false;
        for (_, task) in &mut self.tasks {
            requested |= task.take_commit_request();
        }
        requested
    }

    /// The revocation's commit, while the partitions are still assigned (Java's
    /// `handleRevocation`): flushes the record caches and sends the output, then commits every
    /// processed offset (the open transaction under exactly-once); `false` if the broker
    /// refused the offsets (their partitions resume where the thread is, if assigned back) or
    /// the transaction aborted.
    fn commit_on_revocation(
        &mut self,
        consumer: &ThreadConsumer,
        producer: &Arc<ThreadProducer>,
    ) -> Result<bool, ThreadError> {
        for (id, task) in &mut self.tasks {
            task.prepare_commit(*id, producer, self.routes)?;
        }
        let positions = self.positions();
        let offsets = rebalance::offsets(&positions)?;
        if self.config.exactly_once() {
            return match exactly_once::commit(producer, consumer, &offsets, None) {
                Ok(()) => Ok(true),
                Err(CommitFailure::Aborted) => Ok(false),
                Err(CommitFailure::Fatal(e)) => Err(e),
            };
        }
        // What the cache flushes and punctuations sent is delivered even with no offset to commit.
        record_collector::flush(producer, self.config.production_handler, "on revocation")?;
        if positions.is_empty() {
            return Ok(true);
        }
        match consumer.commit(&offsets, CommitMode::Sync) {
            Ok(()) => Ok(true),
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "offsets could not be committed on revocation; partitions that move to another \
                     member will be reprocessed from their last commit"
                );
                consumer.context().resume_at(positions);
                Ok(false)
            }
        }
    }

    /// Flushes the record caches and sends what the tasks hold, then commits: under
    /// at-least-once, flushes the producer and the stores and commits the consumed offsets
    /// (output is durable before the input is marked done); under exactly-once, commits the
    /// transaction instead.
    ///
    /// Under the cooperative protocol, the thread's own (periodic) commits of offsets do not
    /// wait for the broker: librdkafka holds a commit back while the group rebalances, and the
    /// tasks that stay are meant to go on meanwhile. Their positions stay pending, so each
    /// later commit carries them again (a failed one is logged).
    pub(crate) fn commit(
        &mut self,
        consumer: &ThreadConsumer,
        producer: &Arc<ThreadProducer>,
    ) -> Result<(), ThreadError> {
        let mode = match consumer.context().cooperative() {
            true => CommitMode::Async,
            false => CommitMode::Sync,
        };
        self.commit_with(consumer, producer, mode)
    }

    /// [`commit`](Self::commit) with offsets committed in `mode`.
    fn commit_with(
        &mut self,
        consumer: &ThreadConsumer,
        producer: &Arc<ThreadProducer>,
        mode: CommitMode,
    ) -> Result<(), ThreadError> {
        for (id, task) in &mut self.tasks {
            task.prepare_commit(*id, producer, self.routes)?;
        }
        let mut offsets = TopicPartitionList::new();
        for (id, task) in &self.tasks {
            task.add_offsets(*id, &mut offsets)?;
        }
        if self.config.exactly_once() {
            return self.commit_transaction(consumer, producer, &offsets);
        }
        record_collector::flush(producer, self.config.production_handler, "before a commit")?;
        for (_, task) in &mut self.tasks {
            task.flush()?;
        }
        let committed = if offsets.count() == 0 {
            true
        } else {
            match consumer.commit(&offsets, mode) {
                // An asynchronous commit may still fail: the positions stay pending and go with
                // every later commit until a synchronous one (the revocation's, the last) lands.
                Ok(()) => matches!(mode, CommitMode::Sync),
                // The group moved on (a rebalance began, this member was evicted): the offsets
                // stay to be committed on revocation or at the next commit, and are redone by
                // the partitions' next owner otherwise (at-least-once).
                Err(e) if lost_generation(&e) => {
                    tracing::warn!(error = %e, "offsets not committed: the group is rebalancing");
                    false
                }
                Err(e) => return Err(kafka_error("committing offsets")(e).into()),
            }
        };
        for (id, task) in &mut self.tasks {
            if committed {
                task.committed(*id, self.routes, producer);
            } else {
                task.checkpoint(*id, self.routes, producer);
            }
        }
        Ok(())
    }

    /// The exactly-once commit: the transaction carries the output, the changelog writes and
    /// the consumed offsets; once it is committed the stores apply their uncommitted writes. If
    /// it aborts, the stores drop them and every task rewinds its input to the last committed
    /// positions, so the aborted records are processed again against the committed state.
    fn commit_transaction(
        &mut self,
        consumer: &ThreadConsumer,
        producer: &Arc<ThreadProducer>,
        offsets: &TopicPartitionList,
    ) -> Result<(), ThreadError> {
        let shared = self.shared;
        if offsets.count() > 0 && shared.take_fault(Fault::FenceNextCommit) {
            // What a fenced producer's commit reports; the thread drops its tasks uncommitted.
            return Err(ThreadError::Migrated("injected fault: producer fenced".to_owned()));
        }
        let injected = (offsets.count() > 0 && shared.take_fault(Fault::AbortNextCommit)).then_some("injected fault");
        let result = exactly_once::commit(producer, consumer, offsets, injected);
        match result {
            Ok(()) => {
                for (id, task) in &mut self.tasks {
                    task.committed_transaction(*id, self.routes, producer)?;
                }
                Ok(())
            }
            Err(CommitFailure::Aborted) => {
                for (id, task) in &mut self.tasks {
                    task.aborted(*id, consumer)?;
                }
                Ok(())
            }
            Err(CommitFailure::Fatal(e)) => Err(e),
        }
    }

    /// Graceful shutdown: commits what was processed, then closes every task.
    pub(crate) fn shut_down(
        mut self,
        consumer: &ThreadConsumer,
        producer: &Arc<ThreadProducer>,
    ) -> Result<(), ThreadError> {
        let committed = self.commit_with(consumer, producer, CommitMode::Sync);
        for (_, task) in self.tasks {
            task.close_committed()?;
        }
        committed
    }
}

impl<G: TaskGraph, C> LocalStores for TaskManager<'_, G, C> {
    fn each_task(&self, visit: &mut dyn FnMut(TaskId, &crate::state::StoreSet)) {
        for (id, task) in &self.tasks {
            visit(*id, task.stores());
        }
    }
}

/// Counts a fetched record that has no queue among the thread's tasks as dropped and logs it.
fn report_unroutable(shared: &Shared, topic: &str, partition: i32, offset: i64) {
    shared.count_dropped(1);
    tracing::warn!(
        topic,
        partition,
        offset,
        "dropping a fetched record: no task of this thread reads its partition"
    );
}

/// Whether a commit failed because this member's group generation is over.
fn lost_generation(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::RebalanceInProgress
                | RDKafkaErrorCode::IllegalGeneration
                | RDKafkaErrorCode::UnknownMemberId
                | RDKafkaErrorCode::AssignmentLost
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn a_record_without_a_route_is_counted_as_dropped() {
        let shared = Shared::new(&StreamsConfig::new("unroutable"), "p".to_owned());
        report_unroutable(&shared, "in", 3, 42);
        report_unroutable(&shared, "in", 3, 43);
        assert_eq!(shared.dropped.load(Ordering::Relaxed), 2);
    }
}
