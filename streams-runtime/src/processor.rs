//! The Processor API: the [`Processor`] trait users implement, and the [`ProcessorContext`] a
//! processor forwards records, schedules punctuation and reads metadata through.

use crate::error::ProcessingError;
use crate::record::{Record, RecordMetadata};
use std::time::Duration;

/// The input and output types of a processor; `#[derive(Processor)]` implements it from
/// `#[processor(input = (K, V), output = (K, V))]`.
pub trait ProcessorSpec {
    /// Key type of the records the processor receives.
    type KeyIn;
    /// Value type of the records the processor receives.
    type ValueIn;
    /// Key type of the records the processor forwards.
    type KeyOut;
    /// Value type of the records the processor forwards.
    type ValueOut;
}

/// The record a processor `P` receives, `Record<P::KeyIn, P::ValueIn>`: an `impl Processor`
/// can write `record: RecordIn<Self>` instead of repeating the types its
/// `#[processor(input = (K, V), ..)]` states.
pub type RecordIn<P> = Record<<P as ProcessorSpec>::KeyIn, <P as ProcessorSpec>::ValueIn>;

/// A context forwarding the output types of processor `P`: an `impl Processor` can write
/// `ctx: &mut impl ContextFor<Self>` instead of repeating the types its
/// `#[processor(.., output = (K, V))]` states. Every
/// `ProcessorContext<P::KeyOut, P::ValueOut>` is one.
pub trait ContextFor<P: ProcessorSpec + ?Sized>: ProcessorContext<P::KeyOut, P::ValueOut> {}

impl<P: ProcessorSpec + ?Sized, C: ProcessorContext<P::KeyOut, P::ValueOut> + ?Sized> ContextFor<P> for C {}

/// A node of the topology that handles one record at a time (Java's `api.Processor`).
///
/// `#[derive(Processor)]` with `#[processor(input = (K, V), output = (K, V))]` states the types;
/// the store fields are marked `#[store("name")]`. The context is a generic parameter, so
/// forwarding is a direct, monomorphized call into the children: every method takes
/// `ctx: &mut impl ProcessorContext<KeyOut, ValueOut>` (not a Java-shaped `init(context)` with
/// type parameters of its own), and only `process` is required.
///
/// ```
/// use std::time::Duration;
/// use streams_runtime::prelude::*;
///
/// /// Counts words per key and forwards every count once a second of wall-clock time.
/// #[derive(Processor)]
/// #[processor(input = (String, String), output = (String, i64))]
/// struct CountPerKey {
///     #[store("counts")]
///     counts: KeyValueStore<String, i64>,
/// }
///
/// impl Processor for CountPerKey {
///     fn init(&mut self, ctx: &mut impl ProcessorContext<String, i64>) -> Result<(), ProcessingError> {
///         ctx.schedule(Duration::from_secs(1), PunctuationType::WallClockTime);
///         Ok(())
///     }
///
///     fn process(
///         &mut self,
///         record: Record<String, String>,
///         _ctx: &mut impl ProcessorContext<String, i64>,
///     ) -> Result<(), ProcessingError> {
///         let count = self.counts.get(&record.key)?.unwrap_or(0);
///         self.counts.put(&record.key, &(count + 1))?;
///         Ok(())
///     }
///
///     fn punctuate(
///         &mut self,
///         _schedule: ScheduleId,
///         timestamp: i64,
///         ctx: &mut impl ProcessorContext<String, i64>,
///     ) -> Result<(), ProcessingError> {
///         for entry in self.counts.all()? {
///             let (key, count) = entry?;
///             ctx.forward(Record::new(key, count, timestamp))?;
///         }
///         Ok(())
///     }
/// }
///
/// topology! {
///     struct Counting {
///         source Input { topic: "in", key: String, value: String }
///         processor Count: CountPerKey { parents: [Input] }
///         sink Output { topic: "out", parents: [Count] }
///         store counts { name: "counts", key: String, value: i64, persistent: false }
///     }
/// }
///
/// let driver = test_driver(&Counting)?;
/// let mut input = driver.input_topic(Counting::source_input());
/// input.pipe_input("a".to_owned(), "x".to_owned())?;
/// input.pipe_input("a".to_owned(), "y".to_owned())?;
/// driver.advance_wall_clock_time(Duration::from_secs(1))?;
/// let mut output = driver.output_topic(Counting::sink_output());
/// assert_eq!(output.read_key_value()?, ("a".to_owned(), 2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Processor: ProcessorSpec {
    /// Called once when the task is created, before any record: schedule punctuation here.
    fn init(&mut self, ctx: &mut impl ProcessorContext<Self::KeyOut, Self::ValueOut>) -> Result<(), ProcessingError> {
        let _ = ctx;
        Ok(())
    }

    /// Handles one record.
    fn process(
        &mut self,
        record: Record<Self::KeyIn, Self::ValueIn>,
        ctx: &mut impl ProcessorContext<Self::KeyOut, Self::ValueOut>,
    ) -> Result<(), ProcessingError>;

    /// Called when a punctuation this processor scheduled is due; `timestamp` is the stream
    /// time or wall-clock time that triggered it.
    fn punctuate(
        &mut self,
        schedule: ScheduleId,
        timestamp: i64,
        ctx: &mut impl ProcessorContext<Self::KeyOut, Self::ValueOut>,
    ) -> Result<(), ProcessingError> {
        let _ = (schedule, timestamp, ctx);
        Ok(())
    }

    /// Called once when the task closes.
    fn close(&mut self) {}
}

