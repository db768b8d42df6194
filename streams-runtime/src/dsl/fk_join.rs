//! Foreign-key table joins (KIP-213, Java's `KTableImpl.doJoinOnForeignKey`): each row of the
//! left table picks a key of the right table from its value; the two tables need not be
//! co-partitioned. The left side registers a subscription for the foreign key on an internal
//! topic partitioned like the right table; the right side answers each subscription (and every
//! later change of the right row) on a response topic partitioned like the left table, where the
//! answer is joined with the left row unless the row has changed since (a hash of its value
//! travels with the subscription and back; a stale answer is dropped).
//!
//! The records on both topics and the subscription store use Java's byte layouts
//! (`SubscriptionWrapper`, `SubscriptionResponseWrapper`, `CombinedKey`), and the hash is Java's
//! MurmurHash3 x64 128 with seed 104729.

use super::{Change, Operator, TableRows};
use crate::error::ProcessingError;
use crate::graph::Children;
use crate::record::Record;
use crate::serde::{Encoded, Serde, SerdeError};
use crate::state::KeyValueStore;
use crate::task::TaskContext;
use std::marker::PhantomData;

/// What a subscription asks of the right side (Java's `SubscriptionWrapper.Instruction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instruction {
    /// Drop the subscription, answer nothing (the left row moved to another foreign key).
    DeleteKeyNoPropagate = 0,
    /// Drop the subscription and answer with no value (the left row's key is gone).
    DeleteKeyAndPropagate = 1,
    /// Answer with the right row, or with no value if there is none.
    PropagateNullIfNoFkValAvailable = 2,
    /// Answer only if there is a right row.
    PropagateOnlyIfFkValAvailable = 3,
}

impl Instruction {
    fn from_byte(b: u8) -> Result<Self, SerdeError> {
        Ok(match b {
            0 => Instruction::DeleteKeyNoPropagate,
            1 => Instruction::DeleteKeyAndPropagate,
            2 => Instruction::PropagateNullIfNoFkValAvailable,
            3 => Instruction::PropagateOnlyIfFkValAvailable,
            other => return Err(SerdeError::Custom(format!("unknown subscription instruction {other}"))),
        })
    }
}

/// The hash of a left row's value that travels with its subscription (`None`: the row is gone).
pub type ValueHash = Option<[i64; 2]>;

/// MurmurHash3 x64 128 of `data` with `seed`, as Java's `Murmur3.hash128` returns it.
pub fn murmur3_128(data: &[u8], seed: u32) -> [i64; 2] {
    const C1: u64 = 0x87c3_7b91_1142_53d5;
    const C2: u64 = 0x4cf5_ad43_2745_937f;
    let fmix = |mut k: u64| {
        k ^= k >> 33;
        k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
        k ^= k >> 33;
        k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        k ^ (k >> 33)
    };
    let (mut h1, mut h2) = (u64::from(seed), u64::from(seed));
    let blocks = data.chunks_exact(16);
    let tail = blocks.remainder();
    for block in blocks {
        let k1 = u64::from_le_bytes(block[..8].try_into().unwrap_or_default());
        let k2 = u64::from_le_bytes(block[8..].try_into().unwrap_or_default());
        h1 ^= k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
        h1 = h1
            .rotate_left(27)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x52dc_e729);
        h2 ^= k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
        h2 = h2
            .rotate_left(31)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x3849_5ab5);
    }
    let (mut k1, mut k2) = (0u64, 0u64);
    for (i, &b) in tail.iter().enumerate() {
        if i < 8 {
            k1 ^= u64::from(b) << (8 * i);
        } else {
            k2 ^= u64::from(b) << (8 * (i - 8));
        }
    }
    if tail.len() > 8 {
        h2 ^= k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
    }
    if !tail.is_empty() {
        h1 ^= k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
    }
    let len = data.len() as u64;
    h1 ^= len;
    h2 ^= len;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    [h1 as i64, h2 as i64]
}

/// Java's seed for the value hash of foreign-key joins.
const HASH_SEED: u32 = 104_729;

