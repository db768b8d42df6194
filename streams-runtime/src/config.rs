//! `StreamsConfig`: the settings of a running application, with Java's names and defaults
//! (Java's `StreamsConfig`). Settings with a client prefix (`consumer.`, `producer.`, `admin.`,
//! `main.consumer.`, `restore.consumer.`, `global.consumer.`, `topic.`) and security settings
//! (`security.protocol`, `ssl.*`, `sasl.*`) pass through to librdkafka unchanged. Unknown or
//! invalid settings are an error when the config is built.

mod builder;

pub use builder::StreamsConfigBuilder;
use std::path::PathBuf;
use std::time::Duration;

/// A setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The name is not a Kafka Streams setting nor a pass-through client setting.
    #[error("unknown setting `{name}`{hint}")]
    Unknown {
        /// The setting.
        name: String,
        /// A suggestion, if any.
        hint: String,
    },
    /// The value is not valid for the setting.
    #[error("invalid value {value:?} for `{name}`: {reason}")]
    Invalid {
        /// The setting.
        name: String,
        /// The value given.
        value: String,
        /// What is expected.
        reason: String,
    },
    /// A required setting is missing.
    #[error("`{0}` is required")]
    Missing(&'static str),
}

/// `processing.guarantee`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProcessingGuarantee {
    /// `at_least_once` (the default).
    #[default]
    AtLeastOnce,
    /// `exactly_once_v2`.
    ExactlyOnceV2,
}

/// How the stream threads' consumer group rebalances (`partition.assignment.strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RebalanceProtocol {
    /// `range` (the default): every rebalance revokes every partition (stop the world); the
    /// range assignor keeps partition `p` of co-partitioned topics on one member, and standby
    /// placement predicts where it moves a failed instance's tasks.
    #[default]
    Eager,
    /// `cooperative-sticky`: a rebalance revokes only the partitions that move, tasks that stay
    /// keep processing, and partitions stay where they are when they can. The group assigns one
    /// input topic per sub-topology; a thread takes partition `p` of the sub-topology's other
    /// input topics along with it.
    Cooperative,
}

/// What happens to a record whose key or value cannot be deserialized
/// (`deserialization.exception.handler`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DeserializationHandler {
    /// Log it and stop the stream thread (`LogAndFailExceptionHandler`, the default).
    #[default]
    LogAndFail,
    /// Log it, count it and go on (`LogAndContinueExceptionHandler`).
    LogAndContinue,
}

/// What happens when a record cannot be produced (`production.exception.handler`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProductionHandler {
    /// Fail the stream thread (`DefaultProductionExceptionHandler`).
    #[default]
    Fail,
    /// Log, count and go on.
    Continue,
}

/// What happens when a processor fails on a record (`processing.exception.handler`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProcessingHandler {
    /// Log it and stop the stream thread (`LogAndFailProcessingExceptionHandler`, the default).
    #[default]
    LogAndFail,
    /// Log it, count it and go on (`LogAndContinueProcessingExceptionHandler`).
    LogAndContinue,
}

/// Which librdkafka client a pass-through setting is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientScope {
    /// Every client (security settings).
    All,
    /// `consumer.`: every consumer.
    Consumer,
    /// `main.consumer.`: the stream threads' consumers.
    MainConsumer,
    /// `restore.consumer.`: the consumers restoring stores from changelogs.
    RestoreConsumer,
    /// `global.consumer.`: the consumer of global tables.
    GlobalConsumer,
    /// `producer.`.
    Producer,
    /// `admin.`.
    Admin,
    /// `topic.`: settings of the internal topics the application creates.
    Topic,
}

/// The consumers an application runs, for [`StreamsConfig::consumer_settings`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumerKind {
    /// A stream thread's consumer.
    Main,
    /// A changelog-restoring consumer.
    Restore,
    /// The global tables' consumer.
    Global,
}

/// The default of `rocksdb.block.cache.max.bytes`: the size of the one block cache every RocksDB
/// store of an instance shares (50 MiB, what Java gives each store instance a cache of its own).
pub const DEFAULT_ROCKSDB_BLOCK_CACHE_BYTES: usize = 50 * 1024 * 1024;

