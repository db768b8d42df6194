//! The static node graph a topology compiles to. Each node owns its children as a tuple of
//! concrete node types, so a record travels from source to sink through direct, monomorphized
//! calls. A node with several parents (a merge point) sits behind [`Shared`].
//!
//! Every node type here is what `topology!` generates into; DSL operators are further node
//! types of the same shape.

use crate::error::{ProcessingError, RecordPart, StreamsError};
use crate::processor::{ChildId, Processor, ProcessorContext, ProcessorSpec, PunctuationType, ScheduleId, TaskId};
use crate::record::{Headers, Record, RecordMetadata};
use crate::serde::Serde;
use crate::task::{Destination, TaskContext};
use std::cell::RefCell;
use std::marker::PhantomData;
use std::rc::Rc;
use std::time::Duration;

/// A node that accepts records of key type `K` and value type `V`.
pub trait Node<K, V>: NodeLifecycle {
    /// Handles one record.
    fn process(&mut self, record: Record<K, V>, task: &mut TaskContext) -> Result<(), ProcessingError>;
    /// The node's name.
    fn name(&self) -> &'static str;
}

/// What every node does besides processing: init, punctuation dispatch and close, each passed
/// down the graph.
pub trait NodeLifecycle {
    /// Initializes this node and its descendants.
    fn init(&mut self, task: &mut TaskContext) -> Result<(), ProcessingError>;
    /// Delivers a punctuation to the node with id `node`; `None` if it is not in this subgraph.
    fn punctuate(
        &mut self,
        node: u32,
        schedule: ScheduleId,
        timestamp: i64,
        task: &mut TaskContext,
    ) -> Option<Result<(), ProcessingError>>;
    /// Closes this node and its descendants.
    fn close(&mut self);
    /// Flushes the record cache of the store at `store` (an index into the task's stores)
    /// through the operator that owns it, which forwards what the flush writes; `None` if that
    /// operator is not in this subgraph.
    fn flush_cache(&mut self, store: usize, task: &mut TaskContext) -> Option<Result<(), ProcessingError>>;
}

/// The children of a node: a tuple of up to eight nodes accepting `Record<K, V>`, or, for more,
/// [`Chunks`] of such tuples.
pub trait Children<K, V>: NodeLifecycle {
    /// How many children there are.
    const LEN: usize;
    /// Forwards to every child (cloning for all but the last).
    fn forward(&mut self, record: Record<K, V>, task: &mut TaskContext) -> Result<(), ProcessingError>;
    /// Forwards to the child at `index`.
    fn forward_to(&mut self, index: usize, record: Record<K, V>, task: &mut TaskContext)
    -> Result<(), ProcessingError>;
    /// The index of the child with this name.
    fn index_of(&self, name: &str) -> Option<usize>;
}

macro_rules! lifecycle_each {
    ($($i:tt)*) => {
        fn init(&mut self, task: &mut TaskContext) -> Result<(), ProcessingError> {
            $(self.$i.init(task)?;)*
            let _ = task;
            Ok(())
        }
        fn punctuate(&mut self, node: u32, schedule: ScheduleId, timestamp: i64, task: &mut TaskContext)
            -> Option<Result<(), ProcessingError>> {
            $(if let Some(r) = self.$i.punctuate(node, schedule, timestamp, task) { return Some(r); })*
            let _ = (node, schedule, timestamp, task);
            None
        }
        fn close(&mut self) {
            $(self.$i.close();)*
        }
        fn flush_cache(&mut self, store: usize, task: &mut TaskContext) -> Option<Result<(), ProcessingError>> {
            $(if let Some(r) = self.$i.flush_cache(store, task) { return Some(r); })*
            let _ = (store, task);
            None
        }
    };
}

