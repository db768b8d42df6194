//! The stream thread's consumer context (Java's `StreamsRebalanceListener`).
//!
//! Eager protocol (`range`, the default):
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
//!
//! Cooperative protocol (`cooperative-sticky`): the group assigns only each sub-topology's
//! leading input topic; the context adds partition `p` of the sub-topology's other input topics
//! to every leading partition `p` it is given (`incremental_assign`) and removes them with it,
//! so co-partitioning holds whatever the sticky assignor decides. A revocation names only the
//! partitions that move: the thread commits, closes their tasks and gives them (and their
//! partners) up with `incremental_unassign`; the other tasks go on.

use super::kafka_error;
use crate::error::StreamsError;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::collections::HashMap;
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
    /// Under the cooperative protocol, the partitions revoked (with their partners): only
    /// their tasks stop.
    pub(crate) revoked_partitions: Vec<(String, i32)>,
    /// The partitions of the latest assignment, if there was one (under the cooperative
    /// protocol, the whole assignment after the increment).
    pub(crate) assigned: Option<Vec<(String, i32)>>,
    /// Why the revocation failed (the thread fails, or restarts if its tasks migrated).
    pub(crate) failure: Option<StreamsError>,
}

/// The consumer context of a stream thread.
#[derive(Default)]
pub(crate) struct RebalanceContext {
    /// Under the cooperative protocol, each leading topic's partner topics (see the module
    /// documentation); `None` under the eager protocol.
    cooperative: Option<HashMap<&'static str, Vec<&'static str>>>,
    /// Positions whose commit on revocation failed: where those partitions resume if they
    /// are assigned back.
    resume: Mutex<Vec<Position>>,
    events: Mutex<RebalanceEvents>,
    pending: AtomicBool,
    /// Set when the thread stops: revocations no longer commit.
    stopped: AtomicBool,
    /// Whether the consumer reads committed records only (its lag is to the last stable offset).
    read_committed: bool,
    /// The lag of each assigned partition from the consumer's latest statistics, until the
    /// thread takes it: (topic, partition, records).
    lags: Mutex<Option<Vec<(String, i32, i64)>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RebalanceContext {
    /// A context for the cooperative protocol with the partner topics of each leading topic
    /// (`None`: the eager protocol).
    /// `read_committed`: the consumer's isolation level is `read_committed`.
    pub(crate) fn new(cooperative: Option<HashMap<&'static str, Vec<&'static str>>>, read_committed: bool) -> Self {
        RebalanceContext {
            cooperative,
            read_committed,
            ..RebalanceContext::default()
        }
    }

    /// The partitions' lags the consumer reported since the last call, if it reported.
    pub(crate) fn take_lags(&self) -> Option<Vec<(String, i32, i64)>> {
        lock(&self.lags).take()
    }

    /// Whether the consumer rebalances cooperatively.
    pub(crate) fn cooperative(&self) -> bool {
        self.cooperative.is_some()
    }

    /// `partitions` with, under the cooperative protocol, partition `p` of each partner topic
    /// of a leading topic's partition `p`.
    fn with_partners(&self, partitions: &TopicPartitionList) -> TopicPartitionList {
        let mut all = partitions.clone();
        if let Some(partners) = &self.cooperative {
            for element in partitions.elements() {
                for partner in partners.get(element.topic()).into_iter().flatten() {
                    if all.find_partition(partner, element.partition()).is_none() {
                        all.add_partition(partner, element.partition());
                    }
                }
            }
        }
        all
    }

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
    fn on_revoke(&self, consumer: &BaseConsumer<Self>, revoked: &TopicPartitionList) {
        let stopped = self.stopped.load(Ordering::Acquire);
        let revoked = self.with_partners(revoked);
        if stopped {
            let unassigned = match self.cooperative() {
                true => consumer.incremental_unassign(&revoked),
                false => consumer.unassign(),
            };
            if let Err(e) = unassigned {
                tracing::warn!(error = %e, "unassigning revoked partitions");
            }
        }
        let mut events = lock(&self.events);
        events.revoked = true;
        events.unassign = !stopped;
        if self.cooperative() {
            events
                .revoked_partitions
                .extend(revoked.elements().iter().map(|e| (e.topic().to_owned(), e.partition())));
        }
        self.pending.store(true, Ordering::Release);
    }

    fn on_assign(&self, consumer: &BaseConsumer<Self>, assignment: &mut TopicPartitionList) {
        let mut assignment = self.with_partners(assignment);
        for (topic, partition, next) in std::mem::take(&mut *lock(&self.resume)) {
            if assignment.find_partition(topic, partition).is_some() {
                let _ = assignment.set_partition_offset(topic, partition, Offset::Offset(next));
            }
        }
        let taken = match self.cooperative() {
            true => consumer.incremental_assign(&assignment),
            false => consumer.assign(&assignment),
        };
        if let Err(e) = taken {
            lock(&self.events)
                .failure
                .get_or_insert(kafka_error("taking the assigned partitions")(e));
        }
        // Under the cooperative protocol the tasks follow the whole assignment.
        if self.cooperative() {
            match consumer.assignment() {
                Ok(whole) => assignment = whole,
                Err(e) => {
                    lock(&self.events)
                        .failure
                        .get_or_insert(kafka_error("reading the assignment")(e));
                }
            }
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

impl ClientContext for RebalanceContext {
    /// librdkafka's statistics (every `statistics.interval.ms`): keeps each assigned
    /// partition's lag as Java's `records-lag` counts it, from the position the application
    /// was given to the end of the partition (its last stable offset under `read_committed`).
    fn stats(&self, statistics: rdkafka::Statistics) {
        let mut lags = Vec::new();
        for (name, topic) in statistics.topics {
            for (&partition, stats) in &topic.partitions {
                let end = if self.read_committed {
                    stats.ls_offset
                } else {
                    stats.hi_offset
                };
                if partition >= 0 && stats.desired && stats.app_offset >= 0 && end >= 0 {
                    lags.push((name.clone(), partition, (end - stats.app_offset).max(0)));
                }
            }
        }
        lags.sort();
        *lock(&self.lags) = Some(lags);
    }
}

impl ConsumerContext for RebalanceContext {
    /// The outcome of an asynchronous commit (the cooperative protocol's periodic commits): a
    /// failure is logged; the next commit of each partition supersedes it.
    fn commit_callback(&self, result: rdkafka::error::KafkaResult<()>, _offsets: &TopicPartitionList) {
        if let Err(error) = result {
            tracing::warn!(%error, "offsets not committed (the next commit of each partition supersedes them)");
        }
    }

    fn rebalance(&self, consumer: &BaseConsumer<Self>, err: RDKafkaRespErr, assignment: &mut TopicPartitionList) {
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => self.on_assign(consumer, assignment),
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => self.on_revoke(consumer, assignment),
            other => {
                tracing::warn!(error = ?other, "rebalance error; giving up the assignment");
                // All of it: under the cooperative protocol too.
                let whole = match self.cooperative() {
                    true => consumer.assignment().unwrap_or_else(|_| assignment.clone()),
                    false => assignment.clone(),
                };
                self.on_revoke(consumer, &whole);
            }
        }
    }
}
