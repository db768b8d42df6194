//! One stream thread (Java's `StreamThread`): a consumer in the application's group with the
//! range assignor, a producer, and one task per sub-topology and assigned partition number
//! (Java's `TaskId` `s_p`). Task `s_p` runs the nodes of sub-topology `s` on partition `p` of
//! each of its source topics (repartition topics included); its stores are restored from
//! partition `p` of their changelogs when the task is created.

use super::checkpoint::{self, OutputContext};
use super::exactly_once::{self, CommitFailure};
use super::partition_group::PartitionGroup;
use super::rebalance::{RebalanceContext, RebalanceEvents, ThreadProducer};
use super::{Fault, Shared, State, kafka_error, restore};
use crate::config::{ConsumerKind, DeserializationHandler, ProcessingHandler, StreamsConfig};
use crate::error::StreamsError;
use crate::graph::{RawRecord, TaskGraph};
use crate::processor::{PunctuationType, TaskId};
use crate::record::Headers;
use crate::state::StoreContext;
use crate::task::{Destination, Task, create_task};
use crate::topology::{NodeSet, Topology};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers as _, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer as _};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a new task waits for its state directory's lock.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// The most records fetched in one round before the tasks process them.
const FETCH_BATCH: usize = 500;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A task, the next offset to commit for each of its input partitions, and its state
/// directory (locked while the task runs here).
struct RunningTask<G> {
    task: Task<G>,
    /// (topic, next offset) of every input partition consumed since the last commit.
    consumed: Vec<(&'static str, i64)>,
    /// Fetched records not yet processed, per input topic.
    group: PartitionGroup,
    dir: PathBuf,
    /// The last changelog offset the task's stores reflect, per changelog topic.
    checkpoint: HashMap<String, i64>,
    /// The task's dropped records already added to the application's count.
    reported_drops: u64,
    /// Per input topic, the offset processing would restart from after an abort: the last
    /// committed position, or the first record fetched (exactly-once rewinds there).
    rewind: Vec<(&'static str, i64)>,
    _lock: File,
}

/// The stream thread's consumer, committing on revocation through its context.
type ThreadConsumer = BaseConsumer<RebalanceContext>;

/// The names the thread resolves once: source topics to source indices and sub-topologies,
/// and the topics behind changelog and repartition destinations.
struct Routes {
    /// Topic name → (source index, the topic's `'static` name).
    sources: HashMap<String, (usize, &'static str)>,
    /// Changelog topic per store index.
    changelogs: Vec<String>,
    /// Full topic name per source index (repartition topics prefixed with the application id).
    source_topics: Vec<String>,
    /// The sub-topology of each source index.
    source_subtopology: Vec<u32>,
    /// The node indices of each sub-topology.
    subtopologies: Vec<Vec<usize>>,
}

impl Routes {
    fn new<T: Topology>(application_id: &str) -> Self {
        let mut sources = HashMap::new();
        let mut source_topics = Vec::new();
        for (index, spec) in T::SOURCES.iter().enumerate() {
            if spec.internal {
                // One name per internal topic and thread, kept for the thread's lifetime.
                let full: &'static str = Box::leak(spec.topic_name(application_id).into_boxed_str());
                sources.insert(full.to_owned(), (index, full));
                source_topics.push(full.to_owned());
            } else {
                for topic in spec.topics {
                    sources.insert((*topic).to_owned(), (index, *topic));
                }
                source_topics.push(spec.topics[0].to_owned());
            }
        }
        let changelogs = T::STORES.iter().map(|s| s.changelog_topic(application_id)).collect();
        let subtopologies = crate::describe::subtopologies(T::NODES);
        let source_subtopology = T::SOURCES
            .iter()
            .map(|spec| {
                let node = T::NODES.iter().position(|n| n.name == spec.name);
                let sub = subtopologies
                    .iter()
                    .position(|members| node.is_some_and(|n| members.contains(&n)));
                sub.unwrap_or_default() as u32
            })
            .collect();
        Routes {
            sources,
            changelogs,
            source_topics,
            source_subtopology,
            subtopologies,
        }
    }

    /// The task that consumes `partition` of the topic read by the source at `source`.
    fn task_of(&self, source: usize, partition: i32) -> TaskId {
        TaskId {
            subtopology: self.source_subtopology[source],
            partition,
        }
    }
}

/// Runs stream thread `index` (counted from 0) until the application stops it or it fails.
pub(crate) fn run<T: Topology>(
    topology: T,
    config: &StreamsConfig,
    index: usize,
    shared: &Shared,
) -> Result<(), StreamsError> {
    let bootstrap = config.bootstrap_servers.clone().unwrap_or_default();
    let app = config.application_id.as_str();
    let routes = Routes::new::<T>(app);

    let (consumer_id, producer_id) = config.thread_client_ids(index);
    let mut producer_config = ClientConfig::new();
    producer_config
        .set("bootstrap.servers", &bootstrap)
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
            let timeout = config.commit_interval.saturating_mul(2).max(Duration::from_secs(10));
            producer_config.set("transaction.timeout.ms", timeout.as_millis().to_string());
        }
    }
    for (k, v) in config.producer_settings() {
        producer_config.set(k, v);
    }
    if config.exactly_once() {
        let id = exactly_once::transactional_id(app, shared.process_id(), index);
        producer_config.set("transactional.id", id);
    }
    let producer: Arc<ThreadProducer> = Arc::new(
        producer_config
            .create_with_context(OutputContext::default())
            .map_err(kafka_error("creating the producer"))?,
    );
    if config.exactly_once() {
        exactly_once::init(&producer)?;
    }

    let mut consumer_config = ClientConfig::new();
    consumer_config
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", app)
        .set("client.id", consumer_id)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest");
    for (k, v) in config.consumer_settings(ConsumerKind::Main) {
        consumer_config.set(k, v);
    }
    // The rebalance handling assumes the eager protocol (every rebalance revokes everything).
    consumer_config.set("partition.assignment.strategy", "range");
    if config.exactly_once() {
        consumer_config.set("isolation.level", "read_committed");
    }
    let consumer: ThreadConsumer = consumer_config
        .create_with_context(RebalanceContext::new(
            Arc::clone(&producer),
            config.production_handler,
            config.exactly_once(),
        ))
        .map_err(kafka_error("creating the consumer"))?;
    let topics: Vec<&str> = routes.sources.keys().map(String::as_str).collect();
    consumer.subscribe(&topics).map_err(kafka_error("subscribing"))?;

    let mut tasks: HashMap<TaskId, RunningTask<_>> = HashMap::new();
    let mut last_commit = Instant::now();
    let mut rebalancing = false;
    let result = (|| -> Result<(), StreamsError> {
        loop {
            if shared.stopping() {
                return Ok(());
            }
            // What a revocation during this fetch commits: everything processed so far.
            consumer.context().publish(
                tasks
                    .iter()
                    .flat_map(|(id, t)| t.consumed.iter().map(move |&(topic, next)| (topic, id.partition, next))),
            );
            // Fetch: up to FETCH_BATCH records into the tasks' queues, waiting briefly for the first.
            let mut wait = Duration::from_millis(50);
            for _ in 0..FETCH_BATCH {
                let polled = consumer.poll(wait);
                if let Some(events) = consumer.context().take_events() {
                    rebalancing = on_rebalance(config.exactly_once(), events, &mut tasks, &routes, &producer, shared)?
                        .unwrap_or(rebalancing);
                }
                let message = match polled {
                    None => break,
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "consumer error");
                        break;
                    }
                    Some(Ok(message)) => message,
                };
                wait = Duration::ZERO;
                let Some(&(source, topic)) = routes.sources.get(message.topic()) else {
                    continue;
                };
                let id = routes.task_of(source, message.partition());
                if config.exactly_once() && !tasks.contains_key(&id) {
                    // A restore may outlast the transaction timeout: none is left open across it.
                    commit(config, &consumer, &producer, &mut tasks, &routes, shared)?;
                    last_commit = Instant::now();
                }
                let running = match tasks.entry(id) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(new_task(&topology, config, &bootstrap, &routes, id, shared)?)
                    }
                };
                let mut headers = Headers::new();
                if let Some(hs) = message.headers() {
                    for h in hs.iter() {
                        headers.add(h.key, h.value);
                    }
                }
                let timestamp = if config.wallclock_timestamps {
                    now_ms()
                } else {
                    message.timestamp().to_millis().unwrap_or(-1)
                };
                if !running.rewind.iter().any(|(t, _)| std::ptr::eq(*t, topic)) {
                    running.rewind.push((topic, message.offset()));
                }
                running.group.push(
                    topic,
                    message.offset(),
                    timestamp,
                    message.key(),
                    message.payload(),
                    headers,
                );
            }
            // Between a revocation and the next assignment the tasks are suspended: no processing,
            // punctuation or commit (their partitions may be someone else's by now).
            if rebalancing {
                continue;
            }
            // Process: each task merges its inputs in timestamp order.
            let now = Instant::now();
            for (id, running) in &mut tasks {
                let partition = &id.partition;
                let RunningTask {
                    task,
                    group,
                    consumed,
                    reported_drops,
                    ..
                } = running;
                while let Some(next) = group.next(config.max_task_idle, now) {
                    let raw = RawRecord {
                        topic: next.topic,
                        partition: *partition,
                        offset: next.offset,
                        timestamp: next.timestamp,
                        key: next.key,
                        value: next.value,
                        headers: next.headers,
                    };
                    if let Err(e) = task.process(next.source, raw) {
                        let failed = Failed {
                            topic: next.topic,
                            partition: *partition,
                            offset: next.offset,
                            key: next.key,
                            value: next.value,
                        };
                        handle_error(config, &producer, &failed, e)?;
                        shared.count_dropped(1);
                    }
                    let (topic, offset) = (next.topic, next.offset + 1);
                    group.release();
                    match consumed.iter_mut().find(|(t, _)| std::ptr::eq(*t, topic)) {
                        Some(entry) => entry.1 = offset,
                        None => consumed.push((topic, offset)),
                    }
                    let stream_time = task.stream_time();
                    task.punctuate(PunctuationType::StreamTime, stream_time)?;
                    send_output(&producer, &routes, *partition, task)?;
                }
                let drops = task.dropped_records();
                shared.count_dropped(drops - std::mem::replace(reported_drops, drops));
            }
            let now = now_ms();
            for (id, running) in &mut tasks {
                running.task.punctuate(PunctuationType::WallClockTime, now)?;
                send_output(&producer, &routes, id.partition, &mut running.task)?;
            }
            producer.poll(Duration::ZERO);
            let commit_requested = tasks.values_mut().any(|t| t.task.take_commit_request());
            if commit_requested || last_commit.elapsed() >= config.commit_interval {
                commit(config, &consumer, &producer, &mut tasks, &routes, shared)?;
                last_commit = Instant::now();
            }
        }
    })();
    // Graceful shutdown: commit what was processed, then close the tasks (flushing stores).
    // After a failure nothing more is committed: the tasks are dropped as they are.
    let result = result.and_then(|()| {
        let committed = commit(config, &consumer, &producer, &mut tasks, &routes, shared);
        for (_, running) in tasks.drain() {
            running.task.close()?;
        }
        committed
    });
    // Either way the consumer's close (its last revocation) must not commit: a clean exit has
    // committed already, and after a failure the published offsets may run ahead of what was
    // delivered (or, under exactly-once, the open transaction holds unfinished work).
    consumer.context().stop_committing();
    if let (Err(failure), true) = (&result, config.exactly_once()) {
        exactly_once::abort_after_failure(&producer, failure);
    }
    result
}