/// The hash of a left value as its serde writes it (`None` for no value or a null one).
fn value_hash<V, VS: Serde<V>>(serde: &VS, value: Option<&V>, buf: &mut Vec<u8>) -> Result<ValueHash, SerdeError> {
    let Some(value) = value else { return Ok(None) };
    buf.clear();
    Ok(match serde.serialize(value, buf)? {
        Encoded::Bytes => Some(murmur3_128(buf, HASH_SEED)),
        Encoded::Null => None,
    })
}

fn write_hash(hash: &ValueHash, out: &mut Vec<u8>) {
    if let Some([h1, h2]) = hash {
        out.extend_from_slice(&h1.to_be_bytes());
        out.extend_from_slice(&h2.to_be_bytes());
    }
}

fn read_hash(has_hash: bool, bytes: &[u8]) -> Result<(ValueHash, &[u8]), SerdeError> {
    if !has_hash {
        return Ok((None, bytes));
    }
    let short = || SerdeError::WrongSize {
        type_name: "foreign-key join hash",
        expected: 16,
        actual: bytes.len(),
    };
    let (h1, rest) = bytes.split_first_chunk::<8>().ok_or_else(short)?;
    let (h2, rest) = rest.split_first_chunk::<8>().ok_or_else(short)?;
    Ok((Some([i64::from_be_bytes(*h1), i64::from_be_bytes(*h2)]), rest))
}

/// A subscription of a left row to a foreign key (Java's `SubscriptionWrapper`, version 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription<PK> {
    /// The hash of the left row's value when it subscribed.
    pub hash: ValueHash,
    /// What the right side should do.
    pub instruction: Instruction,
    /// The left row's key.
    pub primary_key: PK,
    /// The partition of the left row (where the answer belongs).
    pub primary_partition: i32,
}

/// Java's `SubscriptionWrapperSerde`: a version byte (with 0x80 when there is no hash), the
/// instruction, the hash, the primary key's bytes, then the partition.
#[derive(Debug, Clone, Copy, Default)]
pub struct SubscriptionSerde<PKS>(PKS);

const SUBSCRIPTION_VERSION: u8 = 1;
const NO_HASH: u8 = 0x80;

impl<PK, PKS: Serde<PK>> Serde<Subscription<PK>> for SubscriptionSerde<PKS> {
    fn serialize(&self, value: &Subscription<PK>, out: &mut Vec<u8>) -> Result<Encoded, SerdeError> {
        let version = SUBSCRIPTION_VERSION | if value.hash.is_none() { NO_HASH } else { 0 };
        out.push(version);
        out.push(value.instruction as u8);
        write_hash(&value.hash, out);
        self.0.serialize(&value.primary_key, out)?;
        out.extend_from_slice(&value.primary_partition.to_be_bytes());
        Ok(Encoded::Bytes)
    }

    fn deserialize(&self, data: Option<&[u8]>) -> Result<Subscription<PK>, SerdeError> {
        let bytes = crate::serde::non_null(data, "subscription")?;
        let [version, instruction, rest @ ..] = bytes else {
            return Err(SerdeError::WrongSize {
                type_name: "subscription",
                expected: 2,
                actual: bytes.len(),
            });
        };
        if version & !NO_HASH > SUBSCRIPTION_VERSION {
            return Err(SerdeError::Custom(format!(
                "unsupported subscription version {}",
                version & !NO_HASH
            )));
        }
        let (hash, rest) = read_hash(version & NO_HASH == 0, rest)?;
        let with_partition = version & !NO_HASH >= 1;
        let (key, partition) = match (with_partition, rest.split_last_chunk::<4>()) {
            (true, Some((key, partition))) => (key, i32::from_be_bytes(*partition)),
            (true, None) => {
                return Err(SerdeError::WrongSize {
                    type_name: "subscription",
                    expected: 4,
                    actual: rest.len(),
                });
            }
            (false, _) => (rest, -1),
        };
        Ok(Subscription {
            hash,
            instruction: Instruction::from_byte(*instruction)?,
            primary_key: self.0.deserialize(Some(key))?,
            primary_partition: partition,
        })
    }
}

