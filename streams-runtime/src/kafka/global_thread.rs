//! The global stream thread (Java's `GlobalStreamThread`): one per instance, it reads every
//! partition of each global table's topic (assigned, not subscribed: no consumer group), so
//! every instance holds the whole table. `start` bootstraps the global stores to the topics'
//! end offsets before any stream thread processes; the thread then keeps them up to date and
//! checkpoints them to `state.dir/<application.id>/global/.checkpoint` (Java's format). A
//! global table has no changelog: its topic is restored from, after the checkpoint of a
//! persistent store, or from the beginning for an in-memory one (as Java, which leaves
//! in-memory stores out of the checkpoint).
//!
//! Records are applied as Java's global table source applies them: a null key is skipped, a
//! null value deletes, and the record's own Kafka timestamp is kept with the value (no
//! timestamp extractor runs for global tables).

use super::{Restored, Shared, kafka_error};
use crate::config::{ConsumerKind, StreamsConfig};
use crate::error::{StoreError, StreamsError};
use crate::state::{GlobalStore, GlobalStores, StoreContext, ThreadCache};
use crate::topology::Topology;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long bootstrapping may go without progress before it fails.
const BOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(60);

/// A global table: its topic and its store.
struct GlobalTable {
    topic: &'static str,
    store: GlobalStore,
}

/// The global tables of `T`: each global source and the store its table source writes, opened
/// in `context`.
fn global_tables<T: Topology>(context: &StoreContext) -> Result<Vec<GlobalTable>, StoreError> {
    let subtopologies = crate::describe::subtopologies(T::NODES);
    let mut tables = Vec::new();
    for source in T::SOURCES.iter().filter(|s| s.global) {
        let Some(node) = T::NODES.iter().position(|n| n.name == source.name) else {
            continue;
        };
        let Some(members) = subtopologies.iter().find(|m| m.contains(&node)) else {
            continue;
        };
        let store = T::STORES
            .iter()
            .enumerate()
            .find(|(_, s)| members.iter().any(|&n| T::NODES[n].uses_store(s.name)));
        if let Some((index, spec)) = store {
            tables.push(GlobalTable {
                topic: source.topics[0],
                store: GlobalStore::open(index, spec, context)?,
            });
        }
    }
    Ok(tables)
}

/// Positions in the global topics: (topic, partition) → the next offset to read.
type Positions = HashMap<(String, i32), i64>;

/// Reads a checkpoint file: `0`, the entry count, then `topic partition offset` lines.
fn read_checkpoint(path: &Path) -> Positions {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Positions::new();
    };
    text.lines()
        .skip(2)
        .filter_map(|line| {
            let mut parts = line.split(' ');
            let (topic, partition, offset) = (parts.next()?, parts.next()?, parts.next()?);
            Some(((topic.to_owned(), partition.parse().ok()?), offset.parse().ok()?))
        })
        .collect()
}

/// Writes a checkpoint file atomically (temporary file, then rename).
fn write_checkpoint(path: &Path, positions: &[(&(String, i32), &i64)]) -> std::io::Result<()> {
    let mut text = format!("0\n{}\n", positions.len());
    for ((topic, partition), offset) in positions {
        text.push_str(&format!("{topic} {partition} {offset}\n"));
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, path)
}

/// The global tables of a running instance, their consumer and how far it has read.
pub(crate) struct GlobalState {
    tables: Vec<GlobalTable>,
    consumer: BaseConsumer,
    positions: Positions,
    checkpoint: PathBuf,
}

impl GlobalState {
    /// The stores, for the stream threads' tasks.
    pub(crate) fn stores(&self) -> GlobalStores {
        GlobalStores(Arc::new(self.tables.iter().map(|t| t.store.clone()).collect()))
    }

    /// Polls once and applies what came to its store, advancing the topic's position; the
    /// store's name if a record came.
    fn poll(&mut self, timeout: Duration) -> Result<Option<&'static str>, StreamsError> {
        let Some(polled) = self.consumer.poll(timeout) else {
            return Ok(None);
        };
        let message = polled.map_err(kafka_error("reading a global topic"))?;
        let Some(table) = self.tables.iter().find(|t| t.topic == message.topic()) else {
            return Ok(None);
        };
        if let Some(key) = message.key() {
            let timestamp = message.timestamp().to_millis().unwrap_or(0);
            table.store.apply(key, message.payload(), timestamp)?;
        }
        self.positions
            .insert((table.topic.to_owned(), message.partition()), message.offset() + 1);
        Ok(Some(table.store.spec.name))
    }

    /// Moves the known positions up to the consumer's (transaction markers and compacted gaps
    /// advance it without records).
    fn catch_up_positions(&mut self) {
        let Ok(positions) = self.consumer.position() else {
            return;
        };
        for element in positions.elements() {
            if let Offset::Offset(position) = element.offset() {
                let known = self
                    .positions
                    .entry((element.topic().to_owned(), element.partition()))
                    .or_insert(position);
                *known = (*known).max(position);
            }
        }
    }

    /// Flushes the stores and writes the positions of the persistent ones' topics.
    fn checkpoint(&self) -> Result<(), StreamsError> {
        for table in &self.tables {
            table.store.flush()?;
        }
        let persistent: Vec<_> = self
            .positions
            .iter()
            .filter(|((topic, _), _)| self.tables.iter().any(|t| t.topic == topic && t.store.spec.persistent))
            .collect();
        write_checkpoint(&self.checkpoint, &persistent).map_err(|source| {
            StreamsError::from(StoreError::Io {
                store: "<global checkpoint>",
                source,
            })
        })
    }
}

