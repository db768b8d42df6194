//! Standby replicas (Java's `StandbyTask`s, `num.standby.replicas`): shadow copies of other
//! instances' tasks' persistent stores, kept up to date from their changelogs, so that the
//! instance that takes a task over after a failure restores only the tail.
//!
//! One standby thread per instance places the standbys (see
//! [`standby_placement`](super::standby_placement)), opens each standby task's persistent
//! logged stores in the task's own directory (`state.dir/<application.id>/<task>`, which it
//! locks), reads the changelog partitions of all of them with one consumer (read_committed under
//! exactly-once: committed data only), applies the records as a restoration does, and writes the
//! task's checkpoint every commit interval. When a stream thread of the instance is about to
//! create one of these tasks as an active task, the standby checkpoints and lets the directory
//! go; the active task then opens the stores and restores from the checkpoint on.
//!
//! In-memory stores have no standbys: their copy could not be handed to the stream thread, so a
//! takeover restores them in full, as it would without standbys.

use super::checkpoint;
use super::group_members;
use super::query::{self, LocalStores, QueryMailbox};
use super::routes::Routes;
use super::standby_placement::{Placement, Stateful};
use super::state_directory::TaskDirectory;
use super::{Shared, kafka_error};
use crate::config::{ConsumerKind, StreamsConfig};
use crate::error::StreamsError;
use crate::processor::TaskId;
use crate::state::{GlobalStores, StoreSet, ThreadCache};
use crate::topology::Topology;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the standby thread recomputes the placement.
const PLACEMENT_INTERVAL: Duration = Duration::from_millis(500);

/// How long one poll waits for changelog records.
const POLL: Duration = Duration::from_millis(50);

/// The most changelog records applied between two looks at the placement and the claims.
const BATCH: usize = 5_000;

/// How long the standby thread waits before starting over after an error.
const RETRY: Duration = Duration::from_secs(1);

/// What the standby thread keeps copies of: per sub-topology with persistent logged stores,
/// the stores and the input topics (`None` for the others).
pub(crate) struct StandbyLayout {
    stateful: Vec<Stateful>,
    /// Per sub-topology: its input topics, whose partition `p` a standby of task `p` announces.
    inputs: Vec<Vec<String>>,
}

impl StandbyLayout {
    /// The layout of `T` (with its topics' partition counts), if it has stores to keep
    /// standbys of.
    pub(crate) fn of<T: Topology>(routes: &Routes, partitions: &BTreeMap<String, usize>) -> Option<Self> {
        let inputs: Vec<Vec<String>> = (0..routes.subtopologies.len())
            .map(|s| {
                routes
                    .inputs_of(s as u32)
                    .into_iter()
                    .map(|(t, _)| t.to_owned())
                    .collect()
            })
            .collect();
        let stateful: Vec<Stateful> = (routes.subtopologies.iter().enumerate())
            .filter(|(_, nodes)| {
                T::STORES.iter().any(|spec| {
                    spec.logging && spec.persistent && nodes.iter().any(|&n| T::NODES[n].uses_store(spec.name))
                })
            })
            .filter_map(|(s, _)| {
                let topic = inputs[s].first()?.clone();
                let count = *partitions.get(&topic)? as i32;
                Some(Stateful {
                    subtopology: s as u32,
                    topic,
                    partitions: count,
                })
            })
            .collect();
        (!stateful.is_empty()).then_some(StandbyLayout { stateful, inputs })
    }
}

/// Spawns the standby thread of an application of `T`.
pub(crate) fn spawn<T: Topology>(
    layout: StandbyLayout,
    routes: Arc<Routes>,
    config: Arc<StreamsConfig>,
    shared: Arc<Shared>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("{}-StandbyThread", config.application_id))
        .spawn(move || {
            // Stale queries read the standbys' stores.
            let (queries, mailbox) = query::mailbox();
            mailbox.set_available(true);
            shared.set_standby_queries(Some(queries));
            while !shared.stopping() {
                if let Err(error) = run::<T>(&layout, &routes, &config, &shared, &mailbox) {
                    tracing::warn!(%error, "standby replicas failed; starting over");
                    std::thread::sleep(RETRY);
                }
            }
            shared.set_standby_queries(None);
        })
}

/// One standby task: its locked directory, its persistent logged stores, and the last changelog
/// offset applied to each.
struct StandbyTask {
    id: TaskId,
    dir: TaskDirectory,
    stores: StoreSet,
    /// (store index, changelog topic) of each store kept.
    logs: Vec<(usize, String)>,
    /// Changelog topic → last offset applied.
    reached: HashMap<String, i64>,
}