macro_rules! children_tuple {
    ($($i:tt $T:ident),* ; $last:tt $L:ident) => {
        impl<$($T: NodeLifecycle,)* $L: NodeLifecycle> NodeLifecycle for ($($T,)* $L,) {
            lifecycle_each!($($i)* $last);
        }

        impl<K: Clone, V: Clone, $($T: Node<K, V>,)* $L: Node<K, V>> Children<K, V> for ($($T,)* $L,) {
            const LEN: usize = $last + 1;
            #[inline]
            fn forward(&mut self, record: Record<K, V>, task: &mut TaskContext) -> Result<(), ProcessingError> {
                $(self.$i.process(record.clone(), task)?;)*
                self.$last.process(record, task)
            }
            fn forward_to(&mut self, index: usize, record: Record<K, V>, task: &mut TaskContext) -> Result<(), ProcessingError> {
                match index {
                    $($i => self.$i.process(record, task),)*
                    $last => self.$last.process(record, task),
                    _ => Err(ProcessingError::msg(format!("no child at index {index}"))),
                }
            }
            fn index_of(&self, name: &str) -> Option<usize> {
                $(if self.$i.name() == name { return Some($i); })*
                (self.$last.name() == name).then_some($last)
            }
        }
    };
}

impl NodeLifecycle for () {
    lifecycle_each!();
}

impl<K, V> Children<K, V> for () {
    const LEN: usize = 0;
    fn forward(&mut self, _: Record<K, V>, _: &mut TaskContext) -> Result<(), ProcessingError> {
        Ok(())
    }
    fn forward_to(&mut self, index: usize, _: Record<K, V>, _: &mut TaskContext) -> Result<(), ProcessingError> {
        Err(ProcessingError::msg(format!("no child at index {index}")))
    }
    fn index_of(&self, _: &str) -> Option<usize> {
        None
    }
}

impl<L: NodeLifecycle> NodeLifecycle for (L,) {
    lifecycle_each!(0);
}

impl<K, V, L: Node<K, V>> Children<K, V> for (L,) {
    const LEN: usize = 1;
    #[inline]
    fn forward(&mut self, record: Record<K, V>, task: &mut TaskContext) -> Result<(), ProcessingError> {
        self.0.process(record, task)
    }
    fn forward_to(
        &mut self,
        index: usize,
        record: Record<K, V>,
        task: &mut TaskContext,
    ) -> Result<(), ProcessingError> {
        match index {
            0 => self.0.process(record, task),
            _ => Err(ProcessingError::msg(format!("no child at index {index}"))),
        }
    }
    fn index_of(&self, name: &str) -> Option<usize> {
        (self.0.name() == name).then_some(0)
    }
}

children_tuple!(0 A; 1 B);
children_tuple!(0 A, 1 B; 2 C);
children_tuple!(0 A, 1 B, 2 C; 3 D);
children_tuple!(0 A, 1 B, 2 C, 3 D; 4 E);
children_tuple!(0 A, 1 B, 2 C, 3 D, 4 E; 5 F);
children_tuple!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F; 6 G);
children_tuple!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G; 7 H);

/// More than eight children, sources or predicates: a tuple of up to eight groups, each a tuple
/// of up to eight or `Chunks` again (`topology!` fills them in order, eight at a time). The
/// traits over tuples stop at eight elements; a group offsets the indices of those after it by
/// its `LEN`, a constant, so dispatch by index stays a branch on constants.
#[derive(Debug, Clone, Copy)]
pub struct Chunks<T>(pub T);

impl<T: NodeLifecycle> NodeLifecycle for Chunks<T> {
    fn init(&mut self, task: &mut TaskContext) -> Result<(), ProcessingError> {
        self.0.init(task)
    }
    fn punctuate(
        &mut self,
        node: u32,
        schedule: ScheduleId,
        timestamp: i64,
        task: &mut TaskContext,
    ) -> Option<Result<(), ProcessingError>> {
        self.0.punctuate(node, schedule, timestamp, task)
    }
    fn close(&mut self) {
        self.0.close();
    }
    fn flush_cache(&mut self, store: usize, task: &mut TaskContext) -> Option<Result<(), ProcessingError>> {
        self.0.flush_cache(store, task)
    }
}

