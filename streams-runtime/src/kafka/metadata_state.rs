//! Which instance holds which partitions and stores (Java's `StreamsMetadataState`).
//!
//! Java passes every instance's `application.server` and assignment through its partition
//! assignor; librdkafka offers no custom assignor data, so each instance announces itself on the
//! application's control topic instead (`<application.id>-control`, one partition, read from
//! its beginning by every instance): the record's key is the instance's process id, its value
//! the instance's endpoint and the input partitions its stream threads hold now (JSON), written
//! after every change of its assignment; a null value when it closes. The one partition orders
//! all announcements: a partition belongs to the instance whose latest announcement claims it
//! most recently. An instance that died without a word keeps its entry until the rebalance that
//! follows hands all its partitions to others, whose announcements then supersede it; live
//! instances say their assignment again every minute, and one not heard of for five minutes is
//! dropped (one that held nothing, or only standbys, and died).

use super::routes::Routes;
use crate::metadata::{HostInfo, KeyQueryMetadata, StreamsMetadata, default_partition};
use crate::topology::Topology;
use std::collections::{BTreeMap, BTreeSet};

/// How long an instance may go unheard of (ms of announcement time) before it is dropped: five
/// times the announcement interval.
const SILENCE_MS: i64 = 5 * 60 * 1000;

/// What an instance says about itself on the control topic.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Announcement {
    /// Its client id prefix, which names it among the group's members.
    pub(crate) client: String,
    /// Its `application.server`, if it has one (only instances with one are listed in the
    /// metadata).
    pub(crate) host: Option<HostInfo>,
    /// The input partitions of its active tasks: (topic, partition).
    pub(crate) partitions: Vec<(String, i32)>,
    /// The input partitions of its standby tasks.
    pub(crate) standby: Vec<(String, i32)>,
    /// Its `client.tag.*` values.
    pub(crate) tags: BTreeMap<String, String>,
}

/// A store and the input topics of its sub-topology (none: a global store, on every instance).
#[derive(Debug, Clone)]
struct StoreTopics {
    name: &'static str,
    topics: Vec<String>,
}

/// Every instance's latest announcement, and what is needed to map keys to partitions.
#[derive(Debug, Default)]
pub(crate) struct MetadataState {
    /// Per instance (process id): the offset of its latest announcement and the announcement.
    instances: BTreeMap<String, (i64, Announcement)>,
    /// Per instance: when its latest announcement was written (ms since the epoch).
    heard: BTreeMap<String, i64>,
    stores: Vec<StoreTopics>,
    /// The partition count of each input topic.
    partitions: BTreeMap<String, i32>,
}

impl MetadataState {
    /// The state of an application of `T`, whose topics have the partition counts
    /// `partitions`.
    pub(crate) fn new<T: Topology>(routes: &Routes, partitions: &BTreeMap<String, usize>) -> Self {
        let stores = T::STORES
            .iter()
            .map(|spec| {
                let mut topics: Vec<String> = (routes.subtopologies.iter().enumerate())
                    .filter(|(_, nodes)| nodes.iter().any(|&n| T::NODES[n].uses_store(spec.name)))
                    .flat_map(|(sub, _)| routes.inputs_of(sub as u32))
                    .map(|(topic, _)| topic.to_owned())
                    .collect();
                topics.sort_unstable();
                topics.dedup();
                StoreTopics {
                    name: spec.name,
                    topics,
                }
            })
            .collect();
        let partitions = partitions
            .iter()
            .filter(|(topic, _)| routes.sources.contains_key(*topic))
            .map(|(topic, &n)| (topic.clone(), n as i32))
            .collect();
        MetadataState {
            instances: BTreeMap::new(),
            heard: BTreeMap::new(),
            stores,
            partitions,
        }
    }

