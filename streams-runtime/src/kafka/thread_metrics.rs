//! What one stream thread measures (Java's `ThreadMetrics` and `TaskMetrics`), shared with
//! [`KafkaStreams::metrics`](super::KafkaStreams::metrics): the thread counts in plain
//! integers during a round of its loop ([`Round`]) and records the round into its sensors
//! under one lock.

use super::TaskId;
use crate::metrics::{Metric, RecordingLevel, Sensor, Snapshot};
use crate::state::{OpTally, StoreOp};
use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How often a thread publishes its metrics to the `metrics` facade.
pub(crate) const PUBLISH_INTERVAL: Duration = Duration::from_secs(1);

/// A stream thread's sensors, kept across its runs (a replaced thread goes on counting).
#[derive(Debug, Default)]
pub(crate) struct ThreadMetrics(Mutex<ThreadSensors>);

#[derive(Debug, Default)]
struct ThreadSensors {
    /// Java's `thread-id` tag: the thread's client id prefix (`<client id>-StreamThread-n`).
    thread_id: String,
    /// The consumer's `client-id` (the tag of its fetch metrics).
    consumer_id: String,
    /// When the thread started, in milliseconds since the epoch.
    start_time_ms: i64,
    /// Records processed; values: milliseconds per record.
    process: Sensor,
    /// Polls; values: their milliseconds.
    poll: Sensor,
    /// Polls; values: the records each fetched.
    poll_records: Sensor,
    /// Commits; values: their milliseconds.
    commit: Sensor,
    /// Punctuations fired; values: their milliseconds.
    punctuate: Sensor,
    /// Tasks created and closed.
    task_created: Sensor,
    task_closed: Sensor,
    /// Per task (also the closed ones, whose totals go on if they return).
    tasks: BTreeMap<TaskId, TaskSensors>,
    /// The lag of each assigned partition the consumer last reported: (topic, partition, lag).
    lags: Vec<(String, i32, i64)>,
    /// The reported lags; values: the largest of each report.
    lag_max: Sensor,
    /// Per task and store (at `DEBUG`): its metrics scope, and per operation (Java's name) its
    /// calls, with their nanoseconds as values.
    stores: BTreeMap<(TaskId, &'static str), StoreSensors>,
}

/// What a thread measures of one store: its metrics scope (`rocksdb-state-id`, ...), and per
/// operation (Java's name) its calls, with their nanoseconds as values.
type StoreSensors = (&'static str, BTreeMap<StoreOp, Sensor>);

/// One store operation's calls since the thread last took them: task, store, the store's
/// metrics scope, the operation, and its calls with their total and largest nanoseconds.
pub(crate) type StoreOpCalls = (TaskId, &'static str, &'static str, StoreOp, OpTally);

/// What a thread measures of one task.
#[derive(Debug, Default)]
struct TaskSensors {
    active: bool,
    /// Records processed.
    process: Sensor,
    /// Records dropped (failed and skipped by a handler, or skipped by an operator).
    dropped: Sensor,
    /// Records processed; values: how far behind the task's stream time each was (ms, ≥ 0).
    lateness: Sensor,
}

/// What a thread counts of one task during a round.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct TaskRound {
    /// Records processed.
    pub(crate) processed: u64,
    /// Records dropped.
    pub(crate) dropped: u64,
    /// The sum and maximum of the processed records' lateness (ms).
    pub(crate) lateness_sum: i64,
    pub(crate) lateness_max: i64,
    /// Punctuations fired and the nanoseconds they took.
    pub(crate) punctuations: u64,
    pub(crate) punctuate_ns: u64,
}

impl TaskRound {
    /// Counts one processed record whose timestamp is `timestamp` against stream time
    /// `stream_time` before it.
    #[inline]
    pub(crate) fn processed(&mut self, stream_time: i64, timestamp: i64) {
        let lateness = stream_time.saturating_sub(timestamp).max(0);
        self.processed += 1;
        self.lateness_sum += lateness;
        self.lateness_max = self.lateness_max.max(lateness);
    }
}

/// What a thread counted during one round of its loop.
#[derive(Debug, Default)]
pub(crate) struct Round {
    /// The poll's duration and the records it fetched.
    pub(crate) poll: Option<(Duration, u64)>,
    /// How long processing took, and each task's counts.
    pub(crate) process_time: Duration,
    pub(crate) tasks: Vec<(TaskId, TaskRound)>,
    /// The commit's duration, if the thread committed.
    pub(crate) commit: Option<Duration>,
}

impl Round {
    /// Clears the round for reuse (its vector keeps its capacity).
    pub(crate) fn clear(&mut self) {
        self.poll = None;
        self.process_time = Duration::ZERO;
        self.tasks.clear();
        self.commit = None;
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

impl ThreadMetrics {
    fn sensors(&self) -> std::sync::MutexGuard<'_, ThreadSensors> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A (re)started thread: its ids and start time.
    pub(crate) fn started(&self, thread_id: String, consumer_id: String, start_time_ms: i64) {
        let mut sensors = self.sensors();
        sensors.thread_id = thread_id;
        sensors.consumer_id = consumer_id;
        sensors.start_time_ms = start_time_ms;
    }

    /// The thread's tasks now: the others are closed.
    pub(crate) fn set_tasks(&self, active: impl IntoIterator<Item = TaskId>) {
        let now = Instant::now();
        let mut sensors = self.sensors();
        let active: Vec<TaskId> = active.into_iter().collect();
        let (mut created, mut closed) = (0, 0);
        for (id, task) in &mut sensors.tasks {
            let now_active = active.contains(id);
            closed += u64::from(task.active && !now_active);
            task.active = now_active;
        }
        for id in active {
            let task = sensors.tasks.entry(id).or_default();
            created += u64::from(!task.active);
            task.active = true;
        }
        sensors.task_created.record(now, created, 0.0, 0.0);
        sensors.task_closed.record(now, closed, 0.0, 0.0);
    }

    /// Records one round of the thread's loop.
    pub(crate) fn record(&self, round: &Round) {
        let now = Instant::now();
        let mut sensors = self.sensors();
        if let Some((took, records)) = round.poll {
            sensors.poll.record_one(now, ms(took));
            sensors.poll_records.record_one(now, records as f64);
        }
        let processed: u64 = round.tasks.iter().map(|(_, t)| t.processed).sum();
        if processed > 0 {
            // Punctuations are `punctuate-latency`'s, not processing's.
            let punctuating: u64 = round.tasks.iter().map(|(_, t)| t.punctuate_ns).sum();
            let processing = round.process_time.saturating_sub(Duration::from_nanos(punctuating));
            let per_record = ms(processing) / processed as f64;
            sensors.process.record(now, processed, ms(processing), per_record);
        }
        for (id, counts) in &round.tasks {
            if counts.punctuations > 0 {
                let took = counts.punctuate_ns as f64 / 1e6;
                let each = took / counts.punctuations as f64;
                sensors.punctuate.record(now, counts.punctuations, took, each);
            }
            let task = sensors.tasks.entry(*id).or_default();
            task.process.record(now, counts.processed, 0.0, 0.0);
            task.dropped.record(now, counts.dropped, 0.0, 0.0);
            let lateness_max = counts.lateness_max as f64;
            task.lateness
                .record(now, counts.processed, counts.lateness_sum as f64, lateness_max);
        }
        if let Some(took) = round.commit {
            sensors.commit.record_one(now, ms(took));
        }
    }

    /// Records the calls of the tasks' store operations (`DEBUG` metrics).
    pub(crate) fn record_store_ops(&self, calls: &[StoreOpCalls]) {
        let now = Instant::now();
        let mut sensors = self.sensors();
        for &(task, store, scope, op, tally) in calls {
            let (_, ops) = sensors
                .stores
                .entry((task, store))
                .or_insert_with(|| (scope, BTreeMap::new()));
            let sensor = ops.entry(op).or_default();
            sensor.record(now, tally.calls, tally.nanos as f64, tally.max_nanos as f64);
        }
    }

    /// Records the consumer's latest lag per assigned partition.
    pub(crate) fn record_lags(&self, lags: Vec<(String, i32, i64)>) {
        let now = Instant::now();
        let mut sensors = self.sensors();
        if let Some(max) = lags.iter().map(|(_, _, lag)| *lag).max() {
            sensors.lag_max.record_one(now, max as f64);
        }
        sensors.lags = lags;
    }

    /// Adds the thread's metrics at `level` to `out`.
    pub(crate) fn snapshot(&self, level: RecordingLevel, out: &mut Vec<Metric>) {
        let now = Instant::now();
        let sensors = self.sensors();
        let s = &*sensors;
        let tags = [("thread-id", s.thread_id.clone())];
        let mut thread = Snapshot::new(&mut *out, "stream-thread-metrics", &tags, now);
        thread.rate_total(&s.process, "process-rate", "process-total");
        thread.avg_max(&s.process, "process-latency-avg", "process-latency-max");
        thread.rate_total(&s.poll, "poll-rate", "poll-total");
        thread.avg_max(&s.poll, "poll-latency-avg", "poll-latency-max");
        thread.avg_max(&s.poll_records, "poll-records-avg", "poll-records-max");
        thread.rate_total(&s.commit, "commit-rate", "commit-total");
        thread.avg_max(&s.commit, "commit-latency-avg", "commit-latency-max");
        thread.rate_total(&s.punctuate, "punctuate-rate", "punctuate-total");
        thread.avg_max(&s.punctuate, "punctuate-latency-avg", "punctuate-latency-max");
        thread.rate_total(&s.task_created, "task-created-rate", "task-created-total");
        thread.rate_total(&s.task_closed, "task-closed-rate", "task-closed-total");
        thread.add("thread-start-time", s.start_time_ms as f64);
        for (id, task) in s.tasks.iter().filter(|(_, t)| t.active) {
            let tags = [("thread-id", s.thread_id.clone()), ("task-id", id.to_string())];
            let mut metrics = Snapshot::new(&mut *out, "stream-task-metrics", &tags, now);
            metrics.rate_total(&task.dropped, "dropped-records-rate", "dropped-records-total");
            if level >= RecordingLevel::Debug {
                metrics.rate_total(&task.process, "process-rate", "process-total");
                metrics.avg_max(&task.lateness, "record-lateness-avg", "record-lateness-max");
            }
        }
        if level >= RecordingLevel::Debug {
            for ((task, store), (scope, ops)) in &s.stores {
                if !s.tasks.get(task).is_some_and(|t| t.active) {
                    continue;
                }
                let tags = [
                    ("thread-id", s.thread_id.clone()),
                    ("task-id", task.to_string()),
                    (scope, (*store).to_owned()),
                ];
                let mut metrics = Snapshot::new(&mut *out, "stream-state-metrics", &tags, now);
                for (op, sensor) in ops {
                    let (rate, avg, max) = op.metric_names();
                    metrics.add(rate, sensor.rate(now));
                    metrics.avg_max(sensor, avg, max);
                }
            }
        }
        let client = [("client-id", s.consumer_id.clone())];
        let mut fetch = Snapshot::new(&mut *out, "consumer-fetch-manager-metrics", &client, now);
        fetch.add("records-lag-max", s.lag_max.max(now));
        for (topic, partition, lag) in &s.lags {
            let tags = [
                ("client-id", s.consumer_id.clone()),
                ("topic", topic.clone()),
                ("partition", partition.to_string()),
            ];
            let mut fetch = Snapshot::new(&mut *out, "consumer-fetch-manager-metrics", &tags, now);
            fetch.add("records-lag", *lag as f64);
        }
    }
}
