//! The DSL word count, run for real: with no arguments it starts an embedded in-process Kafka
//! cluster, creates the topics, feeds the reference's two sample lines (or the lines given as
//! arguments, or typed on stdin with `-`), runs the application and prints every count update
//! as the reference's console consumer does (`word\tcount`).
//!
//! `--bootstrap-servers host:port` runs against a real cluster instead (the topics must exist):
//! with lines it writes them and prints the updates as above; without, it runs the application
//! until it is stopped, as the reference's `WordCountDemo` does (feed it with Kafka's console
//! producer, read it with the console consumer); it prints `running` once it has its partitions.
//! `--application-id` names the application (default `streams-wordcount`). With
//! `--http host:port` as well, the instance serves its counts over HTTP there and announces the
//! endpoint as its `application.server` (see `examples::word_count_server`: `GET /counts/{word}`
//! from whichever instance holds the word, `GET /counts` from all of them); start several
//! instances with different endpoints and state, and ask any of them. `--driver` runs through
//! the `TopologyTestDriver` without Kafka.

use examples::kafka_demo::{produce_lines, read_topic};
use examples::word_count::WordCount;
use std::io::BufRead;
use std::sync::Arc;
use std::time::Duration;
use streams_runtime::config::StreamsConfig;
use streams_runtime::kafka::{EmbeddedCluster, KafkaStreams, State};
use streams_runtime::prelude::*;

const INPUT: &str = "streams-plaintext-input";
const OUTPUT: &str = "streams-wordcount-output";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let mut args = std::env::args().skip(1).peekable();
    let mut bootstrap = None;
    let mut driver = false;
    let mut application_id = "streams-wordcount".to_owned();
    let mut http = None;
    let mut lines = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bootstrap-servers" => bootstrap = args.next(),
            "--application-id" => application_id = args.next().unwrap_or(application_id),
            "--driver" => driver = true,
            "--http" => http = args.next(),
            "-" => lines.extend(std::io::stdin().lock().lines().map_while(Result::ok)),
            _ => lines.push(arg),
        }
    }
    println!("{}", WordCount.describe());
    if let (Some(bootstrap), true, false) = (&bootstrap, lines.is_empty(), driver) {
        return run_until_stopped(bootstrap, &application_id, http.as_deref());
    }
    if lines.is_empty() {
        lines = vec!["all streams lead to kafka".to_owned(), "hello kafka streams".to_owned()];
    }
    if driver {
        return run_on_driver(&lines);
    }
    let embedded = match &bootstrap {
        Some(_) => None,
        None => Some(EmbeddedCluster::start(1)?),
    };
    let bootstrap = bootstrap.unwrap_or_else(|| {
        embedded
            .as_ref()
            .map(EmbeddedCluster::bootstrap_servers)
            .unwrap_or_default()
    });
    let state_dir = state_dir()?;
    let mut streams = KafkaStreams::new(WordCount, config(&bootstrap, &application_id, &state_dir)?)?;
    if let Some(cluster) = &embedded {
        for topic in [INPUT.to_owned(), OUTPUT.to_owned()]
            .into_iter()
            .chain(streams.internal_topics())
        {
            cluster.create_topic(&topic, 1)?;
        }
        println!("embedded Kafka cluster at {bootstrap}");
    }
    produce_lines(&bootstrap, INPUT, &lines)?;
    let expected_updates: usize = lines.iter().map(|l| examples::line_split::words(l).count()).sum();
    streams.start()?;
    let mut seen = 0;
    let finished = read_topic(
        &bootstrap,
        OUTPUT,
        "streams-wordcount-console-consumer",
        Duration::from_secs(60),
        |key, value| {
            let word = String::from_utf8_lossy(key.unwrap_or_default());
            match value.and_then(|v| <[u8; 8]>::try_from(v).ok()) {
                Some(count) => println!("{word}\t{}", i64::from_be_bytes(count)),
                None => println!("{word}\tnull"),
            }
            seen += 1;
            seen >= expected_updates
        },
    )?;
    streams.close(Duration::from_secs(10));
    if let Some(error) = streams.take_failure() {
        return Err(error.into());
    }
    if !finished {
        eprintln!("timed out after {seen} of {expected_updates} count updates");
    }
    Ok(())
}

fn state_dir() -> Result<tempfile::TempDir, StreamsError> {
    tempfile::tempdir().map_err(|source| StreamsError::Io {
        context: "creating the state directory".into(),
        source,
    })
}

fn config(bootstrap: &str, application_id: &str, state_dir: &tempfile::TempDir) -> Result<StreamsConfig, StreamsError> {
    Ok(StreamsConfig::from_properties([
        ("application.id", application_id),
        ("bootstrap.servers", bootstrap),
        ("commit.interval.ms", "100"),
        ("state.dir", &state_dir.path().display().to_string()),
        // Every count update is written, as the reference's `WordCountDemo` sets it.
        ("statestore.cache.max.bytes", "0"),
    ])?)
}

/// Runs the application on `bootstrap` until it fails or the process is stopped, serving its
/// counts over HTTP at `http` if given.
fn run_until_stopped(
    bootstrap: &str,
    application_id: &str,
    http: Option<&str>,
) -> Result<(), Box<dyn std::error::Error>> {
    let state_dir = state_dir()?;
    let mut config = config(bootstrap, application_id, &state_dir)?;
    let endpoint = match http {
        Some(http) => {
            let me: streams_runtime::metadata::HostInfo = http.parse()?;
            config.application_server = Some(me.clone());
            Some((me, std::net::TcpListener::bind(http)?))
        }
        None => None,
    };
    let mut streams = KafkaStreams::new(WordCount, config)?;
    // A long restoration (a fresh state directory reads the whole changelog) shows its progress.
    streams.set_restore_progress_listener(|p| {
        let eta = p.eta().map_or_else(|| "?".to_owned(), |d| format!("{} s", d.as_secs()));
        eprint!(
            "\rrestoring {} partition {}: {} of {} records ({:.0}/s, {eta} left)   ",
            p.store,
            p.partition,
            p.restored,
            p.total,
            p.rate()
        );
    });
    streams.set_restore_listener(|r| {
        if r.duration >= Duration::from_secs(1) {
            eprintln!(
                "\rrestored {} partition {}: {} records in {:.1} s                    ",
                r.store,
                r.partition,
                r.records,
                r.duration.as_secs_f64()
            );
        }
    });
    let mut states = streams.state_changes();
    streams.start()?;
    let streams = Arc::new(streams);
    let _serving = match endpoint {
        Some((me, listener)) => Some(examples::word_count_server::serve(Arc::clone(&streams), me, listener)?),
        None => None,
    };
    let mut announced = false;
    loop {
        match *states.borrow_and_update() {
            State::Running if !announced => {
                println!("running");
                announced = true;
            }
            State::Error | State::NotRunning => break,
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    streams.close(Duration::from_secs(10));
    streams.take_failure().map_or(Ok(()), |e| Err(e.into()))
}

fn run_on_driver(lines: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let driver = test_driver(&WordCount)?;
    let mut input = driver.input_topic(WordCount::source_lines());
    let mut output = driver.output_topic(WordCount::to_streams_wordcount_output());
    for line in lines {
        input.pipe_input(None, line.clone())?;
    }
    for (word, count) in output.read_key_values_to_list()? {
        match count {
            Some(count) => println!("{word}\t{count}"),
            None => println!("{word}\tnull"),
        }
    }
    Ok(driver.close()?)
}
