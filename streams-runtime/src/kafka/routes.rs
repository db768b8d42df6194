//! The topology's topics as a stream thread addresses them: source topics to source indices
//! and sub-topologies, and the topics behind changelog and repartition destinations. Built once
//! per application and shared by its threads (and their restarts).

use crate::processor::TaskId;
use crate::topology::{NodeSpecKind, Topology};
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

/// `name` as a `'static` string: records carry their topic as one. Each distinct name is
/// allocated once per process, however many applications, threads and restarts use it.
pub(crate) fn intern(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(&known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// The topics of one application's topology.
pub(crate) struct Routes {
    /// Topic name → (source index, the topic's `'static` name).
    pub(crate) sources: HashMap<String, (usize, &'static str)>,
    /// Changelog topic per store index.
    pub(crate) changelogs: Vec<String>,
    /// Full topic name per source index (repartition topics prefixed with the application id).
    pub(crate) source_topics: Vec<String>,
    /// The sub-topology of each source index.
    source_subtopology: Vec<u32>,
    /// The node indices of each sub-topology.
    pub(crate) subtopologies: Vec<Vec<usize>>,
    /// Per sub-topology's leading input topic (its first): the sub-topology's other input
    /// topics, co-partitioned with it (what a cooperative rebalance assigns along with it).
    pub(crate) partners: HashMap<&'static str, Vec<&'static str>>,
}

impl Routes {
    /// The routes of `T` in application `application_id`.
    pub(crate) fn new<T: Topology>(application_id: &str) -> Self {
        let mut sources = HashMap::new();
        let mut source_topics = Vec::new();
        for (index, spec) in T::SOURCES.iter().enumerate() {
            if spec.internal {
                let full = intern(&spec.topic_name(application_id));
                sources.insert(full.to_owned(), (index, full));
                source_topics.push(full.to_owned());
            } else {
                // A global table's topic is read by the global thread, not through the group.
                if !spec.global {
                    for topic in spec.topics {
                        sources.insert((*topic).to_owned(), (index, *topic));
                    }
                }
                source_topics.push(spec.topics[0].to_owned());
            }
        }
        let changelogs = T::STORES.iter().map(|s| s.changelog_topic(application_id)).collect();
        let subtopologies = crate::describe::subtopologies(T::NODES);
        let source_subtopology = T::SOURCES
            .iter()
            .map(|spec| {
                let node = T::NODES.iter().position(|n| n.name == spec.name);
                let sub = subtopologies
                    .iter()
                    .position(|members| node.is_some_and(|n| members.contains(&n)));
                sub.unwrap_or_default() as u32
            })
            .collect();
        let mut routes = Routes {
            sources,
            changelogs,
            source_topics,
            source_subtopology,
            subtopologies,
            partners: HashMap::new(),
        };
        for s in 0..routes.subtopologies.len() {
            let inputs: Vec<&'static str> = routes.inputs_of(s as u32).into_iter().map(|(t, _)| t).collect();
            if let Some((&leader, others)) = inputs.split_first() {
                routes.partners.insert(leader, others.to_vec());
            }
        }
        routes
    }

    /// The task that consumes `partition` of the topic read by the source at `source`.
    pub(crate) fn task_of(&self, source: usize, partition: i32) -> TaskId {
        TaskId {
            subtopology: self.source_subtopology[source],
            partition,
        }
    }

    /// The task that consumes `partition` of `topic`, if the topology reads it.
    pub(crate) fn task_for(&self, topic: &str, partition: i32) -> Option<TaskId> {
        self.sources
            .get(topic)
            .map(|&(source, _)| self.task_of(source, partition))
    }

    /// The input topics of sub-topology `subtopology`: (`'static` name, source index), in the
    /// order of the topology's sources (and of a source's topics by name).
    pub(crate) fn inputs_of(&self, subtopology: u32) -> Vec<(&'static str, usize)> {
        let mut inputs: Vec<_> = self
            .sources
            .values()
            .filter(|(source, _)| self.source_subtopology[*source] == subtopology)
            .map(|&(source, topic)| (topic, source))
            .collect();
        inputs.sort_unstable_by_key(|&(topic, source)| (source, topic));
        inputs
    }

    /// Whether sub-topology `subtopology` has a sink choosing its topic per record.
    pub(crate) fn chooses_topics<T: Topology>(&self, subtopology: u32) -> bool {
        self.subtopologies[subtopology as usize]
            .iter()
            .any(|&n| matches!(T::NODES[n].kind, NodeSpecKind::SinkPerRecord))
    }

    /// The sink topics of sub-topology `subtopology` that the topology names: (the name the
    /// sink node holds, the topic's full name).
    pub(crate) fn sinks_of<T: Topology>(&self, subtopology: u32, application_id: &str) -> Vec<(&'static str, String)> {
        self.subtopologies[subtopology as usize]
            .iter()
            .filter_map(|&n| match T::NODES[n].kind {
                NodeSpecKind::Sink { topic, internal } => Some((
                    topic,
                    if internal {
                        format!("{application_id}-{topic}")
                    } else {
                        topic.to_owned()
                    },
                )),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_name_is_interned_once() {
        let first = super::intern("app-store-repartition");
        let again = super::intern(&String::from("app-store-repartition"));
        assert!(std::ptr::eq(first, again), "one allocation per distinct name");
        assert_ne!(super::intern("app-other-repartition"), first);
    }
}
