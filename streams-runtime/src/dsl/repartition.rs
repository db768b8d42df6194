//! Repartitioning: the sink half of a repartition topic (the source half is an ordinary
//! [`SourceNode`](crate::graph::SourceNode) reading it back) and the serde that carries a
//! table's changes through it.

use super::{Change, Operator};
use crate::error::ProcessingError;
use crate::graph::Children;
use crate::record::Record;
use crate::serde::{Encoded, Serde, SerdeError};
use crate::task::{Destination, TaskContext};

/// Writes records to a repartition topic (`<application.id>-<name>-repartition`), skipping
/// records whose key is null as Java's repartition filter does.
pub struct RepartitionSink<KS, VS> {
    source: usize,
    key_serde: KS,
    value_serde: VS,
    /// Write records with a null key too (a foreign-key join's subscriptions of rows without a
    /// foreign key).
    keep_null_keys: bool,
}

impl<KS: Default, VS: Default> RepartitionSink<KS, VS> {
    /// A sink into the repartition topic read by the source at index `source`.
    pub fn new(source: usize) -> Self {
        RepartitionSink {
            source,
            key_serde: KS::default(),
            value_serde: VS::default(),
            keep_null_keys: false,
        }
    }

    /// A sink into the internal topic read by the source at index `source` that writes null
    /// keys as well.
    pub fn keeping_null_keys(source: usize) -> Self {
        RepartitionSink {
            keep_null_keys: true,
            ..Self::new(source)
        }
    }
}

impl<K, V, KS: Serde<K>, VS: Serde<V>> Operator<K, V> for RepartitionSink<KS, VS> {
    type KeyOut = K;
    type ValueOut = V;
    #[inline]
    fn process<Ch: Children<K, V>>(
        &mut self,
        name: &'static str,
        record: Record<K, V>,
        _: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        if self.keep_null_keys {
            task.send(
                Destination::Repartition(self.source),
                None,
                (&self.key_serde, &record.key),
                (&self.value_serde, &record.value),
                record.timestamp,
                record.headers,
            )?;
            return Ok(());
        }
        let sent = task.send_keyed(
            Destination::Repartition(self.source),
            (&self.key_serde, &record.key),
            (&self.value_serde, &record.value),
            record.timestamp,
            record.headers,
        )?;
        if !sent {
            task.skip_record(name, "null key for a repartition topic");
        }
        Ok(())
    }
}

/// Serializes a table's [`Change`] for a repartition topic in Java's `ChangedSerializer` layout
/// (Kafka Streams 3.5 and later), so Java and ours read each other's table repartition topics:
/// the old value then the byte 0 (only an old value), the new value then 1 (only a new value),
/// or the new value's length as a zig-zag varint, the new value, the old value, then 2 (both).
/// A change with neither cannot be written (Java refuses it too).
#[derive(Debug, Clone, Copy, Default)]
pub struct ChangeSerde<S>(pub S);

const OLD_ONLY: u8 = 0;
const NEW_ONLY: u8 = 1;
const BOTH: u8 = 2;

/// `n` as Java's `ByteUtils.writeVarint` writes it (zig-zag, then 7 bits a byte, low first):
/// the bytes and how many of them are used.
fn varint(n: i32) -> ([u8; 5], usize) {
    let mut v = ((n << 1) ^ (n >> 31)) as u32;
    let mut bytes = [0; 5];
    let mut len = 0;
    while v >= 0x80 {
        bytes[len] = (v as u8 & 0x7f) | 0x80;
        v >>= 7;
        len += 1;
    }
    bytes[len] = v as u8;
    (bytes, len + 1)
}

/// Reads a varint written as [`varint`] makes it; the value and the bytes after it.
fn read_varint(data: &[u8]) -> Result<(i32, &[u8]), SerdeError> {
    let mut v = 0u32;
    for (i, &b) in data.iter().enumerate().take(5) {
        v |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            let n = ((v >> 1) as i32) ^ -((v & 1) as i32);
            return Ok((n, &data[i + 1..]));
        }
    }
    Err(SerdeError::Custom("malformed varint in a change".into()))
}

