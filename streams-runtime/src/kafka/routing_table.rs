//! Where a stream thread's fetched records go, resolved once per assignment: for each assigned
//! topic partition, the slot of its task in the thread's task list and the index of its queue
//! in that task's partition group. The fetch loop then finds a record's queue with a scan of
//! the (few) assigned topic names and an index by partition, and nothing else.

/// Where the records of one topic partition go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Route {
    /// The task's slot in the thread's task list.
    pub(crate) task: usize,
    /// The queue's index in the task's partition group.
    pub(crate) queue: usize,
}

/// The routes of the thread's current assignment.
#[derive(Debug, Default)]
pub(crate) struct RoutingTable {
    /// Per assigned topic: its name and the route of each partition number (`None`: a
    /// partition of the topic not assigned to this thread).
    topics: Vec<(&'static str, Vec<Option<Route>>)>,
}

impl RoutingTable {
    /// Routes the records of `partition` of `topic` to `route` (a negative partition, which
    /// Kafka does not have, is ignored).
    pub(crate) fn insert(&mut self, topic: &'static str, partition: i32, route: Route) {
        let Ok(partition) = usize::try_from(partition) else {
            return;
        };
        let index = match self.topics.iter().position(|(name, _)| *name == topic) {
            Some(i) => i,
            None => {
                self.topics.push((topic, Vec::new()));
                self.topics.len() - 1
            }
        };
        let routes = &mut self.topics[index].1;
        if routes.len() <= partition {
            routes.resize(partition + 1, None);
        }
        routes[partition] = Some(route);
    }

    /// Where the records of `partition` of `topic` go, if they are this thread's.
    #[inline]
    pub(crate) fn route(&self, topic: &str, partition: i32) -> Option<Route> {
        let (_, routes) = self.topics.iter().find(|(name, _)| *name == topic)?;
        *routes.get(usize::try_from(partition).ok()?)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_routed_by_topic_and_partition_and_nothing_else_is() {
        let mut table = RoutingTable::default();
        assert_eq!(table.route("in", 0), None, "nothing assigned");
        let (a, b, c) = (
            Route { task: 0, queue: 0 },
            Route { task: 1, queue: 0 },
            Route { task: 1, queue: 1 },
        );
        table.insert("in", 0, a);
        table.insert("in", 2, b);
        table.insert("other", 2, c);
        table.insert("in", -1, c);
        assert_eq!(table.route("in", 0), Some(a));
        assert_eq!(table.route("in", 2), Some(b));
        assert_eq!(table.route(&String::from("other"), 2), Some(c));
        assert_eq!(table.route("in", 1), None, "a partition of another member");
        assert_eq!(table.route("in", 3), None, "beyond the assigned partitions");
        assert_eq!(table.route("in", -1), None, "no negative partitions");
        assert_eq!(table.route("other", 0), None);
        assert_eq!(table.route("unknown", 0), None, "a topic the thread does not read");
    }
}
