//! Sending what tasks emit (Java's `RecordCollector`): the thread's producer, its delivery
//! reports (the last delivered offset of every changelog partition, for checkpoints, and
//! delivery failures for the production handler), and the dead-letter copies of skipped records.

use super::kafka_error;
use super::routes::Routes;
use crate::config::ProductionHandler;
use crate::error::StreamsError;
use crate::graph::TaskGraph;
use crate::task::{Destination, Task};
use rdkafka::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer as _, ProducerContext};
use std::sync::Mutex;
use std::time::Duration;

/// The stream thread's producer.
pub(crate) type ThreadProducer = BaseProducer<OutputContext>;

/// The stream thread's producer context: records the last delivered offset of every changelog
/// partition, and delivery failures for the production handler.
#[derive(Default)]
pub(crate) struct OutputContext {
    /// Per store index, (partition, last delivered offset) of its changelog's partitions.
    changelog_offsets: Mutex<Vec<Vec<(i32, i64)>>>,
    failures: Mutex<Vec<String>>,
}

/// The delivery opaque of a produced record: the index of the store whose changelog it was
/// written to, plus one; 0 for every other record. The delivery report then knows a changelog
/// record without looking at its topic's name.
fn delivery_opaque(destination: Destination) -> usize {
    match destination {
        Destination::Changelog(store) => store + 1,
        Destination::Topic(_) | Destination::Repartition(_) => 0,
    }
}

impl ClientContext for OutputContext {}

impl ProducerContext for OutputContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, opaque: usize) {
        match result {
            Ok(m) => {
                let Some(store) = opaque.checked_sub(1) else {
                    return;
                };
                let mut offsets = self.changelog_offsets.lock().unwrap_or_else(|p| p.into_inner());
                if offsets.len() <= store {
                    offsets.resize_with(store + 1, Vec::new);
                }
                let partitions = &mut offsets[store];
                match partitions.iter_mut().find(|(p, _)| *p == m.partition()) {
                    Some(entry) => entry.1 = entry.1.max(m.offset()),
                    None => partitions.push((m.partition(), m.offset())),
                }
            }
            Err((e, m)) => self.failures.lock().unwrap_or_else(|p| p.into_inner()).push(format!(
                "{}-{}: {e}",
                m.topic(),
                m.partition()
            )),
        }
    }
}

impl OutputContext {
    /// The last delivered offset of partition `partition` of the changelog of the store at
    /// index `store`.
    pub(crate) fn changelog_offset(&self, store: usize, partition: i32) -> Option<i64> {
        let offsets = self.changelog_offsets.lock().unwrap_or_else(|p| p.into_inner());
        offsets
            .get(store)?
            .iter()
            .find(|(p, _)| *p == partition)
            .map(|(_, o)| *o)
    }

    /// Drops the delivery failures collected so far (they belonged to an aborted transaction).
    pub(crate) fn forget_failures(&self) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Delivery failures since the last call: an error under the default production handler,
    /// logged and dropped under `Continue`.
    pub(crate) fn take_failures(&self, handler: ProductionHandler) -> Result<(), StreamsError> {
        let failures = std::mem::take(&mut *self.failures.lock().unwrap_or_else(|p| p.into_inner()));
        if failures.is_empty() {
            return Ok(());
        }
        match handler {
            ProductionHandler::Fail => Err(StreamsError::Production { failures }),
            ProductionHandler::Continue => {
                for f in failures {
                    tracing::warn!(failure = %f, "a record could not be produced; continuing");
                }
                Ok(())
            }
        }
    }
}

