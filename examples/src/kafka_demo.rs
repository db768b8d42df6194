//! Helpers for running the examples against Kafka: an embedded cluster with the topics a
//! topology needs, a producer of input lines and a reader of output records.

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use std::time::{Duration, Instant};
use streams_runtime::error::StreamsError;

fn kafka(context: &str) -> impl FnOnce(rdkafka::error::KafkaError) -> StreamsError + '_ {
    move |e| StreamsError::Kafka {
        context: context.to_owned().into(),
        source: Box::new(e),
    }
}

/// Produces `lines` as values with null keys to `topic`, and waits until they are written.
pub fn produce_lines(bootstrap: &str, topic: &str, lines: &[String]) -> Result<(), StreamsError> {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .map_err(kafka("creating the input producer"))?;
    for line in lines {
        producer
            .send(BaseRecord::<[u8], str>::to(topic).payload(line.as_str()))
            .map_err(|(e, _)| kafka("producing input")(e))?;
    }
    producer.flush(Duration::from_secs(10)).map_err(kafka("flushing input"))
}

/// Reads a topic from the beginning with its own consumer group, handing each record's key
/// and value bytes to `on_record` until it returns `true` (done) or `timeout` passes; `false`
/// on timeout.
pub fn read_topic(
    bootstrap: &str,
    topic: &str,
    group: &str,
    timeout: Duration,
    mut on_record: impl FnMut(Option<&[u8]>, Option<&[u8]>) -> bool,
) -> Result<bool, StreamsError> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .map_err(kafka("creating the output reader"))?;
    consumer
        .subscribe(&[topic])
        .map_err(kafka("subscribing the output reader"))?;
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) if on_record(m.key(), m.payload()) => return Ok(true),
            Some(Err(e)) => return Err(kafka("reading output")(e)),
            Some(Ok(_)) | None => {}
        }
    }
    Ok(false)
}
