//! Restoring a task's stores from their changelog topics before it processes (Java's
//! `StoreChangelogReader`): each logged store reads `<application.id>-<store>-changelog`
//! partition `p` (the task's partition) from the beginning (or its checkpoint) to its end,
//! applying every record. A scoped thread fetches while the task's thread applies the previous
//! batch (stores are not `Send`), as Java's state updater restores beside processing.

use super::kafka_error;
use crate::config::{ConsumerKind, StreamsConfig};
use crate::error::StreamsError;
use crate::state::StoreSet;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

/// How long a restore may wait for the next changelog record before failing.
const RESTORE_TIMEOUT: Duration = Duration::from_secs(60);

/// Restores every logged store of `stores` from partition `partition` of its changelog, a
/// persistent store from after the offset in `checkpoint` (its local data covers the rest);
/// returns the last changelog offset each store now reflects.
pub(crate) fn restore_stores(
    config: &StreamsConfig,
    stores: &StoreSet,
    partition: i32,
    shared: &super::Shared,
    checkpoint: &HashMap<String, i64>,
) -> Result<HashMap<String, i64>, StreamsError> {
    let mut reached = HashMap::new();
    for (index, spec) in stores.logged() {
        let started = Instant::now();
        let report = |records| {
            shared.restored(&super::Restored {
                store: spec.name,
                partition,
                records,
                duration: started.elapsed(),
            })
        };
        let topic = spec.changelog_topic(&config.application_id);
        let mut client = super::consumer_base_config(config);
        client
            .set("group.id", format!("{}-restore", config.application_id))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false");
        for (k, v) in config.consumer_settings(ConsumerKind::Restore) {
            client.set(k, v);
        }
        if config.exactly_once() {
            // Aborted changelog writes must not be restored.
            client.set("isolation.level", "read_committed");
        }
        let consumer: BaseConsumer = client.create().map_err(kafka_error("creating a restore consumer"))?;
        let (low, high) = match consumer.fetch_watermarks(&topic, partition, Duration::from_secs(10)) {
            Ok(w) => w,
            // The changelog does not exist yet: nothing to restore.
            Err(e) if missing_partition(&e) => {
                tracing::debug!(%topic, partition, error = %e, "no changelog to restore from");
                report(0);
                continue;
            }
            // Anything else (a timeout, an unreachable broker) must not pass for an empty store.
            Err(e) => return Err(kafka_error(format!("reading the end of {topic}-{partition}"))(e)),
        };
        let start = match checkpoint.get(&topic) {
            Some(&offset) if spec.persistent => (offset + 1).max(low),
            _ => low,
        };
        if high <= start {
            if high > 0 {
                reached.insert(topic.clone(), high - 1);
            }
            report(0);
            continue;
        }
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(&topic, partition, Offset::Offset(start))
            .map_err(kafka_error("assigning a changelog partition"))?;
        consumer
            .assign(&assignment)
            .map_err(kafka_error("assigning a changelog partition"))?;
        let store_applied = std::thread::scope(|scope| {
            let (batches, received) = std::sync::mpsc::sync_channel(BATCHES_IN_FLIGHT);
            let reader = (&consumer, topic.as_str());
            scope.spawn(move || fetch_batches(reader.0, reader.1, partition, high, &batches));
            let mut applied = 0u64;
            let (mut reported, mut logged) = (Instant::now(), Instant::now());
            for batch in received {
                let batch: Batch = batch?;
                for (key, value, timestamp) in &batch.records {
                    let value = value.clone().map(|v| &batch.bytes[v]);
                    stores.restore(index, &batch.bytes[key.clone()], value, *timestamp)?;
                }
                applied += batch.records.len() as u64;
                if reported.elapsed() >= PROGRESS_REPORT {
                    reported = Instant::now();
                    let progress = super::RestoreProgress {
                        store: spec.name,
                        partition,
                        restored: applied,
                        total: (high - start) as u64,
                        elapsed: started.elapsed(),
                    };
                    shared.restore_progress(&progress);
                    if logged.elapsed() >= PROGRESS_LOG {
                        logged = Instant::now();
                        tracing::info!(
                            store = spec.name,
                            partition,
                            restored = applied,
                            total = progress.total,
                            records_per_second = progress.rate() as u64,
                            eta_seconds = progress.eta().map(|d| d.as_secs()),
                            "restoring"
                        );
                    }
                }
            }
            Ok::<_, StreamsError>(applied)
        })?;
        tracing::info!(store = spec.name, %topic, partition, from = start, records = store_applied, "restored");
        report(store_applied);
        reached.insert(topic, high - 1);
    }
    Ok(reached)
}