/// An answer of the right side to a subscription (Java's `SubscriptionResponseWrapper`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response<V> {
    /// The hash the subscription carried.
    pub hash: ValueHash,
    /// The right row's value (`None`: no row).
    pub value: Option<V>,
}

/// Java's `SubscriptionResponseWrapperSerde`: a version byte (0, with 0x80 when there is no
/// hash), the hash, then the right value's bytes (none for no value).
#[derive(Debug, Clone, Copy, Default)]
pub struct ResponseSerde<VS>(VS);

impl<V, VS: Serde<V>> Serde<Response<V>> for ResponseSerde<VS> {
    fn serialize(&self, value: &Response<V>, out: &mut Vec<u8>) -> Result<Encoded, SerdeError> {
        out.push(if value.hash.is_none() { NO_HASH } else { 0 });
        write_hash(&value.hash, out);
        if let Some(v) = &value.value {
            let mark = out.len();
            if self.0.serialize(v, out)? == Encoded::Null {
                out.truncate(mark);
            }
        }
        Ok(Encoded::Bytes)
    }

    fn deserialize(&self, data: Option<&[u8]>) -> Result<Response<V>, SerdeError> {
        let bytes = crate::serde::non_null(data, "subscription response")?;
        let Some((&version, rest)) = bytes.split_first() else {
            return Err(SerdeError::WrongSize {
                type_name: "subscription response",
                expected: 1,
                actual: 0,
            });
        };
        if version & !NO_HASH != 0 {
            return Err(SerdeError::Custom(format!(
                "unsupported response version {}",
                version & !NO_HASH
            )));
        }
        let (hash, rest) = read_hash(version & NO_HASH == 0, rest)?;
        let value = if rest.is_empty() {
            None
        } else {
            Some(self.0.deserialize(Some(rest))?)
        };
        Ok(Response { hash, value })
    }
}

/// A subscription store key (Java's `CombinedKey`): the foreign key, then the left row's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CombinedKey<FK, PK> {
    /// The foreign key.
    pub foreign: FK,
    /// The left row's key.
    pub primary: PK,
}

/// Java's `CombinedKeySchema` bytes: the foreign key's length (4 bytes, big-endian), its
/// bytes, then the primary key's bytes. A prefix of just the foreign key finds its subscribers.
#[derive(Debug, Clone, Copy, Default)]
pub struct CombinedKeySerde<FKS, PKS>(FKS, PKS);

fn write_foreign<FK, FKS: Serde<FK>>(serde: &FKS, fk: &FK, out: &mut Vec<u8>) -> Result<Encoded, SerdeError> {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    if serde.serialize(fk, out)? == Encoded::Null {
        out.truncate(at);
        return Ok(Encoded::Null);
    }
    let len = (out.len() - at - 4) as u32;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
    Ok(Encoded::Bytes)
}

impl<FK, PK, FKS: Serde<FK>, PKS: Serde<PK>> Serde<CombinedKey<FK, PK>> for CombinedKeySerde<FKS, PKS> {
    fn serialize(&self, value: &CombinedKey<FK, PK>, out: &mut Vec<u8>) -> Result<Encoded, SerdeError> {
        if write_foreign(&self.0, &value.foreign, out)? == Encoded::Null {
            return Ok(Encoded::Null);
        }
        self.1.serialize(&value.primary, out)
    }

    fn deserialize(&self, data: Option<&[u8]>) -> Result<CombinedKey<FK, PK>, SerdeError> {
        let bytes = crate::serde::non_null(data, "combined key")?;
        let short = || SerdeError::WrongSize {
            type_name: "combined key",
            expected: 4,
            actual: bytes.len(),
        };
        let (len, rest) = bytes.split_first_chunk::<4>().ok_or_else(short)?;
        let len = u32::from_be_bytes(*len) as usize;
        if rest.len() < len {
            return Err(short());
        }
        Ok(CombinedKey {
            foreign: self.0.deserialize(Some(&rest[..len]))?,
            primary: self.1.deserialize(Some(&rest[len..]))?,
        })
    }
}

