//! The members of the application's consumer group and their assignments, as the group
//! coordinator describes them (DescribeGroups), for standby placement.

use super::standby_placement::Member;
use rdkafka::consumer::{BaseConsumer, Consumer};
use std::time::Duration;

/// The members of `group` with their instances (the client id up to `-StreamThread-`) and
/// assignments, if the group is stable (`None` while it rebalances, is empty or cannot be
/// described).
pub(crate) fn stable_members(client: &BaseConsumer, group: &str, timeout: Duration) -> Option<Vec<Member>> {
    let list = client
        .fetch_group_list(Some(group), timeout)
        .map_err(|error| tracing::debug!(%error, group, "describing the group"))
        .ok()?;
    let described = list.groups().iter().find(|g| g.name() == group)?;
    if described.state() != "Stable" || described.members().is_empty() {
        return None;
    }
    described
        .members()
        .iter()
        .map(|m| {
            Some(Member {
                id: m.id().to_owned(),
                instance: instance_of(m.client_id()).to_owned(),
                partitions: parse_assignment(m.assignment()?)?,
            })
        })
        .collect()
}

/// The instance part of a stream thread's consumer client id: what comes before
/// `-StreamThread-` (Java's `<client.id prefix>-StreamThread-<n>-consumer`).
pub(crate) fn instance_of(client_id: &str) -> &str {
    client_id
        .rsplit_once("-StreamThread-")
        .map_or(client_id, |(prefix, _)| prefix)
}

/// Decodes a consumer protocol assignment (version, then an array of topics with their
/// partitions, then user data): the (topic, partition) pairs.
fn parse_assignment(bytes: &[u8]) -> Option<Vec<(String, i32)>> {
    let mut reader = Reader(bytes);
    let _version = reader.i16()?;
    let topics = reader.i32()?;
    let mut partitions = Vec::new();
    for _ in 0..topics.max(0) {
        let length = usize::try_from(reader.i16()?).ok()?;
        let topic = String::from_utf8(reader.take(length)?.to_vec()).ok()?;
        for _ in 0..reader.i32()?.max(0) {
            partitions.push((topic.clone(), reader.i32()?));
        }
    }
    Some(partitions)
}

/// Big-endian fields from the front of a byte slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn i16(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assignment_decodes_to_its_partitions() {
        let mut bytes = vec![0, 1, 0, 0, 0, 2];
        for (topic, partitions) in [("in", vec![0i32, 3]), ("app-x-repartition", vec![1])] {
            bytes.extend_from_slice(&(topic.len() as i16).to_be_bytes());
            bytes.extend_from_slice(topic.as_bytes());
            bytes.extend_from_slice(&(partitions.len() as i32).to_be_bytes());
            for p in partitions {
                bytes.extend_from_slice(&p.to_be_bytes());
            }
        }
        bytes.extend_from_slice(&(-1i32).to_be_bytes()); // no user data
        assert_eq!(
            parse_assignment(&bytes),
            Some(vec![
                ("in".to_owned(), 0),
                ("in".to_owned(), 3),
                ("app-x-repartition".to_owned(), 1)
            ])
        );
        assert_eq!(parse_assignment(&bytes[..9]), None, "truncated");
    }

    #[test]
    fn the_instance_is_the_client_id_before_the_thread() {
        assert_eq!(instance_of("app-1f2e-StreamThread-3-consumer"), "app-1f2e");
        assert_eq!(instance_of("named"), "named");
    }
}