/// Handles what rebalances did during `poll`; `Some(true)` when the tasks are suspended (revoked,
/// not yet assigned again), `Some(false)` when an assignment ended that. On revocation the processed offsets were
/// committed (or, if the broker refused, the context resumes reassigned partitions at the
/// thread's positions), so buffered records are dropped (they are fetched again). On
/// assignment, tasks whose partitions stayed go on with their stores as they are (Java resumes
/// suspended tasks); the others are flushed, checkpointed and closed.
fn on_rebalance<G: TaskGraph>(
    exactly_once: bool,
    events: RebalanceEvents,
    tasks: &mut HashMap<TaskId, RunningTask<G>>,
    routes: &Routes,
    producer: &ThreadProducer,
    shared: &Shared,
) -> Result<Option<bool>, StreamsError> {
    if let Some(error) = events.failure {
        return Err(error);
    }
    let mut suspended = None;
    if events.revoked {
        suspended = Some(true);
        shared.transition(State::Rebalancing);
        for running in tasks.values_mut() {
            running.group.clear();
            if exactly_once {
                // The transaction was committed (or aborted): the stores follow it, and the
                // partitions restart from the committed offsets either way.
                if events.committed {
                    running.task.commit_state()?;
                } else {
                    running.task.revive()?;
                }
                running.consumed.clear();
                running.rewind.clear();
            } else if events.committed {
                running.consumed.clear();
            }
        }
    }
    if let Some(assigned) = events.assigned {
        let kept: Vec<TaskId> = assigned
            .iter()
            .filter_map(|(topic, p)| routes.sources.get(topic).map(|&(source, _)| routes.task_of(source, *p)))
            .collect();
        let lost: Vec<TaskId> = tasks.keys().copied().filter(|id| !kept.contains(id)).collect();
        for id in lost {
            if let Some(mut running) = tasks.remove(&id) {
                tracing::info!(task = %id, "task revoked");
                running.task.flush()?;
                write_checkpoint(&mut running, routes, producer, id.partition);
                running.task.close()?;
            }
        }
        if !shared.stopping() {
            shared.transition(State::Running);
        }
        suspended = Some(false);
    }
    Ok(suspended)
}