/// The foreign-key prefix of [`CombinedKeySerde`] keys.
#[derive(Debug, Clone, Copy, Default)]
pub struct ForeignPrefixSerde<FKS>(FKS);

impl<FK, FKS: Serde<FK>> Serde<FK> for ForeignPrefixSerde<FKS> {
    fn serialize(&self, value: &FK, out: &mut Vec<u8>) -> Result<Encoded, SerdeError> {
        write_foreign(&self.0, value, out)
    }

    fn deserialize(&self, _: Option<&[u8]>) -> Result<FK, SerdeError> {
        Err(SerdeError::Custom("a foreign-key prefix is only written".into()))
    }
}

/// The subscription store of the right side.
pub type SubscriptionStore<FK, PK, FKS, PKS> =
    KeyValueStore<CombinedKey<FK, PK>, Subscription<PK>, CombinedKeySerde<FKS, PKS>, SubscriptionSerde<PKS>>;

/// On each change of a left row, subscribes it to its foreign key on the subscription topic
/// (and unsubscribes it from the old one), as Java's `SubscriptionSendProcessorSupplier`.
/// `LEFT`: a left join, which subscribes rows without a foreign key too (their answer is the
/// left row joined with nothing).
pub struct SubscriptionSend<F, FKS, VS, const LEFT: bool> {
    extractor: F,
    foreign_serde: FKS,
    value_serde: VS,
    buf: Vec<u8>,
    other: Vec<u8>,
}

impl<F, FKS: Default, VS: Default, const LEFT: bool> SubscriptionSend<F, FKS, VS, LEFT> {
    /// Subscriptions by the foreign keys `extractor` picks from left values.
    pub fn new(extractor: F) -> Self {
        SubscriptionSend {
            extractor,
            foreign_serde: FKS::default(),
            value_serde: VS::default(),
            buf: Vec::new(),
            other: Vec::new(),
        }
    }
}

impl<PK, V, FK, F, FKS, VS, const LEFT: bool> Operator<PK, Change<V>> for SubscriptionSend<F, FKS, VS, LEFT>
where
    PK: Clone,
    F: FnMut(&V) -> FK,
    FKS: Serde<FK>,
    VS: Serde<V>,
{
    type KeyOut = Option<FK>;
    type ValueOut = Subscription<PK>;
    fn process<Ch: Children<Option<FK>, Subscription<PK>>>(
        &mut self,
        name: &'static str,
        record: Record<PK, Change<V>>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        let Record {
            key,
            value: change,
            timestamp,
            headers,
        } = record;
        let hash = value_hash(&self.value_serde, change.new.as_ref(), &mut self.buf)?;
        let partition = task.record_metadata().map_or(-1, |m| m.partition);
        let serde = &self.foreign_serde;
        let null = |fk: &Option<FK>| fk.as_ref().is_none_or(|fk| serde.is_null(fk));
        let new_fk = change
            .new
            .as_ref()
            .map(&mut self.extractor)
            .filter(|fk| !serde.is_null(fk));
        let old_fk = change
            .old
            .as_ref()
            .map(&mut self.extractor)
            .filter(|fk| !serde.is_null(fk));
        let same_fk = match (&new_fk, &old_fk) {
            (Some(n), Some(o)) => {
                self.buf.clear();
                self.other.clear();
                serde.serialize(n, &mut self.buf)?;
                serde.serialize(o, &mut self.other)?;
                self.buf == self.other
            }
            _ => false,
        };
        let mut sends: [(Option<FK>, Option<Instruction>); 2] = [(None, None), (None, None)];
        use Instruction::*;
        if LEFT {
            // A left row's change always subscribes its (possibly null) key; a tombstone of a
            // row that never existed changes nothing.
            if change.old.is_some() && !null(&old_fk) && !same_fk {
                sends[0] = (old_fk, Some(DeleteKeyNoPropagate));
            }
            if change.old.is_some() || change.new.is_some() {
                sends[1] = (new_fk, Some(PropagateNullIfNoFkValAvailable));
            }
        } else if change.old.is_some() {
            match (null(&new_fk), null(&old_fk)) {
                (true, true) => task.skip_record(name, "null foreign key"),
                (false, true) => sends[1] = (new_fk, Some(PropagateOnlyIfFkValAvailable)),
                (true, false) => sends[1] = (old_fk, Some(DeleteKeyAndPropagate)),
                (false, false) if same_fk => sends[1] = (new_fk, Some(PropagateOnlyIfFkValAvailable)),
                (false, false) => {
                    sends[0] = (old_fk, Some(DeleteKeyNoPropagate));
                    sends[1] = (new_fk, Some(PropagateNullIfNoFkValAvailable));
                }
            }
        } else if change.new.is_some() {
            if null(&new_fk) {
                task.skip_record(name, "null foreign key");
            } else {
                sends[1] = (new_fk, Some(PropagateOnlyIfFkValAvailable));
            }
        }
        for (fk, instruction) in sends {
            let Some(instruction) = instruction else { continue };
            let subscription = Subscription {
                hash,
                instruction,
                primary_key: key.clone(),
                primary_partition: partition,
            };
            children.forward(
                Record {
                    key: fk,
                    value: subscription,
                    timestamp,
                    headers: headers.clone(),
                },
                task,
            )?;
        }
        Ok(())
    }
}

