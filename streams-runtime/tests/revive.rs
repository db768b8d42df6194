//! A task revived after an aborted exactly-once transaction (Java's close-dirty-and-revive):
//! its stores and stream time are back at the last commit and every processor is closed and
//! initialized again, with the punctuations its `init` schedules (once, not twice).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use streams_runtime::__private::{RawRecord, Task, create_task};
use streams_runtime::prelude::*;
use streams_runtime::processor::TaskId;
use streams_runtime::record::Headers;
use streams_runtime::state::StoreContext;
use streams_runtime::topology::NodeSet;

static INITS: AtomicUsize = AtomicUsize::new(0);
static CLOSES: AtomicUsize = AtomicUsize::new(0);

/// Counts per key in a store and in a field reset by `init`; forwards
/// `count * 1000 + records since init`, and `-1` on each 10 ms stream-time punctuation.
#[derive(Processor)]
#[processor(input = (String, String), output = (String, i64))]
struct Counter {
    #[store("counts")]
    counts: KeyValueStore<String, i64>,
    since_init: i64,
}

impl Processor for Counter {
    fn init(&mut self, ctx: &mut impl ProcessorContext<String, i64>) -> Result<(), ProcessingError> {
        INITS.fetch_add(1, Ordering::Relaxed);
        self.since_init = 0;
        ctx.schedule(Duration::from_millis(10), PunctuationType::StreamTime);
        Ok(())
    }

    fn process(
        &mut self,
        record: Record<String, String>,
        ctx: &mut impl ProcessorContext<String, i64>,
    ) -> Result<(), ProcessingError> {
        let count = self.counts.get(&record.key)?.unwrap_or(0) + 1;
        self.counts.put(&record.key, &count)?;
        self.since_init += 1;
        let value = count * 1000 + self.since_init;
        ctx.forward(Record::new(record.key, value, record.timestamp))
    }

    fn punctuate(
        &mut self,
        _: ScheduleId,
        timestamp: i64,
        ctx: &mut impl ProcessorContext<String, i64>,
    ) -> Result<(), ProcessingError> {
        ctx.forward(Record::new("tick".to_owned(), -1, timestamp))
    }

    fn close(&mut self) {
        CLOSES.fetch_add(1, Ordering::Relaxed);
    }
}

topology! {
    struct Counting {
        source input { topic: "in", key: String, value: String }
        processor counter: Counter { parents: [input] }
        sink output { topic: "out", parents: [counter] }
        store counts { key: String, value: i64 }
    }
}

fn process<G: Graph>(task: &mut Task<G>, offset: i64, timestamp: i64) {
    let raw = RawRecord {
        topic: "in",
        partition: 0,
        offset,
        timestamp,
        key: Some(b"a"),
        value: Some(b"x"),
        headers: Headers::new(),
    };
    task.process(0, raw).unwrap();
}

/// The values the task sent to `out` since the last call.
fn output<G: Graph>(task: &mut Task<G>) -> Vec<i64> {
    let mut values = Vec::new();
    task.drain_output(|r| {
        if matches!(r.destination, streams_runtime::__private::Destination::Topic("out")) {
            values.push(i64::from_be_bytes(r.value.unwrap().try_into().unwrap()));
        }
    });
    values
}

#[test]
fn a_revived_task_is_back_at_the_last_commit_with_its_processors_initialized_again() {
    let dir = tempfile::tempdir().unwrap();
    let stores = StoreContext {
        task_dir: dir.path().to_owned(),
        exactly_once: true,
        globals: Default::default(),
        #[cfg(feature = "rocksdb")]
        rocksdb: Default::default(),
        cache: Default::default(),
        store_metrics: false,
    };
    let id = TaskId {
        subtopology: 0,
        partition: 0,
    };
    let mut task = create_task(&Counting, id, NodeSet::All, "revive", &stores, 0).unwrap();
    assert_eq!(INITS.load(Ordering::Relaxed), 1);
    process(&mut task, 0, 5);
    task.commit_state().unwrap();
    process(&mut task, 1, 25);
    // Stream time 25: the 10 ms stream-time punctuation fires once (at 25), after a=2.
    task.punctuate(PunctuationType::StreamTime, task.stream_time()).unwrap();
    assert_eq!(output(&mut task), [1001, 2002, -1]);

    task.revive().unwrap();
    assert_eq!((INITS.load(Ordering::Relaxed), CLOSES.load(Ordering::Relaxed)), (2, 1));
    assert_eq!(task.stream_time(), 5, "stream time of the last commit");
    assert_eq!(output(&mut task), [] as [i64; 0]);

    // The aborted record again: a=2 from the committed a=1, first record since the new init.
    process(&mut task, 1, 25);
    // The punctuation from the second init, alone (the first init's schedule is gone).
    task.punctuate(PunctuationType::StreamTime, task.stream_time()).unwrap();
    assert_eq!(output(&mut task), [2001, -1]);
    task.close().unwrap();
    assert_eq!(CLOSES.load(Ordering::Relaxed), 2);
}
