//! The application's control topic, `<application.id>-control` (one partition): what Java
//! passes through its own partition assignor, which librdkafka does not let us write.
//!
//! - Shutting down every instance (Java's `SHUTDOWN_APPLICATION`): an instance whose thread
//!   failed with [`ThreadFailureResponse::ShutdownApplication`](super::ThreadFailureResponse)
//!   writes a request, and every instance that reads it stops its threads and enters `Error`.
//!   Requests written before an instance started are not for it.
//! - Every instance's endpoint and partitions, for interactive queries (see
//!   [`metadata_state`](super::metadata_state)): an instance with `application.server` announces
//!   itself after each change of its assignment and withdraws when it closes.
//!
//! Every instance reads the topic from its beginning on a thread of its own.

use super::metadata_state::Announcement;
use super::{Shared, kafka_error};
use crate::config::{ConsumerKind, StreamsConfig};
use crate::error::StreamsError;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord};
use rdkafka::{Offset, TopicPartitionList};
use std::sync::Arc;
use std::time::Duration;

/// The value of a shutdown request.
const SHUTDOWN_APPLICATION: &[u8] = b"shutdown-application";

/// How often an instance says its unchanged assignment again.
const REANNOUNCE: Duration = Duration::from_secs(60);

/// The header that marks an instance's announcement (key: its process id; value: the JSON of
/// an [`Announcement`], null when it closes).
const ANNOUNCEMENT: &str = "__streams.announcement";

/// How long the watcher waits for a request in one poll (also how quickly it sees `close`).
const WATCH_POLL: Duration = Duration::from_millis(100);

/// The control topic of an application.
pub(crate) fn control_topic(application_id: &str) -> String {
    format!("{application_id}-control")
}

/// Watches the control topic on a thread of its own until the application stops, and announces
/// this instance's assignment there whenever it changes (with `application.server` set); if
/// the topic cannot be read, only this instance stops on a request (logged) and no other
/// instance's metadata is known.
pub(crate) fn watch(config: &StreamsConfig, shared: &Arc<Shared>) -> Option<std::thread::JoinHandle<()>> {
    let (config, shared) = (config.clone(), Arc::clone(shared));
    let spawned = std::thread::Builder::new()
        .name(format!("{}-control", config.application_id))
        .spawn(move || {
            let topic = control_topic(&config.application_id);
            let (consumer, first_request) = match start_consumer(&config, &topic) {
                Ok(started) => started,
                Err(error) => {
                    tracing::warn!(%topic, %error, "cannot watch for shutdown requests of other instances");
                    return;
                }
            };
            let announces = config.application_server.is_some() || config.num_standby_replicas > 0;
            let mut announcer = announces.then(|| Announcer::new(&config, &shared)).flatten();
            while !shared.stopping() {
                if let Some(announcer) = &mut announcer {
                    announcer.announce_changes(&shared, &topic);
                }
                match consumer.poll(WATCH_POLL) {
                    Some(Ok(m)) if is_announcement(&m) => {
                        let instance = m.key().map(String::from_utf8_lossy).unwrap_or_default();
                        let announcement = m.payload().and_then(|p| serde_json::from_slice(p).ok());
                        let written = m.timestamp().to_millis().unwrap_or_default();
                        shared.metadata().apply(m.offset(), written, &instance, announcement);
                    }
                    Some(Ok(m)) if m.payload() == Some(SHUTDOWN_APPLICATION) && m.offset() >= first_request => {
                        let from = m.key().map(String::from_utf8_lossy).unwrap_or_default();
                        shared.fail(StreamsError::ShutdownRequested {
                            instance: from.to_string(),
                        });
                    }
                    Some(Err(error)) => tracing::debug!(%error, "reading the control topic"),
                    _ => {}
                }
            }
            if let Some(announcer) = announcer {
                announcer.withdraw(&shared, &topic);
            }
        });
    spawned.ok()
}