/// Receives subscriptions on the right side: keeps them in the subscription store (a delete
/// instruction removes one) and passes each on to be answered (Java's
/// `SubscriptionReceiveProcessorSupplier`).
pub struct SubscriptionReceive<FK, PK, FKS, PKS> {
    store: SubscriptionStore<FK, PK, FKS, PKS>,
    foreign_serde: FKS,
}

impl<FK, PK, FKS: Default, PKS> SubscriptionReceive<FK, PK, FKS, PKS> {
    /// Subscriptions kept in `store`.
    pub fn new(store: SubscriptionStore<FK, PK, FKS, PKS>) -> Self {
        SubscriptionReceive {
            store,
            foreign_serde: FKS::default(),
        }
    }
}

impl<FK: Clone, PK: Clone, FKS: Serde<FK>, PKS: Serde<PK>> Operator<Option<FK>, Subscription<PK>>
    for SubscriptionReceive<FK, PK, FKS, PKS>
{
    type KeyOut = Option<FK>;
    type ValueOut = Subscription<PK>;
    fn process<Ch: Children<Option<FK>, Subscription<PK>>>(
        &mut self,
        name: &'static str,
        record: Record<Option<FK>, Subscription<PK>>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        let fk = record.key.as_ref().filter(|fk| !self.foreign_serde.is_null(fk));
        match fk {
            None if record.value.instruction != Instruction::PropagateNullIfNoFkValAvailable => {
                task.skip_record(name, "null foreign key in a subscription");
                return Ok(());
            }
            None => {}
            Some(fk) => {
                let key = CombinedKey {
                    foreign: fk.clone(),
                    primary: record.value.primary_key.clone(),
                };
                match record.value.instruction {
                    Instruction::DeleteKeyNoPropagate | Instruction::DeleteKeyAndPropagate => {
                        self.store.delete(&key)?;
                    }
                    _ => {
                        self.store
                            .update_timestamped(&key, |_| (Some(record.value.clone()), record.timestamp))?;
                    }
                }
            }
        }
        children.forward(record, task)
    }
}

/// Answers a subscription with the right row of its foreign key (Java's
/// `SubscriptionJoinProcessorSupplier`), keyed by the left row's key for the response topic.
pub struct SubscriptionJoin<T> {
    right: T,
}

impl<T> SubscriptionJoin<T> {
    /// Reads the right table from `right`.
    pub fn new(right: T) -> Self {
        SubscriptionJoin { right }
    }
}