impl StandbyTask {
    /// Opens standby task `id` if its directory is free (`None` if a stream thread holds it).
    fn open<T: Topology>(
        id: TaskId,
        routes: &Routes,
        config: &StreamsConfig,
        shared: &Shared,
    ) -> Result<Option<Self>, StreamsError> {
        let Some(dir) = TaskDirectory::try_lock(config, id)? else {
            return Ok(None);
        };
        let context = shared.store_context(
            dir.path().to_owned(),
            false,
            GlobalStores::default(),
            ThreadCache::new(0),
        );
        let nodes = &routes.subtopologies[id.subtopology as usize];
        let kept = |spec: &crate::state::StoreSpec| {
            spec.logging && spec.persistent && nodes.iter().any(|&n| T::NODES[n].uses_store(spec.name))
        };
        let stores = StoreSet::open(T::STORES, &context, kept)?;
        let logs = stores
            .logged()
            .map(|(index, _)| (index, routes.changelogs[index].clone()))
            .collect();
        let reached = checkpoint::read(dir.path());
        tracing::info!(task = %id, "standby task created");
        Ok(Some(StandbyTask {
            id,
            dir,
            stores,
            logs,
            reached,
        }))
    }

    /// Where to read each changelog from: after the last applied offset, else the beginning.
    fn positions(&self) -> impl Iterator<Item = (&str, i32, Offset)> {
        self.logs.iter().map(|(_, topic)| {
            let offset = self
                .reached
                .get(topic)
                .map_or(Offset::Beginning, |&o| Offset::Offset(o + 1));
            (topic.as_str(), self.id.partition, offset)
        })
    }

    /// Flushes the stores and writes the checkpoint (a failure is logged: it costs only a
    /// longer restore).
    fn checkpoint(&self) {
        if let Err(error) = self.stores.flush() {
            tracing::warn!(task = %self.id, %error, "flushing a standby task's stores");
            return;
        }
        let offsets: Vec<(String, i64)> = self.reached.iter().map(|(t, o)| (t.clone(), *o)).collect();
        if let Err(error) = checkpoint::write(self.dir.path(), &offsets) {
            tracing::warn!(task = %self.id, %error, "writing a standby task's checkpoint");
        }
    }

    /// Checkpoints and closes the task, letting its directory go.
    fn close(self) {
        self.checkpoint();
        tracing::info!(task = %self.id, "standby task closed");
    }
}

/// Runs the standby thread until the application stops or an error.
fn run<T: Topology>(
    layout: &StandbyLayout,
    routes: &Routes,
    config: &StreamsConfig,
    shared: &Shared,
    mailbox: &QueryMailbox,
) -> Result<(), StreamsError> {
    let consumer = create_consumer(config)?;
    let me = config.client_id_prefix(shared.process_id());
    let mut tasks: Vec<StandbyTask> = Vec::new();
    let mut last_placement: Option<Instant> = None;
    let mut last_checkpoint = Instant::now();
    let result = (|| -> Result<(), StreamsError> {
        while !shared.stopping() {
            // A task a stream thread of this instance runs or is about to create is let go.
            let claimed = shared.claimed_tasks();
            let mut changed = release(&mut tasks, |t| claimed.contains(&t.id));
            if last_placement.is_none_or(|t| t.elapsed() >= PLACEMENT_INTERVAL) {
                last_placement = Some(Instant::now());
                if let Some(wanted) = wanted_standbys(layout, config, shared, &consumer, &me) {
                    changed |= release(&mut tasks, |t| !wanted.contains(&t.id));
                    for &id in wanted.difference(&tasks.iter().map(|t| t.id).collect()) {
                        if claimed.contains(&id) {
                            continue;
                        }
                        if let Some(task) = StandbyTask::open::<T>(id, routes, config, shared)? {
                            tasks.push(task);
                            changed = true;
                        }
                    }
                }
            }
            if changed {
                tasks.sort_by_key(|t| t.id);
                assign(&consumer, &tasks)?;
                register(layout, shared, &tasks);
            }
            apply(&consumer, &mut tasks, mailbox.poll_wait(POLL))?;
            mailbox.answer(&Standbys(&tasks));
            if last_checkpoint.elapsed() >= config.commit_interval() {
                tasks.iter().for_each(StandbyTask::checkpoint);
                last_checkpoint = Instant::now();
            }
        }
        Ok(())
    })();
    tasks.into_iter().for_each(StandbyTask::close);
    shared.set_standby_tasks(Vec::new(), Vec::new());
    result
}

/// The standby tasks as stale queries read them.
struct Standbys<'a>(&'a [StandbyTask]);