/// Produces everything `task` emitted: sinks to their topics, changelogs to the task's
/// partition of `<app>-<store>-changelog`, repartition records by key.
pub(crate) fn send_output<G: TaskGraph>(
    producer: &ThreadProducer,
    routes: &Routes,
    partition: i32,
    task: &mut Task<G>,
) -> Result<(), StreamsError> {
    let mut result = Ok(());
    task.drain_output(|r| {
        if result.is_err() {
            return;
        }
        let (topic, partition) = match r.destination {
            Destination::Topic(t) => (t, r.partition),
            Destination::Changelog(store) => (routes.changelogs[store].as_str(), Some(partition)),
            Destination::Repartition(source) => (routes.source_topics[source].as_str(), r.partition),
        };
        let mut record = BaseRecord::<[u8], [u8], usize>::with_opaque_to(topic, delivery_opaque(r.destination))
            .timestamp(r.timestamp);
        if let Some(k) = r.key {
            record = record.key(k);
        }
        if let Some(v) = r.value {
            record = record.payload(v);
        }
        if let Some(p) = partition {
            record = record.partition(p);
        }
        if !r.headers.is_empty() {
            let mut headers = OwnedHeaders::new_with_capacity(r.headers.len());
            for (key, value) in r.headers.entries() {
                headers = headers.insert(Header { key, value });
            }
            record = record.headers(headers);
        }
        result = send(producer, record);
    });
    result
}

/// A record that failed, as the error handlers and the dead-letter topic see it.
pub(crate) struct Failed<'a> {
    /// Its topic.
    pub(crate) topic: &'static str,
    /// Its partition.
    pub(crate) partition: i32,
    /// Its offset.
    pub(crate) offset: i64,
    /// Its key bytes.
    pub(crate) key: Option<&'a [u8]>,
    /// Its value bytes.
    pub(crate) value: Option<&'a [u8]>,
}

/// Writes the raw `failed` record to the dead-letter topic `topic`, with headers naming its
/// topic and the error.
pub(crate) fn send_dead_letter(
    producer: &ThreadProducer,
    topic: &str,
    failed: &Failed<'_>,
    error: &StreamsError,
) -> Result<(), StreamsError> {
    let mut record = BaseRecord::<[u8], [u8], usize>::with_opaque_to(topic, 0);
    if let Some(k) = failed.key {
        record = record.key(k);
    }
    if let Some(v) = failed.value {
        record = record.payload(v);
    }
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: "__streams.errors.topic",
            value: Some(failed.topic),
        })
        .insert(Header {
            key: "__streams.errors.exception",
            value: Some(&error.to_string()),
        });
    send(producer, record.headers(headers))
}

/// Queues `record`, serving delivery reports while the producer's queue is full.
fn send(producer: &ThreadProducer, mut record: BaseRecord<'_, [u8], [u8], usize>) -> Result<(), StreamsError> {
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                producer.poll(Duration::from_millis(10));
                record = back;
            }
            Err((e, back)) => return Err(kafka_error(format!("producing to {}", back.topic))(e)),
        }
    }
}

/// How long a flush waits for everything queued to be delivered.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a flush waits for delivery reports at a time. rust-rdkafka's own `flush` waits in
/// polls of 100 ms that do not return when a report arrives, so every commit with records in
/// flight took 100 ms (measured: output of every partition paused 100-150 ms at each commit).
const FLUSH_POLL: Duration = Duration::from_millis(1);

/// Waits until everything queued is delivered, then applies the production handler to the
/// failures (at-least-once: output is durable before the input is marked done).
pub(crate) fn flush(producer: &ThreadProducer, handler: ProductionHandler, context: &str) -> Result<(), StreamsError> {
    deliver(producer, FLUSH_TIMEOUT).map_err(kafka_error(format!("flushing the producer {context}")))?;
    producer.context().take_failures(handler)
}

/// Sends what lingers and serves delivery reports until nothing is in flight, in polls of
/// [`FLUSH_POLL`]; a flush timeout once `timeout` has passed. Failures stay recorded in the
/// producer's context for the caller. Every wait for deliveries goes through it, never through
/// rust-rdkafka's `flush` (whose polls last 100 ms whatever arrives). Exactly-once runs it
/// before committing the transaction: librdkafka's commit flushes too, but a base producer's
/// delivery reports are served only by its polls, so a commit with records in flight took
/// 100 ms (measured: every commit of the word count under steady input, which doubled its
/// end-to-end latency).
pub(crate) fn deliver<C: ProducerContext>(producer: &BaseProducer<C>, timeout: Duration) -> Result<(), KafkaError> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        // Each call also tells librdkafka to send what lingers at once.
        match producer.flush(Duration::ZERO) {
            Ok(()) => return Ok(()),
            Err(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut)) if std::time::Instant::now() < deadline => {
                producer.poll(FLUSH_POLL);
            }
            Err(e) => return Err(e),
        }
    }
}