impl<FK, PK, T: TableRows<Key = FK>> Operator<Option<FK>, Subscription<PK>> for SubscriptionJoin<T> {
    type KeyOut = PK;
    type ValueOut = Response<T::Value>;
    fn process<Ch: Children<PK, Response<T::Value>>>(
        &mut self,
        _: &'static str,
        record: Record<Option<FK>, Subscription<PK>>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        let row = match &record.key {
            Some(fk) => self.right.latest(fk)?,
            None => None,
        };
        let timestamp = row
            .as_ref()
            .map_or(record.timestamp, |(_, ts)| (*ts).max(record.timestamp));
        let subscription = record.value;
        let value = match subscription.instruction {
            Instruction::DeleteKeyNoPropagate => return Ok(()),
            Instruction::DeleteKeyAndPropagate => None,
            Instruction::PropagateNullIfNoFkValAvailable => row.map(|(v, _)| v),
            Instruction::PropagateOnlyIfFkValAvailable => match row {
                Some((v, _)) => Some(v),
                None => return Ok(()),
            },
        };
        children.forward(
            Record {
                key: subscription.primary_key,
                value: Response {
                    hash: subscription.hash,
                    value,
                },
                timestamp,
                headers: record.headers,
            },
            task,
        )
    }
}

/// On each change of a right row, answers every left row subscribed to its key (Java's
/// `ForeignTableJoinProcessorSupplier`): the new right value (none for a delete), with the
/// right record's timestamp.
pub struct ForeignTableJoin<FK, PK, FKS, PKS> {
    subscriptions: SubscriptionStore<FK, PK, FKS, PKS>,
    prefix: ForeignPrefixSerde<FKS>,
}

impl<FK, PK, FKS: Default, PKS> ForeignTableJoin<FK, PK, FKS, PKS> {
    /// Finds the subscribers in `subscriptions`.
    pub fn new(subscriptions: SubscriptionStore<FK, PK, FKS, PKS>) -> Self {
        ForeignTableJoin {
            subscriptions,
            prefix: ForeignPrefixSerde::default(),
        }
    }
}

impl<FK, PK, VF: Clone, FKS: Serde<FK>, PKS: Serde<PK>> Operator<FK, Change<VF>>
    for ForeignTableJoin<FK, PK, FKS, PKS>
{
    type KeyOut = PK;
    type ValueOut = Response<VF>;
    fn process<Ch: Children<PK, Response<VF>>>(
        &mut self,
        _: &'static str,
        record: Record<FK, Change<VF>>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        let subscribers = self.subscriptions.prefix_scan(&record.key, &self.prefix)?;
        for entry in subscribers {
            let (key, subscription) = entry?;
            children.forward(
                Record {
                    key: key.primary,
                    value: Response {
                        hash: subscription.hash,
                        value: record.value.new.clone(),
                    },
                    timestamp: record.timestamp,
                    headers: record.headers.clone(),
                },
                task,
            )?;
        }
        Ok(())
    }
}

/// Joins an answer with the left row it was meant for, unless the row changed since it
/// subscribed (Java's `ResponseJoinProcessorSupplier`): the result for the left row's key, or
/// `None` (a tombstone) when an inner join finds no right row or the left row is gone.
pub struct ResponseJoin<J, T, VS> {
    joiner: J,
    left: T,
    value_serde: VS,
    buf: Vec<u8>,
}

impl<J, T, VS: Default> ResponseJoin<J, T, VS> {
    /// Joins answers with the left rows in `left`.
    pub fn new(joiner: J, left: T) -> Self {
        ResponseJoin {
            joiner,
            left,
            value_serde: VS::default(),
            buf: Vec::new(),
        }
    }
}

