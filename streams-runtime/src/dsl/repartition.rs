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
}

impl<KS: Default, VS: Default> RepartitionSink<KS, VS> {
    /// A sink into the repartition topic read by the source at index `source`.
    pub fn new(source: usize) -> Self {
        RepartitionSink {
            source,
            key_serde: KS::default(),
            value_serde: VS::default(),
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

/// Serializes a table's [`Change`] for a repartition topic: a flag byte (bit 0: new value
/// present, bit 1: old value present), the new value's length as a big-endian `u32` and its
/// bytes, then the old value's bytes. Read only by the application that wrote it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChangeSerde<S>(pub S);

const NEW: u8 = 1;
const OLD: u8 = 2;

impl<V, S: Serde<V>> Serde<Change<V>> for ChangeSerde<S> {
    fn serialize(&self, change: &Change<V>, out: &mut Vec<u8>) -> Result<Encoded, SerdeError> {
        let flags_at = out.len();
        out.push(0);
        let mut flags = 0;
        if let Some(new) = &change.new {
            let len_at = out.len();
            out.extend_from_slice(&[0; 4]);
            if self.0.serialize(new, out)? == Encoded::Bytes {
                flags |= NEW;
                let len =
                    u32::try_from(out.len() - len_at - 4).map_err(|_| SerdeError::Custom("value too long".into()))?;
                out[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
            } else {
                out.truncate(len_at);
            }
        }
        if let Some(old) = &change.old {
            let old_at = out.len();
            if self.0.serialize(old, out)? == Encoded::Bytes {
                flags |= OLD;
            } else {
                out.truncate(old_at);
            }
        }
        out[flags_at] = flags;
        Ok(Encoded::Bytes)
    }

    fn deserialize(&self, data: Option<&[u8]>) -> Result<Change<V>, SerdeError> {
        let data = data.ok_or(SerdeError::UnexpectedNull { type_name: "Change" })?;
        let (&flags, mut rest) = data.split_first().ok_or(SerdeError::Custom("empty change".into()))?;
        let new = if flags & NEW != 0 {
            let (len, tail) = rest
                .split_at_checked(4)
                .ok_or(SerdeError::Custom("truncated change".into()))?;
            let len = u32::from_be_bytes(len.try_into().expect("4 bytes")) as usize;
            let (bytes, tail) = tail
                .split_at_checked(len)
                .ok_or(SerdeError::Custom("truncated change".into()))?;
            rest = tail;
            Some(self.0.deserialize(Some(bytes))?)
        } else {
            None
        };
        let old = if flags & OLD != 0 {
            Some(self.0.deserialize(Some(rest))?)
        } else {
            None
        };
        Ok(Change { new, old })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serde::StringSerde;

    fn round_trip(change: Change<String>) {
        let serde = ChangeSerde(StringSerde);
        let mut buf = Vec::new();
        serde.serialize(&change, &mut buf).unwrap();
        assert_eq!(serde.deserialize(Some(&buf)).unwrap(), change);
    }

    #[test]
    fn changes_round_trip() {
        round_trip(Change::new(Some("new".into()), Some("old".into())));
        round_trip(Change::new(Some("new".into()), None));
        round_trip(Change::new(None, Some("old".into())));
        round_trip(Change::new(None, None));
        round_trip(Change::new(Some(String::new()), Some(String::new())));
    }
}