impl LocalStores for Standbys<'_> {
    fn each_task(&self, visit: &mut dyn FnMut(TaskId, &StoreSet)) {
        for task in self.0 {
            visit(task.id, &task.stores);
        }
    }

    fn standby(&self) -> bool {
        true
    }
}

/// Closes the tasks `unwanted` picks; whether it picked any.
fn release(tasks: &mut Vec<StandbyTask>, unwanted: impl Fn(&StandbyTask) -> bool) -> bool {
    let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(tasks).into_iter().partition(|t| unwanted(t));
    *tasks = kept;
    let changed = !gone.is_empty();
    gone.into_iter().for_each(StandbyTask::close);
    changed
}

/// This instance's standby tasks under the current group assignment (`None` while the group
/// rebalances: the standbys stay as they are).
fn wanted_standbys(
    layout: &StandbyLayout,
    config: &StreamsConfig,
    shared: &Shared,
    client: &BaseConsumer,
    me: &str,
) -> Option<BTreeSet<TaskId>> {
    let members = group_members::stable_members(client, &config.application_id, Duration::from_secs(5))?;
    let tags = shared.metadata().tags();
    let placement = Placement {
        replicas: config.num_standby_replicas as usize,
        stateful: &layout.stateful,
        rack_tags: &config.rack_aware_assignment_tags,
        tags: &tags,
    };
    Some(placement.standbys(&members).remove(me).unwrap_or_default())
}

/// Points the consumer at every standby task's changelog partitions.
fn assign(consumer: &BaseConsumer, tasks: &[StandbyTask]) -> Result<(), StreamsError> {
    let mut assignment = TopicPartitionList::new();
    for (topic, partition, offset) in tasks.iter().flat_map(StandbyTask::positions) {
        assignment
            .add_partition_offset(topic, partition, offset)
            .map_err(kafka_error("assigning standby changelogs"))?;
    }
    consumer
        .assign(&assignment)
        .map_err(kafka_error("assigning standby changelogs"))
}

/// Tells the application (and through its announcements, every instance) which standby tasks
/// this instance has.
fn register(layout: &StandbyLayout, shared: &Shared, tasks: &[StandbyTask]) {
    let ids: Vec<TaskId> = tasks.iter().map(|t| t.id).collect();
    let partitions = ids
        .iter()
        .flat_map(|id| {
            let inputs = layout
                .inputs
                .get(id.subtopology as usize)
                .map_or(&[][..], Vec::as_slice);
            inputs.iter().map(move |topic| (topic.clone(), id.partition))
        })
        .collect();
    shared.set_standby_tasks(ids, partitions);
}

/// Applies what the changelogs have now, up to `BATCH` records, waiting up to `wait` for the
/// first.
fn apply(consumer: &BaseConsumer, tasks: &mut [StandbyTask], mut wait: Duration) -> Result<(), StreamsError> {
    for _ in 0..BATCH {
        let message = match consumer.poll(wait) {
            None => return Ok(()),
            Some(Err(error)) => {
                tracing::warn!(%error, "standby consumer");
                return Ok(());
            }
            Some(Ok(message)) => message,
        };
        wait = Duration::ZERO;
        let (topic, partition) = (message.topic(), message.partition());
        let found = tasks.iter_mut().find_map(|task| {
            let &(store, _) = task.logs.iter().find(|(_, t)| t == topic)?;
            (task.id.partition == partition).then_some((task, store))
        });
        let Some((task, store)) = found else { continue };
        let timestamp = message.timestamp().to_millis().unwrap_or(-1);
        task.stores
            .restore(store, message.key().unwrap_or_default(), message.payload(), timestamp)?;
        match task.reached.get_mut(topic) {
            Some(reached) => *reached = message.offset(),
            None => {
                task.reached.insert(topic.to_owned(), message.offset());
            }
        }
    }
    Ok(())
}

/// The standby thread's consumer: assigned partitions only, read_committed under exactly-once.
fn create_consumer(config: &StreamsConfig) -> Result<BaseConsumer, StreamsError> {
    let mut client = super::consumer_base_config(config);
    client
        .set("group.id", format!("{}-standby", config.application_id))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        // A checkpoint before the log's start (retention, a truncated topic) reads from the start:
        // never past data the standby does not have.
        .set("auto.offset.reset", "earliest");
    for (k, v) in config.consumer_settings(ConsumerKind::Restore) {
        client.set(k, v);
    }
    if config.exactly_once() {
        client.set("isolation.level", "read_committed");
    }
    client.create().map_err(kafka_error("creating the standby consumer"))
}
