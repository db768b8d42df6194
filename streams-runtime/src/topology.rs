//! What `topology!` generates into: the [`Topology`] trait with the static metadata of sources,
//! sinks and stores, the `describe()` text and diagram, and typed references the test driver
//! takes to open topics and stores.

use crate::error::StreamsError;
use crate::graph::TaskGraph;
pub use crate::graph::{
    DefaultPartitioner, RecordTimestamp, StreamPartitioner, TimestampExtractor, WallclockTimestamp,
};
use crate::serde::Serde;
use crate::state::{StoreField, StoreHandle, StoreSet, StoreSpec};
use std::fmt;
use std::marker::PhantomData;

/// A source node: its name and topics. A source's index is its position in
/// [`Topology::SOURCES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceSpec {
    /// The node name.
    pub name: &'static str,
    /// The topics it reads.
    pub topics: &'static [&'static str],
    /// Whether it reads a repartition topic; then `topics` holds the topic's name without the
    /// `<application.id>-` prefix.
    pub internal: bool,
    /// Whether it feeds a global table: every instance reads all of its partitions.
    pub global: bool,
}

impl SourceSpec {
    /// The full name of the (first) topic this source reads: for a repartition topic,
    /// `<application.id>-<name>`.
    pub fn topic_name(&self, application_id: &str) -> String {
        if self.internal {
            format!("{application_id}-{}", self.topics[0])
        } else {
            self.topics[0].to_owned()
        }
    }
}

/// The nodes a task runs, by index into [`Topology::NODES`].
#[derive(Debug, Clone, Copy)]
pub enum NodeSet<'a> {
    /// Every node (the test driver, as Java's, runs all sub-topologies in one task).
    All,
    /// The nodes of one sub-topology.
    Only(&'a [usize]),
}

impl NodeSet<'_> {
    /// Whether the node at `index` is in the set.
    pub fn contains(&self, index: usize) -> bool {
        match self {
            NodeSet::All => true,
            NodeSet::Only(nodes) => nodes.contains(&index),
        }
    }
}

/// A node of the graph as the topology declares it.
#[derive(Debug, Clone, Copy)]
pub struct NodeSpec {
    /// The node name.
    pub name: &'static str,
    /// What the node is.
    pub kind: NodeSpecKind,
    /// Indices (into [`Topology::NODES`]) of its parents.
    pub parents: &'static [usize],
}

impl NodeSpec {
    /// Whether the node is a processor that uses the store `name`.
    pub fn uses_store(&self, name: &str) -> bool {
        matches!(self.kind, NodeSpecKind::Processor { stores } if stores.iter().any(|f| f.name == name))
    }
}

/// What a node is.
#[derive(Debug, Clone, Copy)]
pub enum NodeSpecKind {
    /// Reads topics.
    Source {
        /// The topics.
        topics: &'static [&'static str],
    },
    /// Runs a processor.
    Processor {
        /// The stores the processor uses.
        stores: &'static [StoreField],
    },
    /// Writes a topic.
    Sink {
        /// The topic (for a repartition topic, its name without the `<application.id>-` prefix).
        topic: &'static str,
        /// Whether the topic is a repartition topic.
        internal: bool,
    },
    /// Writes each record to a topic chosen for it (Java's `TopicNameExtractor`).
    SinkPerRecord,
}

/// A compiled topology (Java's `Topology`); implemented by `topology!`.
pub trait Topology {
    /// The topology's type name.
    const NAME: &'static str;
    /// Every node, in declaration order.
    const NODES: &'static [NodeSpec];
    /// Source nodes, in declaration order (a source's index is its position here).
    const SOURCES: &'static [SourceSpec];
    /// State stores, in declaration order.
    const STORES: &'static [StoreSpec];

    /// Builds one instance of the node graph over a task's stores: the nodes in `nodes` (a
    /// Kafka task runs one sub-topology; the test driver runs them all).
    fn build(&self, stores: &StoreSet, nodes: NodeSet<'_>) -> Result<impl TaskGraph + use<Self>, StreamsError>;

    /// The description, printed like Java's `Topology.describe()`, with a Mermaid diagram.
    fn describe(&self) -> TopologyDescription {
        crate::describe::describe(Self::NODES, Self::SOURCES)
    }
}

/// The shape of a topology: sub-topologies, nodes, topics and stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopologyDescription {
    pub(crate) text: String,
    pub(crate) mermaid: String,
    pub(crate) subtopologies: Vec<Vec<usize>>,
}

impl TopologyDescription {
    /// The text Java's `TopologyDescription.toString()` prints.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The graph as a Mermaid flowchart.
    pub fn mermaid(&self) -> &str {
        &self.mermaid
    }