fn is_announcement(message: &rdkafka::message::BorrowedMessage<'_>) -> bool {
    use rdkafka::message::Headers;
    message
        .headers()
        .is_some_and(|headers| headers.iter().any(|h| h.key == ANNOUNCEMENT))
}

/// Writes this instance's announcements.
struct Announcer {
    producer: BaseProducer,
    /// What every announcement says besides the partitions.
    client: String,
    host: Option<crate::metadata::HostInfo>,
    tags: std::collections::BTreeMap<String, String>,
    /// The assignment version last announced, and when.
    announced: Option<(u64, std::time::Instant)>,
}

impl Announcer {
    fn new(config: &StreamsConfig, shared: &Shared) -> Option<Self> {
        match config.client_config(config.producer_settings()).create() {
            Ok(producer) => Some(Announcer {
                producer,
                client: config.client_id_prefix(shared.process_id()),
                host: config.application_server.clone(),
                tags: config.client_tags.clone(),
                announced: None,
            }),
            Err(error) => {
                tracing::warn!(%error, "cannot announce this instance for interactive queries");
                None
            }
        }
    }

    /// Announces the instance's partitions if they changed since the last announcement.
    fn announce_changes(&mut self, shared: &Shared, topic: &str) {
        let (version, partitions, standby) = shared.local_partitions();
        // Unchanged, it is said again now and then: the topic's retention must not forget a
        // quiet instance, and the others drop one not heard of for a while.
        if self
            .announced
            .is_some_and(|(announced, at)| announced == version && at.elapsed() < REANNOUNCE)
        {
            return;
        }
        let announcement = Announcement {
            client: self.client.clone(),
            host: self.host.clone(),
            partitions,
            standby,
            tags: self.tags.clone(),
        };
        if let Ok(json) = serde_json::to_vec(&announcement)
            && self.send(shared, topic, Some(&json))
        {
            self.announced = Some((version, std::time::Instant::now()));
        }
    }

    /// Says the instance is gone (it closes).
    fn withdraw(self, shared: &Shared, topic: &str) {
        self.send(shared, topic, None);
        if let Err(error) = super::record_collector::deliver(&self.producer, Duration::from_secs(5)) {
            tracing::warn!(%error, "withdrawing this instance from the control topic");
        }
    }

    /// Queues an announcement; whether it was queued (a lost one is said again later).
    fn send(&self, shared: &Shared, topic: &str, payload: Option<&[u8]>) -> bool {
        let headers = OwnedHeaders::new().insert(Header::<&[u8]> {
            key: ANNOUNCEMENT,
            value: None,
        });
        let mut record = BaseRecord::<str, [u8]>::to(topic)
            .partition(0)
            .key(shared.process_id())
            .headers(headers);
        if let Some(payload) = payload {
            record = record.payload(payload);
        }
        let sent = self.producer.send(record);
        self.producer.poll(Duration::ZERO);
        match sent {
            Ok(()) => true,
            Err((error, _)) => {
                tracing::warn!(%error, "announcing this instance on the control topic");
                false
            }
        }
    }
}

/// A consumer of the control topic from its beginning, and the topic's end when it started
/// (where the shutdown requests meant for this instance begin).
fn start_consumer(config: &StreamsConfig, topic: &str) -> Result<(BaseConsumer, i64), StreamsError> {
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
        .add_partition_offset(topic, 0, Offset::Beginning)
        .map_err(kafka_error("assigning the control topic"))?;
    consumer
        .assign(&assignment)
        .map_err(kafka_error("assigning the control topic"))?;
    Ok((consumer, high))
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
        super::record_collector::deliver(&producer, Duration::from_secs(10))
            .map_err(kafka_error(format!("writing to {topic}")))
    })();
    match sent {
        Ok(()) => tracing::error!(%error, "requested every instance of the application to shut down"),
        Err(e) => tracing::error!(%error, send_error = %e, "could not ask the other instances to shut down"),
    }
}
