//! Where standby replicas go (Java's standby task assignment), decided by every instance alone
//! from the same facts: the group's members and their assignments (DescribeGroups) and the
//! instances' client tags (their announcements on the control topic).
//!
//! librdkafka runs the group's range assignor and offers no way to steer it, so instead of
//! choosing where a task moves after a failure, the placement predicts it: for each stateful
//! task, the first standby goes to the instance the range assignor will give the task to when
//! the instance of its active task leaves the group (the assignment recomputed without that
//! instance's members), so the takeover finds a caught-up copy and restores only the tail.
//! Further standbys (`num.standby.replicas` > 1) go to the other instances. A standby never
//! lands on the instance of its active task, and with `rack.aware.assignment.tags` instances
//! whose tag values differ from the active instance's come first. The prediction is the range
//! assignor's (the default, eager protocol); under `cooperative-sticky` the first standby may
//! not be where the task lands, and that takeover restores in full.

use crate::processor::TaskId;
use std::collections::{BTreeMap, BTreeSet};

/// A member of the application's consumer group: one stream thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member {
    /// The member id the group coordinator gave it (the range assignor's order).
    pub(crate) id: String,
    /// The instance it belongs to (its client id prefix).
    pub(crate) instance: String,
    /// Its assigned partitions: (topic, partition).
    pub(crate) partitions: Vec<(String, i32)>,
}

/// A sub-topology with stores to keep standbys of: its id, the input topic whose partition `p`
/// is task `p`'s, and the topic's partition count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stateful {
    pub(crate) subtopology: u32,
    pub(crate) topic: String,
    pub(crate) partitions: i32,
}

/// What the placement needs besides the members.
pub(crate) struct Placement<'a> {
    /// `num.standby.replicas`.
    pub(crate) replicas: usize,
    /// The sub-topologies with standbys.
    pub(crate) stateful: &'a [Stateful],
    /// `rack.aware.assignment.tags`.
    pub(crate) rack_tags: &'a [String],
    /// Each instance's client tags.
    pub(crate) tags: &'a BTreeMap<String, BTreeMap<String, String>>,
}

impl Placement<'_> {
    /// The standby tasks of every instance, given the group's `members` (an instance without
    /// standbys has no entry). A task whose partition no member holds (the group is
    /// rebalancing) gets none.
    pub(crate) fn standbys(&self, members: &[Member]) -> BTreeMap<String, BTreeSet<TaskId>> {
        let mut placed: BTreeMap<String, BTreeSet<TaskId>> = BTreeMap::new();
        if self.replicas == 0 {
            return placed;
        }
        let instances: BTreeSet<&str> = members.iter().map(|m| m.instance.as_str()).collect();
        // The assignment after each instance leaves, computed once per instance.
        let mut successors: BTreeMap<&str, BTreeMap<&str, Vec<&str>>> = BTreeMap::new();
        for stateful in self.stateful {
            for partition in 0..stateful.partitions {
                let active = members.iter().find(|m| {
                    m.partitions
                        .iter()
                        .any(|(t, p)| *t == stateful.topic && *p == partition)
                });
                let Some(active) = active else { continue };
                let active = active.instance.as_str();
                let after = successors.entry(active).or_insert_with(|| {
                    let remaining: Vec<&Member> = members.iter().filter(|m| m.instance != active).collect();
                    self.stateful
                        .iter()
                        .map(|s| (s.topic.as_str(), range_owners(&remaining, s.partitions)))
                        .collect()
                });
                let successor = after
                    .get(stateful.topic.as_str())
                    .and_then(|owners| owners.get(partition as usize))
                    .copied();
                let mut candidates: Vec<&str> = instances.iter().copied().filter(|i| *i != active).collect();
                candidates.sort_by_key(|&i| (self.same_rack(i, active), Some(i) != successor, i));
                let task = TaskId {
                    subtopology: stateful.subtopology,
                    partition,
                };
                for instance in candidates.into_iter().take(self.replicas) {
                    placed.entry(instance.to_owned()).or_default().insert(task);
                }
            }
        }
        placed
    }

    /// Whether instances `a` and `b` have the same values of every rack tag (both in one rack
    /// as far as the tags tell; `false` without rack tags, so that no instance is preferred).
    fn same_rack(&self, a: &str, b: &str) -> bool {
        if self.rack_tags.is_empty() {
            return false;
        }
        let value = |instance: &str, key: &String| self.tags.get(instance).and_then(|t| t.get(key));
        self.rack_tags.iter().all(|key| value(a, key) == value(b, key))
    }
}