/// Creates task `id`: locks its state directory (two instances on one machine never share a
/// task's stores), opens its stores and restores them from their changelogs.
fn new_task<T: Topology>(
    topology: &T,
    config: &StreamsConfig,
    bootstrap: &str,
    routes: &Routes,
    id: TaskId,
    shared: &Shared,
) -> Result<RunningTask<impl TaskGraph + use<T>>, StreamsError> {
    let sub = id.subtopology as usize;
    let dir = config.state_dir.join(&config.application_id).join(id.to_string());
    let io = |e: std::io::Error| StreamsError::Kafka {
        context: format!("state directory {}", dir.display()),
        message: e.to_string(),
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let lock = File::create(dir.join(".lock")).map_err(io)?;
    // Another thread of this instance may still hold the task until it handles the same
    // rebalance (Java backs off and retries too); another instance holds it until it stops.
    let deadline = Instant::now() + LOCK_WAIT;
    while lock.try_lock().is_err() {
        if Instant::now() >= deadline {
            return Err(StreamsError::Kafka {
                context: format!("state directory {}", dir.display()),
                message: format!("task {id} is locked by another instance on this machine"),
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let stores = StoreContext {
        task_dir: dir.clone(),
        exactly_once: config.exactly_once(),
    };
    let nodes = NodeSet::Only(&routes.subtopologies[sub]);
    let task = create_task(topology, id, nodes, &config.application_id, &stores, now_ms())?;
    let checkpoint = restore::restore_stores(
        config,
        bootstrap,
        task.stores(),
        id.partition,
        shared,
        &checkpoint::read(&dir),
    )?;
    tracing::info!(task = %id, "task created");
    Ok(RunningTask {
        task,
        consumed: Vec::new(),
        group: PartitionGroup::new(
            routes
                .sources
                .values()
                .filter(|(source, _)| routes.source_subtopology[*source] == id.subtopology)
                .map(|&(source, topic)| (topic, source)),
        ),
        dir,
        checkpoint,
        reported_drops: 0,
        rewind: Vec::new(),
        _lock: lock,
    })
}

/// Applies the configured handler to a record that failed: skip it (logged, with a copy in the
/// dead-letter topic if one is set) or fail the thread.
/// A record whose processing failed, as the error handlers see it.
struct Failed<'a> {
    topic: &'static str,
    partition: i32,
    offset: i64,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
}

fn handle_error(
    config: &StreamsConfig,
    producer: &ThreadProducer,
    message: &Failed<'_>,
    error: StreamsError,
) -> Result<(), StreamsError> {
    let continue_ = match &error {
        StreamsError::Deserialization { .. } | StreamsError::InvalidTimestamp { .. } => {
            config.deserialization_handler == DeserializationHandler::LogAndContinue
        }
        StreamsError::Processing { .. } => config.processing_handler == ProcessingHandler::LogAndContinue,
        _ => false,
    };
    if let (Some(dlq), StreamsError::Deserialization { .. }) = (&config.dead_letter_topic, &error) {
        let mut record = BaseRecord::<[u8], [u8]>::to(dlq);
        if let Some(k) = message.key {
            record = record.key(k);
        }
        if let Some(v) = message.value {
            record = record.payload(v);
        }
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "__streams.errors.topic",
                value: Some(message.topic),
            })
            .insert(Header {
                key: "__streams.errors.exception",
                value: Some(&error.to_string()),
            });
        send_with_retry(producer, record.headers(headers))?;
    }
    if continue_ {
        tracing::warn!(
            topic = message.topic,
            partition = message.partition,
            offset = message.offset,
            %error,
            "skipping record"
        );
        Ok(())
    } else {
        Err(error)
    }
}

/// Produces everything a task emitted: sinks to their topics, changelogs to the task's
/// partition of `<app>-<store>-changelog`, repartition records by key.
fn send_output<G: TaskGraph>(
    producer: &ThreadProducer,
    routes: &Routes,
    partition: i32,
    task: &mut Task<G>,
) -> Result<(), StreamsError> {
    let mut result = Ok(());
    task.drain_output(|r| {
        if result.is_err() {
            return;
        }
        let (topic, partition) = match r.destination {
            Destination::Topic(t) => (t, r.partition),
            Destination::Changelog(store) => (routes.changelogs[store].as_str(), Some(partition)),
            Destination::Repartition(source) => (routes.source_topics[source].as_str(), r.partition),
        };
        let mut record = BaseRecord::<[u8], [u8]>::to(topic).timestamp(r.timestamp);
        if let Some(k) = r.key {
            record = record.key(k);
        }
        if let Some(v) = r.value {
            record = record.payload(v);
        }
        if let Some(p) = partition {
            record = record.partition(p);
        }
        if !r.headers.is_empty() {
            let mut headers = OwnedHeaders::new_with_capacity(r.headers.len());
            for h in r.headers.iter() {
                headers = headers.insert(Header {
                    key: &h.key,
                    value: h.value.as_deref(),
                });
            }
            record = record.headers(headers);
        }
        result = send_with_retry(producer, record);
    });
    result
}

fn send_with_retry(producer: &ThreadProducer, mut record: BaseRecord<'_, [u8], [u8]>) -> Result<(), StreamsError> {
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                producer.poll(Duration::from_millis(10));
                record = back;
            }
            Err((e, back)) => return Err(kafka_error(format!("producing to {}", back.topic))(e)),
        }
    }
}