macro_rules! children_chunks {
    ([$($i:tt $T:ident),*] $last:tt $L:ident) => {
        impl<K: Clone, V: Clone, $($T: Children<K, V>,)* $L: Children<K, V>> Children<K, V> for Chunks<($($T,)* $L,)> {
            const LEN: usize = $($T::LEN +)* $L::LEN;
            #[inline]
            fn forward(&mut self, record: Record<K, V>, task: &mut TaskContext) -> Result<(), ProcessingError> {
                $(self.0.$i.forward(record.clone(), task)?;)*
                self.0.$last.forward(record, task)
            }
            #[inline]
            fn forward_to(&mut self, index: usize, record: Record<K, V>, task: &mut TaskContext) -> Result<(), ProcessingError> {
                $(
                    if index < $T::LEN {
                        return self.0.$i.forward_to(index, record, task);
                    }
                    let index = index - $T::LEN;
                )*
                self.0.$last.forward_to(index, record, task)
            }
            fn index_of(&self, name: &str) -> Option<usize> {
                let offset = 0;
                $(
                    if let Some(index) = self.0.$i.index_of(name) {
                        return Some(offset + index);
                    }
                    let offset = offset + $T::LEN;
                )*
                self.0.$last.index_of(name).map(|index| offset + index)
            }
        }
    };
}

children_chunks!([] 0 A);
children_chunks!([0 A] 1 B);
children_chunks!([0 A, 1 B] 2 C);
children_chunks!([0 A, 1 B, 2 C] 3 D);
children_chunks!([0 A, 1 B, 2 C, 3 D] 4 E);
children_chunks!([0 A, 1 B, 2 C, 3 D, 4 E] 5 F);
children_chunks!([0 A, 1 B, 2 C, 3 D, 4 E, 5 F] 6 G);
children_chunks!([0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G] 7 H);

/// The context a processor node hands its processor: the task plus the node's children.
pub struct NodeContext<'a, Ch> {
    task: &'a mut TaskContext,
    children: &'a mut Ch,
    node: u32,
}

impl<K, V, Ch: Children<K, V>> ProcessorContext<K, V> for NodeContext<'_, Ch> {
    #[inline]
    fn forward(&mut self, record: Record<K, V>) -> Result<(), ProcessingError> {
        self.children.forward(record, self.task)
    }
    fn forward_to(&mut self, child: ChildId, record: Record<K, V>) -> Result<(), ProcessingError> {
        self.children.forward_to(child.0, record, self.task)
    }
    fn child(&self, name: &str) -> Option<ChildId> {
        self.children.index_of(name).map(ChildId)
    }
    fn record_metadata(&self) -> Option<RecordMetadata> {
        self.task.record_metadata()
    }
    fn task_id(&self) -> TaskId {
        self.task.task_id()
    }
    fn application_id(&self) -> &str {
        self.task.application_id()
    }
    fn current_stream_time(&self) -> i64 {
        self.task.stream_time()
    }
    fn current_system_time_ms(&self) -> i64 {
        self.task.system_time_ms()
    }
    fn schedule(&mut self, interval: Duration, kind: PunctuationType) -> ScheduleId {
        self.task.schedule(self.node, interval, kind)
    }
    fn cancel(&mut self, schedule: ScheduleId) {
        self.task.cancel(self.node, schedule);
    }
    fn commit(&mut self) {
        self.task.request_commit();
    }
}

/// A user processor and its children.
pub struct ProcessorNode<M: ProcessorInput, Ch> {
    name: &'static str,
    id: u32,
    processor: M::Processor,
    children: Ch,
}

/// A Processor API node's input as `topology!` checks it: an impl per node (on a generated
/// marker type) whose processor must accept the records of the node's first parent. A
/// mismatch fails that impl alone (rustc reports it at the processor's type, pointing at its
/// `input = ..`), and the graph adds no error.
pub trait ProcessorInput {
    /// The key type the parent produces.
    type Key;
    /// The value type the parent produces.
    type Value;
    /// The processor.
    type Processor: Processor + AcceptsRecords<Self::Key, Self::Value>;
}

/// The input of a DSL `process(P)` node: `P`'s own (the DSL checks its parent's types).
pub struct OwnInput<P>(PhantomData<P>);

impl<P: Processor> ProcessorInput for OwnInput<P> {
    type Key = P::KeyIn;
    type Value = P::ValueIn;
    type Processor = P;
}

/// Holds when a processor's `input = (K, V)` is `(K, V)`: passes a parent's record on as the
/// processor's input (the same type). (A mismatch is a type mismatch of the blanket impl's
/// projections, E0271, so no `on_unimplemented` message would show.)
pub trait AcceptsRecords<K, V>: ProcessorSpec {
    /// The record, as the processor's input type (the identity).
    fn accept(record: Record<K, V>) -> Record<Self::KeyIn, Self::ValueIn>;
}

