//! Error types. Bad input never panics: it becomes one of these, naming topic, partition and
//! offset where a record is involved.

use crate::lifecycle::State;
use crate::processor::TaskId;
use crate::record::RecordMetadata;
use crate::serde::SerdeError;
use std::borrow::Cow;
use std::error::Error;
use std::fmt;
use std::path::PathBuf;

/// The boxed error a processor returns; any `std::error::Error` converts into it with `?`.
///
/// The runtime fills in the node it came from on its way up the graph.
pub struct ProcessingError {
    node: Option<&'static str>,
    source: Box<dyn Error + Send + Sync + 'static>,
}

impl ProcessingError {
    /// An error with a message only.
    pub fn msg(message: impl Into<String>) -> Self {
        ProcessingError {
            node: None,
            source: message.into().into(),
        }
    }

    /// The node in which the error arose, once known.
    pub fn node(&self) -> Option<&'static str> {
        self.node
    }

    /// The underlying error.
    pub fn source_error(&self) -> &(dyn Error + Send + Sync + 'static) {
        &*self.source
    }

    /// Records the node the error came from unless a deeper node already did.
    pub(crate) fn at_node(mut self, node: &'static str) -> Self {
        self.node.get_or_insert(node);
        self
    }

    pub(crate) fn into_parts(self) -> (Option<&'static str>, Box<dyn Error + Send + Sync>) {
        (self.node, self.source)
    }
}

impl<E: Error + Send + Sync + 'static> From<E> for ProcessingError {
    fn from(error: E) -> Self {
        ProcessingError {
            node: None,
            source: Box::new(error),
        }
    }
}

impl fmt::Debug for ProcessingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessingError")
            .field("node", &self.node)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for ProcessingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.node {
            Some(node) => write!(f, "in node {node}: {}", self.source),
            None => write!(f, "{}", self.source),
        }
    }
}

/// Which part of a record an error concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordPart {
    /// The key.
    Key,
    /// The value.
    Value,
}

impl fmt::Display for RecordPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecordPart::Key => "key",
            RecordPart::Value => "value",
        })
    }
}

/// A failed state store operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Stored bytes could not be read back, or a value could not be written.
    #[error("store {store}: {source}")]
    Serde {
        /// The store.
        store: &'static str,
        /// The serde failure.
        source: SerdeError,
    },
    /// RocksDB failed. `source` is a `rocksdb::Error` (reachable with `downcast_ref`).
    #[error("store {store}: RocksDB: {source}")]
    RocksDb {
        /// The store.
        store: &'static str,
        /// The RocksDB failure.
        source: Box<dyn Error + Send + Sync>,
    },
    /// The store's files could not be set up.
    #[error("store {store}: {source}")]
    Io {
        /// The store.
        store: &'static str,
        /// The I/O failure.
        source: std::io::Error,
    },
}

