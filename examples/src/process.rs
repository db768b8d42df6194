//! An application as a child process of a test or benchmark: it tells its parent on standard
//! output when it first runs, and runs until the parent's condition says stop.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use streams_runtime::config::StreamsConfig;
use streams_runtime::kafka::{KafkaStreams, State};
use streams_runtime::prelude::*;

/// Writes `line` to standard output and flushes it; the reader may be gone by then (a killed
/// parent), which is not an error.
pub fn say(line: &str) {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// Starts `topology`, prints `announce` once it first runs, waits in `until`, then closes it;
/// the instance's failure, if it had one.
pub fn run_until<T: Topology + Clone + Send + 'static>(
    topology: T,
    config: StreamsConfig,
    announce: &'static str,
    until: impl FnOnce(&KafkaStreams<T>),
) -> Result<(), StreamsError> {
    let mut streams = KafkaStreams::new(topology, config)?;
    let announced = AtomicBool::new(false);
    streams.set_state_listener(move |new, _| {
        if new == State::Running && !announced.swap(true, Ordering::Relaxed) {
            say(announce);
        }
    });
    streams.start()?;
    until(&streams);
    streams.close(Duration::from_secs(30));
    match streams.take_failure() {
        Some(error) => Err(error),
        None => Ok(()),
    }
}