impl<P: ProcessorSpec> AcceptsRecords<P::KeyIn, P::ValueIn> for P {
    #[inline(always)]
    fn accept(record: Record<P::KeyIn, P::ValueIn>) -> Record<P::KeyIn, P::ValueIn> {
        record
    }
}

impl<M: ProcessorInput, Ch> ProcessorNode<M, Ch> {
    /// A processor node; `id` is unique within the topology.
    pub fn new(name: &'static str, id: u32, processor: M::Processor, children: Ch) -> Self {
        ProcessorNode {
            name,
            id,
            processor,
            children,
        }
    }
}

impl<M: ProcessorInput, Ch: Children<OutKey<M>, OutValue<M>>> NodeLifecycle for ProcessorNode<M, Ch> {
    fn init(&mut self, task: &mut TaskContext) -> Result<(), ProcessingError> {
        let mut ctx = NodeContext {
            task: &mut *task,
            children: &mut self.children,
            node: self.id,
        };
        self.processor.init(&mut ctx).map_err(|e| e.at_node(self.name))?;
        self.children.init(task)
    }

    fn punctuate(
        &mut self,
        node: u32,
        schedule: ScheduleId,
        timestamp: i64,
        task: &mut TaskContext,
    ) -> Option<Result<(), ProcessingError>> {
        if node != self.id {
            return self.children.punctuate(node, schedule, timestamp, task);
        }
        let mut ctx = NodeContext {
            task,
            children: &mut self.children,
            node: self.id,
        };
        Some(
            self.processor
                .punctuate(schedule, timestamp, &mut ctx)
                .map_err(|e| e.at_node(self.name)),
        )
    }

    fn close(&mut self) {
        self.processor.close();
        self.children.close();
    }

    fn flush_cache(&mut self, store: usize, task: &mut TaskContext) -> Option<Result<(), ProcessingError>> {
        self.children.flush_cache(store, task)
    }
}

/// The key type a processor node forwards.
type OutKey<M> = <<M as ProcessorInput>::Processor as ProcessorSpec>::KeyOut;
/// The value type a processor node forwards.
type OutValue<M> = <<M as ProcessorInput>::Processor as ProcessorSpec>::ValueOut;

impl<M: ProcessorInput, Ch: Children<OutKey<M>, OutValue<M>>> Node<M::Key, M::Value> for ProcessorNode<M, Ch> {
    #[inline]
    fn process(&mut self, record: Record<M::Key, M::Value>, task: &mut TaskContext) -> Result<(), ProcessingError> {
        let mut ctx = NodeContext {
            task,
            children: &mut self.children,
            node: self.id,
        };
        self.processor
            .process(M::Processor::accept(record), &mut ctx)
            .map_err(|e| e.at_node(self.name))
    }

    fn name(&self) -> &'static str {
        self.name
    }
}

/// A node with several parents: shared between them, initialized and closed once per lifetime
/// of the task (a revived task runs both again).
pub struct Shared<N> {
    node: Rc<RefCell<SharedState<N>>>,
    name: &'static str,
}

struct SharedState<N> {
    node: N,
    initialized: bool,
    closed: bool,
}

impl<N> Shared<N> {
    /// Wraps a node for sharing; clone it once per parent.
    pub fn new(name: &'static str, node: N) -> Self {
        Shared {
            node: Rc::new(RefCell::new(SharedState {
                node,
                initialized: false,
                closed: false,
            })),
            name,
        }
    }
}

impl<N> Clone for Shared<N> {
    fn clone(&self) -> Self {
        Shared {
            node: Rc::clone(&self.node),
            name: self.name,
        }
    }
}

impl<N: NodeLifecycle> NodeLifecycle for Shared<N> {
    fn init(&mut self, task: &mut TaskContext) -> Result<(), ProcessingError> {
        let mut state = self.node.borrow_mut();
        if std::mem::replace(&mut state.initialized, true) {
            return Ok(());
        }
        // A task revived after an aborted transaction closes and initializes its nodes again.
        state.closed = false;
        state.node.init(task)
    }

