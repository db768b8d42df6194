//! Exactly-once v2 (`processing.guarantee=exactly_once_v2`, KIP-447): one transactional
//! producer per stream thread, a transaction per commit interval holding the output, the
//! changelog writes and the consumed offsets (sent with the consumer's group metadata).
//!
//! A commit that fails with an abortable error aborts the transaction; the caller then drops
//! the stores' uncommitted writes and rewinds its consumer to the last committed positions.
//! A fenced producer (a newer one with the same transactional id exists: the tasks moved) ends
//! the thread with `TaskMigrated`, and the thread starts again without committing; any other
//! fatal producer error fails the thread.
//!
//! librdkafka 2.12's `send_offsets_to_transaction` can block for good, past its timeout, when the
//! group coordinator's broker is gone (its bugs #5456 and #5511). The call runs on a helper
//! thread; one that outlives its timeout by [`STUCK_GRACE`] gives the producer up: the thread
//! starts again with new clients, as after a fencing, and the new producer (same transactional
//! id) aborts the open transaction. The stuck call keeps the old producer until it returns.

use super::record_collector::ThreadProducer;
use super::thread_error::ThreadError;
use crate::error::StreamsError;
use rdkafka::TopicPartitionList;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, ConsumerGroupMetadata};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{Producer, PurgeConfig};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

/// How long a transactional call may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// How long `send_offsets_to_transaction` may take (one round trip to the group coordinator,
/// found again if it moved).
const SEND_OFFSETS_TIMEOUT: Duration = Duration::from_secs(10);

/// How long past its timeout `send_offsets_to_transaction` may run before the producer is given
/// up (giving up a call that was only slow costs a restart of the thread, not correctness: the
/// open transaction is aborted and its input processed again).
const STUCK_GRACE: Duration = Duration::from_secs(5);

/// Why the offsets could not be sent and the transaction committed.
enum SendFailure {
    /// librdkafka said why.
    Kafka(KafkaError),
    /// `send_offsets_to_transaction` outlived its timeout by [`STUCK_GRACE`].
    Stuck,
}

impl From<KafkaError> for SendFailure {
    fn from(e: KafkaError) -> Self {
        SendFailure::Kafka(e)
    }
}

/// How long to serve the delivery reports of purged records before an abort.
const PURGE_REPORTS: Duration = Duration::from_millis(500);

/// Java's transactional id for a thread under exactly-once v2:
/// `<application.id>-<process id>-<thread index>`.
pub(crate) fn transactional_id(application_id: &str, process_id: &str, thread_index: usize) -> String {
    format!("{application_id}-{process_id}-{thread_index}")
}

/// Why a transaction could not be committed.
#[derive(Debug)]
pub(crate) enum CommitFailure {
    /// The transaction was aborted (the reason is logged); the caller rolls back and rewinds.
    Aborted,
    /// The producer cannot go on (fenced, or a fatal producer error).
    Fatal(ThreadError),
}

fn fatal(context: &'static str, e: KafkaError) -> CommitFailure {
    CommitFailure::Fatal(if is_fenced(&e) {
        ThreadError::Migrated(format!("{context}: {e}"))
    } else {
        ThreadError::Failed(StreamsError::Kafka {
            context: context.into(),
            source: Box::new(e),
        })
    })
}

/// Whether a newer producer with the same transactional id fenced this one.
fn is_fenced(error: &KafkaError) -> bool {
    let code = match error {
        KafkaError::Transaction(e) => e.code(),
        other => match other.rdkafka_error_code() {
            Some(code) => code,
            None => return false,
        },
    };
    matches!(
        code,
        RDKafkaErrorCode::Fenced | RDKafkaErrorCode::ProducerFenced | RDKafkaErrorCode::InvalidProducerEpoch
    )
}

/// Starts the producer's transactions (fencing older producers with the same id) and opens the
/// first one.
pub(crate) fn init(producer: &ThreadProducer) -> Result<(), StreamsError> {
    producer
        .init_transactions(TIMEOUT)
        .and_then(|()| producer.begin_transaction())
        .map_err(|e| StreamsError::Kafka {
            context: "initializing transactions".into(),
            source: Box::new(e),
        })
}

