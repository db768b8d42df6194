//! Metrics on the real Kafka broker (`support::kafka`): the word count counts known input (and
//! one record that fails deserialization) under `metrics.recording.level=DEBUG`; the snapshot
//! of `KafkaStreams::metrics` then holds Java's names with the exact totals, and the Prometheus
//! text the word count's HTTP interface serves at `/metrics` (`examples::prometheus`) holds the
//! same totals.

mod support;

use examples::word_count_server;
use examples::word_count_topology;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use streams_runtime::config::StreamsConfig;
use streams_runtime::kafka::KafkaStreams;
use streams_runtime::metadata::HostInfo;
use streams_runtime::metrics::Metric;
use streams_runtime::prelude::*;
use support::{RawRecord, TimedRecord, app_id, await_running, kafka, word_counts};

word_count_topology!(struct Metered { input: "metrics-in", output: "metrics-out" });

/// The config of application `app` on the test broker with its state in `state`, plus `settings`.
fn config(app: &str, state: &tempfile::TempDir, settings: &[(&str, &str)]) -> StreamsConfig {
    let bootstrap = kafka().bootstrap();
    let state_dir = state.path().display().to_string();
    let base = [
        ("application.id", app),
        ("bootstrap.servers", bootstrap.as_str()),
        ("state.dir", state_dir.as_str()),
    ];
    StreamsConfig::from_properties(base.iter().chain(settings).copied()).unwrap()
}

/// The value of the metric `group`/`name` whose tags include `tags`; `None` if there is none.
fn value(metrics: &[Metric], group: &str, name: &str, tags: &[(&str, &str)]) -> Option<f64> {
    let found = metrics
        .iter()
        .find(|m| m.name.group == group && m.name.name == name && tags.iter().all(|(k, v)| m.name.tag(k) == Some(*v)));
    found.map(|m| m.value)
}

/// The value of the Prometheus sample `name` whose labels include `labels` (as `k="v"`).
fn scraped(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| line.split(['{', ' ']).next() == Some(name))
        .find(|line| labels.iter().all(|label| line.contains(label)))
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
}