/// The settings of a Kafka Streams application.
///
/// ```
/// use std::time::Duration;
/// use streams_runtime::config::{ProcessingGuarantee, StreamsConfig};
///
/// let config = StreamsConfig::from_properties([
///     ("application.id", "word-count"),
///     ("bootstrap.servers", "localhost:9092"),
///     ("processing.guarantee", "exactly_once_v2"),
///     ("producer.linger.ms", "5"),
/// ])?;
/// assert_eq!(config.processing_guarantee, ProcessingGuarantee::ExactlyOnceV2);
/// assert_eq!(config.commit_interval(), Duration::from_millis(100)); // Java's exactly-once default
/// assert!(StreamsConfig::from_properties([("application.id", "a"), ("num.stream.thread", "2")]).is_err());
/// # Ok::<(), streams_runtime::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct StreamsConfig {
    /// `application.id`: the consumer group and the prefix of internal topics.
    pub application_id: String,
    /// `bootstrap.servers`; `None` runs against an embedded in-process cluster.
    pub bootstrap_servers: Option<String>,
    /// `num.stream.threads` (default 1).
    pub num_stream_threads: usize,
    /// `processing.guarantee` (default `at_least_once`).
    pub processing_guarantee: ProcessingGuarantee,
    /// `state.dir` (default `<temp dir>/kafka-streams`).
    pub state_dir: PathBuf,
    /// `commit.interval.ms` if set; `None` is Java's default for the guarantee (see
    /// [`commit_interval`](Self::commit_interval)).
    pub commit_interval: Option<Duration>,
    /// `statestore.cache.max.bytes` (default 10 MiB; `cache.max.bytes.buffering` is its
    /// deprecated name): the record cache of the instance, divided among its stream threads
    /// (and the global thread, if any, as in Java). 0 flushes every cached write at once.
    pub statestore_cache_max_bytes: u64,
    /// `num.standby.replicas` (default 0): shadow copies of every stateful task's persistent
    /// stores on other instances (see `kafka::KafkaStreams::local_standby_tasks`).
    pub num_standby_replicas: u32,
    /// `application.server` (`host:port`): the endpoint where this instance answers
    /// interactive queries, which every instance learns (see
    /// [`KafkaStreams::all_metadata`](crate::kafka::KafkaStreams::all_metadata)); `None`
    /// (the default) keeps the instance out of the application's metadata.
    pub application_server: Option<crate::metadata::HostInfo>,
    /// `metrics.recording.level` (default `INFO`): which metrics the application records (see
    /// `kafka::KafkaStreams::metrics`).
    pub metrics_recording_level: RecordingLevel,
    /// `max.task.idle.ms` (default 0).
    pub max_task_idle: Duration,
    /// `replication.factor` of internal topics (default -1: the broker's default).
    pub replication_factor: i16,
    /// `partition.assignment.strategy` of the stream threads' consumers: `range` (eager, the
    /// default) or `cooperative-sticky`.
    pub rebalance_protocol: RebalanceProtocol,
    /// `default.timestamp.extractor`: `true` for `WallclockTimestampExtractor`, `false` for the
    /// record's own timestamp (`FailOnInvalidTimestamp`, the default).
    pub wallclock_timestamps: bool,
    /// `deserialization.exception.handler`.
    pub deserialization_handler: DeserializationHandler,
    /// `errors.dead.letter.queue.topic.name`: where records failing deserialization (under any
    /// handler) are sent raw, if set.
    pub dead_letter_topic: Option<String>,
    /// `production.exception.handler`.
    pub production_handler: ProductionHandler,
    /// `processing.exception.handler`.
    pub processing_handler: ProcessingHandler,
    /// `client.id` prefix (default, as in Java: `<application.id>-<process id>`, unique per
    /// instance, which standby placement relies on to tell instances apart in the group).
    pub client_id: Option<String>,
    /// `client.tag.<key>`: this instance's tags (its rack, zone, ...), which standby placement
    /// reads for the keys `rack.aware.assignment.tags` names.
    pub client_tags: std::collections::BTreeMap<String, String>,
    /// `rack.aware.assignment.tags` (comma-separated tag keys, default none): standby replicas
    /// go preferably to instances whose values of these tags differ from the active task's.
    pub rack_aware_assignment_tags: Vec<String>,
    /// `windowstore.changelog.additional.retention.ms` (default one day): how much longer than
    /// its store a window or session store's changelog keeps records (`retention.ms` of the
    /// changelog topic is the store's retention plus this).
    pub windowstore_changelog_additional_retention: Duration,
    /// `__emit.interval.ms.kstreams.windowed.aggregation__` (Java's internal setting, default
    /// 1 000): how often, in wall-clock time, aggregations emitting on window close look for
    /// closed windows.
    pub windowed_emit_interval: Duration,
    /// `__emit.interval.ms.kstreams.outer.join.spurious.results.fix__` (Java's internal setting,
    /// default 1 000): how often, in wall-clock time, left and outer stream-stream joins look
    /// for records whose join window has closed.
    pub outer_join_emit_interval: Duration,
    /// `rocksdb.block.cache.max.bytes` (this library's, not Java's; default
    /// [`DEFAULT_ROCKSDB_BLOCK_CACHE_BYTES`]): the capacity of the LRU block cache that every
    /// RocksDB store of the instance shares (all tasks, all threads, every segment).
    pub rocksdb_block_cache_bytes: usize,
    /// Java's `rocksdb.config.setter`, typed: see [`set_rocksdb_config_setter`](Self::set_rocksdb_config_setter).
    #[cfg(feature = "rocksdb")]
    pub rocksdb_config_setter: Option<crate::state::RocksDbConfigSetter>,
    /// Pass-through librdkafka settings, by client.
    pub client_settings: Vec<(ClientScope, String, String)>,
}

/// Which metrics are recorded (Java's `metrics.recording.level`): `INFO` (the default) records
/// the client and thread metrics and the tasks' dropped records; `DEBUG` adds the task-level
/// metrics (process, record lateness) and the key-value, window and session stores'
/// (`stream-state-metrics`);
/// `TRACE` adds nothing more here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum RecordingLevel {
    /// Client and thread metrics, and dropped records per task.
    #[default]
    Info,
    /// Also the task-level metrics.
    Debug,
    /// Everything `DEBUG` records.
    Trace,
}

impl RecordingLevel {
    /// Java's spelling.
    pub fn java_name(self) -> &'static str {
        match self {
            RecordingLevel::Info => "INFO",
            RecordingLevel::Debug => "DEBUG",
            RecordingLevel::Trace => "TRACE",
        }
    }

    /// Parses Java's spelling (`INFO`, `DEBUG`, `TRACE`).
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "INFO" => Some(RecordingLevel::Info),
            "DEBUG" => Some(RecordingLevel::Debug),
            "TRACE" => Some(RecordingLevel::Trace),
            _ => None,
        }
    }
}

