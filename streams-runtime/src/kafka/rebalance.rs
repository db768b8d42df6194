//! The stream thread's consumer context (Java's `StreamsRebalanceListener`, eager protocol).
//!
//! On revocation, librdkafka's rebalance callback leaves the revoked partitions assigned and
//! tells the thread, which handles it as soon as `poll` returns, while it still belongs to the
//! group's generation (librdkafka waits for the unassign before rejoining): it flushes its
//! tasks' record caches, sends their output and commits every offset it has processed (the
//! transaction, under exactly-once), then unassigns. The new owner of a revoked partition
//! starts right after the last record processed here, and nothing those records produced is
//! lost. The callback cannot do it itself: the tasks, caches included, are not `Send`.
//!
//! A broker may refuse that commit (librdkafka's mock cluster does once a rebalance has begun).
//! The thread then keeps its positions, and when the same partitions come back to it (the
//! eager protocol revokes everything at every rebalance) the context starts them at those
//! positions instead of the committed offsets, as Java resumes suspended tasks: only records
//! of partitions that move to another member are processed twice (at-least-once).

use super::kafka_error;
use crate::error::StreamsError;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The stream thread's consumer, committing on revocation through its context.
pub(crate) type ThreadConsumer = BaseConsumer<RebalanceContext>;

/// A topic partition and the next offset to consume from it.
pub(crate) type Position = (&'static str, i32, i64);

/// What rebalances did, as the stream thread handles them after `poll` returns.
#[derive(Debug, Default)]
pub(crate) struct RebalanceEvents {
    /// Whether partitions were revoked.
    pub(crate) revoked: bool,
    /// Whether the revoked partitions are still assigned: the thread commits what it processed,
    /// then unassigns them (`false` when the thread was stopping: nothing is committed).
    pub(crate) unassign: bool,
    /// The partitions of the latest assignment, if there was one.
    pub(crate) assigned: Option<Vec<(String, i32)>>,
    /// Why the revocation failed (the thread fails, or restarts if its tasks migrated).
    pub(crate) failure: Option<StreamsError>,
}

/// The consumer context of a stream thread.
#[derive(Default)]
pub(crate) struct RebalanceContext {
    /// Positions whose commit on revocation failed: where those partitions resume if they
    /// are assigned back.
    resume: Mutex<Vec<Position>>,
    events: Mutex<RebalanceEvents>,
    pending: AtomicBool,
    /// Set when the thread stops: revocations no longer commit.
    stopped: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RebalanceContext {
    /// The revocation's commit of `positions` failed: if their partitions are assigned back,
    /// they resume there.
    pub(crate) fn resume_at(&self, positions: Vec<Position>) {
        *lock(&self.resume) = positions;
    }

    /// Stops committing on revocation (the thread is ending; see `stream_thread::run`).
    pub(crate) fn stop_committing(&self) {
        self.stopped.store(true, Ordering::Release);
    }

    /// What rebalances did since the last call, if anything (one atomic load when nothing).
    pub(crate) fn take_events(&self) -> Option<RebalanceEvents> {
        // A plain load first: the swap is a locked instruction, and this runs after every poll.
        if !self.pending.load(Ordering::Acquire) || !self.pending.swap(false, Ordering::AcqRel) {
            return None;
        }
        Some(std::mem::take(&mut *lock(&self.events)))
    }

    /// A stopping thread's revocation unassigns at once (it committed already, or failed);
    /// otherwise the thread commits and unassigns when `poll` returns.
    fn on_revoke(&self, consumer: &BaseConsumer<Self>) {
        let stopped = self.stopped.load(Ordering::Acquire);
        if stopped && let Err(e) = consumer.unassign() {
            tracing::warn!(error = %e, "unassigning revoked partitions");
        }
        let mut events = lock(&self.events);
        events.revoked = true;
        events.unassign = !stopped;
        self.pending.store(true, Ordering::Release);
    }

    fn on_assign(&self, consumer: &BaseConsumer<Self>, assignment: &mut TopicPartitionList) {
        for (topic, partition, next) in std::mem::take(&mut *lock(&self.resume)) {
            if assignment.find_partition(topic, partition).is_some() {
                let _ = assignment.set_partition_offset(topic, partition, Offset::Offset(next));
            }
        }
        if let Err(e) = consumer.assign(assignment) {
            lock(&self.events)
                .failure
                .get_or_insert(kafka_error("taking the assigned partitions")(e));
        }
        let partitions = assignment
            .elements()
            .iter()
            .map(|e| (e.topic().to_owned(), e.partition()))
            .collect();
        lock(&self.events).assigned = Some(partitions);
        self.pending.store(true, Ordering::Release);
    }
}

/// The offsets to commit for `positions`.
pub(crate) fn offsets(positions: &[Position]) -> Result<TopicPartitionList, StreamsError> {
    let mut offsets = TopicPartitionList::new();
    for &(topic, partition, next) in positions {
        offsets
            .add_partition_offset(topic, partition, Offset::Offset(next))
            .map_err(kafka_error("building the commit on revocation"))?;
    }
    Ok(offsets)
}

impl ClientContext for RebalanceContext {}

impl ConsumerContext for RebalanceContext {
    fn rebalance(&self, consumer: &BaseConsumer<Self>, err: RDKafkaRespErr, assignment: &mut TopicPartitionList) {
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => self.on_assign(consumer, assignment),
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => self.on_revoke(consumer),
            other => {
                tracing::warn!(error = ?other, "rebalance error; giving up the assignment");
                self.on_revoke(consumer);
            }
        }
    }
}