/// Polls `read` until it returns `expected` (up to 30 s) and returns what it read last.
fn await_value(expected: f64, mut read: impl FnMut() -> Option<f64>) -> Option<f64> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let seen = read();
        if seen == Some(expected) || Instant::now() > deadline {
            return seen;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_application_reports_javas_metrics_and_prometheus_text_holds_them() {
    let app = app_id("metrics");
    kafka().create_topics(&["metrics-in", "metrics-out"], 1);
    let lines: Vec<String> = (0..40).map(|i| format!("m{} m{} shared", i % 7, i % 3)).collect();
    let words: usize = lines.iter().map(|l| l.split(' ').count()).sum();
    let mut records: Vec<RawRecord<'_>> = lines.iter().map(|l| (None, Some(l.as_bytes()))).collect();
    // Not UTF-8: fails the value's deserialization, and LogAndContinue drops it.
    records.insert(10, (None, Some(&[0xff, 0xfe][..])));
    kafka().send("metrics-in", None, &records);

    let state = tempfile::tempdir().unwrap();
    let settings = [
        ("commit.interval.ms", "100"),
        ("metrics.recording.level", "DEBUG"),
        ("deserialization.exception.handler", "LogAndContinueExceptionHandler"),
    ];
    let mut streams = KafkaStreams::new(Metered, config(&app, &state, &settings)).unwrap();
    let started = Instant::now();
    streams.start().unwrap();
    let streams = Arc::new(streams);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let me = HostInfo::new("127.0.0.1", listener.local_addr().unwrap().port());
    let _serving = word_count_server::serve(Arc::clone(&streams), me.clone(), listener).unwrap();
    await_running(&streams);

    // Every word counted once (the store holds the exact counts).
    let expected = word_counts(&lines);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let store = streams.key_value_store::<String, i64>("counts-store").unwrap();
        let seen: Option<BTreeMap<String, i64>> = store.all().ok().map(|all| all.map(Result::unwrap).collect());
        if seen.as_ref() == Some(&expected) {
            break;
        }
        assert!(Instant::now() < deadline, "store holds {seen:?}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // The snapshot: the thread processed every line and every repartitioned word; the bad
    // record was dropped by task 0_0, not processed.
    let thread_total = (lines.len() + words) as f64;
    let snapshot = || streams.metrics();
    let thread = "stream-thread-metrics";
    let task = "stream-task-metrics";
    assert_eq!(
        await_value(thread_total, || value(&snapshot(), thread, "process-total", &[])),
        Some(thread_total)
    );
    let metrics = snapshot();
    let thread_id = (metrics.iter())
        .find(|m| m.name.group == thread)
        .and_then(|m| m.name.tag("thread-id"))
        .unwrap()
        .to_owned();
    assert!(
        thread_id.starts_with(&format!("{app}-")) && thread_id.ends_with("-StreamThread-1"),
        "{thread_id}"
    );
    assert_eq!(
        value(&metrics, "stream-metrics", "alive-stream-threads", &[]),
        Some(1.0)
    );
    assert_eq!(
        value(&metrics, task, "dropped-records-total", &[("task-id", "0_0")]),
        Some(1.0)
    );
    assert_eq!(
        value(&metrics, task, "dropped-records-total", &[("task-id", "1_0")]),
        Some(0.0)
    );
    assert_eq!(
        value(&metrics, task, "process-total", &[("task-id", "0_0")]),
        Some(lines.len() as f64)
    );
    assert_eq!(
        value(&metrics, task, "process-total", &[("task-id", "1_0")]),
        Some(words as f64)
    );
    // Input was written before the start, so records arrived behind stream time at most by 0.
    assert_eq!(
        value(&metrics, task, "record-lateness-max", &[("task-id", "0_0")]),
        Some(0.0)
    );
    let latency = value(&metrics, thread, "process-latency-avg", &[]).unwrap();
    assert!(latency.is_finite() && latency >= 0.0, "{latency}");
    assert_eq!(value(&metrics, thread, "task-created-total", &[]), Some(2.0));
    assert_eq!(value(&metrics, thread, "task-closed-total", &[]), Some(0.0));
    // The store's operations (DEBUG): one get and one put per word, counted by the task that
    // counts. Java's store metrics have rates and latencies, no totals: within the first 30 s
    // a rate is the calls divided by 30 s (Java's minimum window), so the calls are exact then.
    let counts = [("task-id", "1_0"), ("rocksdb-state-id", "counts-store")];
    let state = "stream-state-metrics";
    let get_rate = await_value(words as f64 / 30.0, || value(&snapshot(), state, "get-rate", &counts));
    let put_rate = value(&snapshot(), state, "put-rate", &counts);
    if started.elapsed() < Duration::from_secs(25) {
        assert_eq!(get_rate.map(|r| r * 30.0), Some(words as f64));
        assert_eq!(put_rate.map(|r| r * 30.0), Some(words as f64));
    } else {
        assert!(get_rate.is_some_and(|r| r > 0.0) && put_rate.is_some_and(|r| r > 0.0));
    }
    let get_latency = value(&snapshot(), state, "get-latency-avg", &counts).unwrap();
    assert!(
        get_latency.is_finite() && get_latency > 0.0,
        "nanoseconds: {get_latency}"
    );
    assert!(value(&snapshot(), state, "flush-rate", &counts).is_some_and(|r| r > 0.0));
    // The consumer has read both input partitions to their ends.
    let fetch = "consumer-fetch-manager-metrics";
    for topic in ["metrics-in".to_owned(), format!("{app}-counts-store-repartition")] {
        let lag = await_value(0.0, || {
            value(
                &snapshot(),
                fetch,
                "records-lag",
                &[("topic", topic.as_str()), ("partition", "0")],
            )
        });
        assert_eq!(lag, Some(0.0), "{topic}");
    }

    // The same totals in the Prometheus text, under Java's JMX names.
    let url = format!("http://{}:{}/metrics", me.host, me.port);
    let scrape = || http_get(&url);
    let thread_label = format!("thread_id=\"{thread_id}\"");
    let total = await_value(thread_total, || {
        scraped(&scrape(), "kafka_streams_stream_thread_process_total", &[&thread_label])
    });
    assert_eq!(total, Some(thread_total));
    let text = scrape();
    let dropped = |task: &str| {
        let task = format!("task_id=\"{task}\"");
        scraped(
            &text,
            "kafka_streams_stream_task_dropped_records_total",
            &[&thread_label, &task],
        )
    };
    assert_eq!((dropped("0_0"), dropped("1_0")), (Some(1.0), Some(0.0)));
    assert!(
        scraped(&text, "kafka_streams_stream_thread_commit_total", &[&thread_label]).is_some_and(|c| c >= 1.0),
        "{text}"
    );
    // Nothing is counted twice: a later snapshot and scrape hold the same totals.
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(value(&snapshot(), thread, "process-total", &[]), Some(thread_total));
    let text = scrape();
    assert_eq!(
        scraped(&text, "kafka_streams_stream_thread_process_total", &[&thread_label]),
        Some(thread_total)
    );
    streams.close(Duration::from_secs(10));
    assert!(streams.take_failure().is_none());
}

/// A blocking GET of the body (the test is not async).
fn http_get(url: &str) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async { reqwest::get(url).await.unwrap().text().await.unwrap() })
}

