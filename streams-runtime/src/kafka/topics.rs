//! Internal topics at startup (Java's `InternalTopicManager` and its co-partitioning check):
//! repartition topics are created through the admin client with as many partitions as the
//! widest source topic, compacted changelogs with as many as their sub-topology's source
//! topics; then, per sub-topology, the source topics and changelogs must all have the same
//! count (task `s_p` reads partition `p` of each and writes partition `p` of each changelog).

use super::kafka_error;
use crate::config::StreamsConfig;
use crate::error::StreamsError;
use crate::topology::Topology;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::{RDKafkaErrorCode, RDKafkaRespErr};
use std::collections::BTreeMap;
use std::time::Duration;

const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// A client for metadata requests, with the admin client's settings (security included).
fn metadata_client(config: &StreamsConfig) -> Result<BaseConsumer, StreamsError> {
    config
        .client_config(config.admin_settings())
        .create()
        .map_err(kafka_error("creating a metadata client"))
}

/// Partition counts of every topic in the cluster that the application may describe.
pub(crate) fn partition_counts(config: &StreamsConfig) -> Result<BTreeMap<String, usize>, StreamsError> {
    let metadata = metadata_client(config)?
        .fetch_metadata(None, METADATA_TIMEOUT)
        .map_err(kafka_error("fetching metadata"))?;
    Ok(metadata
        .topics()
        .iter()
        .filter(|t| t.error().is_none())
        .map(|t| (t.name().to_owned(), t.partitions().len()))
        .collect())
}

/// Why the source topic `topic` is missing from the cluster's metadata: it does not exist, or
/// the application's principal may not describe it (the cluster hides such topics).
fn missing_source(config: &StreamsConfig, topic: &str) -> StreamsError {
    let unauthorized = metadata_client(config)
        .ok()
        .and_then(|client| client.fetch_metadata(Some(topic), METADATA_TIMEOUT).ok())
        .is_some_and(|m| {
            m.topics()
                .iter()
                .any(|t| t.error() == Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED))
        });
    let message = if unauthorized {
        format!(
            "not authorized to describe source topic {topic}: the application's principal needs the \
             DESCRIBE and READ ACLs on it"
        )
    } else {
        format!("source topic {topic} does not exist; create it before starting")
    };
    StreamsError::Topics {
        context: "checking source topics",
        message,
    }
}