    /// Applies the announcement at `offset` of the control topic by `instance`, written at
    /// `written` (ms since the epoch; `None`: it closed). Instances not heard of for
    /// [`SILENCE_MS`] (in announcement time) are dropped.
    pub(crate) fn apply(&mut self, offset: i64, written: i64, instance: &str, announcement: Option<Announcement>) {
        match announcement {
            Some(announcement) => {
                self.instances.insert(instance.to_owned(), (offset, announcement));
                self.heard.insert(instance.to_owned(), written);
            }
            None => {
                self.instances.remove(instance);
                self.heard.remove(instance);
            }
        }
        let latest = self.heard.values().copied().max().unwrap_or_default();
        let silent: Vec<String> = (self.heard.iter())
            .filter(|(_, at)| latest - **at > SILENCE_MS)
            .map(|(instance, _)| instance.clone())
            .collect();
        for instance in silent {
            self.instances.remove(&instance);
            self.heard.remove(&instance);
        }
    }

    /// Each partition's owner: the instance whose latest announcement claims it most recently.
    fn owners(&self) -> BTreeMap<&(String, i32), (i64, &str)> {
        let mut owners: BTreeMap<&(String, i32), (i64, &str)> = BTreeMap::new();
        for (instance, (offset, announcement)) in &self.instances {
            for partition in &announcement.partitions {
                let owner = owners.entry(partition).or_insert((*offset, instance));
                if *offset > owner.0 {
                    *owner = (*offset, instance);
                }
            }
        }
        owners
    }

    /// Every live instance with an endpoint (Java's `allMetadata`): those that hold partitions
    /// now, and those that announced holding none; by endpoint.
    pub(crate) fn all_metadata(&self) -> Vec<StreamsMetadata> {
        let owners = self.owners();
        let mut all: Vec<StreamsMetadata> = (self.instances.iter())
            .filter_map(|(instance, (_, announcement))| {
                let host = announcement.host.clone()?;
                let held: BTreeSet<(String, i32)> = (announcement.partitions.iter())
                    .filter(|p| owners.get(p).is_some_and(|(_, owner)| owner == instance))
                    .cloned()
                    .collect();
                if held.is_empty() && !announcement.partitions.is_empty() {
                    return None; // superseded everywhere: it is gone
                }
                let standby: BTreeSet<(String, i32)> = announcement.standby.iter().cloned().collect();
                Some(StreamsMetadata {
                    host_info: host,
                    state_store_names: self.stores_of(&held, true),
                    topic_partitions: held,
                    standby_state_store_names: self.stores_of(&standby, false),
                    standby_topic_partitions: standby,
                })
            })
            .collect();
        all.sort_by(|a, b| a.host_info.cmp(&b.host_info));
        all
    }

    /// The stores of the tasks of `partitions` (with `global`: and the global stores).
    fn stores_of(&self, partitions: &BTreeSet<(String, i32)>, global: bool) -> BTreeSet<String> {
        (self.stores.iter())
            .filter(|s| {
                if s.topics.is_empty() {
                    global
                } else {
                    partitions.iter().any(|(t, _)| s.topics.contains(t))
                }
            })
            .map(|s| s.name.to_owned())
            .collect()
    }

    /// Each announced instance's client tags, by client id prefix.
    pub(crate) fn tags(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        (self.instances.values())
            .map(|(_, a)| (a.client.clone(), a.tags.clone()))
            .collect()
    }

    /// The live instances that hold `store` (Java's `streamsMetadataForStore`).
    pub(crate) fn for_store(&self, store: &str) -> Vec<StreamsMetadata> {
        let mut all = self.all_metadata();
        all.retain(|m| m.state_store_names.contains(store));
        all
    }

