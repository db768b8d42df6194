//! Internal topics at startup (Java's `InternalTopicManager` and its co-partitioning check):
//! repartition topics and compacted changelogs are created through the admin client with as many
//! partitions as the widest source topic, then every source topic must have the same count
//! (a task holds partition `p` of all of them).

use super::kafka_error;
use crate::config::StreamsConfig;
use crate::error::StreamsError;
use crate::topology::Topology;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use std::collections::BTreeMap;
use std::time::Duration;

const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// Partition counts of every topic in the cluster.
fn partition_counts(bootstrap: &str) -> Result<BTreeMap<String, usize>, StreamsError> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .map_err(kafka_error("creating a metadata client"))?;
    let metadata = consumer
        .fetch_metadata(None, METADATA_TIMEOUT)
        .map_err(kafka_error("fetching metadata"))?;
    Ok(metadata
        .topics()
        .iter()
        .map(|t| (t.name().to_owned(), t.partitions().len()))
        .collect())
}

/// Creates the missing internal topics and checks that all source topics are co-partitioned.
pub(crate) fn prepare<T: Topology>(config: &StreamsConfig, bootstrap: &str) -> Result<(), StreamsError> {
    let app = &config.application_id;
    let counts = partition_counts(bootstrap)?;
    let external: Vec<&str> = T::SOURCES
        .iter()
        .filter(|s| !s.internal)
        .flat_map(|s| s.topics.iter().copied())
        .collect();
    let mut widest = 0;
    for topic in &external {
        match counts.get(*topic) {
            Some(&n) => widest = widest.max(n),
            None => {
                return Err(StreamsError::Kafka {
                    context: "checking source topics".to_owned(),
                    message: format!("source topic {topic} does not exist; create it before starting"),
                });
            }
        }
    }
    let repartition = T::SOURCES
        .iter()
        .filter(|s| s.internal)
        .map(|s| (s.topic_name(app), false));
    let changelogs = T::STORES
        .iter()
        .filter(|s| s.logging)
        .map(|s| (s.changelog_topic(app), true));
    let missing: Vec<(String, bool)> = repartition
        .chain(changelogs)
        .filter(|(name, _)| !counts.contains_key(name))
        .collect();
    if !missing.is_empty() {
        create(config, bootstrap, &missing, widest)?;
    }
    let counts = partition_counts(bootstrap)?;
    let sources: Vec<String> = T::SOURCES
        .iter()
        .flat_map(|s| {
            if s.internal {
                vec![s.topic_name(app)]
            } else {
                s.topics.iter().map(|t| (*t).to_owned()).collect()
            }
        })
        .collect();
    let found: Vec<(String, usize)> = sources
        .iter()
        .filter_map(|t| counts.get(t).map(|n| (t.clone(), *n)))
        .collect();
    if found.windows(2).any(|w| w[0].1 != w[1].1) {
        let list: Vec<String> = found.iter().map(|(t, n)| format!("{t} ({n})")).collect();
        return Err(StreamsError::Kafka {
            context: "checking co-partitioning".to_owned(),
            message: format!(
                "the source topics of a topology must have the same number of partitions: {}",
                list.join(", ")
            ),
        });
    }
    Ok(())
}

fn create(
    config: &StreamsConfig,
    bootstrap: &str,
    topics: &[(String, bool)],
    partitions: usize,
) -> Result<(), StreamsError> {
    let mut client = ClientConfig::new();
    client.set("bootstrap.servers", bootstrap);
    for (k, v) in config.admin_settings() {
        client.set(k, v);
    }
    let admin: AdminClient<DefaultClientContext> = client.create().map_err(kafka_error("creating the admin client"))?;
    let topic_settings = config.topic_settings();
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|(name, compact)| {
            let mut topic = NewTopic::new(
                name,
                partitions as i32,
                TopicReplication::Fixed(i32::from(config.replication_factor)),
            );
            if *compact {
                topic = topic.set("cleanup.policy", "compact");
            }
            for (k, v) in &topic_settings {
                topic = topic.set(k, v);
            }
            topic
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| StreamsError::Kafka {
            context: "starting the admin runtime".to_owned(),
            message: e.to_string(),
        })?;
    let options = AdminOptions::new()
        .request_timeout(Some(Duration::from_secs(30)))
        .operation_timeout(Some(Duration::from_secs(30)));
    match runtime.block_on(admin.create_topics(new_topics.iter(), &options)) {
        Ok(results) => {
            for result in results {
                match result {
                    Ok(topic) => tracing::info!(%topic, partitions, "created internal topic"),
                    Err((topic, code)) => tracing::warn!(%topic, ?code, "could not create internal topic"),
                }
            }
        }
        // The embedded cluster has no CreateTopics: its topics are created through it.
        Err(e) => tracing::warn!(error = %e, "the cluster did not create internal topics; create them yourself"),
    }
    Ok(())
}