/// Creates the missing internal topics and checks that each sub-topology's topics are
/// co-partitioned.
pub(crate) fn prepare<T: Topology>(config: &StreamsConfig) -> Result<(), StreamsError> {
    let app = &config.application_id;
    let counts = partition_counts(config)?;
    let mut widest = 0;
    for source in T::SOURCES.iter().filter(|s| !s.internal) {
        for topic in source.topics {
            match counts.get(*topic) {
                // A global table's topic does not size the partitioned topics.
                Some(&n) if !source.global => widest = widest.max(n),
                Some(_) => {}
                None => return Err(missing_source(config, topic)),
            }
        }
    }
    let groups = copartition_groups::<T>(app);
    // Internal topics (repartition topics, a foreign-key join's subscription and response
    // topics) get as many partitions as the other source topics of the sub-topology that reads
    // them (they are co-partitioned with those), or the widest source topic if there are none.
    let internal: Vec<String> = T::SOURCES
        .iter()
        .filter(|s| s.internal)
        .map(|s| s.topic_name(app))
        .collect();
    let mut planned_internal: BTreeMap<String, usize> = BTreeMap::new();
    for (sources, _) in &groups {
        let external = sources
            .iter()
            .filter(|t| !internal.contains(t))
            .filter_map(|t| counts.get(t).copied())
            .max();
        for topic in sources.iter().filter(|t| internal.contains(t)) {
            planned_internal.insert(topic.clone(), external.unwrap_or(widest));
        }
    }
    // Partition counts as they will be once the missing internal topics exist.
    let planned = |topic: &str| {
        counts
            .get(topic)
            .copied()
            .or_else(|| planned_internal.get(topic).copied())
            .unwrap_or(0)
    };
    let mut missing: Vec<(String, Cleanup, usize)> = Vec::new();
    for (sources, changelogs) in &groups {
        for topic in sources
            .iter()
            .filter(|t| internal.contains(t) && !counts.contains_key(*t))
        {
            missing.push((topic.clone(), Cleanup::Repartition, planned(topic)));
        }
        let partitions = sources.iter().map(|t| planned(t)).max().unwrap_or(widest);
        for changelog in changelogs.iter().filter(|t| !counts.contains_key(*t)) {
            let cleanup = changelog_cleanup::<T>(config, changelog);
            missing.push((changelog.clone(), cleanup, partitions));
        }
    }
    let control = super::control::control_topic(app);
    if !counts.contains_key(&control) {
        missing.push((control, Cleanup::Delete, 1));
    }
    let counts = if missing.is_empty() {
        counts
    } else {
        create(config, &missing)?;
        partition_counts(config)?
    };
    for (subtopology, (sources, changelogs)) in groups.iter().enumerate() {
        let found: Vec<(&String, usize)> = sources
            .iter()
            .chain(changelogs)
            .filter_map(|t| counts.get(t).map(|n| (t, *n)))
            .collect();
        if found.windows(2).any(|w| w[0].1 != w[1].1) {
            let list: Vec<String> = found.iter().map(|(t, n)| format!("{t} ({n})")).collect();
            return Err(StreamsError::Topics {
                context: "checking co-partitioning",
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

/// How an internal topic is cleaned up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cleanup {
    /// The broker's default (the control topic).
    Delete,
    /// Deleted, but never by time (`retention.ms = -1`, 50 MB segments), as Java's
    /// `RepartitionTopicConfig`: a record with an old timestamp waits for its consumer.
    Repartition,
    /// Compacted (key-value changelogs).
    Compact,
    /// Compacted and deleted after `retention.ms` (window and session changelogs, as in Java).
    CompactDelete { retention_ms: i64 },
    /// Compacted, but not before `min.compaction.lag.ms` (versioned changelogs: history
    /// retention plus a day, as Java's `VersionedChangelogTopicConfig`).
    CompactAfter { min_lag_ms: i64 },
}

/// The cleanup of the changelog `changelog` of one of `T`'s stores: window and session
/// changelogs also delete what is older than the store's retention plus
/// `windowstore.changelog.additional.retention.ms`, as in Java.
fn changelog_cleanup<T: Topology>(config: &StreamsConfig, changelog: &str) -> Cleanup {
    let app = &config.application_id;
    match T::STORES.iter().find(|s| s.changelog_topic(app) == changelog) {
        Some(store) if store.kind == crate::state::StoreKind::Versioned => Cleanup::CompactAfter {
            min_lag_ms: store.retention_ms.saturating_add(86_400_000),
        },
        Some(store) if store.kind != crate::state::StoreKind::KeyValue => {
            let additional =
                i64::try_from(config.windowstore_changelog_additional_retention.as_millis()).unwrap_or(i64::MAX);
            Cleanup::CompactDelete {
                retention_ms: store.retention_ms.saturating_add(additional),
            }
        }
        _ => Cleanup::Compact,
    }
}

/// The configuration of an internal topic cleaned up by `cleanup`: the internal defaults, each
/// overridden by the user's `topic.` setting of the same name, except the retention of a windowed
/// changelog, which follows its store (Java's `InternalTopicConfig` subclasses).
fn topic_config(cleanup: Cleanup, user: &[(String, String)]) -> Vec<(String, String)> {
    let defaults: &[(&str, &str)] = match cleanup {
        Cleanup::Delete => &[],
        Cleanup::Repartition => &[
            ("cleanup.policy", "delete"),
            ("segment.bytes", "52428800"),
            ("retention.ms", "-1"),
        ],
        Cleanup::Compact | Cleanup::CompactAfter { .. } => &[("cleanup.policy", "compact")],
        Cleanup::CompactDelete { .. } => &[("cleanup.policy", "compact,delete")],
    };
    let mut settings: Vec<(String, String)> = defaults
        .iter()
        .filter(|(k, _)| !user.iter().any(|(u, _)| u == k))
        .map(|&(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    settings.extend(user.iter().cloned());
    match cleanup {
        Cleanup::CompactDelete { retention_ms } => {
            settings.retain(|(k, _)| k != "retention.ms");
            settings.push(("retention.ms".to_owned(), retention_ms.to_string()));
        }
        Cleanup::CompactAfter { min_lag_ms } if !settings.iter().any(|(k, _)| k == "min.compaction.lag.ms") => {
            settings.push(("min.compaction.lag.ms".to_owned(), min_lag_ms.to_string()));
        }
        _ => {}
    }
    settings
}

/// Creates `(name, cleanup, partitions)` topics with the `topic.` settings.
fn create(config: &StreamsConfig, topics: &[(String, Cleanup, usize)]) -> Result<(), StreamsError> {
    let admin: AdminClient<DefaultClientContext> = config
        .client_config(config.admin_settings())
        .create()
        .map_err(kafka_error("creating the admin client"))?;
    let topic_settings = config.topic_settings();
    let settings: Vec<Vec<(String, String)>> = topics
        .iter()
        .map(|(_, cleanup, _)| topic_config(*cleanup, &topic_settings))
        .collect();
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .zip(&settings)
        .map(|((name, _, partitions), settings)| {
            settings.iter().fold(
                NewTopic::new(
                    name,
                    *partitions as i32,
                    TopicReplication::Fixed(i32::from(config.replication_factor)),
                ),
                |topic, (k, v)| topic.set(k, v),
            )
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|source| StreamsError::Io {
            context: "starting the admin runtime".into(),
            source,
        })?;
    let options = AdminOptions::new()
        .request_timeout(Some(Duration::from_secs(30)))
        .operation_timeout(Some(Duration::from_secs(30)));
    match runtime.block_on(admin.create_topics(new_topics.iter(), &options)) {
        Ok(results) => {
            for result in results {
                match result {
                    Ok(topic) => tracing::info!(%topic, "created internal topic"),
                    // Another instance created it first.
                    Err((topic, RDKafkaErrorCode::TopicAlreadyExists)) => {
                        tracing::debug!(%topic, "internal topic exists")
                    }
                    Err((topic, code)) => {
                        let hint = if code == RDKafkaErrorCode::TopicAuthorizationFailed {
                            format!(
                                ": the application's principal needs the CREATE ACL on topics prefixed `{}-`",
                                config.application_id
                            )
                        } else {
                            String::new()
                        };
                        return Err(StreamsError::Topics {
                            context: "creating internal topics",
                            message: format!("could not create {topic}: {code}{hint}"),
                        });
                    }
                }
            }
        }
        // The embedded cluster has no CreateTopics: its topics are created through it.
        Err(e) => tracing::warn!(error = %e, "the cluster did not create internal topics; create them yourself"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Cleanup, topic_config};

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|&(k, v)| (k.to_owned(), v.to_owned())).collect()
    }

    #[test]
    fn repartition_topics_never_expire_by_time_unless_the_user_says_so() {
        assert_eq!(
            topic_config(Cleanup::Repartition, &[]),
            owned(&[
                ("cleanup.policy", "delete"),
                ("segment.bytes", "52428800"),
                ("retention.ms", "-1")
            ])
        );
        assert_eq!(
            topic_config(Cleanup::Repartition, &owned(&[("segment.bytes", "1048576")])),
            owned(&[
                ("cleanup.policy", "delete"),
                ("retention.ms", "-1"),
                ("segment.bytes", "1048576")
            ])
        );
    }

    #[test]
    fn a_windowed_changelog_keeps_its_store_retention_over_the_users() {
        assert_eq!(
            topic_config(
                Cleanup::CompactDelete { retention_ms: 5 },
                &owned(&[("retention.ms", "1"), ("min.insync.replicas", "1")])
            ),
            owned(&[
                ("cleanup.policy", "compact,delete"),
                ("min.insync.replicas", "1"),
                ("retention.ms", "5")
            ])
        );
        assert_eq!(
            topic_config(Cleanup::Compact, &owned(&[("cleanup.policy", "compact,delete")])),
            owned(&[("cleanup.policy", "compact,delete")])
        );
    }
}