/// Everything that can go wrong while building or running a topology.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamsError {
    /// A source record's key or value could not be deserialized.
    #[error("cannot deserialize the {part} of the record at {topic}-{partition} offset {offset}: {source}")]
    Deserialization {
        /// The source topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The offset.
        offset: i64,
        /// Key or value.
        part: RecordPart,
        /// Why.
        source: SerdeError,
    },
    /// A key or value could not be serialized for a topic.
    #[error("cannot serialize the {part} of a record for topic {topic}: {source}")]
    Serialization {
        /// The topic.
        topic: String,
        /// Key or value.
        part: RecordPart,
        /// Why.
        source: SerdeError,
    },
    /// The timestamp extractor gave a negative timestamp.
    #[error("invalid timestamp {timestamp} of the record at {topic}-{partition} offset {offset}")]
    InvalidTimestamp {
        /// The source topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The offset.
        offset: i64,
        /// The extracted timestamp.
        timestamp: i64,
    },
    /// A processor (or a sink's serializer) failed.
    #[error("processing failed in node {node}{}: {source}", at(.metadata))]
    Processing {
        /// The node in which the error arose.
        node: &'static str,
        /// The record being processed, if any (none during punctuation).
        metadata: Option<RecordMetadata>,
        /// Why.
        source: Box<dyn Error + Send + Sync>,
    },
    /// A state store failed outside of processing (creation, flush).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A store was looked up with another kind than it has.
    #[error("store {store} is a {actual} store, not a {expected} store")]
    StoreKind {
        /// The store.
        store: String,
        /// The kind asked for.
        expected: &'static str,
        /// The kind it has.
        actual: &'static str,
    },
    /// A store name that the topology does not declare.
    #[error("no store named {name} in this topology{hint}")]
    UnknownStore {
        /// The name asked for.
        name: String,
        /// The closest store name, or the store names.
        hint: String,
    },
    /// A store cannot be queried now (Java's `InvalidStateStoreException` family): retry later,
    /// or ask the instance that holds it.
    #[error("store {store} cannot be queried: {reason}")]
    StoreNotQueryable {
        /// The store.
        store: String,
        /// Why.
        reason: NotQueryable,
    },
    /// A topic that no source of the topology reads.
    #[error("topic {topic} is not a source topic of this topology{hint}")]
    UnknownTopic {
        /// The topic asked for.
        topic: String,
        /// The closest source topic, or the source topics.
        hint: String,
    },
    /// The configuration is not usable.
    #[error("configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
    /// A Kafka client call failed. `source` is librdkafka's error (an
    /// `rdkafka::error::KafkaError`, reachable with `downcast_ref`).
    #[error("Kafka: {context}: {source}")]
    Kafka {
        /// What the runtime was doing.
        context: Cow<'static, str>,
        /// The client's error.
        source: Box<dyn Error + Send + Sync>,
    },
    /// A file system or thread operation failed (the state directory, starting a thread).
    #[error("{context}: {source}")]
    Io {
        /// What the runtime was doing.
        context: Cow<'static, str>,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Another instance on this machine holds the lock of a task's state directory (Java's
    /// `LockException`).
    #[error("state directory {}: task {task} is locked by another instance on this machine", .path.display())]
    StateDirectoryLocked {
        /// The task's directory.
        path: PathBuf,
        /// The task.
        task: TaskId,
    },
    /// Topics the application needs are missing, unreadable or unusable: a source or global
    /// topic that does not exist, co-partitioned topics with different partition counts, an
    /// internal topic the broker refused to create (Java's `MissingSourceTopicException` and
    /// `TopologyException`).
    #[error("{context}: {message}")]
    Topics {
        /// What the runtime was checking or creating.
        context: &'static str,
        /// What is wrong.
        message: String,
    },
    /// An operation made no progress within its time limit (Java's `TimeoutException`).
    #[error("{context}: {message}")]
    Timeout {
        /// What the runtime was doing.
        context: Cow<'static, str>,
        /// What did not complete.
        message: String,
    },
    /// Records could not be produced and the production exception handler says fail.
    #[error("producing: {}", .failures.join("; "))]
    Production {
        /// Each failed record's topic and error.
        failures: Vec<String>,
    },
    /// Another instance of the application asked every instance to shut down (its thread
    /// failed and the uncaught exception handler said `SHUTDOWN_APPLICATION`).
    #[error("shutting down the application: instance {instance} requested it")]
    ShutdownRequested {
        /// The thread of the instance that asked.
        instance: String,
    },
    /// The application is in the wrong state for the call.
    #[error("the application is {state:?}; {reason}")]
    IllegalState {
        /// The state it is in.
        state: State,
        /// What the call needs.
        reason: &'static str,
    },
}

/// Why a store cannot be queried (the cases of Java's `InvalidStateStoreException`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotQueryable {
    /// The application has not been started (Java's `StreamsNotStartedException`).
    #[error("the application has not been started")]
    NotStarted,
    /// No running task of this instance holds the store: it is being rebalanced or restored,
    /// or it lives on another instance (Java's `StateStoreMigratedException`). Retry, or ask
    /// the instance `query_metadata_for_key` names.
    #[error("it may have migrated to another instance, or its task is being rebalanced or restored")]
    Migrated,
    /// The application is shutting down, stopped or failed (Java's
    /// `StateStoreNotAvailableException`).
    #[error("the application is {0:?}")]
    NotAvailable(State),
    /// The query asked for one partition and this instance holds no task of it (Java's
    /// `InvalidStateStorePartitionException`).
    #[error("this instance holds no task of partition {0}")]
    NoSuchPartition(i32),
    /// A stream thread did not answer in time (busy restoring, under a stale query).
    #[error("a stream thread did not answer within {0:?}")]
    Timeout(std::time::Duration),
}

fn at(metadata: &Option<RecordMetadata>) -> String {
    match metadata {
        Some(m) => format!(" at {}-{} offset {}", m.topic, m.partition, m.offset),
        None => String::new(),
    }
}

impl StreamsError {
    pub(crate) fn processing(error: ProcessingError, metadata: Option<RecordMetadata>) -> Self {
        let (node, source) = error.into_parts();
        StreamsError::Processing {
            node: node.unwrap_or("<unknown>"),
            metadata,
            source,
        }
    }
}
