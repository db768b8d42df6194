//! One stream thread (Java's `StreamThread`): a consumer in the application's group with the
//! range assignor, a producer, and a [`TaskManager`] running one task per sub-topology and
//! assigned partition number (Java's `TaskId` `s_p`). The loop fetches, lets the tasks process
//! and punctuate, and commits every `commit.interval.ms`.

use super::exactly_once;
use super::query::{LocalStores as _, QueryMailbox};
use super::rebalance::{RebalanceContext, ThreadConsumer};
use super::record_collector::{OutputContext, ThreadProducer};
use super::routes::Routes;
use super::stream_task::now_ms;
use super::task_manager::TaskManager;
use super::thread_error::ThreadError;
use super::thread_metrics::{PUBLISH_INTERVAL, Round, ThreadMetrics};
use super::{Shared, kafka_error, stream_task, topics};
use crate::config::{ConsumerKind, RebalanceProtocol, RecordingLevel, StreamsConfig};
use crate::error::StreamsError;
use crate::state::{GlobalStores, ThreadCache};
use crate::topology::Topology;
use rdkafka::consumer::Consumer;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The most records fetched in one round before the tasks process them.
const FETCH_BATCH: usize = 500;

/// How long an idle thread waits for records in one poll: also how long the first interactive
/// query waits for an idle thread to answer (see `QueryMailbox::poll_wait`: for a second after
/// a query the wait is 1 ms, so an idle thread under a steady query load wakes 1,000 times a
/// second).
const IDLE_POLL: Duration = Duration::from_millis(10);

/// How often the consumer reports its statistics, each partition's lag among them (unless
/// the user set `consumer.statistics.interval.ms`).
const STATISTICS_INTERVAL_MS: &str = "1000";

/// What one stream thread keeps across its runs (a replaced thread runs again with them): its
/// index, its query mailbox, its own stop flag (set when the thread is removed), its record
/// cache and its metrics.
pub(crate) struct ThreadOwn {
    pub(crate) index: usize,
    pub(crate) mailbox: QueryMailbox,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) cache: ThreadCache,
    pub(crate) metrics: Arc<ThreadMetrics>,
}

impl ThreadOwn {
    /// Whether the thread is to stop: the application closes or the thread is removed.
    pub(crate) fn stopping(&self, shared: &Shared) -> bool {
        shared.stopping() || self.stop.load(Ordering::Relaxed)
    }
}

/// Runs stream thread `index` (counted from 0) until the application stops it or it fails.
pub(crate) fn run<T: Topology>(
    topology: T,
    config: &StreamsConfig,
    routes: &Routes,
    globals: &GlobalStores,
    own: &ThreadOwn,
    shared: &Shared,
) -> Result<(), ThreadError> {
    let index = own.index;
    let producer = std::sync::Arc::new(create_producer(config, index, shared)?);
    let consumer = create_consumer(config, index, shared, routes)?;
    // Under the cooperative protocol the group assigns each sub-topology's leading topic only.
    let topics: Vec<&str> = match consumer.context().cooperative() {
        true => routes.partners.keys().copied().collect(),
        false => routes.sources.keys().map(String::as_str).collect(),
    };
    consumer.subscribe(&topics).map_err(kafka_error("subscribing"))?;
    // The sinks' partition counts, as the cluster has them now.
    let partitions = topics::partition_counts(config)?;
    let resources = stream_task::ThreadResources {
        globals,
        partitions: &partitions,
        cache: &own.cache,
    };
    let create = |id| stream_task::create(&topology, config, routes, &resources, id, shared);
    let mut tasks = TaskManager::new(config, routes, shared, index, &own.mailbox, create);

    let metrics = &own.metrics;
    let (consumer_id, _) = config.thread_client_ids(index, shared.process_id());
    // Java's thread-id tag: `<client id prefix>-StreamThread-<n>`.
    let thread_id = format!(
        "{}-StreamThread-{}",
        config.client_id_prefix(shared.process_id()),
        index + 1
    );
    metrics.started(thread_id, consumer_id, now_ms());
    let mut round = Round::default();
    let mut last_commit = Instant::now();
    let mut last_publish = Instant::now();
    let mut store_ops = Vec::new();
    let result = (|| -> Result<(), ThreadError> {
        while !own.stopping(shared) {
            round.clear();
            // Fetch: up to FETCH_BATCH records into the tasks' queues, waiting briefly for the first.
            let mut wait = own.mailbox.poll_wait(IDLE_POLL);
            let poll_start = Instant::now();
            let mut fetched = 0;
            for _ in 0..FETCH_BATCH {
                let polled = consumer.poll(wait);
                if let Some(events) = consumer.context().take_events() {
                    tasks.on_rebalance(events, &consumer, &producer)?;
                    metrics.set_tasks(tasks.active_ids());
                }
                match polled {
                    None => break,
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "consumer error");
                        break;
                    }
                    Some(Ok(message)) => tasks.add(&message),
                }
                fetched += 1;
                wait = Duration::ZERO;
            }
            round.poll = Some((poll_start.elapsed(), fetched));
            own.mailbox.answer(&tasks);
            if !tasks.suspended() {
                let process_start = Instant::now();
                tasks.process(&producer, &mut round.tasks)?;
                round.process_time = process_start.elapsed();
                own.mailbox.answer(&tasks);
                producer.poll(Duration::ZERO);
                if tasks.commit_requested() || last_commit.elapsed() >= config.commit_interval() {
                    let commit_start = Instant::now();
                    tasks.commit(&consumer, &producer)?;
                    last_commit = Instant::now();
                    round.commit = Some(last_commit - commit_start);
                }
            }
            metrics.record(&round);
            if let Some(lags) = consumer.context().take_lags() {
                metrics.record_lags(lags);
            }
            if last_publish.elapsed() >= PUBLISH_INTERVAL {
                last_publish = Instant::now();
                if config.metrics_recording_level >= RecordingLevel::Debug {
                    store_ops.clear();
                    tasks.each_task(&mut |id, stores| {
                        stores.take_store_ops(|store, scope, op, tally| {
                            if tally.calls > 0 {
                                store_ops.push((id, store, scope, op, tally));
                            }
                        })
                    });
                    metrics.record_store_ops(&store_ops);
                }
                let mut snapshot = vec![super::alive_stream_threads(config, shared)];
                metrics.snapshot(config.metrics_recording_level, &mut snapshot);
                crate::metrics::publish(&snapshot);
            }
        }
        Ok(())
    })();
    // Graceful shutdown: commit what was processed, then close the tasks (flushing stores).
    // After a failure nothing more is committed: the tasks are dropped as they are.
    let result = result.and_then(|()| tasks.shut_down(&consumer, &producer));
    metrics.set_tasks([]);
    own.mailbox.set_available(false);
    shared.set_active_tasks(index, Vec::new(), Vec::new());
    // Either way the consumer's close (its last revocation) must not commit: a clean exit has
    // committed already, and after a failure the published offsets may run ahead of what was
    // delivered (or, under exactly-once, the open transaction holds unfinished work).
    consumer.context().stop_committing();
    if let (Err(failure), true) = (&result, config.exactly_once()) {
        exactly_once::abort_after_failure(&producer, failure);
    }
    result
}