/// Commits the open transaction with `offsets` (the next offsets to consume) and opens the next
/// one; on an abortable failure (or an `injected` one, for fault tests) aborts it and opens the
/// next one instead.
pub(crate) fn commit<C: ConsumerContext>(
    producer: &Arc<ThreadProducer>,
    consumer: &BaseConsumer<C>,
    offsets: &TopicPartitionList,
    injected: Option<&str>,
) -> Result<(), CommitFailure> {
    let committed = match injected {
        Some(fault) => Err(fault.to_owned()),
        None => match send_and_commit(producer, consumer, offsets) {
            Ok(()) => Ok(()),
            Err(SendFailure::Kafka(e)) if requires_abort(&e) => Err(e.to_string()),
            // Fatal, or a commit whose outcome is unknown after retries (it cannot be aborted).
            Err(SendFailure::Kafka(e)) => return Err(fatal("committing the transaction", e)),
            Err(SendFailure::Stuck) => {
                let reason = format!(
                    "send_offsets_to_transaction did not return within {:?} (librdkafka bugs #5456 and #5511: the group coordinator's broker is gone); the producer is given up",
                    SEND_OFFSETS_TIMEOUT + STUCK_GRACE
                );
                tracing::error!(%reason, "the thread starts again with new clients");
                return Err(CommitFailure::Fatal(ThreadError::Migrated(reason)));
            }
        },
    };
    if let Err(reason) = &committed {
        abort(producer, TIMEOUT).map_err(|e| fatal("aborting the transaction", e))?;
        tracing::warn!(%reason, "transaction aborted; rolling back to the last commit");
    }
    producer
        .begin_transaction()
        .map_err(|e| fatal("beginning a transaction", e))?;
    committed.map_err(|_| CommitFailure::Aborted)
}

/// Aborts the open transaction. Records still queued belong to it: they are purged and their
/// delivery reports served (a base producer must, before aborting), then their failures are
/// forgotten.
fn abort(producer: &ThreadProducer, timeout: Duration) -> Result<(), KafkaError> {
    producer.purge(PurgeConfig::default().queue().inflight());
    let _ = super::record_collector::deliver(producer, PURGE_REPORTS);
    producer.context().forget_failures();
    producer.abort_transaction(timeout)
}

/// How long a failed thread tries to abort its transaction before it goes anyway.
const ABORT_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// A thread that failed aborts its open transaction before it goes (Java closes its tasks
/// dirty). A replacement thread's `init_transactions` would abort it too, but after a shutdown
/// nothing would: read_committed readers of its partitions would wait for the broker's
/// transaction timeout. A fenced producer (or one with a fatal error) cannot abort: the producer
/// that fenced it, or the timeout, does.
pub(crate) fn abort_after_failure(producer: &ThreadProducer, failure: &ThreadError) {
    if matches!(failure, ThreadError::Migrated(_)) || producer.client().fatal_error().is_some() {
        return;
    }
    if let Err(e) = abort(producer, ABORT_AFTER_FAILURE) {
        tracing::warn!(error = %e, "could not abort the failed thread's transaction");
    }
}

/// Sends the offsets into the transaction and commits it, retrying each call librdkafka says
/// may be retried.
fn send_and_commit<C: ConsumerContext>(
    producer: &Arc<ThreadProducer>,
    consumer: &BaseConsumer<C>,
    offsets: &TopicPartitionList,
) -> Result<(), SendFailure> {
    if offsets.count() > 0 {
        retrying(|| {
            let metadata = consumer.group_metadata().ok_or(KafkaError::Canceled)?;
            send_offsets(producer, offsets, metadata)
        })?;
    }
    // Delivered first, in short polls: a commit with records in flight took 100 ms.
    super::record_collector::deliver(producer, TIMEOUT)?;
    retrying(|| Ok(producer.commit_transaction(TIMEOUT)?))
}

/// `send_offsets_to_transaction` on a helper thread, waited for up to [`SEND_OFFSETS_TIMEOUT`]
/// plus [`STUCK_GRACE`]; a call still running then is left to finish (or not) with its producer.
fn send_offsets(
    producer: &Arc<ThreadProducer>,
    offsets: &TopicPartitionList,
    metadata: ConsumerGroupMetadata,
) -> Result<(), SendFailure> {
    let (done, result) = mpsc::sync_channel(1);
    let (producer, offsets) = (Arc::clone(producer), offsets.clone());
    let spawned = std::thread::Builder::new()
        .name("txn-send-offsets".to_owned())
        .spawn(move || {
            let _ = done.send(producer.send_offsets_to_transaction(&offsets, &metadata, SEND_OFFSETS_TIMEOUT));
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no helper thread for send_offsets_to_transaction");
        return Err(SendFailure::Stuck);
    }
    let sent = result.recv_timeout(SEND_OFFSETS_TIMEOUT + STUCK_GRACE);
    Ok(sent.map_err(|_| SendFailure::Stuck)??)
}

/// How often a retriable transactional call is tried.
const ATTEMPTS: usize = 3;

fn retrying(mut call: impl FnMut() -> Result<(), SendFailure>) -> Result<(), SendFailure> {
    let mut attempt = 1;
    loop {
        match call() {
            Err(SendFailure::Kafka(KafkaError::Transaction(e))) if e.is_retriable() && attempt < ATTEMPTS => {
                tracing::warn!(error = %e, attempt, "retrying a transactional call");
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// Whether an error leaves the transaction to be aborted (and the producer usable): librdkafka
/// says so, or the records could not be flushed before the commit was even asked for.
fn requires_abort(error: &KafkaError) -> bool {
    match error {
        KafkaError::Transaction(e) => e.txn_requires_abort() && !e.is_fatal(),
        KafkaError::Flush(_) => true,
        _ => false,
    }
}
