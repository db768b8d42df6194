//! An application as a child process of a test or benchmark: it tells its parent on standard
//! output when it first runs, and runs until the parent's condition says stop. Both sides of the
//! protocol of `bench-app` and of the Java `WordCountApp` (`examples/java`): the child prints
//! [`RUNNING`], closes on a line [`STOP`] on its standard input, then prints [`CLOSED`].

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
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

/// What the child prints once it runs.
pub const RUNNING: &str = "RUNNING";
/// What the parent writes to close the child.
pub const STOP: &str = "stop";
/// What the child prints once it has closed.
pub const CLOSED: &str = "CLOSED";

/// `bash scripts/java.sh run CLASS`: a class of `examples/java` (built on first use).
pub fn java(class: &str) -> Command {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the checkout");
    let mut command = Command::new("bash");
    command.arg(root.join("scripts/java.sh")).args(["run", class]);
    command
}

/// The parent's side: a child application speaking the protocol; killed if dropped running.
pub struct ChildApp {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl ChildApp {
    /// Spawns `command` with piped standard input and output and waits (up to three minutes)
    /// until it prints [`RUNNING`]. Panics if it does not (a test or benchmark helper).
    pub fn start(command: &mut Command) -> Self {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting an application process");
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut app = ChildApp { child, stdin, lines };
        app.await_line(RUNNING, Duration::from_secs(180));
        app
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    fn await_line(&mut self, expected: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) if line == expected => return,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!("the application did not print {expected} within {within:?}");
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "the application exited before printing {expected}: {:?}",
                        self.child.wait()
                    )
                }
            }
        }
    }

    /// Closes the child (it commits and leaves its group), waits for it to exit and checks that
    /// it succeeded.
    pub fn stop(mut self) {
        writeln!(self.stdin, "{STOP}").expect("writing to the application");
        self.await_line(CLOSED, Duration::from_secs(60));
        assert!(self.child.wait().expect("waiting for the application").success());
    }
}

impl Drop for ChildApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