/// The thread's producer: murmur2 partitioning as Java's; under exactly-once, transactional
/// (and initialized) with Java's transaction timeout.
fn create_producer(config: &StreamsConfig, index: usize, shared: &Shared) -> Result<ThreadProducer, StreamsError> {
    let (_, producer_id) = config.thread_client_ids(index, shared.process_id());
    let mut producer_config = config.client_config(Vec::new());
    producer_config
        .set("client.id", producer_id)
        // Java's producer partitions keys with murmur2.
        .set("partitioner", "murmur2_random");
    if config.exactly_once() {
        // Java's default under exactly-once: a crashed thread's open transaction (which holds
        // back read_committed readers of its partitions) is aborted by the broker after 10 s.
        // librdkafka wants the producer's own timeouts no longer than it, so a user who set one
        // keeps librdkafka's default; a long commit interval gets twice its length.
        let user_timeouts = config.producer_settings().into_iter().any(|(k, _)| {
            matches!(
                k.as_str(),
                "transaction.timeout.ms" | "message.timeout.ms" | "delivery.timeout.ms" | "socket.timeout.ms"
            )
        });
        if !user_timeouts {
            let timeout = config.commit_interval().saturating_mul(2).max(Duration::from_secs(10));
            producer_config.set("transaction.timeout.ms", timeout.as_millis().to_string());
        }
    }
    for (k, v) in config.producer_settings() {
        producer_config.set(k, v);
    }
    if config.exactly_once() {
        let id = exactly_once::transactional_id(&config.application_id, shared.process_id(), index);
        producer_config.set("transactional.id", id);
    }
    let producer: ThreadProducer = producer_config
        .create_with_context(OutputContext::default())
        .map_err(kafka_error("creating the producer"))?;
    if config.exactly_once() {
        exactly_once::init(&producer)?;
    }
    Ok(producer)
}

/// The thread's consumer in the application's group: manual commits, the eager range assignor
/// or the cooperative sticky one (see [`RebalanceProtocol`]), read_committed under
/// exactly-once; its context defers revocations to the thread.
fn create_consumer(
    config: &StreamsConfig,
    index: usize,
    shared: &Shared,
    routes: &Routes,
) -> Result<ThreadConsumer, StreamsError> {
    let (consumer_id, _) = config.thread_client_ids(index, shared.process_id());
    let mut consumer_config = super::consumer_base_config(config);
    consumer_config
        .set("group.id", &config.application_id)
        .set("client.id", consumer_id)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest");
    for (k, v) in config.consumer_settings(ConsumerKind::Main) {
        consumer_config.set(k, v);
    }
    let cooperative = config.rebalance_protocol == RebalanceProtocol::Cooperative;
    consumer_config.set(
        "partition.assignment.strategy",
        if cooperative { "cooperative-sticky" } else { "range" },
    );
    if config.exactly_once() {
        consumer_config.set("isolation.level", "read_committed");
    }
    // The statistics carry each partition's lag (the `records-lag` metrics).
    if consumer_config.get("statistics.interval.ms").is_none() {
        consumer_config.set("statistics.interval.ms", STATISTICS_INTERVAL_MS);
    }
    let read_committed = consumer_config.get("isolation.level") == Some("read_committed");
    let context = RebalanceContext::new(cooperative.then(|| routes.partners.clone()), read_committed);
    consumer_config
        .create_with_context(context)
        .map_err(kafka_error("creating the consumer"))
}