impl<V, S: Serde<V>> Serde<Change<V>> for ChangeSerde<S> {
    fn serialize(&self, change: &Change<V>, out: &mut Vec<u8>) -> Result<Encoded, SerdeError> {
        let start = out.len();
        // The new value is written first; for both, its length goes in front once known.
        let new_present = match &change.new {
            Some(new) => self.0.serialize(new, out)? == Encoded::Bytes,
            None => false,
        };
        if !new_present {
            out.truncate(start);
        }
        let new_end = out.len();
        let old_present = match &change.old {
            Some(old) => self.0.serialize(old, out)? == Encoded::Bytes,
            None => false,
        };
        if !old_present {
            out.truncate(new_end);
        }
        let flag = match (new_present, old_present) {
            (true, true) => {
                let len = i32::try_from(new_end - start).map_err(|_| SerdeError::Custom("value too long".into()))?;
                let (prefix, prefix_len) = varint(len);
                out.splice(start..start, prefix[..prefix_len].iter().copied());
                BOTH
            }
            (true, false) => NEW_ONLY,
            (false, true) => OLD_ONLY,
            (false, false) => {
                return Err(SerdeError::Custom(
                    "a change with neither a new nor an old value".into(),
                ));
            }
        };
        out.push(flag);
        Ok(Encoded::Bytes)
    }

    fn deserialize(&self, data: Option<&[u8]>) -> Result<Change<V>, SerdeError> {
        let data = crate::serde::non_null(data, "Change")?;
        let (&flag, body) = data
            .split_last()
            .ok_or_else(|| SerdeError::Custom("empty change".into()))?;
        let value = |bytes: &[u8]| self.0.deserialize(Some(bytes)).map(Some);
        match flag {
            OLD_ONLY => Ok(Change {
                new: None,
                old: value(body)?,
            }),
            NEW_ONLY => Ok(Change {
                new: value(body)?,
                old: None,
            }),
            BOTH => {
                let (len, rest) = read_varint(body)?;
                let (new, old) = usize::try_from(len)
                    .ok()
                    .and_then(|len| rest.split_at_checked(len))
                    .ok_or_else(|| SerdeError::Custom("truncated change".into()))?;
                Ok(Change {
                    new: value(new)?,
                    old: value(old)?,
                })
            }
            other => Err(SerdeError::Custom(format!("unknown change flag {other}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serde::StringSerde;

    fn bytes(change: Change<String>) -> Vec<u8> {
        let mut buf = Vec::new();
        ChangeSerde(StringSerde).serialize(&change, &mut buf).unwrap();
        buf
    }

    fn round_trip(change: Change<String>) {
        let buf = bytes(change.clone());
        assert_eq!(ChangeSerde(StringSerde).deserialize(Some(&buf)).unwrap(), change);
    }

    #[test]
    fn changes_have_the_bytes_of_javas_changed_serializer() {
        // What Java 4.1.1's ChangedSerializer(Serdes.String()) writes for the same changes.
        assert_eq!(bytes(Change::new(Some("ab".into()), None)), [0x61, 0x62, 0x01]);
        assert_eq!(bytes(Change::new(None, Some("cd".into()))), [0x63, 0x64, 0x00]);
        assert_eq!(
            bytes(Change::new(Some("ab".into()), Some("cde".into()))),
            [0x04, 0x61, 0x62, 0x63, 0x64, 0x65, 0x02]
        );
        assert_eq!(bytes(Change::new(Some(String::new()), None)), [0x01]);
        let long = bytes(Change::new(Some("x".repeat(300)), Some("y".into())));
        assert_eq!(long[..2], [0xd8, 0x04], "a two-byte varint length");
    }

    #[test]
    fn changes_round_trip() {
        round_trip(Change::new(Some("new".into()), Some("old".into())));
        round_trip(Change::new(Some("new".into()), None));
        round_trip(Change::new(None, Some("old".into())));
        round_trip(Change::new(Some(String::new()), Some(String::new())));
        round_trip(Change::new(Some("x".repeat(300)), Some("y".into())));
    }

    #[test]
    fn a_change_with_neither_value_is_refused() {
        let mut buf = Vec::new();
        assert!(
            ChangeSerde(StringSerde)
                .serialize(&Change::<String>::new(None, None), &mut buf)
                .is_err()
        );
    }
}