/// Which clock drives a punctuation (Java's `PunctuationType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PunctuationType {
    /// Stream time: advances only with the timestamps of processed records.
    StreamTime,
    /// Wall-clock time: advances with the system clock (the driver's mock clock in tests).
    WallClockTime,
}

/// Identifies one scheduled punctuation; pass it to [`ProcessorContext::cancel`] (Java's
/// `Cancellable`). [`Processor::punctuate`] receives it to tell schedules apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScheduleId(pub(crate) u32);

/// A child of a processor, resolved by name once (in `init`) and used to forward to that
/// child alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChildId(pub(crate) usize);

/// What a processor can do while handling a record, a punctuation, or in `init`
/// (Java's `api.ProcessorContext`).
pub trait ProcessorContext<K, V> {
    /// Forwards a record to every child.
    fn forward(&mut self, record: Record<K, V>) -> Result<(), ProcessingError>;
    /// Forwards a record to one child.
    fn forward_to(&mut self, child: ChildId, record: Record<K, V>) -> Result<(), ProcessingError>;
    /// The child with this node name, if this processor has one.
    fn child(&self, name: &str) -> Option<ChildId>;
    /// Topic, partition and offset of the record being processed; `None` in punctuation and init.
    fn record_metadata(&self) -> Option<RecordMetadata>;
    /// The task running this processor.
    fn task_id(&self) -> TaskId;
    /// The `application.id`.
    fn application_id(&self) -> &str;
    /// The task's stream time: the largest timestamp seen so far (-1 before any record).
    fn current_stream_time(&self) -> i64;
    /// The current wall-clock time in ms (the mock clock under the test driver).
    fn current_system_time_ms(&self) -> i64;
    /// Schedules periodic calls to [`Processor::punctuate`] (Java's `schedule`).
    fn schedule(&mut self, interval: Duration, kind: PunctuationType) -> ScheduleId;
    /// Cancels a punctuation scheduled by this processor.
    fn cancel(&mut self, schedule: ScheduleId);
    /// Asks for a commit as soon as possible.
    fn commit(&mut self);
}

/// A task: one sub-topology applied to one partition group (Java's `TaskId`, shown `0_1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId {
    /// The sub-topology.
    pub subtopology: u32,
    /// The partition.
    pub partition: i32,
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}", self.subtopology, self.partition)
    }
}