/// The instance of each partition of a topic with `partitions` partitions under the range
/// assignor, among `members` (all subscribed): members in member-id order, each taking a range
/// of `partitions / members` partitions, the first `partitions % members` one more.
fn range_owners<'a>(members: &[&'a Member], partitions: i32) -> Vec<&'a str> {
    let mut sorted: Vec<&Member> = members.to_vec();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    if sorted.is_empty() {
        return Vec::new();
    }
    let count = sorted.len();
    let partitions = partitions.max(0) as usize;
    let (per, extra) = (partitions / count, partitions % count);
    let mut owners = Vec::with_capacity(partitions);
    for (i, member) in sorted.iter().enumerate() {
        let take = per + usize::from(i < extra);
        owners.extend(std::iter::repeat_n(member.instance.as_str(), take));
    }
    owners
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, instance: &str, partitions: &[i32]) -> Member {
        Member {
            id: id.to_owned(),
            instance: instance.to_owned(),
            partitions: partitions.iter().map(|&p| ("in".to_owned(), p)).collect(),
        }
    }

    fn stateful() -> Vec<Stateful> {
        vec![Stateful {
            subtopology: 1,
            topic: "in".to_owned(),
            partitions: 6,
        }]
    }

    fn tasks(placed: &BTreeMap<String, BTreeSet<TaskId>>, instance: &str) -> Vec<i32> {
        placed
            .get(instance)
            .map(|t| t.iter().map(|t| t.partition).collect())
            .unwrap_or_default()
    }

    #[test]
    fn the_first_standby_goes_where_the_range_assignor_moves_the_task() {
        // Members a < b < c by id; the range assignor gives a 0-1, b 2-3, c 4-5.
        let members = [
            member("m-a", "A", &[0, 1]),
            member("m-b", "B", &[2, 3]),
            member("m-c", "C", &[4, 5]),
        ];
        let stateful = stateful();
        let tags = BTreeMap::new();
        let placement = Placement {
            replicas: 1,
            stateful: &stateful,
            rack_tags: &[],
            tags: &tags,
        };
        let placed = placement.standbys(&members);
        // Without A: b takes 0-2, c 3-5. Without B: a 0-2, c 3-5. Without C: a 0-2, b 3-5.
        assert_eq!(tasks(&placed, "A"), [2]);
        assert_eq!(tasks(&placed, "B"), [0, 1, 4, 5]);
        assert_eq!(tasks(&placed, "C"), [3]);
        // Two replicas: every other instance.
        let placement = Placement {
            replicas: 2,
            ..placement
        };
        let placed = placement.standbys(&members);
        assert_eq!(tasks(&placed, "A"), [2, 3, 4, 5]);
        assert_eq!(tasks(&placed, "B"), [0, 1, 4, 5]);
        assert_eq!(tasks(&placed, "C"), [0, 1, 2, 3]);
    }

    #[test]
    fn rack_tags_send_the_standby_to_another_rack_first() {
        let members = [
            member("m-a", "A", &[0, 1]),
            member("m-b", "B", &[2, 3]),
            member("m-c", "C", &[4, 5]),
        ];
        let stateful = stateful();
        let zone = |z: &str| [("zone".to_owned(), z.to_owned())].into_iter().collect();
        let tags = [
            ("A".to_owned(), zone("1")),
            ("B".to_owned(), zone("1")),
            ("C".to_owned(), zone("2")),
        ]
        .into_iter()
        .collect();
        let rack_tags = ["zone".to_owned()];
        let placement = Placement {
            replicas: 1,
            stateful: &stateful,
            rack_tags: &rack_tags,
            tags: &tags,
        };
        let placed = placement.standbys(&members);
        // A's and B's tasks go to C (the other zone) although the assignor would move 0-1 to B.
        assert_eq!(tasks(&placed, "C"), [0, 1, 2, 3]);
        // C's tasks: both others are in zone 1, so the successor wins (without C, b takes 3-5).
        assert_eq!(tasks(&placed, "B"), [4, 5]);
        assert_eq!(tasks(&placed, "A"), Vec::<i32>::new());
    }

    #[test]
    fn a_partition_nobody_holds_gets_no_standby() {
        let members = [member("m-a", "A", &[0, 1, 2])];
        let stateful = stateful();
        let tags = BTreeMap::new();
        let placement = Placement {
            replicas: 1,
            stateful: &stateful,
            rack_tags: &[],
            tags: &tags,
        };
        assert!(
            placement.standbys(&members).is_empty(),
            "one instance: nowhere else to go"
        );
    }
}
