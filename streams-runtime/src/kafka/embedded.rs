//! An in-process Kafka-protocol cluster (librdkafka's mock cluster) for demos and tests: no
//! setup, loopback only. It supports produce, consume, consumer groups and commits; it does not
//! support CreateTopics (create topics here) or compaction, and does not enforce transactions.

use super::kafka_error;
use crate::error::StreamsError;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

/// A running in-process cluster; stopped when dropped.
pub struct EmbeddedCluster {
    cluster: MockCluster<'static, DefaultProducerContext>,
}

impl EmbeddedCluster {
    /// Starts a cluster of `brokers` brokers on loopback.
    pub fn start(brokers: i32) -> Result<Self, StreamsError> {
        let cluster = MockCluster::new(brokers).map_err(kafka_error("starting the embedded cluster"))?;
        Ok(EmbeddedCluster { cluster })
    }

    /// The `bootstrap.servers` to connect to it.
    pub fn bootstrap_servers(&self) -> String {
        self.cluster.bootstrap_servers()
    }

    /// Creates a topic with `partitions` partitions.
    pub fn create_topic(&self, topic: &str, partitions: i32) -> Result<(), StreamsError> {
        self.cluster
            .create_topic(topic, partitions, 1)
            .map_err(kafka_error(format!("creating topic {topic}")))
    }
}

impl std::fmt::Debug for EmbeddedCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedCluster")
            .field("bootstrap_servers", &self.bootstrap_servers())
            .finish()
    }
}
