//! One instance of the DSL word count application, run until it is killed: what the crash tests
//! start as child processes and kill with SIGKILL.
//!
//! `word-count-instance <bootstrap servers> <state dir> <processing.guarantee> <application.id>
//! <topics> [<num.standby.replicas>]`, where `<topics>` names the pair of topics (so that the
//! crash tests, which share one broker, each have their own): `crash-alo`, `crash-eos`,
//! `crash-loop`, `standby-none` or `standby-one` (reading `<topics>-in`, writing
//! `<topics>-out`). The topics must exist. Prints `running` once, when the instance has its
//! first assignment, and `restored <store> <partition> <records> <milliseconds>` whenever a task
//! it creates has restored a store.

use examples::process::say;
use examples::word_count_topology;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use streams_runtime::config::StreamsConfig;
use streams_runtime::kafka::{KafkaStreams, State};
use streams_runtime::prelude::*;

word_count_topology!(struct CrashAlo { input: "crash-alo-in", output: "crash-alo-out" });
word_count_topology!(struct CrashEos { input: "crash-eos-in", output: "crash-eos-out" });
word_count_topology!(struct CrashLoop { input: "crash-loop-in", output: "crash-loop-out" });
word_count_topology!(struct StandbyNone { input: "standby-none-in", output: "standby-none-out" });
word_count_topology!(struct StandbyOne { input: "standby-one-in", output: "standby-one-out" });

fn run<T: Topology + Clone + Send + 'static>(topology: T, config: StreamsConfig) -> Result<(), StreamsError> {
    let mut streams = KafkaStreams::new(topology, config)?;
    let announced = AtomicBool::new(false);
    streams.set_state_listener(move |new, _| {
        if new == State::Running && !announced.swap(true, Ordering::Relaxed) {
            say("running");
        }
    });
    streams.set_restore_listener(|r| {
        say(&format!(
            "restored {} {} {} {}",
            r.store,
            r.partition,
            r.records,
            r.duration.as_millis()
        ))
    });
    streams.start()?;
    while !matches!(streams.state(), State::Error | State::NotRunning) {
        std::thread::sleep(Duration::from_millis(100));
    }
    streams.close(Duration::from_secs(30));
    streams.take_failure().map_or(Ok(()), Err)
}

fn main() -> Result<(), StreamsError> {
    // Warnings and errors to stderr (`RUST_LOG` overrides), so that a crash test shows why an
    // instance failed.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (bootstrap, state_dir, guarantee, app, topics, standbys) = match args.as_slice() {
        [b, s, g, a, t] => (b, s, g, a, t, "0"),
        [b, s, g, a, t, n] => (b, s, g, a, t, n.as_str()),
        _ => {
            eprintln!(
                "usage: word-count-instance <bootstrap servers> <state dir> <processing.guarantee> \
                 <application.id> crash-alo|crash-eos|crash-loop|standby-none|standby-one \
                 [<num.standby.replicas>]"
            );
            std::process::exit(2);
        }
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
        ("num.standby.replicas", standbys),
    ])?;
    match topics.as_str() {
        "crash-alo" => run(CrashAlo, config),
        "crash-eos" => run(CrashEos, config),
        "crash-loop" => run(CrashLoop, config),
        "standby-none" => run(StandbyNone, config),
        "standby-one" => run(StandbyOne, config),
        other => {
            eprintln!("unknown topics {other}");
            std::process::exit(2);
        }
    }
}