/// Opens the global stores of `T` and brings them up to the end of their topics (Java's
/// global state bootstrap), reporting each store's restoration; `None` without global tables.
pub(crate) fn bootstrap<T: Topology>(
    config: &StreamsConfig,
    shared: &Shared,
) -> Result<Option<GlobalState>, StreamsError> {
    if !T::SOURCES.iter().any(|s| s.global) {
        return Ok(None);
    }
    let dir = config.state_dir.join(&config.application_id).join("global");
    std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
        store: "<global state directory>",
        source,
    })?;
    let tables =
        global_tables::<T>(&shared.store_context(dir.clone(), false, GlobalStores::default(), ThreadCache::new(0)))?;
    let checkpoint_path = dir.join(".checkpoint");
    let checkpoint = read_checkpoint(&checkpoint_path);
    let mut client = super::consumer_base_config(config);
    let client_id = config.client_id.as_deref().unwrap_or(&config.application_id);
    client
        .set("client.id", format!("{client_id}-global-consumer"))
        .set("group.id", format!("{}-global", config.application_id))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false");
    for (k, v) in config.consumer_settings(ConsumerKind::Global) {
        client.set(k, v);
    }
    if config.exactly_once() {
        client.set("isolation.level", "read_committed");
    }
    let consumer: BaseConsumer = client.create().map_err(kafka_error("creating the global consumer"))?;
    let mut assignment = TopicPartitionList::new();
    let mut ends: Vec<(String, i32, i64, i64)> = Vec::new();
    for table in &tables {
        let metadata = consumer
            .fetch_metadata(Some(table.topic), Duration::from_secs(10))
            .map_err(kafka_error(format!(
                "reading the partitions of global topic {}",
                table.topic
            )))?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        if partitions.is_empty() {
            return Err(StreamsError::Topics {
                context: "bootstrapping the global stores",
                message: format!("global topic {} does not exist; create it before starting", table.topic),
            });
        }
        for partition in partitions {
            let (low, high) = consumer
                .fetch_watermarks(table.topic, partition, Duration::from_secs(10))
                .map_err(kafka_error(format!("reading the end of {}-{partition}", table.topic)))?;
            let start = match checkpoint.get(&(table.topic.to_owned(), partition)) {
                Some(&offset) if table.store.spec.persistent => offset.max(low),
                _ => low,
            };
            assignment
                .add_partition_offset(table.topic, partition, Offset::Offset(start))
                .map_err(kafka_error("assigning a global partition"))?;
            ends.push((table.topic.to_owned(), partition, start, high));
        }
    }
    consumer
        .assign(&assignment)
        .map_err(kafka_error("assigning the global partitions"))?;
    let mut state = GlobalState {
        tables,
        consumer,
        positions: ends.iter().map(|(t, p, start, _)| ((t.clone(), *p), *start)).collect(),
        checkpoint: checkpoint_path,
    };
    let started = Instant::now();
    let mut last_progress = Instant::now();
    let mut records: HashMap<&str, u64> = HashMap::new();
    loop {
        let behind = ends
            .iter()
            .filter(|(t, p, _, high)| state.positions.get(&(t.clone(), *p)).is_some_and(|pos| pos < high))
            .count();
        if behind == 0 {
            break;
        }
        if shared.stopping() {
            return Ok(Some(state));
        }
        match state.poll(Duration::from_millis(100))? {
            Some(store) => {
                *records.entry(store).or_default() += 1;
                last_progress = Instant::now();
            }
            None => {
                state.catch_up_positions();
                if last_progress.elapsed() > BOOTSTRAP_TIMEOUT {
                    return Err(StreamsError::Timeout {
                        context: "bootstrapping the global stores".into(),
                        message: format!("no progress for {BOOTSTRAP_TIMEOUT:?}"),
                    });
                }
            }
        }
    }
    state.checkpoint()?;
    for table in &state.tables {
        let restored = records.get(table.store.spec.name).copied().unwrap_or(0);
        tracing::info!(
            store = table.store.spec.name,
            topic = table.topic,
            records = restored,
            "global store bootstrapped"
        );
        shared.restored(&Restored {
            store: table.store.spec.name,
            partition: -1,
            records: restored,
            duration: started.elapsed(),
        });
    }
    Ok(Some(state))
}

/// Runs the global thread: keeps the global stores up to date until the instance stops,
/// checkpointing every `commit.interval.ms` and at the end.
pub(crate) fn spawn(
    mut state: GlobalState,
    config: Arc<StreamsConfig>,
    shared: Arc<Shared>,
) -> std::io::Result<JoinHandle<()>> {
    let name = format!("{}-GlobalStreamThread", config.application_id);
    std::thread::Builder::new().name(name).spawn(move || {
        let mut last_checkpoint = Instant::now();
        let result = (|| -> Result<(), StreamsError> {
            while !shared.stopping() {
                state.poll(Duration::from_millis(100))?;
                if last_checkpoint.elapsed() >= config.commit_interval() {
                    state.checkpoint()?;
                    last_checkpoint = Instant::now();
                }
            }
            state.checkpoint()
        })();
        if let Err(error) = result {
            shared.fail(error);
        }
    })
}