    /// Where the key with serialized bytes `key` of the store at `index` lives, if some instance
    /// holds its partition now (`None` during a rebalance, or for a global store, which every
    /// instance holds).
    pub(crate) fn for_key(&self, index: usize, key: &[u8]) -> Option<KeyQueryMetadata> {
        let topic = self.stores.get(index)?.topics.first()?;
        let partition = default_partition(key, *self.partitions.get(topic)?);
        let owners = self.owners();
        let key = (topic.clone(), partition);
        let (_, owner) = owners.get(&key)?;
        let (_, announcement) = self.instances.get(*owner)?;
        let standby_hosts = (self.instances.values())
            .filter(|(_, a)| a.standby.contains(&key))
            .filter_map(|(_, a)| a.host.clone())
            .collect();
        Some(KeyQueryMetadata {
            active_host: announcement.host.clone()?,
            standby_hosts,
            partition,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> MetadataState {
        MetadataState {
            instances: BTreeMap::new(),
            heard: BTreeMap::new(),
            stores: vec![StoreTopics {
                name: "counts",
                topics: vec!["words".to_owned()],
            }],
            partitions: [("words".to_owned(), 2)].into_iter().collect(),
        }
    }

    fn says(port: u16, partitions: &[i32]) -> Option<Announcement> {
        Some(Announcement {
            client: format!("app-{port}"),
            host: Some(HostInfo::new("h", port)),
            partitions: partitions.iter().map(|&p| ("words".to_owned(), p)).collect(),
            standby: Vec::new(),
            tags: BTreeMap::new(),
        })
    }

    fn hosts(state: &MetadataState) -> Vec<(u16, Vec<i32>)> {
        (state.all_metadata().into_iter())
            .map(|m| (m.host_info.port, m.topic_partitions.iter().map(|(_, p)| *p).collect()))
            .collect()
    }

    #[test]
    fn the_latest_claim_of_a_partition_wins_and_an_instance_without_claims_is_gone() {
        let mut state = state();
        state.apply(0, 0, "a", says(1, &[0, 1]));
        assert_eq!(hosts(&state), [(1, vec![0, 1])]);
        // b joins: the rebalance gives it partition 1; a's announcement of it comes first.
        state.apply(1, 0, "a", says(1, &[0]));
        state.apply(2, 0, "b", says(2, &[1]));
        assert_eq!(hosts(&state), [(1, vec![0]), (2, vec![1])]);
        // a dies without a word; after the rebalance b claims both.
        state.apply(3, 0, "b", says(2, &[0, 1]));
        assert_eq!(hosts(&state), [(2, vec![0, 1])]);
        // An instance that holds nothing (more instances than partitions) is listed.
        state.apply(4, 0, "c", says(3, &[]));
        assert_eq!(hosts(&state), [(2, vec![0, 1]), (3, vec![])]);
        // A clean close removes the instance.
        state.apply(5, 0, "c", None);
        assert_eq!(hosts(&state), [(2, vec![0, 1])]);
        assert_eq!(state.for_store("counts").len(), 1);
        assert!(state.for_store("other").is_empty());
    }

    #[test]
    fn an_instance_not_heard_of_for_five_minutes_is_dropped() {
        let mut state = state();
        state.apply(0, 0, "a", says(1, &[]));
        state.apply(1, 0, "b", says(2, &[0, 1]));
        state.apply(2, SILENCE_MS, "b", says(2, &[0, 1]));
        assert_eq!(hosts(&state).len(), 2, "exactly five minutes: still there");
        state.apply(3, SILENCE_MS + 1, "b", says(2, &[0, 1]));
        assert_eq!(hosts(&state), [(2, vec![0, 1])]);
    }

    #[test]
    fn a_key_is_found_in_the_partition_the_default_partitioner_gives_it() {
        let mut state = state();
        state.apply(0, 0, "a", says(1, &[0]));
        state.apply(1, 0, "b", says(2, &[1]));
        // murmur2("kafka") is partition 0 of 2, murmur2("abc") partition 1 (see metadata.rs).
        let kafka = state.for_key(0, b"kafka").unwrap();
        assert_eq!((kafka.active_host.port, kafka.partition), (1, 0));
        let abc = state.for_key(0, b"abc").unwrap();
        assert_eq!((abc.active_host.port, abc.partition), (2, 1));
        // A standby of partition 1 on c: listed for the key and in c's metadata.
        let mut standby = says(3, &[]).unwrap();
        standby.standby = vec![("words".to_owned(), 1)];
        state.apply(2, 0, "c", Some(standby));
        let abc = state.for_key(0, b"abc").unwrap();
        assert_eq!(abc.standby_hosts, BTreeSet::from([HostInfo::new("h", 3)]));
        let c = state
            .all_metadata()
            .into_iter()
            .find(|m| m.host_info.port == 3)
            .unwrap();
        assert_eq!(c.standby_state_store_names, BTreeSet::from(["counts".to_owned()]));
        assert!(c.state_store_names.is_empty());
        state.apply(3, 0, "b", None);
        assert_eq!(state.for_key(0, b"abc"), None, "nobody holds partition 1 now");
    }
}
