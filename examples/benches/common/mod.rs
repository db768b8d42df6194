//! What the benchmarks share: running only under `cargo bench`, and best-of-N timing.

#[allow(dead_code)] // only the Kafka benchmarks use a broker
pub mod broker;

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Whether the binary runs under `cargo bench` (which passes `--bench`); `cargo test
/// --all-targets` runs bench binaries too, where measuring a debug build would only cost time.
pub fn measuring() -> bool {
    if std::env::args().any(|a| a == "--bench") {
        return true;
    }
    println!("skipped: run with `cargo bench` to measure");
    false
}

/// The best time of `rounds` runs of `f`.
#[allow(dead_code)] // not every benchmark times in rounds
pub fn best_of<R>(rounds: usize, mut f: impl FnMut() -> R) -> Duration {
    (0..rounds)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed()
        })
        .min()
        .expect("at least one round")
}
