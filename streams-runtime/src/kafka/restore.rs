//! Restoring a task's stores from their changelog topics before it processes (Java's
//! `StoreChangelogReader`): each logged store reads `<application.id>-<store>-changelog`
//! partition `p` (the task's partition) from the beginning to its end, applying every record.

use super::kafka_error;
use crate::config::{ConsumerKind, StreamsConfig};
use crate::error::StreamsError;
use crate::state::StoreSet;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a restore may wait for the next changelog record before failing.
const RESTORE_TIMEOUT: Duration = Duration::from_secs(60);

/// Restores every logged store of `stores` from partition `partition` of its changelog, a
/// persistent store from after the offset in `checkpoint` (its local data covers the rest);
/// returns the last changelog offset each store now reflects.
pub(crate) fn restore_stores(
    config: &StreamsConfig,
    bootstrap: &str,
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
        let mut client = ClientConfig::new();
        client
            .set("bootstrap.servers", bootstrap)
            .set("group.id", format!("{}-restore", config.application_id))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false");
        for (k, v) in config.consumer_settings(ConsumerKind::Restore) {
            client.set(k, v);
        }
        let consumer: BaseConsumer = client.create().map_err(kafka_error("creating a restore consumer"))?;
        let (low, high) = match consumer.fetch_watermarks(&topic, partition, Duration::from_secs(10)) {
            Ok(w) => w,
            // The changelog does not exist yet: nothing to restore.
            Err(e) => {
                tracing::debug!(%topic, partition, error = %e, "no changelog to restore from");
                report(0);
                continue;
            }
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
        let mut store_applied = 0u64;
        let mut last_progress = Instant::now();
        loop {
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => {
                    stores.restore(index, m.key().unwrap_or_default(), m.payload())?;
                    store_applied += 1;
                    last_progress = Instant::now();
                    if m.offset() + 1 >= high {
                        break;
                    }
                }
                Some(Err(e)) => return Err(kafka_error(format!("restoring {topic}-{partition}"))(e)),
                None if last_progress.elapsed() > RESTORE_TIMEOUT => {
                    return Err(StreamsError::Kafka {
                        context: format!("restoring {topic}-{partition}"),
                        message: format!("timed out before offset {high}"),
                    });
                }
                None => {}
            }
        }
        tracing::info!(store = spec.name, %topic, partition, from = start, records = store_applied, "restored");
        report(store_applied);
        reached.insert(topic, high - 1);
    }
    Ok(reached)
}
