//! The reference's Processor API word count: a processor keeps a count per word in the `Counts`
//! store and forwards every count once a second of wall-clock time.

use std::time::Duration;
use streams_runtime::prelude::*;

/// Splits lines into lowercase words and counts them; forwards all counts on a 1 s wall-clock
/// punctuation (Java's `WordCountProcessor`).
#[derive(Processor)]
#[processor(input = (Option<String>, String), output = (String, String))]
pub struct WordCountProcessor {
    #[store("Counts")]
    counts: KeyValueStore<String, i32>,
}

impl Processor for WordCountProcessor {
    fn init(&mut self, ctx: &mut impl ProcessorContext<String, String>) -> Result<(), ProcessingError> {
        ctx.schedule(Duration::from_secs(1), PunctuationType::WallClockTime);
        Ok(())
    }

    fn process(
        &mut self,
        record: Record<Option<String>, String>,
        _ctx: &mut impl ProcessorContext<String, String>,
    ) -> Result<(), ProcessingError> {
        for word in record
            .value
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            let word = word.to_owned();
            let count = self.counts.get(&word)?.unwrap_or(0);
            self.counts.put(&word, &(count + 1))?;
        }
        Ok(())
    }

    fn punctuate(
        &mut self,
        _schedule: ScheduleId,
        timestamp: i64,
        ctx: &mut impl ProcessorContext<String, String>,
    ) -> Result<(), ProcessingError> {
        for entry in self.counts.all()? {
            let (word, count) = entry?;
            ctx.forward(Record::new(word, count.to_string(), timestamp))?;
        }
        Ok(())
    }
}

topology! {
    /// `Source` → `Process` (with the `Counts` store) → `Sink`, as in the reference.
    pub struct WordCountTopology {
        source Source {
            topic: "source-topic",
            key: Option<String>,
            value: String,
        }
        processor Process: WordCountProcessor {
            parents: [Source],
        }
        sink Sink {
            topic: "sink-topic",
            parents: [Process],
        }
        store counts {
            name: "Counts",
            key: String,
            value: i32,
            persistent: false,
        }
    }
}