/// A restoration longer than a second reports its progress about once a second: the records
/// applied so far (growing, never above the total), the changelog's offsets as the total, and
/// at the end the exact number of records restored.
#[test]
fn a_long_restoration_reports_its_progress() {
    const RECORDS: usize = 300_000;
    let app = app_id("restore-progress");
    kafka().create_topics(&["progress-in", "progress-out"], 1);
    // The store's changelog, written directly: RECORDS distinct keys (the values' bytes are
    // restored as they are).
    let changelog = format!("{app}-counts-store-changelog");
    kafka().create_topics(&[changelog.as_str()], 1);
    let keys: Vec<String> = (0..RECORDS).map(|i| format!("word-{i}")).collect();
    let value = 1i64.to_be_bytes();
    let records: Vec<RawRecord<'_>> = keys.iter().map(|k| (Some(k.as_bytes()), Some(&value[..]))).collect();
    for chunk in records.chunks(50_000) {
        kafka().send(&changelog, Some(0), chunk);
    }

    word_count_topology!(struct Restoring { input: "progress-in", output: "progress-out" });
    let state = tempfile::tempdir().unwrap();
    let mut streams = KafkaStreams::new(Restoring, config(&app, &state, &[])).unwrap();
    let progress = Arc::new(std::sync::Mutex::new(Vec::new()));
    let restored = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&progress);
    streams.set_restore_progress_listener(move |p| seen.lock().unwrap().push(*p));
    let seen = Arc::clone(&restored);
    streams.set_restore_listener(move |r| seen.lock().unwrap().push(*r));
    streams.start().unwrap();
    await_running(&streams);
    streams.close(Duration::from_secs(10));

    let restored = restored.lock().unwrap().clone();
    let store = restored.iter().find(|r| r.store == "counts-store").unwrap();
    assert_eq!(store.records, RECORDS as u64);
    let progress = progress.lock().unwrap().clone();
    if store.duration < Duration::from_secs(1) {
        // Too fast for a report (a quick machine): nothing to check but that none came.
        assert!(progress.is_empty(), "{progress:?}");
        return;
    }
    assert!(
        !progress.is_empty(),
        "a restoration of {:?} reported no progress",
        store.duration
    );
    let mut last = 0;
    for p in &progress {
        assert_eq!((p.store, p.partition, p.total), ("counts-store", 0, RECORDS as u64));
        assert!(p.restored > last && p.restored <= RECORDS as u64, "{progress:?}");
        assert!(p.eta().is_some());
        last = p.restored;
    }
}

topology! {
    /// A tumbling-window count and a session count of one input.
    struct WindowedCounts {
        stream events { topic: "metrics-windowed-in", key: String, value: String }
        events.group_by_key().windowed_by(tumbling(5ms)).count(store: "per-window").to_stream().to("metrics-windowed-out");
        events.group_by_key().windowed_by(session(100ms)).count(store: "per-session").to_stream().to("metrics-session-out");
    }
}

#[test]
fn window_and_session_stores_report_their_operations_under_javas_scopes() {
    let app = app_id("metrics-windowed");
    kafka().create_topics(
        &["metrics-windowed-in", "metrics-windowed-out", "metrics-session-out"],
        1,
    );
    // Ten records of one key, 1 ms apart: each is one fetch and one put of its tumbling window;
    // each joins the key's one session, which is looked up, removed (from the second record
    // on: the merged session ends later) and put again.
    // (Recent timestamps, a multiple of the window size apart from 0: the broker deletes records
    // older than its retention.)
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let base = now.as_secs() as i64 * 1000;
    let records: Vec<TimedRecord<'_>> = (0..10).map(|t| (Some(&b"k"[..]), Some(&b"v"[..]), base + t)).collect();
    kafka().send_at("metrics-windowed-in", None, &records);
    let state = tempfile::tempdir().unwrap();
    let settings = [("commit.interval.ms", "100"), ("metrics.recording.level", "DEBUG")];
    let mut streams = KafkaStreams::new(WindowedCounts, config(&app, &state, &settings)).unwrap();
    let started = Instant::now();
    streams.start().unwrap();
    await_running(&streams);

    let state = "stream-state-metrics";
    let window = [("task-id", "0_0"), ("rocksdb-window-state-id", "per-window")];
    let session = [("task-id", "0_0"), ("rocksdb-session-state-id", "per-session")];
    // Within the first 30 s a rate is the calls divided by 30 s (Java's minimum window).
    let calls =
        |name: &str, tags: &[(&str, &str)]| value(&streams.metrics(), state, name, tags).map(|r| (r * 30.0).round());
    let window_puts = await_value(10.0, || calls("put-rate", &window));
    let session_puts = await_value(10.0, || calls("put-rate", &session));
    let read = [
        window_puts,
        calls("fetch-rate", &window),
        session_puts,
        calls("fetch-rate", &session),
        calls("remove-rate", &session),
    ];
    if started.elapsed() < Duration::from_secs(25) {
        assert_eq!(read, [Some(10.0), Some(10.0), Some(10.0), Some(10.0), Some(9.0)]);
    } else {
        assert!(read.iter().all(|r| r.is_some_and(|r| r > 0.0)), "{read:?}");
    }
    let latency = value(&streams.metrics(), state, "fetch-latency-avg", &window).unwrap();
    assert!(latency.is_finite() && latency > 0.0, "nanoseconds: {latency}");
    assert!(value(&streams.metrics(), state, "flush-rate", &session).is_some_and(|r| r > 0.0));
    streams.close(Duration::from_secs(10));
}