/// Flushes the producer and the stores, then commits the consumed offsets (at-least-once:
/// output is durable before the input is marked done); under exactly-once, commits the
/// transaction instead.
fn commit<G: TaskGraph>(
    config: &StreamsConfig,
    consumer: &ThreadConsumer,
    producer: &ThreadProducer,
    tasks: &mut HashMap<TaskId, RunningTask<G>>,
    routes: &Routes,
    shared: &Shared,
) -> Result<(), StreamsError> {
    for (id, running) in tasks.iter_mut() {
        send_output(producer, routes, id.partition, &mut running.task)?;
    }
    if config.exactly_once() {
        return commit_transaction(consumer, producer, tasks, routes, shared);
    }
    producer
        .flush(Duration::from_secs(30))
        .map_err(kafka_error("flushing the producer before a commit"))?;
    producer
        .context()
        .take_failures(config.production_handler)
        .map_err(|message| StreamsError::Kafka {
            context: "producing".to_owned(),
            message,
        })?;
    let mut offsets = TopicPartitionList::new();
    for (id, running) in tasks.iter_mut() {
        running.task.flush()?;
        for &(topic, next) in &running.consumed {
            offsets
                .add_partition_offset(topic, id.partition, Offset::Offset(next))
                .map_err(kafka_error("building the commit"))?;
        }
    }
    if offsets.count() > 0 {
        match consumer.commit(&offsets, CommitMode::Sync) {
            Ok(()) => tasks.values_mut().for_each(|t| t.consumed.clear()),
            // The group moved on (a rebalance began, this member was evicted): the offsets stay
            // to be committed on revocation or at the next commit, and are redone by the
            // partitions' next owner otherwise (at-least-once).
            Err(e) if lost_generation(&e) => {
                tracing::warn!(error = %e, "offsets not committed: the group is rebalancing");
            }
            Err(e) => return Err(kafka_error("committing offsets")(e)),
        }
    }
    // Committed: a revocation has nothing more to commit.
    consumer.context().publish([]);
    for (id, running) in tasks.iter_mut() {
        write_checkpoint(running, routes, producer, id.partition);
    }
    Ok(())
}