    fn punctuate(
        &mut self,
        node: u32,
        schedule: ScheduleId,
        timestamp: i64,
        task: &mut TaskContext,
    ) -> Option<Result<(), ProcessingError>> {
        self.node.borrow_mut().node.punctuate(node, schedule, timestamp, task)
    }

    fn close(&mut self) {
        let mut state = self.node.borrow_mut();
        if !std::mem::replace(&mut state.closed, true) {
            state.initialized = false;
            state.node.close();
        }
    }

    fn flush_cache(&mut self, store: usize, task: &mut TaskContext) -> Option<Result<(), ProcessingError>> {
        self.node.borrow_mut().node.flush_cache(store, task)
    }
}

impl<K, V, N: Node<K, V>> Node<K, V> for Shared<N> {
    #[inline]
    fn process(&mut self, record: Record<K, V>, task: &mut TaskContext) -> Result<(), ProcessingError> {
        self.node.borrow_mut().node.process(record, task)
    }

    fn name(&self) -> &'static str {
        self.name
    }
}

/// Chooses the partition of a sink's records (Java's `StreamPartitioner`).
pub trait StreamPartitioner<K, V>: Default {
    /// The partition for this record, or `None` for the default (murmur2 of the key bytes).
    fn partition(&self, topic: &str, key: &K, value: &V, num_partitions: i32) -> Option<i32>;
}

/// The default partitioner: leaves the choice to the producer (murmur2 of the serialized key).
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultPartitioner;

impl<K, V> StreamPartitioner<K, V> for DefaultPartitioner {
    #[inline]
    fn partition(&self, _: &str, _: &K, _: &V, _: i32) -> Option<i32> {
        None
    }
}

/// A sink: serializes records into the task's collector, addressed to its topic.
pub struct SinkNode<KS, VS, P> {
    name: &'static str,
    topic: &'static str,
    /// Where the task keeps the topic's partition count (resolved in `init`).
    partitions_slot: usize,
    destination: Destination,
    key_serde: KS,
    value_serde: VS,
    partitioner: P,
}

impl<KS: Default, VS: Default, P: Default> SinkNode<KS, VS, P> {
    /// A sink writing to `topic`.
    pub fn new(name: &'static str, topic: &'static str) -> Self {
        SinkNode {
            name,
            topic,
            partitions_slot: usize::MAX,
            destination: Destination::Topic(topic),
            key_serde: KS::default(),
            value_serde: VS::default(),
            partitioner: P::default(),
        }
    }
}

impl<KS, VS, P> NodeLifecycle for SinkNode<KS, VS, P> {
    fn init(&mut self, task: &mut TaskContext) -> Result<(), ProcessingError> {
        self.partitions_slot = task.sink_topic_slot(self.topic);
        Ok(())
    }
    fn punctuate(&mut self, _: u32, _: ScheduleId, _: i64, _: &mut TaskContext) -> Option<Result<(), ProcessingError>> {
        None
    }
    fn close(&mut self) {}
    fn flush_cache(&mut self, _: usize, _: &mut TaskContext) -> Option<Result<(), ProcessingError>> {
        None
    }
}

impl<K, V, KS: Serde<K>, VS: Serde<V>, P: StreamPartitioner<K, V>> Node<K, V> for SinkNode<KS, VS, P> {
    #[inline]
    fn process(&mut self, record: Record<K, V>, task: &mut TaskContext) -> Result<(), ProcessingError> {
        let partitions = task.partition_count_at(self.partitions_slot);
        let partition = self
            .partitioner
            .partition(self.topic, &record.key, &record.value, partitions);
        task.send(
            self.destination,
            partition,
            (&self.key_serde, &record.key),
            (&self.value_serde, &record.value),
            record.timestamp,
            record.headers,
        )
        .map_err(|e| ProcessingError::from(e).at_node(self.name))
    }

    fn name(&self) -> &'static str {
        self.name
    }
}

/// Picks the event time of a source record (Java's `TimestampExtractor`).
pub trait TimestampExtractor<K, V>: Default {
    /// The timestamp of `record`, whose `timestamp` holds the one it had in Kafka;
    /// `partition_time` is the largest timestamp seen on its partition so far.
    /// A negative result fails the record with [`StreamsError::InvalidTimestamp`].
    fn extract(&self, record: &Record<K, V>, partition_time: i64) -> i64;
}

