//! Shutting down every instance of an application (Java's `SHUTDOWN_APPLICATION`).
//!
//! Java passes the request through its own partition assignor; librdkafka offers no custom
//! assignor, so a one-partition internal topic, `<application.id>-control`, carries it instead.
//! Every instance watches the topic from the end from its start on; an instance whose thread
//! failed with [`ThreadFailureResponse::ShutdownApplication`](super::ThreadFailureResponse)
//! writes a request there, and every instance that reads it stops its threads and enters
//! `Error`.

use super::{Shared, kafka_error};
use crate::config::{ConsumerKind, StreamsConfig};
use crate::error::StreamsError;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use std::sync::Arc;
use std::time::Duration;

/// The value of a shutdown request.
const SHUTDOWN_APPLICATION: &[u8] = b"shutdown-application";

/// How long the watcher waits for a request in one poll (also how quickly it sees `close`).
const WATCH_POLL: Duration = Duration::from_millis(100);

/// The control topic of an application.
pub(crate) fn control_topic(application_id: &str) -> String {
    format!("{application_id}-control")
}

/// Watches the control topic (from its end at the time the watcher starts) on a thread of its
/// own, until the application stops; if the topic cannot be read, only this instance stops on
/// a request (logged).
pub(crate) fn watch(config: &StreamsConfig, shared: &Arc<Shared>) -> Option<std::thread::JoinHandle<()>> {
    let (config, shared) = (config.clone(), Arc::clone(shared));
    let spawned = std::thread::Builder::new()
        .name(format!("{}-control", config.application_id))
        .spawn(move || {
            let topic = control_topic(&config.application_id);
            let consumer = match start_consumer(&config, &topic) {
                Ok(consumer) => consumer,
                Err(error) => {
                    tracing::warn!(%topic, %error, "cannot watch for shutdown requests of other instances");
                    return;
                }
            };
            while !shared.stopping() {
                match consumer.poll(WATCH_POLL) {
                    Some(Ok(m)) if m.payload() == Some(SHUTDOWN_APPLICATION) => {
                        let from = m.key().map(String::from_utf8_lossy).unwrap_or_default();
                        shared.fail(StreamsError::ShutdownRequested {
                            instance: from.to_string(),
                        });
                    }
                    Some(Err(error)) => tracing::debug!(%error, "reading the control topic"),
                    _ => {}
                }
            }
        });
    spawned.ok()
}

fn start_consumer(config: &StreamsConfig, topic: &str) -> Result<BaseConsumer, StreamsError> {
    let mut client = config.client_config(Vec::new());
    client
        .set("group.id", format!("{}-control", config.application_id))
        .set("enable.auto.commit", "false");
    for (k, v) in config.consumer_settings(ConsumerKind::Global) {
        client.set(k, v);
    }
    if config.exactly_once() {
        client.set("isolation.level", "read_committed");
    }
    let consumer: BaseConsumer = client.create().map_err(kafka_error("creating the control consumer"))?;
    // The topic may have been created a moment ago: until every broker knows it, its partition
    // is unknown.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let high = loop {
        match consumer.fetch_watermarks(topic, 0, Duration::from_secs(10)) {
            Ok((_, high)) => break high,
            Err(e) if std::time::Instant::now() < deadline && e.rdkafka_error_code().is_some_and(unknown_partition) => {
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => return Err(kafka_error(format!("reading the end of {topic}"))(e)),
        }
    };
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, 0, Offset::Offset(high))
        .map_err(kafka_error("assigning the control topic"))?;
    consumer
        .assign(&assignment)
        .map_err(kafka_error("assigning the control topic"))?;
    Ok(consumer)
}

/// Whether `code` says the topic or partition is not (yet) known.
fn unknown_partition(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::UnknownPartition | RDKafkaErrorCode::UnknownTopic | RDKafkaErrorCode::UnknownTopicOrPartition
    )
}

/// Asks every instance of the application to shut down, naming this instance and the error.
pub(crate) fn request_shutdown(config: &StreamsConfig, instance: &str, error: &str) {
    let topic = control_topic(&config.application_id);
    let sent = (|| -> Result<(), StreamsError> {
        let producer: BaseProducer = config
            .client_config(config.producer_settings())
            .create()
            .map_err(kafka_error("creating the control producer"))?;
        let headers = OwnedHeaders::new().insert(Header {
            key: "__streams.errors.exception",
            value: Some(error),
        });
        let record = BaseRecord::<str, [u8]>::to(&topic)
            .partition(0)
            .key(instance)
            .payload(SHUTDOWN_APPLICATION)
            .headers(headers);
        producer
            .send(record)
            .map_err(|(e, _)| kafka_error(format!("writing to {topic}"))(e))?;
        producer
            .flush(Duration::from_secs(10))
            .map_err(kafka_error(format!("writing to {topic}")))
    })();
    match sent {
        Ok(()) => tracing::error!(%error, "requested every instance of the application to shut down"),
        Err(e) => tracing::error!(%error, send_error = %e, "could not ask the other instances to shut down"),
    }
}