const STREAMS_SETTINGS: &[&str] = &[
    "application.id",
    "bootstrap.servers",
    "num.stream.threads",
    "processing.guarantee",
    "state.dir",
    "commit.interval.ms",
    "statestore.cache.max.bytes",
    "cache.max.bytes.buffering",
    "num.standby.replicas",
    "application.server",
    "metrics.recording.level",
    "rack.aware.assignment.tags",
    "partition.assignment.strategy",
    "max.task.idle.ms",
    "replication.factor",
    "default.timestamp.extractor",
    "deserialization.exception.handler",
    "default.deserialization.exception.handler",
    "errors.dead.letter.queue.topic.name",
    "production.exception.handler",
    "default.production.exception.handler",
    "processing.exception.handler",
    "client.id",
    "windowstore.changelog.additional.retention.ms",
    "__emit.interval.ms.kstreams.windowed.aggregation__",
    "__emit.interval.ms.kstreams.outer.join.spurious.results.fix__",
    "rocksdb.block.cache.max.bytes",
];

/// Java settings that do not apply here, each with the reason the error gives (a name ending
/// in `.` stands for every setting it prefixes).
const NOT_APPLICABLE: &[(&str, &str)] = &[
    (
        "default.key.serde",
        "serdes are types here: name them in the topology (`key_serde:`, or the key type's default serde)",
    ),
    (
        "default.value.serde",
        "serdes are types here: name them in the topology (`value_serde:`, or the value type's default serde)",
    ),
    (
        "default.dsl.store",
        "choose a store's kind in the topology (`persistent: false` for in-memory)",
    ),
    (
        "dsl.store.suppliers.class",
        "choose a store's kind in the topology (`persistent: false` for in-memory)",
    ),
    (
        "topology.optimization",
        "the topology! macro plans repartition topics at compile time (Java's `reuse.ktable.source.topics` and merged repartitions are not applied)",
    ),
    (
        "acceptable.recovery.lag",
        "the high-availability task assignor is not implemented: partitions are assigned by librdkafka's range or cooperative-sticky assignor",
    ),
    (
        "probing.rebalance.interval.ms",
        "the high-availability task assignor is not implemented: partitions are assigned by librdkafka's range or cooperative-sticky assignor",
    ),
    (
        "max.warmup.replicas",
        "the high-availability task assignor is not implemented: partitions are assigned by librdkafka's range or cooperative-sticky assignor",
    ),
    (
        "rack.aware.assignment.strategy",
        "the rack-aware task assignor is not implemented: partitions are assigned by librdkafka's range or cooperative-sticky assignor (standbys honour rack.aware.assignment.tags)",
    ),
    (
        "task.timeout.ms",
        "a task's Kafka calls are retried by librdkafka (`consumer.`/`producer.` timeouts), not per task",
    ),
    (
        "metric.reporters",
        "metrics go to the `metrics` crate's facade: install an exporter of that crate (Prometheus, StatsD, ...) instead",
    ),
    (
        "metrics.sample.window.ms",
        "sampled metrics keep Java's defaults: two samples of 30 s",
    ),
    (
        "metrics.num.samples",
        "sampled metrics keep Java's defaults: two samples of 30 s",
    ),
    (
        "upgrade.from",
        "there is no earlier version of this library to upgrade from",
    ),
];

/// Client settings Java passes to every client that knows them when they carry no prefix, and
/// the clients that do (librdkafka takes the same names).
const UNPREFIXED_CLIENT_SETTINGS: &[(&str, &[ClientScope])] = &[
    ("acks", &[ClientScope::Producer]),
    ("linger.ms", &[ClientScope::Producer]),
    ("batch.size", &[ClientScope::Producer]),
    ("compression.type", &[ClientScope::Producer]),
    ("delivery.timeout.ms", &[ClientScope::Producer]),
    ("request.timeout.ms", &[ClientScope::Producer, ClientScope::Admin]),
    ("max.request.size", &[ClientScope::Producer]),
    (
        "retry.backoff.ms",
        &[ClientScope::Consumer, ClientScope::Producer, ClientScope::Admin],
    ),
    (
        "reconnect.backoff.ms",
        &[ClientScope::Consumer, ClientScope::Producer, ClientScope::Admin],
    ),
    (
        "reconnect.backoff.max.ms",
        &[ClientScope::Consumer, ClientScope::Producer, ClientScope::Admin],
    ),
    (
        "metadata.max.age.ms",
        &[ClientScope::Consumer, ClientScope::Producer, ClientScope::Admin],
    ),
    (
        "socket.connection.setup.timeout.ms",
        &[ClientScope::Consumer, ClientScope::Producer, ClientScope::Admin],
    ),
    ("client.rack", &[ClientScope::Consumer]),
    ("session.timeout.ms", &[ClientScope::Consumer]),
    ("heartbeat.interval.ms", &[ClientScope::Consumer]),
    ("max.poll.interval.ms", &[ClientScope::Consumer]),
    ("fetch.min.bytes", &[ClientScope::Consumer]),
    ("fetch.max.bytes", &[ClientScope::Consumer]),
    ("fetch.max.wait.ms", &[ClientScope::Consumer]),
    ("max.partition.fetch.bytes", &[ClientScope::Consumer]),
    ("group.instance.id", &[ClientScope::MainConsumer]),
];

const PREFIXES: &[(&str, ClientScope)] = &[
    ("main.consumer.", ClientScope::MainConsumer),
    ("restore.consumer.", ClientScope::RestoreConsumer),
    ("global.consumer.", ClientScope::GlobalConsumer),
    ("consumer.", ClientScope::Consumer),
    ("producer.", ClientScope::Producer),
    ("admin.", ClientScope::Admin),
    ("topic.", ClientScope::Topic),
];