/// The record's own timestamp (Java's default `FailOnInvalidTimestamp`).
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordTimestamp;

impl<K, V> TimestampExtractor<K, V> for RecordTimestamp {
    #[inline]
    fn extract(&self, record: &Record<K, V>, _: i64) -> i64 {
        record.timestamp
    }
}

/// The current system time (Java's `WallclockTimestampExtractor`).
#[derive(Debug, Clone, Copy, Default)]
pub struct WallclockTimestamp;

impl<K, V> TimestampExtractor<K, V> for WallclockTimestamp {
    fn extract(&self, _: &Record<K, V>, _: i64) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }
}

/// A consumed record as raw bytes, on its way into a source node.
#[derive(Debug, Clone)]
pub struct RawRecord<'a> {
    /// The topic it was read from.
    pub topic: &'static str,
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
    /// The timestamp it carried in Kafka.
    pub timestamp: i64,
    /// Key bytes (`None` is null).
    pub key: Option<&'a [u8]>,
    /// Value bytes (`None` is null).
    pub value: Option<&'a [u8]>,
    /// Headers.
    pub headers: Headers,
}

/// A source: deserializes raw records, extracts their timestamp, and forwards them.
pub struct SourceNode<K, V, KS, VS, TE, Ch> {
    name: &'static str,
    key_serde: KS,
    value_serde: VS,
    extractor: TE,
    children: Ch,
    types: PhantomData<fn(K, V)>,
}

impl<K, V, KS: Default, VS: Default, TE: Default, Ch> SourceNode<K, V, KS, VS, TE, Ch> {
    /// A source node forwarding to `children`.
    pub fn new(name: &'static str, children: Ch) -> Self {
        SourceNode {
            name,
            key_serde: KS::default(),
            value_serde: VS::default(),
            extractor: TE::default(),
            children,
            types: PhantomData,
        }
    }
}

