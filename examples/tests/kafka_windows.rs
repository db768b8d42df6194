//! Windowed aggregation on the real Kafka broker (`support::kafka`): the page-views example's
//! final counts, and its window store and suppression buffer restored from their changelogs into
//! an empty state directory, so the windows open at the handover get their exact final counts.

mod support;

use examples::page_views_topology;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use streams_runtime::config::StreamsConfig;
use streams_runtime::kafka::KafkaStreams;
use support::{Read, TimedRecord, app_id, kafka};

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60_000;

page_views_topology!(struct Views { input: "pv-restore-in", output: "pv-restore-out" });

fn config(app: &str, state_dir: &std::path::Path) -> StreamsConfig {
    let bootstrap = kafka().bootstrap();
    let state_dir = state_dir.display().to_string();
    StreamsConfig::from_properties([
        ("application.id", app),
        ("bootstrap.servers", bootstrap.as_str()),
        ("commit.interval.ms", "100"),
        ("state.dir", state_dir.as_str()),
        // Every update is emitted (a zero record cache flushes each write at once, as Java does
        // with `statestore.cache.max.bytes=0`): the tests know how many to expect.
        ("statestore.cache.max.bytes", "0"),
    ])
    .unwrap()
}

/// A final count as (user, window start, count): the key is the user's bytes and the window
/// start (Java's `TimeWindowedSerde`), the value a big-endian count.
fn final_count(r: &Read) -> (String, i64, i64) {
    let key = r.key.as_deref().unwrap();
    let (user, start) = key.split_at(key.len() - 8);
    (
        String::from_utf8(user.to_vec()).unwrap(),
        i64::from_be_bytes(start.try_into().unwrap()),
        r.long(),
    )
}

/// The views at `base` plus each offset. Timestamps are recent, not near the epoch: the window
/// store's changelog is `compact,delete` with a time retention, and the broker deletes segments
/// whose records are older than that retention (a 1970 record is gone at the next retention check).
fn views(base: i64, views: &[(&'static str, i64)]) -> Vec<TimedRecord<'static>> {
    views
        .iter()
        .map(|&(user, offset)| (Some(user.as_bytes()), Some(&b"/home"[..]), base + offset))
        .collect()
}

/// A minute boundary ten minutes ago: windows are aligned to the epoch, so the test's windows
/// start at `base` and `base + MINUTE`.
fn recent_minute() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    (now / MINUTE - 10) * MINUTE
}

/// Runs the application on `state_dir` until `expected` final counts are in the output; returns
/// the restored records per store.
fn run(app: &str, state_dir: &std::path::Path, expected: usize) -> Vec<(String, u64)> {
    let mut streams = KafkaStreams::new(Views, config(app, state_dir)).unwrap();
    let restored = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&restored);
    streams.set_restore_listener(move |r| log.lock().unwrap().push((r.store.to_owned(), r.records)));
    streams.start().unwrap();
    kafka().read("pv-restore-out", "read_uncommitted", Duration::from_secs(1), |r| {
        r.len() >= expected
    });
    assert!(streams.close(Duration::from_secs(10)));
    assert!(streams.take_failure().is_none());
    let mut restored = std::mem::take(&mut *restored.lock().unwrap());
    restored.sort();
    restored
}

#[test]
fn final_counts_survive_a_restore_of_the_window_store_and_the_suppression_buffer() {
    let app = app_id("pv-restore");
    kafka().create_topics(&["pv-restore-in", "pv-restore-out"], 1);
    let first_state = tempfile::tempdir().unwrap();
    let base = recent_minute();
    kafka().send_at(
        "pv-restore-in",
        None,
        &views(
            base,
            &[
                ("alice", 5 * SECOND),
                ("bob", 20 * SECOND),
                ("alice", 59 * SECOND),
                ("alice", MINUTE + SECOND),
                ("carol", MINUTE + 15 * SECOND),
            ],
        ),
    );
    // Stream time 75 s closes the first minute (60 s + 10 s of grace): alice 2, bob 1.
    let restored = run(&app, first_state.path(), 2);
    assert_eq!(
        restored,
        [
            ("KTABLE-SUPPRESS-STATE-STORE-0000000003".to_owned(), 0),
            ("views-per-minute".to_owned(), 0)
        ]
    );

    // A new instance on an empty state directory restores both stores from their changelogs:
    // five window updates; five buffered updates and the two evictions of the closed windows.
    kafka().send_at(
        "pv-restore-in",
        None,
        &views(
            base,
            &[("alice", MINUTE + 20 * SECOND), ("bob", 2 * MINUTE + 10 * SECOND)],
        ),
    );
    let second_state = tempfile::tempdir().unwrap();
    let restored = run(&app, second_state.path(), 4);
    assert_eq!(
        restored,
        [
            ("KTABLE-SUPPRESS-STATE-STORE-0000000003".to_owned(), 7),
            ("views-per-minute".to_owned(), 5)
        ]
    );
    let finals: Vec<(String, i64, i64)> = kafka()
        .read("pv-restore-out", "read_uncommitted", Duration::from_secs(1), |r| {
            r.len() >= 4
        })
        .iter()
        .map(final_count)
        .collect();
    // The second minute's counts carry alice's view from before the handover.
    assert_eq!(
        finals,
        [
            ("alice".to_owned(), base, 2),
            ("bob".to_owned(), base, 1),
            ("alice".to_owned(), base + MINUTE, 2),
            ("carol".to_owned(), base + MINUTE, 1),
        ]
    );
}
