//! `StreamsConfig::builder()`: the settings as typed calls, with the checks and defaults of
//! `from_properties`.

use super::{
    ConfigError, DeserializationHandler, ProcessingGuarantee, ProcessingHandler, ProductionHandler, RecordingLevel,
    StreamsConfig,
};
use std::path::PathBuf;
use std::time::Duration;

/// Builds a [`StreamsConfig`] with typed setters; any Java setting (a client one such as
/// `producer.linger.ms`, say) can be given by name with [`property`](Self::property).
///
/// ```
/// use std::time::Duration;
/// use streams_runtime::config::{ProcessingGuarantee, StreamsConfig};
///
/// let config = StreamsConfig::builder()
///     .application_id("word-count")
///     .bootstrap_servers("localhost:9092")
///     .processing_guarantee(ProcessingGuarantee::ExactlyOnceV2)
///     .num_stream_threads(2)
///     .property("producer.linger.ms", "5")
///     .build()?;
/// assert_eq!(config.commit_interval(), Duration::from_millis(100));
/// assert!(StreamsConfig::builder().build().is_err(), "application.id is required");
/// # Ok::<(), streams_runtime::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct StreamsConfigBuilder {
    application_id: Option<String>,
    /// Every setting in call order, as `from_properties` takes them.
    settings: Vec<(String, String)>,
}

impl StreamsConfig {
    /// A builder of typed settings (see [`StreamsConfigBuilder`]).
    pub fn builder() -> StreamsConfigBuilder {
        StreamsConfigBuilder::default()
    }
}

impl StreamsConfigBuilder {
    fn with(mut self, name: &str, value: impl ToString) -> Self {
        self.settings.push((name.to_owned(), value.to_string()));
        self
    }

    fn millis(duration: Duration) -> u128 {
        duration.as_millis()
    }

    /// `application.id` (required).
    pub fn application_id(mut self, id: impl Into<String>) -> Self {
        self.application_id = Some(id.into());
        self
    }

    /// `bootstrap.servers`.
    pub fn bootstrap_servers(self, servers: impl Into<String>) -> Self {
        self.with("bootstrap.servers", servers.into())
    }

    /// `num.stream.threads` (at least 1).
    pub fn num_stream_threads(self, threads: usize) -> Self {
        self.with("num.stream.threads", threads)
    }

    /// `processing.guarantee`.
    pub fn processing_guarantee(self, guarantee: ProcessingGuarantee) -> Self {
        let name = match guarantee {
            ProcessingGuarantee::AtLeastOnce => "at_least_once",
            ProcessingGuarantee::ExactlyOnceV2 => "exactly_once_v2",
        };
        self.with("processing.guarantee", name)
    }

    /// `state.dir`.
    pub fn state_dir(self, dir: impl Into<PathBuf>) -> Self {
        self.with("state.dir", dir.into().display())
    }

    /// `application.server`: where this instance answers interactive queries, announced to
    /// every instance of the application.
    pub fn application_server(self, endpoint: &crate::metadata::HostInfo) -> Self {
        self.with("application.server", endpoint)
    }

    /// `commit.interval.ms` (default: 30 s, or 100 ms under exactly-once).
    pub fn commit_interval(self, interval: Duration) -> Self {
        self.with("commit.interval.ms", Self::millis(interval))
    }

    /// `statestore.cache.max.bytes` (the instance's record cache; 0 turns it off).
    pub fn statestore_cache_max_bytes(self, bytes: u64) -> Self {
        self.with("statestore.cache.max.bytes", bytes)
    }

    /// `metrics.recording.level`.
    pub fn metrics_recording_level(self, level: RecordingLevel) -> Self {
        self.with("metrics.recording.level", level.java_name())
    }

    /// `max.task.idle.ms`.
    pub fn max_task_idle(self, idle: Duration) -> Self {
        self.with("max.task.idle.ms", Self::millis(idle))
    }

    /// `replication.factor` of internal topics (-1: the broker's default).
    pub fn replication_factor(self, factor: i16) -> Self {
        self.with("replication.factor", factor)
    }

    /// `deserialization.exception.handler`.
    pub fn deserialization_handler(self, handler: DeserializationHandler) -> Self {
        let class = match handler {
            DeserializationHandler::LogAndFail => "LogAndFailExceptionHandler",
            DeserializationHandler::LogAndContinue => "LogAndContinueExceptionHandler",
        };
        self.with("deserialization.exception.handler", class)
    }

    /// `production.exception.handler`.
    pub fn production_handler(self, handler: ProductionHandler) -> Self {
        let class = match handler {
            ProductionHandler::Fail => "DefaultProductionExceptionHandler",
            ProductionHandler::Continue => "ContinueProductionExceptionHandler",
        };
        self.with("production.exception.handler", class)
    }

    /// `processing.exception.handler`.
    pub fn processing_handler(self, handler: ProcessingHandler) -> Self {
        let class = match handler {
            ProcessingHandler::LogAndFail => "LogAndFailProcessingExceptionHandler",
            ProcessingHandler::LogAndContinue => "LogAndContinueProcessingExceptionHandler",
        };
        self.with("processing.exception.handler", class)
    }

    /// `errors.dead.letter.queue.topic.name`.
    pub fn dead_letter_topic(self, topic: impl Into<String>) -> Self {
        self.with("errors.dead.letter.queue.topic.name", topic.into())
    }

    /// `client.id` (the prefix of the clients' ids).
    pub fn client_id(self, id: impl Into<String>) -> Self {
        self.with("client.id", id.into())
    }

    /// Any setting by its Java name, checked as [`StreamsConfig::from_properties`] checks it.
    pub fn property(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        self.with(&name, value.into())
    }

    /// The config, or the first setting that is unknown, invalid or missing.
    pub fn build(self) -> Result<StreamsConfig, ConfigError> {
        let id = self.application_id.ok_or(ConfigError::Missing("application.id"))?;
        StreamsConfig::from_properties(std::iter::once(("application.id".to_owned(), id)).chain(self.settings))
    }
}