/// Whether a commit failed because this member's group generation is over.
fn lost_generation(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::RebalanceInProgress
                | RDKafkaErrorCode::IllegalGeneration
                | RDKafkaErrorCode::UnknownMemberId
                | RDKafkaErrorCode::AssignmentLost
        )
    )
}

/// The exactly-once commit: the transaction carries the output, the changelog writes and the
/// consumed offsets; once it is committed the stores apply their uncommitted writes. If it
/// aborts, the stores drop them and every task rewinds its input to the last committed
/// positions, so the aborted records are processed again against the committed state.
fn commit_transaction<G: TaskGraph>(
    consumer: &ThreadConsumer,
    producer: &ThreadProducer,
    tasks: &mut HashMap<TaskId, RunningTask<G>>,
    routes: &Routes,
    shared: &Shared,
) -> Result<(), StreamsError> {
    let mut offsets = TopicPartitionList::new();
    for (id, running) in tasks.iter() {
        for &(topic, next) in &running.consumed {
            offsets
                .add_partition_offset(topic, id.partition, Offset::Offset(next))
                .map_err(kafka_error("building the commit"))?;
        }
    }
    if offsets.count() > 0 && shared.take_fault(Fault::FenceNextCommit) {
        // What a fenced producer's commit reports; the thread drops its tasks uncommitted.
        return Err(StreamsError::TaskMigrated("injected fault: producer fenced".to_owned()));
    }
    let injected = (offsets.count() > 0 && shared.take_fault(Fault::AbortNextCommit)).then_some("injected fault");
    let result = exactly_once::commit(producer, consumer, &offsets, injected);
    consumer.context().publish([]);
    match result {
        Ok(()) => {
            for (id, running) in tasks.iter_mut() {
                running.task.commit_state()?;
                running.task.flush()?;
                for (topic, next) in running.consumed.drain(..) {
                    match running.rewind.iter_mut().find(|(t, _)| std::ptr::eq(*t, topic)) {
                        Some(entry) => entry.1 = next,
                        None => running.rewind.push((topic, next)),
                    }
                }
                write_checkpoint(running, routes, producer, id.partition);
            }
            Ok(())
        }
        Err(CommitFailure::Aborted) => {
            for (id, running) in tasks.iter_mut() {
                running.task.revive()?;
                running.consumed.clear();
                running.group.clear();
                for &(topic, offset) in &running.rewind {
                    consumer
                        .seek(topic, id.partition, Offset::Offset(offset), Duration::from_secs(10))
                        .map_err(kafka_error(format!("rewinding {topic}-{}", id.partition)))?;
                }
            }
            Ok(())
        }
        Err(CommitFailure::Fatal(e)) => Err(e),
    }
}

/// Writes the changelog offsets the task's stores reflect (delivered by the flushed producer)
/// to its checkpoint file; a failure only costs a longer restore, so it is logged.
fn write_checkpoint<G: TaskGraph>(
    running: &mut RunningTask<G>,
    routes: &Routes,
    producer: &ThreadProducer,
    partition: i32,
) {
    for (store, _) in running.task.stores().logged() {
        let changelog = &routes.changelogs[store];
        if let Some(offset) = producer.context().changelog_offset(changelog, partition) {
            // The producer may have written this partition in an earlier ownership of the task.
            let reached = running.checkpoint.entry(changelog.to_owned()).or_insert(offset);
            *reached = (*reached).max(offset);
        }
    }
    let offsets: Vec<(String, i64)> = running.checkpoint.iter().map(|(t, o)| (t.clone(), *o)).collect();
    if let Err(e) = checkpoint::write(&running.dir, &offsets) {
        tracing::warn!(dir = %running.dir.display(), error = %e, "could not write the checkpoint");
    }
}