impl StreamsConfig {
    /// Whether `processing.guarantee` is `exactly_once_v2`.
    pub fn exactly_once(&self) -> bool {
        self.processing_guarantee == ProcessingGuarantee::ExactlyOnceV2
    }

    /// How often offsets are committed: `commit.interval.ms` if set, else Java's default for
    /// the guarantee (30 s under at-least-once, 100 ms under exactly-once), however the config
    /// was built.
    pub fn commit_interval(&self) -> Duration {
        self.commit_interval.unwrap_or(if self.exactly_once() {
            Duration::from_millis(100)
        } else {
            Duration::from_millis(30_000)
        })
    }

    /// A config with Java's defaults for `application.id`.
    pub fn new(application_id: impl Into<String>) -> Self {
        StreamsConfig {
            application_id: application_id.into(),
            bootstrap_servers: None,
            num_stream_threads: 1,
            processing_guarantee: ProcessingGuarantee::AtLeastOnce,
            state_dir: std::env::temp_dir().join("kafka-streams"),
            commit_interval: None,
            statestore_cache_max_bytes: crate::state::DEFAULT_CACHE_MAX_BYTES,
            num_standby_replicas: 0,
            application_server: None,
            metrics_recording_level: RecordingLevel::Info,
            max_task_idle: Duration::ZERO,
            replication_factor: -1,
            rebalance_protocol: RebalanceProtocol::Eager,
            wallclock_timestamps: false,
            deserialization_handler: DeserializationHandler::LogAndFail,
            dead_letter_topic: None,
            production_handler: ProductionHandler::Fail,
            processing_handler: ProcessingHandler::LogAndFail,
            client_id: None,
            client_tags: std::collections::BTreeMap::new(),
            rack_aware_assignment_tags: Vec::new(),
            windowstore_changelog_additional_retention: Duration::from_millis(86_400_000),
            windowed_emit_interval: Duration::from_millis(1_000),
            outer_join_emit_interval: Duration::from_millis(1_000),
            rocksdb_block_cache_bytes: DEFAULT_ROCKSDB_BLOCK_CACHE_BYTES,
            #[cfg(feature = "rocksdb")]
            rocksdb_config_setter: None,
            client_settings: Vec::new(),
        }
    }

    /// Sets the function that adjusts the RocksDB options of every store (Java's
    /// `rocksdb.config.setter`): it is called with each database's name (the store's, or
    /// `<store>.<segment start>` for a segment of a window or session store), its options and
    /// its block-based table options, before the database opens. See
    /// [`RocksDbConfigSetter`](crate::state::RocksDbConfigSetter).
    #[cfg(feature = "rocksdb")]
    pub fn set_rocksdb_config_setter(
        &mut self,
        set_config: impl Fn(&str, &mut rocksdb::Options, &mut rocksdb::BlockBasedOptions) + Send + Sync + 'static,
    ) -> &mut Self {
        self.rocksdb_config_setter = Some(crate::state::RocksDbConfigSetter::new(set_config));
        self
    }

