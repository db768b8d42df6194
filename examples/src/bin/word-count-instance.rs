//! One instance of the DSL word count application, run until it is killed: what the crash tests
//! start as child processes and kill with SIGKILL.
//!
//! `word-count-instance <bootstrap servers> <state dir> <processing.guarantee> <application.id>
//! <topics>`, where `<topics>` names the pair of topics (so that the crash tests, which share one
//! broker, each have their own): `crash-alo`, `crash-eos` or `crash-loop` (reading `<topics>-in`,
//! writing `<topics>-out`). The topics must exist. Prints `running` once, when the instance has
//! its first assignment.

use examples::word_count_topology;
use std::time::Duration;
use streams_runtime::config::StreamsConfig;
use streams_runtime::kafka::State;
use streams_runtime::prelude::*;

word_count_topology!(struct CrashAlo { input: "crash-alo-in", output: "crash-alo-out" });
word_count_topology!(struct CrashEos { input: "crash-eos-in", output: "crash-eos-out" });
word_count_topology!(struct CrashLoop { input: "crash-loop-in", output: "crash-loop-out" });

fn run<T: Topology + Clone + Send + 'static>(topology: T, config: StreamsConfig) -> Result<(), StreamsError> {
    examples::process::run_until(topology, config, "running", |streams| {
        while !matches!(streams.state(), State::Error | State::NotRunning) {
            std::thread::sleep(Duration::from_millis(100));
        }
    })
}

fn main() -> Result<(), StreamsError> {
    // Warnings and errors to stderr (`RUST_LOG` overrides), so that a crash test shows why an
    // instance failed.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bootstrap, state_dir, guarantee, app, topics] = args.as_slice() else {
        eprintln!(
            "usage: word-count-instance <bootstrap servers> <state dir> <processing.guarantee> \
             <application.id> crash-alo|crash-eos|crash-loop"
        );
        std::process::exit(2);
    };
    let config = StreamsConfig::from_properties([
        ("application.id", app.as_str()),
        ("bootstrap.servers", bootstrap.as_str()),
        ("state.dir", state_dir.as_str()),
        ("processing.guarantee", guarantee.as_str()),
        ("commit.interval.ms", "100"),
        // Every count update is written (a zero record cache): the crash tests check them.
        ("statestore.cache.max.bytes", "0"),
        // A killed instance leaves the group at its session timeout: keep it short.
        ("main.consumer.session.timeout.ms", "3000"),
        ("main.consumer.heartbeat.interval.ms", "500"),
    ])?;
    match topics.as_str() {
        "crash-alo" => run(CrashAlo, config),
        "crash-eos" => run(CrashEos, config),
        "crash-loop" => run(CrashLoop, config),
        other => {
            eprintln!("unknown topics {other}");
            std::process::exit(2);
        }
    }
}
