//! The brokers the Kafka tests run on.
//!
//! - [`TestBroker::embedded`]: librdkafka's in-process cluster. No setup; it runs the
//!   transactional call sequence but does not enforce it (aborted records stay visible to
//!   read_committed readers, producers are not fenced, transactional offsets are not stored).
//! - [`TestBroker::transactional`]: a broker that enforces transactions, named by
//!   `STREAMS_TEST_BOOTSTRAP` (host:port; a Kafka broker with CreateTopics, one test run per
//!   fresh broker). This machine has none: Tansu 0.6 has no EndTxn, Nisshi 0.8 (its successor)
//!   refuses transactional producers, and neither lists aborted transactions in fetch
//!   responses, so read_committed readers could not skip aborted records. Without the
//!   variable the tests that need one say so and return.

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use streams_runtime::kafka::EmbeddedCluster;

/// A broker for one test.
pub enum TestBroker {
    /// librdkafka's in-process cluster.
    Embedded(EmbeddedCluster),
    /// The broker in `STREAMS_TEST_BOOTSTRAP`.
    External(String),
}

impl TestBroker {
    /// librdkafka's in-process cluster.
    #[allow(dead_code)] // not every test file uses both kinds
    pub fn embedded() -> Self {
        TestBroker::Embedded(EmbeddedCluster::start(1).unwrap())
    }

    /// The broker in `STREAMS_TEST_BOOTSTRAP`, or `None` after printing that `test` was not
    /// verified here and why.
    pub fn transactional(test: &str) -> Option<Self> {
        match std::env::var("STREAMS_TEST_BOOTSTRAP") {
            Ok(bootstrap) => Some(TestBroker::External(bootstrap)),
            Err(_) => {
                println!(
                    "SKIPPED {test} (not verifiable here): it needs a broker that enforces \
                     transactions, named by STREAMS_TEST_BOOTSTRAP=host:port; the embedded cluster \
                     does not enforce them and this machine has no other broker that does"
                );
                None
            }
        }
    }

    /// The `bootstrap.servers` to connect to it.
    pub fn bootstrap(&self) -> String {
        match self {
            TestBroker::Embedded(cluster) => cluster.bootstrap_servers(),
            TestBroker::External(bootstrap) => bootstrap.clone(),
        }
    }

    /// Creates `topics`, each with `partitions` partitions.
    pub fn create_topics(&self, topics: impl IntoIterator<Item = String>, partitions: i32) {
        let topics: Vec<String> = topics.into_iter().collect();
        if let TestBroker::Embedded(cluster) = self {
            for topic in &topics {
                cluster.create_topic(topic, partitions).unwrap();
            }
            return;
        }
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap())
            .create()
            .unwrap();
        let new: Vec<NewTopic<'_>> = topics
            .iter()
            .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1)))
            .collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for result in runtime
            .block_on(admin.create_topics(new.iter(), &AdminOptions::new()))
            .unwrap()
        {
            result.unwrap();
        }
    }
}