    /// A config from `name = value` settings with Java's names (a `.properties` file's lines,
    /// say). `application.id` is required; unknown names and invalid values are errors.
    pub fn from_properties<K: AsRef<str>, V: AsRef<str>>(
        settings: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, ConfigError> {
        let settings: Vec<(String, String)> = settings
            .into_iter()
            .map(|(k, v)| (k.as_ref().trim().to_owned(), v.as_ref().trim().to_owned()))
            .collect();
        let application_id = settings
            .iter()
            .rev()
            .find(|(k, _)| k == "application.id")
            .map(|(_, v)| v.clone())
            .ok_or(ConfigError::Missing("application.id"))?;
        let mut config = StreamsConfig::new(application_id);
        let mut explicit = Explicit::default();
        for (name, value) in &settings {
            config.set(name, value, &mut explicit)?;
        }
        // The deprecated name counts only without the new one (Java's `totalCacheSize`).
        match (explicit.cache_max_bytes, explicit.cache_max_bytes_buffering) {
            (Some(bytes), deprecated) => {
                if deprecated.is_some_and(|d| d != bytes) {
                    tracing::warn!(
                        "both `cache.max.bytes.buffering` (deprecated) and `statestore.cache.max.bytes` are set; using `statestore.cache.max.bytes`"
                    );
                }
                config.statestore_cache_max_bytes = bytes;
            }
            (None, Some(bytes)) => {
                tracing::warn!("`cache.max.bytes.buffering` is deprecated; set `statestore.cache.max.bytes` instead");
                config.statestore_cache_max_bytes = bytes;
            }
            (None, None) => {}
        }
        Ok(config)
    }

    /// Each stream thread's share of `statestore.cache.max.bytes`: Java divides the instance's
    /// cache among the stream threads and the global thread, if the topology has global tables.
    pub fn cache_max_bytes_per_thread(&self, global_thread: bool) -> u64 {
        self.statestore_cache_max_bytes / (self.num_stream_threads as u64 + u64::from(global_thread))
    }

    fn set(&mut self, name: &str, value: &str, explicit: &mut Explicit) -> Result<(), ConfigError> {
        let invalid = |reason: &str| ConfigError::Invalid {
            name: name.to_owned(),
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        let number = |min: i64| -> Result<i64, ConfigError> {
            value
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= min)
                .ok_or_else(|| invalid(&format!("expected an integer >= {min}")))
        };
        let class = value.rsplit('.').next().unwrap_or(value);
        match name {
            "application.id" => {
                if value.is_empty()
                    || !value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                {
                    return Err(invalid(
                        "use ASCII letters, digits, '.', '_' and '-' (it prefixes topic names)",
                    ));
                }
            }
            "bootstrap.servers" => {
                self.bootstrap_servers = (!value.is_empty()).then(|| value.to_owned());
            }
            "num.stream.threads" => self.num_stream_threads = number(1)? as usize,
            "processing.guarantee" => {
                self.processing_guarantee = match value {
                    "at_least_once" => ProcessingGuarantee::AtLeastOnce,
                    "exactly_once_v2" => ProcessingGuarantee::ExactlyOnceV2,
                    _ => return Err(invalid("expected `at_least_once` or `exactly_once_v2`")),
                }
            }
            "state.dir" => self.state_dir = PathBuf::from(value),
            "commit.interval.ms" => {
                self.commit_interval = Some(Duration::from_millis(number(0)? as u64));
            }
            "statestore.cache.max.bytes" => explicit.cache_max_bytes = Some(number(0)? as u64),
            "cache.max.bytes.buffering" => explicit.cache_max_bytes_buffering = Some(number(0)? as u64),
            "num.standby.replicas" => self.num_standby_replicas = number(0)? as u32,
            "application.server" => {
                self.application_server = match value {
                    "" => None,
                    _ => Some(
                        value
                            .parse()
                            .map_err(|e: crate::metadata::HostInfoError| invalid(&e.to_string()))?,
                    ),
                }
            }
            "metrics.recording.level" => {
                self.metrics_recording_level =
                    RecordingLevel::parse(value).ok_or_else(|| invalid("expected `INFO`, `DEBUG` or `TRACE`"))?
            }
            "max.task.idle.ms" => self.max_task_idle = Duration::from_millis(number(0)? as u64),
            "windowstore.changelog.additional.retention.ms" => {
                self.windowstore_changelog_additional_retention = Duration::from_millis(number(0)? as u64)
            }
            "__emit.interval.ms.kstreams.windowed.aggregation__" => {
                self.windowed_emit_interval = Duration::from_millis(number(0)? as u64)
            }
            "__emit.interval.ms.kstreams.outer.join.spurious.results.fix__" => {
                self.outer_join_emit_interval = Duration::from_millis(number(0)? as u64)
            }
            "replication.factor" => {
                let n = number(-1)?;
                if n == 0 {
                    return Err(invalid("expected -1 (the broker's default) or a positive integer"));
                }
                self.replication_factor = i16::try_from(n).map_err(|_| invalid("too large"))?;
            }
            "default.timestamp.extractor" => {
                self.wallclock_timestamps = match class {
                    "FailOnInvalidTimestamp" => false,
                    "WallclockTimestampExtractor" => true,
                    _ => {
                        return Err(invalid(
                            "expected `FailOnInvalidTimestamp` or `WallclockTimestampExtractor`",
                        ));
                    }
                }
            }
            "deserialization.exception.handler" | "default.deserialization.exception.handler" => {
                self.deserialization_handler = match class {
                    "LogAndFailExceptionHandler" => DeserializationHandler::LogAndFail,
                    "LogAndContinueExceptionHandler" => DeserializationHandler::LogAndContinue,
                    _ => {
                        return Err(invalid(
                            "expected `LogAndFailExceptionHandler` or `LogAndContinueExceptionHandler`",
                        ));
                    }
                }
            }
            "errors.dead.letter.queue.topic.name" => {
                self.dead_letter_topic = (!value.is_empty()).then(|| value.to_owned());
            }
            "production.exception.handler" | "default.production.exception.handler" => {
                self.production_handler = match class {
                    "DefaultProductionExceptionHandler" => ProductionHandler::Fail,
                    "ContinueProductionExceptionHandler" => ProductionHandler::Continue,
                    _ => {
                        return Err(invalid(
                            "expected `DefaultProductionExceptionHandler` or `ContinueProductionExceptionHandler`",
                        ));
                    }
                }
            }
            "processing.exception.handler" => {
                self.processing_handler = match class {
                    "LogAndFailProcessingExceptionHandler" => ProcessingHandler::LogAndFail,
                    "LogAndContinueProcessingExceptionHandler" => ProcessingHandler::LogAndContinue,
                    _ => {
                        return Err(invalid(
                            "expected `LogAndFailProcessingExceptionHandler` or `LogAndContinueProcessingExceptionHandler`",
                        ));
                    }
                }
            }
            "client.id" => self.client_id = Some(value.to_owned()),
            "partition.assignment.strategy"
            | "consumer.partition.assignment.strategy"
            | "main.consumer.partition.assignment.strategy" => {
                self.rebalance_protocol = match value {
                    "range" => RebalanceProtocol::Eager,
                    "cooperative-sticky" => RebalanceProtocol::Cooperative,
                    _ => return Err(invalid("expected `range` (eager) or `cooperative-sticky`")),
                }
            }
            "rack.aware.assignment.tags" => {
                self.rack_aware_assignment_tags = (value.split(','))
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            _ if name.starts_with("client.tag.") => {
                let key = &name["client.tag.".len()..];
                if key.is_empty() {
                    return Err(invalid("a client tag needs a key: `client.tag.<key>`"));
                }
                self.client_tags.insert(key.to_owned(), value.to_owned());
            }
            "rocksdb.block.cache.max.bytes" => {
                self.rocksdb_block_cache_bytes = usize::try_from(number(0)?).map_err(|_| invalid("too large"))?
            }
            "rocksdb.config.setter" => {
                return Err(invalid(
                    "a class name cannot name Rust code: set the function with `StreamsConfig::set_rocksdb_config_setter`",
                ));
            }
            _ => {
                if let Some((prefix, scope)) = PREFIXES.iter().find(|(p, _)| name.starts_with(p)) {
                    let rest = &name[prefix.len()..];
                    if rest.is_empty() {
                        return Err(invalid("a client prefix needs a setting after it"));
                    }
                    self.client_settings.push((*scope, rest.to_owned(), value.to_owned()));
                } else if name == "security.protocol" || name.starts_with("ssl.") || name.starts_with("sasl.") {
                    self.client_settings
                        .push((ClientScope::All, name.to_owned(), value.to_owned()));
                } else if let Some((_, scopes)) = UNPREFIXED_CLIENT_SETTINGS.iter().find(|(n, _)| *n == name) {
                    // Before every prefixed setting: a prefix wins over no prefix, as in Java.
                    for scope in *scopes {
                        let at = explicit.unprefixed_client_settings;
                        self.client_settings
                            .insert(at, (*scope, name.to_owned(), value.to_owned()));
                        explicit.unprefixed_client_settings += 1;
                    }
                } else if let Some((_, reason)) = NOT_APPLICABLE
                    .iter()
                    .find(|(n, _)| *n == name || (n.ends_with('.') && name.starts_with(n)))
                {
                    return Err(invalid(reason));
                } else {
                    let hint = suggest(name);
                    return Err(ConfigError::Unknown {
                        name: name.to_owned(),
                        hint,
                    });
                }
            }
        }
        Ok(())
    }

    /// The librdkafka settings of a consumer of this application, pass-through settings
    /// applied from the least to the most specific prefix.
    pub fn consumer_settings(&self, kind: ConsumerKind) -> Vec<(String, String)> {
        let specific = match kind {
            ConsumerKind::Main => ClientScope::MainConsumer,
            ConsumerKind::Restore => ClientScope::RestoreConsumer,
            ConsumerKind::Global => ClientScope::GlobalConsumer,
        };
        self.client_settings_for(&[ClientScope::All, ClientScope::Consumer, specific])
    }

    /// The librdkafka settings of a producer of this application.
    pub fn producer_settings(&self) -> Vec<(String, String)> {
        self.client_settings_for(&[ClientScope::All, ClientScope::Producer])
    }

    /// The librdkafka settings of the admin client.
    pub fn admin_settings(&self) -> Vec<(String, String)> {
        self.client_settings_for(&[ClientScope::All, ClientScope::Admin])
    }

    /// A librdkafka client configuration: `bootstrap.servers` and `settings` (one of the
    /// `*_settings` lists, which carry the security settings every client needs).
    #[cfg(feature = "kafka")]
    pub fn client_config(&self, settings: Vec<(String, String)>) -> rdkafka::ClientConfig {
        let mut client = rdkafka::ClientConfig::new();
        client.set(
            "bootstrap.servers",
            self.bootstrap_servers.as_deref().unwrap_or_default(),
        );
        for (k, v) in settings {
            client.set(k, v);
        }
        client
    }

    /// The `topic.` settings for internal topics.
    pub fn topic_settings(&self) -> Vec<(String, String)> {
        self.client_settings_for(&[ClientScope::Topic])
    }

    /// The `client.id` prefix of the instance with process id `process_id`: `client.id`, else
    /// `<application.id>-<process id>` (Java's default).
    pub fn client_id_prefix(&self, process_id: &str) -> String {
        match &self.client_id {
            Some(prefix) => prefix.clone(),
            None => format!("{}-{process_id}", self.application_id),
        }
    }

    /// The `client.id`s of stream thread `index`'s consumer and producer in the instance with
    /// process id `process_id`: `<prefix>-StreamThread-<n>-consumer` and `-producer` (see
    /// [`client_id_prefix`](Self::client_id_prefix)), unless the client settings name them.
    pub fn thread_client_ids(&self, index: usize, process_id: &str) -> (String, String) {
        let prefix = self.client_id_prefix(process_id);
        let named = |settings: Vec<(String, String)>| {
            settings
                .into_iter()
                .rev()
                .find_map(|(k, v)| (k == "client.id").then_some(v))
        };
        let thread = format!("{prefix}-StreamThread-{}", index + 1);
        (
            named(self.consumer_settings(ConsumerKind::Main)).unwrap_or_else(|| format!("{thread}-consumer")),
            named(self.producer_settings()).unwrap_or_else(|| format!("{thread}-producer")),
        )
    }

    fn client_settings_for(&self, scopes: &[ClientScope]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for scope in scopes {
            for (s, k, v) in &self.client_settings {
                if s == scope {
                    out.retain(|(name, _)| name != k);
                    out.push((k.clone(), v.clone()));
                }
            }
        }
        out
    }
}

/// Settings whose effect depends on whether (and how) others were set.
#[derive(Default)]
struct Explicit {
    /// How many unprefixed client settings lead `client_settings`.
    unprefixed_client_settings: usize,
    cache_max_bytes: Option<u64>,
    cache_max_bytes_buffering: Option<u64>,
}

fn suggest(name: &str) -> String {
    let close = STREAMS_SETTINGS
        .iter()
        .map(|s| (crate::names::edit_distance(name, s), *s))
        .filter(|(d, _)| *d <= 2 + name.len() / 5)
        .min_by_key(|(d, _)| *d);
    match close {
        Some((_, s)) => format!("; did you mean `{s}`? (client settings need a prefix such as `consumer.`)"),
        None => "; client settings need a prefix such as `consumer.`, `producer.` or `admin.`".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_defaults() {
        let c = StreamsConfig::from_properties([("application.id", "wordcount")]).unwrap();
        assert_eq!(c.application_id, "wordcount");
        assert_eq!(c.num_stream_threads, 1);
        assert_eq!(c.processing_guarantee, ProcessingGuarantee::AtLeastOnce);
        assert_eq!(c.commit_interval(), Duration::from_secs(30));
        assert_eq!(c.replication_factor, -1);
        assert_eq!(c.deserialization_handler, DeserializationHandler::LogAndFail);
        assert!(c.bootstrap_servers.is_none());
    }

    #[test]
    fn the_record_cache_takes_its_deprecated_name_only_without_the_new_one() {
        let config = |settings: &[(&str, &str)]| {
            let all = [("application.id", "app")].iter().chain(settings);
            StreamsConfig::from_properties(all.copied()).unwrap()
        };
        assert_eq!(config(&[]).statestore_cache_max_bytes, 10 * 1024 * 1024);
        assert_eq!(
            config(&[("cache.max.bytes.buffering", "100")]).statestore_cache_max_bytes,
            100
        );
        let both = [
            ("statestore.cache.max.bytes", "7"),
            ("cache.max.bytes.buffering", "100"),
        ];
        assert_eq!(config(&both).statestore_cache_max_bytes, 7);
        assert_eq!(
            config(&[("statestore.cache.max.bytes", "0")]).statestore_cache_max_bytes,
            0
        );
        // Divided among the stream threads and the global thread.
        let three = config(&[("statestore.cache.max.bytes", "900"), ("num.stream.threads", "2")]);
        assert_eq!(
            (
                three.cache_max_bytes_per_thread(false),
                three.cache_max_bytes_per_thread(true)
            ),
            (450, 300)
        );
        assert!(
            StreamsConfig::from_properties([("application.id", "app"), ("statestore.cache.max.bytes", "-1")]).is_err()
        );
    }

    #[test]
    fn exactly_once_defaults_to_a_100_ms_commit_interval_unless_set() {
        let eos = [("application.id", "a"), ("processing.guarantee", "exactly_once_v2")];
        assert_eq!(
            StreamsConfig::from_properties(eos).unwrap().commit_interval(),
            Duration::from_millis(100)
        );
        // The same default when the guarantee is set on a config built with `new`.
        let mut built = StreamsConfig::new("a");
        built.processing_guarantee = ProcessingGuarantee::ExactlyOnceV2;
        assert_eq!(built.commit_interval(), Duration::from_millis(100));
        let set = [
            ("application.id", "a"),
            ("processing.guarantee", "exactly_once_v2"),
            ("commit.interval.ms", "500"),
        ];
        assert_eq!(
            StreamsConfig::from_properties(set).unwrap().commit_interval(),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn unprefixed_client_settings_reach_the_clients_that_know_them_and_a_prefix_wins() {
        let c = StreamsConfig::from_properties([
            ("application.id", "a"),
            ("producer.acks", "1"),
            ("acks", "all"),
            ("linger.ms", "5"),
            ("session.timeout.ms", "10000"),
            ("main.consumer.session.timeout.ms", "20000"),
        ])
        .unwrap();
        let get =
            |settings: Vec<(String, String)>, name: &str| settings.into_iter().find(|(k, _)| k == name).map(|(_, v)| v);
        assert_eq!(get(c.producer_settings(), "acks").as_deref(), Some("1"));
        assert_eq!(get(c.producer_settings(), "linger.ms").as_deref(), Some("5"));
        assert_eq!(get(c.admin_settings(), "acks"), None);
        assert_eq!(
            get(c.consumer_settings(ConsumerKind::Main), "session.timeout.ms").as_deref(),
            Some("20000")
        );
        assert_eq!(
            get(c.consumer_settings(ConsumerKind::Restore), "session.timeout.ms").as_deref(),
            Some("10000")
        );
        assert_eq!(get(c.consumer_settings(ConsumerKind::Main), "linger.ms"), None);
    }

    #[test]
    fn java_settings_that_do_not_apply_are_rejected_with_the_reason() {
        let reason =
            |name: &str, value: &str| match StreamsConfig::from_properties([("application.id", "a"), (name, value)]) {
                Err(ConfigError::Invalid { reason, .. }) => reason,
                other => panic!("{name}: {other:?}"),
            };
        assert!(
            reason(
                "default.key.serde",
                "org.apache.kafka.common.serialization.Serdes$StringSerde"
            )
            .starts_with("serdes are types here")
        );
        assert!(reason("application.server", "no-port").contains("host:port"));
        assert!(reason("acceptable.recovery.lag", "10000").contains("range or cooperative-sticky assignor"));
    }

    #[test]
    fn the_builder_and_from_properties_agree() {
        let built = StreamsConfig::builder()
            .application_id("a")
            .num_stream_threads(3)
            .processing_guarantee(ProcessingGuarantee::ExactlyOnceV2)
            .statestore_cache_max_bytes(7)
            .commit_interval(Duration::from_millis(250))
            .application_server(&crate::metadata::HostInfo::new("10.0.0.7", 8080))
            .deserialization_handler(DeserializationHandler::LogAndContinue)
            .property("acks", "all")
            .build()
            .unwrap();
        let properties = StreamsConfig::from_properties([
            ("application.id", "a"),
            ("num.stream.threads", "3"),
            ("processing.guarantee", "exactly_once_v2"),
            ("statestore.cache.max.bytes", "7"),
            ("commit.interval.ms", "250"),
            ("application.server", "10.0.0.7:8080"),
            ("deserialization.exception.handler", "LogAndContinueExceptionHandler"),
            ("acks", "all"),
        ])
        .unwrap();
        assert_eq!(built, properties);
        assert!(matches!(
            StreamsConfig::builder()
                .application_id("a")
                .num_stream_threads(0)
                .build(),
            Err(ConfigError::Invalid { .. })
        ));
        assert_eq!(
            StreamsConfig::builder().build(),
            Err(ConfigError::Missing("application.id"))
        );
    }

    #[test]
    fn handlers_take_java_class_names() {
        let c = StreamsConfig::from_properties([
            ("application.id", "a"),
            (
                "deserialization.exception.handler",
                "org.apache.kafka.streams.errors.LogAndContinueExceptionHandler",
            ),
            ("errors.dead.letter.queue.topic.name", "dlq"),
            (
                "processing.exception.handler",
                "LogAndContinueProcessingExceptionHandler",
            ),
        ])
        .unwrap();
        assert_eq!(c.deserialization_handler, DeserializationHandler::LogAndContinue);
        assert_eq!(c.dead_letter_topic.as_deref(), Some("dlq"));
        assert_eq!(c.processing_handler, ProcessingHandler::LogAndContinue);
    }

    #[cfg(feature = "rocksdb")]
    #[test]
    fn rocksdb_settings_take_a_cache_size_and_a_typed_setter_only() {
        let default = StreamsConfig::from_properties([("application.id", "a")]).unwrap();
        assert_eq!(default.rocksdb_block_cache_bytes, 50 * 1024 * 1024);
        assert_eq!(default.rocksdb_config_setter, None);
        let sized =
            StreamsConfig::from_properties([("application.id", "a"), ("rocksdb.block.cache.max.bytes", "1048576")])
                .unwrap();
        assert_eq!(sized.rocksdb_block_cache_bytes, 1_048_576);
        let err = StreamsConfig::from_properties([("application.id", "a"), ("rocksdb.block.cache.max.bytes", "-1")])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value \"-1\" for `rocksdb.block.cache.max.bytes`: expected an integer >= 0"
        );
        let err = StreamsConfig::from_properties([
            ("application.id", "a"),
            ("rocksdb.config.setter", "com.example.BoundedMemoryRocksDBConfig"),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value \"com.example.BoundedMemoryRocksDBConfig\" for `rocksdb.config.setter`: a class name cannot name Rust code: set the function with `StreamsConfig::set_rocksdb_config_setter`"
        );
        let mut config = default.clone();
        config.set_rocksdb_config_setter(|_, options, _| options.set_write_buffer_size(1024));
        assert!(config.rocksdb_config_setter.is_some());
        assert_eq!(config.clone(), config, "a clone shares the setter");
        assert_ne!(config, default);
    }

    #[test]
    fn thread_client_ids_follow_the_client_id_prefix_unless_named() {
        let plain = StreamsConfig::from_properties([("application.id", "a")]).unwrap();
        assert_eq!(
            plain.thread_client_ids(0, "p7"),
            (
                "a-p7-StreamThread-1-consumer".to_owned(),
                "a-p7-StreamThread-1-producer".to_owned()
            )
        );
        let named = StreamsConfig::from_properties([
            ("application.id", "a"),
            ("client.id", "svc"),
            ("main.consumer.client.id", "mine"),
        ])
        .unwrap();
        assert_eq!(
            named.thread_client_ids(1, "p7"),
            ("mine".to_owned(), "svc-StreamThread-2-producer".to_owned())
        );
    }

    #[test]
    fn client_prefixes_pass_through_most_specific_last() {
        let c = StreamsConfig::from_properties([
            ("application.id", "a"),
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "PLAIN"),
            ("consumer.fetch.min.bytes", "10"),
            ("main.consumer.fetch.min.bytes", "20"),
            ("producer.linger.ms", "5"),
            ("topic.segment.bytes", "1048576"),
        ])
        .unwrap();
        let main = c.consumer_settings(ConsumerKind::Main);
        assert!(main.contains(&("fetch.min.bytes".to_owned(), "20".to_owned())));
        assert!(!main.contains(&("fetch.min.bytes".to_owned(), "10".to_owned())));
        assert!(main.contains(&("security.protocol".to_owned(), "SASL_SSL".to_owned())));
        let restore = c.consumer_settings(ConsumerKind::Restore);
        assert!(restore.contains(&("fetch.min.bytes".to_owned(), "10".to_owned())));
        assert_eq!(
            c.producer_settings(),
            [
                ("security.protocol".to_owned(), "SASL_SSL".to_owned()),
                ("sasl.mechanism".to_owned(), "PLAIN".to_owned()),
                ("linger.ms".to_owned(), "5".to_owned())
            ]
        );
        assert_eq!(c.topic_settings(), [("segment.bytes".to_owned(), "1048576".to_owned())]);
    }

    #[test]
    fn unknown_and_invalid_settings_are_errors() {
        let err = StreamsConfig::from_properties([("application.id", "a"), ("num.stream.thread", "2")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown setting `num.stream.thread`; did you mean `num.stream.threads`? (client settings need a prefix such as `consumer.`)"
        );
        let err = StreamsConfig::from_properties([("application.id", "a"), ("num.stream.threads", "0")]).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { .. }), "{err}");
        let err = StreamsConfig::from_properties([("application.id", "a"), ("processing.guarantee", "exactly_once")])
            .unwrap_err();
        assert!(err.to_string().contains("exactly_once_v2"), "{err}");
        assert_eq!(
            StreamsConfig::from_properties([("bootstrap.servers", "x:9092")]).unwrap_err(),
            ConfigError::Missing("application.id")
        );
        let err = StreamsConfig::from_properties([("application.id", "bad id")]).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { .. }), "{err}");
    }
}
