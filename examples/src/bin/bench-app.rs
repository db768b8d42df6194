//! Our side of the Java comparison benchmark (`examples/benches/java.rs`): the word count or
//! the pipe as an application process, with the command line and the protocol of the Java one
//! (`examples/java/src/main/java/streamsrs/WordCountApp.java`), so both are measured alike.
//!
//! `bench-app wordcount|pipe <bootstrap servers> <application.id> <state dir>
//! <processing.guarantee> <commit.interval.ms> [<statestore.cache.max.bytes>]` reads
//! `bench-wc-in` (word count) or `bench-pipe-in` (pipe, bytes) and writes `bench-wc-out` /
//! `bench-pipe-out`; the record cache is off (0, every update written) unless its size is given.
//! Prints `RUNNING` once it runs; a line `stop` on standard input (or its end) closes it, then it
//! prints `CLOSED`.

use examples::process::{CLOSED, RUNNING, STOP, run_until, say};
use examples::word_count_topology;
use std::io::BufRead;
use streams_runtime::config::StreamsConfig;
use streams_runtime::prelude::*;

word_count_topology!(struct BenchWordCount { input: "bench-wc-in", output: "bench-wc-out" });

topology! {
    struct BenchPipe {
        stream input { topic: "bench-pipe-in", key: Option<Vec<u8>>, value: Option<Vec<u8>> }
        input.to("bench-pipe-out");
    }
}

/// Runs until standard input has a line `stop` or ends, then prints `CLOSED`.
fn run<T: Topology + Clone + Send + 'static>(topology: T, config: StreamsConfig) -> Result<(), StreamsError> {
    let result = run_until(topology, config, RUNNING, |_| {
        for line in std::io::stdin().lock().lines() {
            if line.map_or(true, |l| l.trim() == STOP) {
                break;
            }
        }
    });
    say(CLOSED);
    result
}

fn main() -> Result<(), StreamsError> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (args, cache_bytes) = match args.as_slice() {
        [rest @ .., cache] if rest.len() == 6 => (rest, cache.as_str()),
        all => (all, "0"),
    };
    let [topology, bootstrap, app, state_dir, guarantee, commit_ms] = args else {
        eprintln!(
            "usage: bench-app wordcount|pipe <bootstrap servers> <application.id> <state dir> \
             <processing.guarantee> <commit.interval.ms> [<statestore.cache.max.bytes>]"
        );
        std::process::exit(2);
    };
    let config = StreamsConfig::from_properties([
        ("application.id", app.as_str()),
        ("bootstrap.servers", bootstrap.as_str()),
        ("state.dir", state_dir.as_str()),
        ("processing.guarantee", guarantee.as_str()),
        ("commit.interval.ms", commit_ms.as_str()),
        ("statestore.cache.max.bytes", cache_bytes),
    ])?;
    match topology.as_str() {
        "wordcount" => run(BenchWordCount, config),
        "pipe" => run(BenchPipe, config),
        other => {
            eprintln!("unknown topology {other}");
            std::process::exit(2);
        }
    }
}