    /// The node indices of each sub-topology, by sub-topology id.
    pub fn subtopologies(&self) -> &[Vec<usize>] {
        &self.subtopologies
    }
}

impl fmt::Display for TopologyDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A typed reference to a source of a topology: its index, topic, key/value types and serdes.
/// Generated as `MyTopology::source_<name>()`.
pub struct SourceRef<K, V, KS, VS> {
    index: usize,
    topic: &'static str,
    types: PhantomData<fn(K, V, KS, VS)>,
}

impl<K, V, KS, VS> SourceRef<K, V, KS, VS> {
    #[doc(hidden)]
    pub const fn new(index: usize, topic: &'static str) -> Self {
        SourceRef {
            index,
            topic,
            types: PhantomData,
        }
    }

    /// The source's index in [`Topology::SOURCES`].
    pub fn index(&self) -> usize {
        self.index
    }

    /// The topic (the first one, for a source of several topics).
    pub fn topic(&self) -> &'static str {
        self.topic
    }
}

/// A typed reference to a sink of a topology. Generated as `MyTopology::sink_<name>()`.
pub struct SinkRef<K, V, KS, VS> {
    topic: &'static str,
    types: PhantomData<fn(K, V, KS, VS)>,
}

impl<K, V, KS, VS> SinkRef<K, V, KS, VS> {
    #[doc(hidden)]
    pub const fn new(topic: &'static str) -> Self {
        SinkRef {
            topic,
            types: PhantomData,
        }
    }

    /// The sink's topic.
    pub fn topic(&self) -> &'static str {
        self.topic
    }
}

/// What `topology!` generates, as `store_<name>()` or `to_<topic>()`, for a DSL store or `to`
/// topic whose key or value type the topology's text does not name: a type only rustc infers,
/// such as the result of a closure without a return type. Passing it where a typed store or
/// sink is wanted is a compile error that says how to name the type.
#[derive(Debug, Clone, Copy)]
pub struct TypesNotNamed;

/// A reference to a topology's sink with its record types and serdes (see
/// [`TopologyTestDriver::output_topic`](crate::test_driver::TopologyTestDriver::output_topic)).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a typed sink of a topology",
    label = "expected a `sink_<name>()` or `to_<topic>()` accessor of a topology",
    note = "a DSL `to` gets `TypesNotNamed` when the topology does not name the types it writes: give the closure that makes them an explicit return type (`|_, word| -> String {{ word.clone() }}`), or read the topic by name (`output_topic_as::<K, V>(\"topic\")`)"
)]
pub trait TypedSink {
    /// The records' key type.
    type Key;
    /// The records' value type.
    type Value;
    /// The key serde the sink writes with.
    type KeySerde: Serde<Self::Key>;
    /// The value serde the sink writes with.
    type ValueSerde: Serde<Self::Value>;
    /// The topic.
    fn topic(&self) -> &'static str;
}

impl<K, V, KS: Serde<K>, VS: Serde<V>> TypedSink for SinkRef<K, V, KS, VS> {
    type Key = K;
    type Value = V;
    type KeySerde = KS;
    type ValueSerde = VS;

    fn topic(&self) -> &'static str {
        self.topic
    }
}

/// A reference to a topology's store with its handle type (see
/// [`TopologyTestDriver::store`](crate::test_driver::TopologyTestDriver::store) and
/// [`KafkaStreams::store`](crate::kafka::KafkaStreams::store)).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a typed store of a topology",
    label = "expected a `store_<name>()` accessor of a topology",
    note = "a DSL store gets `TypesNotNamed` when the topology does not name its key or value type: give the closure that makes it an explicit return type (`.group_by(|_, word| -> String {{ word.clone() }})`), or read the store by name (`key_value_store::<K, V>(\"name\")`)"
)]
pub trait TypedStore {
    /// The handle the store is read through.
    type Handle: StoreHandle;
    /// The store's index in [`Topology::STORES`].
    fn index(&self) -> usize;
}

impl<H: StoreHandle> TypedStore for StoreRef<H> {
    type Handle = H;

    fn index(&self) -> usize {
        self.index
    }
}

/// A typed reference to a store of a topology. Generated as `MyTopology::store_<name>()`.
pub struct StoreRef<H> {
    index: usize,
    types: PhantomData<fn() -> H>,
}

impl<H: StoreHandle> StoreRef<H> {
    #[doc(hidden)]
    pub const fn new(index: usize) -> Self {
        StoreRef {
            index,
            types: PhantomData,
        }
    }

    /// The store's index in [`Topology::STORES`].
    pub fn index(&self) -> usize {
        self.index
    }
}