/// A source node as a task drives it: raw bytes in.
pub trait Source: NodeLifecycle {
    /// Deserializes and processes one raw record.
    fn process_raw(&mut self, raw: RawRecord<'_>, task: &mut TaskContext) -> Result<(), StreamsError>;
}

impl<K, V, KS, VS, TE, Ch: Children<K, V>> NodeLifecycle for SourceNode<K, V, KS, VS, TE, Ch> {
    fn init(&mut self, task: &mut TaskContext) -> Result<(), ProcessingError> {
        self.children.init(task)
    }
    fn punctuate(
        &mut self,
        node: u32,
        schedule: ScheduleId,
        timestamp: i64,
        task: &mut TaskContext,
    ) -> Option<Result<(), ProcessingError>> {
        self.children.punctuate(node, schedule, timestamp, task)
    }
    fn close(&mut self) {
        self.children.close();
    }
    fn flush_cache(&mut self, store: usize, task: &mut TaskContext) -> Option<Result<(), ProcessingError>> {
        self.children.flush_cache(store, task)
    }
}

impl<K, V, KS: Serde<K>, VS: Serde<V>, TE: TimestampExtractor<K, V>, Ch: Children<K, V>> Source
    for SourceNode<K, V, KS, VS, TE, Ch>
{
    #[inline]
    fn process_raw(&mut self, raw: RawRecord<'_>, task: &mut TaskContext) -> Result<(), StreamsError> {
        let metadata = RecordMetadata {
            topic: raw.topic,
            partition: raw.partition,
            offset: raw.offset,
        };
        let fail = |part, source| StreamsError::Deserialization {
            topic: raw.topic.to_owned(),
            partition: raw.partition,
            offset: raw.offset,
            part,
            source,
        };
        let key = self
            .key_serde
            .deserialize(raw.key)
            .map_err(|e| fail(RecordPart::Key, e))?;
        let value = self
            .value_serde
            .deserialize(raw.value)
            .map_err(|e| fail(RecordPart::Value, e))?;
        let mut record = Record {
            key,
            value,
            timestamp: raw.timestamp,
            headers: raw.headers,
        };
        let timestamp = self.extractor.extract(&record, task.stream_time());
        if timestamp < 0 {
            return Err(StreamsError::InvalidTimestamp {
                topic: raw.topic.to_owned(),
                partition: raw.partition,
                offset: raw.offset,
                timestamp,
            });
        }
        record.timestamp = timestamp;
        task.begin_record(metadata, timestamp);
        self.children
            .forward(record, task)
            .map_err(|e| StreamsError::processing(e.at_node(self.name), Some(metadata)))
    }
}

/// A source outside the task's sub-topology is `None`: it has no nodes to initialize, punctuate
/// or close.
impl<T: NodeLifecycle> NodeLifecycle for Option<T> {
    fn init(&mut self, task: &mut TaskContext) -> Result<(), ProcessingError> {
        self.as_mut().map_or(Ok(()), |n| n.init(task))
    }
    fn punctuate(
        &mut self,
        node: u32,
        schedule: ScheduleId,
        timestamp: i64,
        task: &mut TaskContext,
    ) -> Option<Result<(), ProcessingError>> {
        self.as_mut()?.punctuate(node, schedule, timestamp, task)
    }
    fn close(&mut self) {
        if let Some(n) = self {
            n.close();
        }
    }
    fn flush_cache(&mut self, store: usize, task: &mut TaskContext) -> Option<Result<(), ProcessingError>> {
        self.as_mut()?.flush_cache(store, task)
    }
}

impl<S: Source> Source for Option<S> {
    #[inline]
    fn process_raw(&mut self, raw: RawRecord<'_>, task: &mut TaskContext) -> Result<(), StreamsError> {
        match self {
            Some(source) => source.process_raw(raw, task),
            None => Err(StreamsError::UnknownTopic {
                topic: raw.topic.to_owned(),
                hint: String::new(),
            }),
        }
    }
}

/// The sources of a topology, as a tuple of up to eight (or [`Chunks`] of such tuples); a task
/// dispatches a record by source index.
pub trait TaskGraph: NodeLifecycle {
    /// How many sources there are.
    const LEN: usize;
    /// Processes a raw record of the source at `source`.
    fn process(&mut self, source: usize, raw: RawRecord<'_>, task: &mut TaskContext) -> Result<(), StreamsError>;
}

macro_rules! source_tuple {
    ($($i:tt $T:ident),*) => {
        impl<$($T: Source),*> TaskGraph for ($($T,)*) {
            const LEN: usize = [$($i),*].len();
            #[inline]
            fn process(&mut self, source: usize, raw: RawRecord<'_>, task: &mut TaskContext) -> Result<(), StreamsError> {
                match source {
                    $($i => self.$i.process_raw(raw, task),)*
                    _ => Err(StreamsError::UnknownTopic {
                topic: raw.topic.to_owned(),
                hint: String::new(),
            }),
                }
            }
        }
    };
}

source_tuple!(0 A);
source_tuple!(0 A, 1 B);
source_tuple!(0 A, 1 B, 2 C);
source_tuple!(0 A, 1 B, 2 C, 3 D);
source_tuple!(0 A, 1 B, 2 C, 3 D, 4 E);
source_tuple!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F);
source_tuple!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G);
source_tuple!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H);

macro_rules! source_chunks {
    ([$($i:tt $T:ident),*] $last:tt $L:ident) => {
        impl<$($T: TaskGraph,)* $L: TaskGraph> TaskGraph for Chunks<($($T,)* $L,)> {
            const LEN: usize = $($T::LEN +)* $L::LEN;
            #[inline]
            fn process(&mut self, source: usize, raw: RawRecord<'_>, task: &mut TaskContext) -> Result<(), StreamsError> {
                $(
                    if source < $T::LEN {
                        return self.0.$i.process(source, raw, task);
                    }
                    let source = source - $T::LEN;
                )*
                self.0.$last.process(source, raw, task)
            }
        }
    };
}

source_chunks!([] 0 A);
source_chunks!([0 A] 1 B);
source_chunks!([0 A, 1 B] 2 C);
source_chunks!([0 A, 1 B, 2 C] 3 D);
source_chunks!([0 A, 1 B, 2 C, 3 D] 4 E);
source_chunks!([0 A, 1 B, 2 C, 3 D, 4 E] 5 F);
source_chunks!([0 A, 1 B, 2 C, 3 D, 4 E, 5 F] 6 G);
source_chunks!([0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G] 7 H);
