//! Punctuation in stream time and wall-clock time, with Java's `PunctuationQueue` semantics.

use std::time::Duration;
use streams_runtime::prelude::*;

/// Forwards ("stream"|"wall", punctuation timestamp) on each punctuation; cancels the
/// wall-clock schedule after it fired twice.
#[derive(Processor)]
#[processor(input = (String, String), output = (String, i64))]
struct Ticker {
    stream: Option<ScheduleId>,
    wall: Option<ScheduleId>,
    wall_fired: u32,
}

impl Processor for Ticker {
    fn init(&mut self, ctx: &mut impl ProcessorContext<String, i64>) -> Result<(), ProcessingError> {
        self.stream = Some(ctx.schedule(Duration::from_millis(10), PunctuationType::StreamTime));
        self.wall = Some(ctx.schedule(Duration::from_secs(1), PunctuationType::WallClockTime));
        assert_eq!(ctx.current_stream_time(), -1);
        assert_eq!(ctx.record_metadata(), None);
        Ok(())
    }

    fn process(
        &mut self,
        r: Record<String, String>,
        ctx: &mut impl ProcessorContext<String, i64>,
    ) -> Result<(), ProcessingError> {
        let meta = ctx.record_metadata().expect("metadata while processing");
        assert_eq!((meta.topic, meta.partition), ("in", 0));
        if r.value == "fail" {
            return Err(ProcessingError::msg("asked to fail"));
        }
        Ok(())
    }

    fn punctuate(
        &mut self,
        id: ScheduleId,
        timestamp: i64,
        ctx: &mut impl ProcessorContext<String, i64>,
    ) -> Result<(), ProcessingError> {
        assert_eq!(ctx.record_metadata(), None);
        if Some(id) == self.wall {
            self.wall_fired += 1;
            if self.wall_fired == 2 {
                ctx.cancel(id);
            }
            ctx.forward(Record::new("wall".to_owned(), timestamp, timestamp))
        } else {
            ctx.forward(Record::new("stream".to_owned(), timestamp, timestamp))
        }
    }
}

topology! {
    struct Ticks {
        source input { topic: "in", key: String, value: String }
        processor ticker: Ticker { parents: [input] }
        sink output { topic: "out", parents: [ticker] }
    }
}

fn driver() -> TopologyTestDriver<impl Graph> {
    test_driver_with(
        &Ticks,
        DriverConfig {
            application_id: "ticks".to_owned(),
            initial_wall_clock_ms: 1_000_000,
            ..DriverConfig::default()
        },
    )
    .unwrap()
}

#[test]
fn stream_time_punctuation_is_aligned_to_zero_and_skips_missed_intervals() {
    let driver = driver();
    let mut input = driver.input_topic(Ticks::source_input());
    for ts in [3, 5, 12, 35, 36, 30] {
        input.pipe_input_at("k".into(), "v".into(), ts).unwrap();
    }
    assert_eq!(driver.stream_time(), 36);
    let out = driver
        .output_topic(Ticks::sink_output())
        .read_key_values_to_list()
        .unwrap();
    assert_eq!(
        out,
        vec![
            ("stream".to_owned(), 3),
            ("stream".to_owned(), 12),
            ("stream".to_owned(), 35)
        ]
    );
}

#[test]
fn wall_clock_punctuation_fires_after_its_interval_and_can_be_cancelled() {
    let driver = driver();
    let mut output = driver.output_topic(Ticks::sink_output());
    driver.advance_wall_clock_time(Duration::from_millis(500)).unwrap();
    assert!(output.is_empty());
    driver.advance_wall_clock_time(Duration::from_millis(600)).unwrap();
    driver.advance_wall_clock_time(Duration::from_millis(5000)).unwrap();
    driver.advance_wall_clock_time(Duration::from_millis(5000)).unwrap();
    assert_eq!(
        output.read_key_values_to_list().unwrap(),
        vec![("wall".to_owned(), 1_001_100), ("wall".to_owned(), 1_006_100)]
    );
}

#[test]
fn a_processing_error_names_the_node_and_the_record() {
    let driver = driver();
    let mut input = driver.input_topic(Ticks::source_input());
    input.pipe_input_at("k".into(), "ok".into(), 1).unwrap();
    let err = input.pipe_input_at("k".into(), "fail".into(), 2).unwrap_err();
    assert_eq!(
        err.to_string(),
        "processing failed in node ticker at in-0 offset 1: asked to fail"
    );
}