/// How often a restoration's progress goes to the progress listener.
const PROGRESS_REPORT: Duration = Duration::from_secs(1);

/// How often a restoration's progress is logged.
const PROGRESS_LOG: Duration = Duration::from_secs(10);

/// How many fetched batches may wait for the task's thread.
const BATCHES_IN_FLIGHT: usize = 4;

/// The most records in one batch.
const BATCH_RECORDS: usize = 2_000;

/// Changelog records fetched together: their bytes in one buffer.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    /// Key, value and timestamp of each record.
    records: Vec<(Range<usize>, Option<Range<usize>>, i64)>,
}

impl Batch {
    fn push(&mut self, key: &[u8], value: Option<&[u8]>, timestamp: i64) {
        let mut copy = |data: &[u8]| {
            let start = self.bytes.len();
            self.bytes.extend_from_slice(data);
            start..self.bytes.len()
        };
        let key = copy(key);
        let value = value.map(copy);
        self.records.push((key, value, timestamp));
    }
}

/// Reads `topic`'s `partition` (already assigned) up to offset `high`, sending batches; stops
/// early when the receiver is gone (the restore failed).
fn fetch_batches(
    consumer: &BaseConsumer,
    topic: &str,
    partition: i32,
    high: i64,
    batches: &SyncSender<Result<Batch, StreamsError>>,
) {
    let mut batch = Batch::default();
    // Since when polls have returned nothing (no clock read per record).
    let mut idle_since: Option<Instant> = None;
    loop {
        let wait = if batch.records.is_empty() { POLL } else { Duration::ZERO };
        let (hand_over, done) = match consumer.poll(wait) {
            Some(Ok(m)) => {
                idle_since = None;
                batch.push(
                    m.key().unwrap_or_default(),
                    m.payload(),
                    m.timestamp().to_millis().unwrap_or(-1),
                );
                let done = m.offset() + 1 >= high;
                (done || batch.records.len() >= BATCH_RECORDS, done)
            }
            // Transient errors (a broker connection lost) are retried by the client; the idle
            // timeout below ends a restore that makes no progress.
            Some(Err(e)) => {
                tracing::warn!(%topic, partition, error = %e, "restore consumer error");
                (false, false)
            }
            // Nothing more right now: hand over what there is.
            None if !batch.records.is_empty() => (true, false),
            // The end may hold no record to read (a transaction marker, a compacted tail).
            None if position(consumer, topic, partition).is_some_and(|p| p >= high) => return,
            None if idle_since.get_or_insert_with(Instant::now).elapsed() > RESTORE_TIMEOUT => {
                let _ = batches.send(Err(StreamsError::Timeout {
                    context: format!("restoring {topic}-{partition}").into(),
                    message: format!("no changelog record before offset {high}"),
                }));
                return;
            }
            None => (false, false),
        };
        if hand_over && batches.send(Ok(std::mem::take(&mut batch))).is_err() || done {
            return;
        }
    }
}

/// Whether a watermark query failed because the topic or partition does not exist.
fn missing_partition(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::UnknownPartition
                | RDKafkaErrorCode::UnknownTopic
                | RDKafkaErrorCode::UnknownTopicOrPartition
        )
    )
}

/// The consumer's next offset in `topic`'s `partition`, once it has one.
fn position(consumer: &BaseConsumer, topic: &str, partition: i32) -> Option<i64> {
    let positions = consumer.position().ok()?;
    match positions.find_partition(topic, partition)?.offset() {
        Offset::Offset(next) => Some(next),
        _ => None,
    }
}

/// How long the fetching thread waits for records when it has none to hand over.
const POLL: Duration = Duration::from_millis(100);

#[cfg(test)]
mod tests {
    use super::super::RestoreProgress;
    use std::time::Duration;

    #[test]
    fn progress_tells_the_rate_and_the_time_left() {
        let progress = RestoreProgress {
            store: "s",
            partition: 0,
            restored: 20_000,
            total: 100_000,
            elapsed: Duration::from_secs(2),
        };
        assert_eq!(progress.rate(), 10_000.0);
        assert_eq!(progress.eta(), Some(Duration::from_secs(8)));
        let started = RestoreProgress {
            restored: 0,
            ..progress
        };
        assert_eq!((started.rate(), started.eta()), (0.0, None));
    }
}
