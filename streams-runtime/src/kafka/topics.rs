//! Internal topics at startup (Java's `InternalTopicManager` and its co-partitioning check):
//! repartition topics are created through the admin client with as many partitions as the
//! widest source topic, compacted changelogs with as many as their sub-topology's source
//! topics; then, per sub-topology, the source topics and changelogs must all have the same
//! count (task `s_p` reads partition `p` of each and writes partition `p` of each changelog).

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

/// Creates the missing internal topics and checks that each sub-topology's topics are
/// co-partitioned.
pub(crate) fn prepare<T: Topology>(config: &StreamsConfig, bootstrap: &str) -> Result<(), StreamsError> {
    let app = &config.application_id;
    let counts = partition_counts(bootstrap)?;
    let mut widest = 0;
    for source in T::SOURCES.iter().filter(|s| !s.internal) {
        for topic in source.topics {
            match counts.get(*topic) {
                // A global table's topic does not size the partitioned topics.
                Some(&n) if !source.global => widest = widest.max(n),
                Some(_) => {}
                None => {
                    return Err(StreamsError::Kafka {
                        context: "checking source topics".to_owned(),
                        message: format!("source topic {topic} does not exist; create it before starting"),
                    });
                }
            }
        }
    }
    let groups = copartition_groups::<T>(app);
    // Partition counts as they will be once the missing repartition topics exist.
    let planned = |topic: &str| {
        counts
            .get(topic)
            .copied()
            .unwrap_or(if topic.ends_with("-repartition") { widest } else { 0 })
    };
    let mut missing: Vec<(String, bool, usize)> = Vec::new();
    for (sources, changelogs) in &groups {
        for topic in sources
            .iter()
            .filter(|t| t.ends_with("-repartition") && !counts.contains_key(*t))
        {
            missing.push((topic.clone(), false, widest));
        }
        let partitions = sources.iter().map(|t| planned(t)).max().unwrap_or(widest);
        for changelog in changelogs.iter().filter(|t| !counts.contains_key(*t)) {
            missing.push((changelog.clone(), true, partitions));
        }
    }
    let control = super::control::control_topic(app);
    if !counts.contains_key(&control) {
        missing.push((control, false, 1));
    }
    let counts = if missing.is_empty() {
        counts
    } else {
        create(config, bootstrap, &missing)?;
        partition_counts(bootstrap)?
    };
    for (subtopology, (sources, changelogs)) in groups.iter().enumerate() {
        let found: Vec<(&String, usize)> = sources
            .iter()
            .chain(changelogs)
            .filter_map(|t| counts.get(t).map(|n| (t, *n)))
            .collect();
        if found.windows(2).any(|w| w[0].1 != w[1].1) {
            let list: Vec<String> = found.iter().map(|(t, n)| format!("{t} ({n})")).collect();
            return Err(StreamsError::Kafka {
                context: "checking co-partitioning".to_owned(),
                message: format!(
                    "the source topics and changelogs of sub-topology {subtopology} must have the same number \
                     of partitions: {}",
                    list.join(", ")
                ),
            });
        }
    }
    Ok(())
}

/// Per sub-topology: its source topics (repartition topics with their full names) and the
/// changelogs of its logged stores.
fn copartition_groups<T: Topology>(app: &str) -> Vec<(Vec<String>, Vec<String>)> {
    let subtopologies = crate::describe::subtopologies(T::NODES);
    subtopologies
        .iter()
        .map(|members| {
            let in_sub = |name: &str| members.iter().any(|&n| T::NODES[n].name == name);
            let sources = T::SOURCES
                .iter()
                .filter(|s| !s.global && in_sub(s.name))
                .flat_map(|s| {
                    if s.internal {
                        vec![s.topic_name(app)]
                    } else {
                        s.topics.iter().map(|t| (*t).to_owned()).collect()
                    }
                })
                .collect();
            let changelogs = T::STORES
                .iter()
                .filter(|store| store.logging && members.iter().any(|&n| T::NODES[n].uses_store(store.name)))
                .map(|store| store.changelog_topic(app))
                .collect();
            (sources, changelogs)
        })
        .collect()
}

/// Creates `(name, compacted, partitions)` topics with the `topic.` settings.
fn create(config: &StreamsConfig, bootstrap: &str, topics: &[(String, bool, usize)]) -> Result<(), StreamsError> {
    let mut client = ClientConfig::new();
    client.set("bootstrap.servers", bootstrap);
    for (k, v) in config.admin_settings() {
        client.set(k, v);
    }
    let admin: AdminClient<DefaultClientContext> = client.create().map_err(kafka_error("creating the admin client"))?;
    let topic_settings = config.topic_settings();
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|(name, compact, partitions)| {
            let mut topic = NewTopic::new(
                name,
                *partitions as i32,
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
                    Ok(topic) => tracing::info!(%topic, "created internal topic"),
                    Err((topic, code)) => tracing::warn!(%topic, ?code, "could not create internal topic"),
                }
            }
        }
        // The embedded cluster has no CreateTopics: its topics are created through it.
        Err(e) => tracing::warn!(error = %e, "the cluster did not create internal topics; create them yourself"),
    }
    Ok(())
}
