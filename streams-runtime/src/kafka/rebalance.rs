//! The stream thread's consumer context (Java's `StreamsRebalanceListener`, eager protocol).
//!
//! On revocation, inside librdkafka's rebalance callback while the thread still belongs to the
//! group's generation, it flushes the producer and commits every offset the thread has
//! processed: the new owner of a revoked partition starts right after the last record
//! processed here, and nothing those records produced is lost.
//!
//! A broker may refuse that commit (librdkafka's mock cluster does once a rebalance has begun).
//! The thread then keeps its positions, and when the same partitions come back to it (the
//! eager protocol revokes everything at every rebalance) the context starts them at those
//! positions instead of the committed offsets, as Java resumes suspended tasks: only records
//! of partitions that move to another member are processed twice (at-least-once).
//!
//! The thread itself closes the tasks it lost after `poll` returns (tasks are not `Send`).

use super::kafka_error;
use super::record_collector::{self, ThreadProducer};
use crate::config::ProductionHandler;
use crate::error::StreamsError;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The stream thread's consumer, committing on revocation through its context.
pub(crate) type ThreadConsumer = BaseConsumer<RebalanceContext>;

/// A topic partition and the next offset to consume from it.
pub(crate) type Position = (&'static str, i32, i64);

/// What rebalances did, as the stream thread handles them after `poll` returns.
#[derive(Debug, Default)]
pub(crate) struct RebalanceEvents {
    /// Whether partitions were revoked.
    pub(crate) revoked: bool,
    /// Whether the processed offsets were committed when they were.
    pub(crate) committed: bool,
    /// The partitions of the latest assignment, if there was one.
    pub(crate) assigned: Option<Vec<(String, i32)>>,
    /// Why the revocation failed (the thread fails, or restarts if its tasks migrated).
    pub(crate) failure: Option<StreamsError>,
}

/// The consumer context of a stream thread.
pub(crate) struct RebalanceContext {
    producer: Arc<ThreadProducer>,
    production_handler: ProductionHandler,
    /// Under exactly-once, revocation commits the open transaction instead of offsets.
    exactly_once: bool,
    /// Offsets processed and not yet committed, published by the thread before each fetch.
    uncommitted: Mutex<Vec<Position>>,
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
    pub(crate) fn new(
        producer: Arc<ThreadProducer>,
        production_handler: ProductionHandler,
        exactly_once: bool,
    ) -> Self {
        RebalanceContext {
            producer,
            production_handler,
            exactly_once,
            uncommitted: Mutex::new(Vec::new()),
            resume: Mutex::new(Vec::new()),
            events: Mutex::new(RebalanceEvents::default()),
            pending: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
        }
    }

    /// Replaces the offsets a revocation would commit (called once per fetch round).
    pub(crate) fn publish(&self, positions: impl IntoIterator<Item = Position>) {
        let mut uncommitted = lock(&self.uncommitted);
        uncommitted.clear();
        uncommitted.extend(positions);
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

    /// Flushes the producer (an error fails the thread), then commits the published offsets
    /// (`false` if the broker refused; the positions are kept to resume from).
    fn commit_processed(&self, consumer: &BaseConsumer<Self>) -> Result<bool, StreamsError> {
        let positions = std::mem::take(&mut *lock(&self.uncommitted));
        if self.exactly_once {
            return self.commit_transaction(consumer, &positions);
        }
        if positions.is_empty() {
            return Ok(true);
        }
        record_collector::flush(&self.producer, self.production_handler, "on revocation")?;
        let offsets = offsets(&positions)?;
        match consumer.commit(&offsets, CommitMode::Sync) {
            Ok(()) => Ok(true),
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "offsets could not be committed on revocation; partitions that move to another \
                     member will be reprocessed from their last commit"
                );
                *lock(&self.resume) = positions;
                Ok(false)
            }
        }
    }

    /// Commits the open transaction with the published offsets (`false`: it was aborted, and
    /// the partitions restart from their committed offsets).
    fn commit_transaction(&self, consumer: &BaseConsumer<Self>, positions: &[Position]) -> Result<bool, StreamsError> {
        match super::exactly_once::commit(&self.producer, consumer, &offsets(positions)?, None) {
            Ok(()) => Ok(true),
            Err(super::exactly_once::CommitFailure::Aborted) => Ok(false),
            Err(super::exactly_once::CommitFailure::Fatal(e)) => Err(e),
        }
    }

    fn on_revoke(&self, consumer: &BaseConsumer<Self>) {
        let result = if self.stopped.load(Ordering::Acquire) {
            Ok(false)
        } else {
            self.commit_processed(consumer)
        };
        if let Err(e) = consumer.unassign() {
            tracing::warn!(error = %e, "unassigning revoked partitions");
        }
        let mut events = lock(&self.events);
        events.revoked = true;
        match result {
            Ok(committed) => events.committed = committed,
            Err(failure) => {
                events.failure.get_or_insert(failure);
            }
        }
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
fn offsets(positions: &[Position]) -> Result<TopicPartitionList, StreamsError> {
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
