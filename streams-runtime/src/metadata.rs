//! Where an application's state lives, for interactive queries across instances (Java's
//! `HostInfo`, `StreamsMetadata` and `KeyQueryMetadata`), and the default partitioner that
//! decides which partition (so which task and instance) holds a key.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// An instance's endpoint for interactive queries: `application.server = host:port`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct HostInfo {
    /// The host name or address.
    pub host: String,
    /// The port.
    pub port: u16,
}

impl HostInfo {
    /// The endpoint `host:port`.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        HostInfo {
            host: host.into(),
            port,
        }
    }
}

impl fmt::Display for HostInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Why a `host:port` endpoint did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected host:port, got {0:?}")]
pub struct HostInfoError(String);

impl FromStr for HostInfo {
    type Err = HostInfoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (host, port) = s.rsplit_once(':').ok_or_else(|| HostInfoError(s.to_owned()))?;
        match port.parse() {
            Ok(port) if !host.is_empty() => Ok(HostInfo::new(host, port)),
            _ => Err(HostInfoError(s.to_owned())),
        }
    }
}

/// One instance of the application as every instance sees it (Java's `StreamsMetadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamsMetadata {
    /// The instance's `application.server`.
    pub host_info: HostInfo,
    /// The stores of its active tasks.
    pub state_store_names: BTreeSet<String>,
    /// The input partitions of its active tasks: (topic, partition).
    pub topic_partitions: BTreeSet<(String, i32)>,
    /// The stores of its standby tasks.
    pub standby_state_store_names: BTreeSet<String>,
    /// The input partitions of its standby tasks.
    pub standby_topic_partitions: BTreeSet<(String, i32)>,
}

/// Where to ask for a key of a store (Java's `KeyQueryMetadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyQueryMetadata {
    /// The instance whose active task holds the key.
    pub active_host: HostInfo,
    /// Instances with a standby copy of the key's task.
    pub standby_hosts: BTreeSet<HostInfo>,
    /// The partition of the key.
    pub partition: i32,
}

/// Kafka's murmur2 hash of `data` (the Java client's `Utils.murmur2`).
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &byte) in tail.iter().enumerate().rev() {
            h ^= u32::from(byte) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition Kafka's default partitioner gives a record with this serialized key among
/// `partitions` (murmur2, made positive, modulo the count): where the producers of the input
/// and the repartition topics put the key, so the task and instance that hold it.
pub fn default_partition(key: &[u8], partitions: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_is_the_java_clients() {
        // Values printed by org.apache.kafka.common.utils.Utils 4.1.1.
        for (text, hash, of_seven) in [
            ("21", -973_932_308, 3),
            ("foobar", -790_332_482, 0),
            ("a-little-bit-long-string", -985_981_536, 1),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971, 3),
            ("abc", 479_470_107, 4),
            ("kafka", -798_503_068, 3),
            ("streams", 1_819_902_956, 4),
        ] {
            assert_eq!(murmur2(text.as_bytes()), hash, "{text}");
            assert_eq!(default_partition(text.as_bytes(), 7), of_seven, "{text}");
        }
    }

    #[test]
    fn an_endpoint_parses_from_host_and_port() {
        assert_eq!("localhost:8080".parse(), Ok(HostInfo::new("localhost", 8080)));
        assert_eq!("[::1]:80".parse(), Ok(HostInfo::new("[::1]", 80)));
        assert_eq!(HostInfo::new("a", 1).to_string(), "a:1");
        for bad in ["localhost", ":80", "host:port", "host:70000"] {
            assert!(bad.parse::<HostInfo>().is_err(), "{bad}");
        }
    }
}