impl<PK, V, VF, J, T, VS> Operator<PK, Response<VF>> for ResponseJoin<J, T, VS>
where
    T: TableRows<Key = PK, Value = V>,
    VS: Serde<V>,
    J: super::StreamJoiner<PK, V, VF>,
{
    type KeyOut = PK;
    type ValueOut = Option<J::Out>;
    fn process<Ch: Children<PK, Option<J::Out>>>(
        &mut self,
        name: &'static str,
        record: Record<PK, Response<VF>>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        let current = self.left.latest(&record.key)?.map(|(v, _)| v);
        let hash = value_hash(&self.value_serde, current.as_ref(), &mut self.buf)?;
        if hash != record.value.hash {
            task.skip_record(name, "stale foreign-key join response");
            return Ok(());
        }
        // No left row: a tombstone; an inner joiner gives none without a right value either.
        let joined = current.and_then(|left| self.joiner.join(&record.key, Some(&left), record.value.value.as_ref()));
        children.forward(record.map_value(|_, _| joined), task)
    }
}

/// The joined table's changes (Java's `KTABLE-FK-JOIN-OUTPUT` table source, unmaterialized):
/// each result as a change without its old value.
#[derive(Debug, Clone, Copy)]
pub struct JoinOutput<V>(PhantomData<fn(V)>);

impl<V> Default for JoinOutput<V> {
    fn default() -> Self {
        JoinOutput(PhantomData)
    }
}

impl<K, V> Operator<K, Option<V>> for JoinOutput<V> {
    type KeyOut = K;
    type ValueOut = Change<V>;
    #[inline]
    fn process<Ch: Children<K, Change<V>>>(
        &mut self,
        _: &'static str,
        record: Record<K, Option<V>>,
        children: &mut Ch,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        children.forward(record.map_value(|_, new| Change::new(new, None)), task)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serde::StringSerde;

    #[test]
    fn the_value_hash_is_javas_murmur3_128() {
        // Java's `Murmur3.hash128(bytes)` (seed 104729) of these strings' UTF-8 bytes.
        let cases: [(&str, [i64; 2]); 4] = [
            ("", [-7122613646888064702, -8341524471658347240]),
            ("hello", [3512725192710940516, 6227047293690958278]),
            ("0123456789abcdefXYZ", [-4957902349534487282, 3628389848199853365]),
            (
                "a-much-longer-value-with-32-bytes!!",
                [8425146865923864073, -3766972097469609688],
            ),
        ];
        for (text, java) in cases {
            assert_eq!(murmur3_128(text.as_bytes(), HASH_SEED), java, "{text:?}");
        }
    }

    #[test]
    fn subscriptions_and_responses_round_trip_in_javas_layout() {
        let serde = SubscriptionSerde(StringSerde);
        let sub = Subscription {
            hash: Some([1, -2]),
            instruction: Instruction::PropagateNullIfNoFkValAvailable,
            primary_key: "pk".to_owned(),
            primary_partition: 3,
        };
        let mut out = Vec::new();
        serde.serialize(&sub, &mut out).unwrap();
        let mut expected = vec![1, 2];
        expected.extend_from_slice(&1i64.to_be_bytes());
        expected.extend_from_slice(&(-2i64).to_be_bytes());
        expected.extend_from_slice(b"pk");
        expected.extend_from_slice(&3i32.to_be_bytes());
        assert_eq!(out, expected);
        assert_eq!(serde.deserialize(Some(&out)).unwrap(), sub);
        let deleted = Subscription { hash: None, ..sub };
        out.clear();
        serde.serialize(&deleted, &mut out).unwrap();
        assert_eq!(&out[..2], &[0x81, 2]);
        assert_eq!(serde.deserialize(Some(&out)).unwrap(), deleted);

        let serde = ResponseSerde(StringSerde);
        for response in [
            Response {
                hash: Some([7, 8]),
                value: Some("v".to_owned()),
            },
            Response {
                hash: None,
                value: None,
            },
        ] {
            out.clear();
            serde.serialize(&response, &mut out).unwrap();
            assert_eq!(serde.deserialize(Some(&out)).unwrap(), response);
        }
        let key = CombinedKey {
            foreign: "fk".to_owned(),
            primary: "pk".to_owned(),
        };
        out.clear();
        CombinedKeySerde(StringSerde, StringSerde)
            .serialize(&key, &mut out)
            .unwrap();
        assert_eq!(out, [0, 0, 0, 2, b'f', b'k', b'p', b'k']);
    }
}
