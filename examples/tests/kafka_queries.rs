//! Interactive queries and elastic threads on the real Kafka broker (`support::kafka`): the word
//! count's `counts-store` read through `KafkaStreams::key_value_store` while the application
//! runs (point reads, scans, per-partition reads, counts), the errors before start, for unknown
//! stores and after close; two instances that learn each other's endpoints and partitions and
//! answer for every word over HTTP (`examples::word_count_server`); and stream threads added
//! and removed at run time with exact counts.

mod support;

use examples::word_count_server::{self, WordCountReply};
use examples::word_count_topology;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use streams_runtime::config::StreamsConfig;
use streams_runtime::error::{NotQueryable, StreamsError};
use streams_runtime::kafka::{KafkaStreams, State};
use streams_runtime::metadata::HostInfo;
use streams_runtime::prelude::*;
use support::{RawRecord, app_id, await_running, kafka, word_counts};

const PARTITIONS: i32 = 2;

fn config(app: &str, state_dir: &std::path::Path, threads: &str) -> StreamsConfig {
    let bootstrap = kafka().bootstrap();
    let state_dir = state_dir.display().to_string();
    StreamsConfig::from_properties([
        ("application.id", app),
        ("bootstrap.servers", bootstrap.as_str()),
        ("commit.interval.ms", "100"),
        ("state.dir", state_dir.as_str()),
        ("num.stream.threads", threads),
    ])
    .unwrap()
}

fn write(topic: &str, lines: &[String]) {
    let records: Vec<RawRecord<'_>> = lines.iter().map(|l| (None, Some(l.as_bytes()))).collect();
    kafka().send(topic, None, &records);
}

/// Queries until the store holds `expected` (the counts arrive through a repartition topic).
fn await_queried<T: Topology + Clone + Send + 'static>(streams: &KafkaStreams<T>, expected: &BTreeMap<String, i64>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let store = streams.key_value_store::<String, i64>("counts-store").unwrap();
        let seen = store
            .all()
            .map(|entries| entries.map(Result::unwrap).collect::<BTreeMap<_, _>>());
        if seen.as_ref().is_ok_and(|seen| seen == expected) {
            return;
        }
        assert!(Instant::now() < deadline, "store holds {seen:?}, expected {expected:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn lines(seed: u64, count: usize) -> Vec<String> {
    // A small deterministic generator: words w0..w29, 1-5 per line.
    let mut state = seed;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize
    };
    (0..count)
        .map(|_| {
            let words = 1 + next() % 5;
            (0..words)
                .map(|_| format!("w{}", next() % 30))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

word_count_topology!(struct Queried { input: "iq-local-in", output: "iq-local-out" });

#[test]
fn a_running_application_answers_queries_from_its_stores() {
    let app = app_id("iq-local");
    kafka().create_topics(&["iq-local-in", "iq-local-out"], PARTITIONS);
    let state = tempfile::tempdir().unwrap();
    let input = lines(7, 200);
    write("iq-local-in", &input);
    let expected = word_counts(&input);

    let mut streams = KafkaStreams::new(Queried, config(&app, state.path(), "2")).unwrap();
    // The typed accessor of the DSL's store: no name, no spelled-out types.
    let store = streams.store(Queried::store_counts_store());
    match store.get(&"w1".to_owned()) {
        Err(StreamsError::StoreNotQueryable { store, reason }) => {
            assert_eq!((store.as_str(), reason), ("counts-store", NotQueryable::NotStarted));
        }
        other => panic!("expected NotStarted, got {other:?}"),
    }
    match streams.key_value_store::<String, i64>("count-store") {
        Err(StreamsError::UnknownStore { name, hint }) => {
            assert_eq!(name, "count-store");
            assert!(hint.contains("counts-store"), "{hint}");
        }
        other => panic!("expected UnknownStore, got {other:?}"),
    }
    assert!(matches!(
        streams.window_store::<String, i64>("counts-store"),
        Err(StreamsError::StoreKind { .. })
    ));

    streams.start().unwrap();
    await_running(&streams);
    await_queried(&streams, &expected);
    // Point reads, from whichever task holds the word; a missing word is None.
    for (word, count) in &expected {
        assert_eq!(store.get(word).unwrap(), Some(*count), "{word}");
        let (value, timestamp) = store.get_with_timestamp(word).unwrap().unwrap();
        assert_eq!(value, *count);
        assert!(timestamp > 0, "the aggregation keeps the record's timestamp");
    }
    assert_eq!(store.get(&"absent".to_owned()).unwrap(), None);
    assert!(
        matches!(streams.clean_up(), Err(StreamsError::IllegalState { .. })),
        "no cleaning up under a running application"
    );
    // (approximate_num_entries is RocksDB's estimate, which ignores the record cache's
    // unflushed entries: not asserted.)
    // Each partition's task holds its share; together they hold every word once.
    let mut by_partition = BTreeMap::new();
    for partition in 0..PARTITIONS {
        let part = store.clone().partition(partition);
        for entry in part.all().unwrap() {
            let (word, count) = entry.unwrap();
            assert_eq!(by_partition.insert(word, count), None, "a word in two partitions");
        }
    }
    assert_eq!(by_partition, expected);
    assert!(matches!(
        store.clone().partition(7).get(&"w1".to_owned()),
        Err(StreamsError::StoreNotQueryable {
            reason: NotQueryable::NoSuchPartition(7),
            ..
        })
    ));
    // Ranges within each task, task after task.
    let ranged: BTreeMap<String, i64> = store
        .range(Some(&"w1".to_owned()), Some(&"w2".to_owned()))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let in_range: BTreeMap<String, i64> = expected
        .iter()
        .filter(|(w, _)| w.as_str() >= "w1" && w.as_str() <= "w2")
        .map(|(w, c)| (w.clone(), *c))
        .collect();
    assert_eq!(ranged, in_range);
    let prefixed: BTreeMap<String, i64> = store
        .prefix_scan(&"w2".to_owned(), &StringSerde)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let with_prefix: BTreeMap<String, i64> = expected
        .iter()
        .filter(|(w, _)| w.starts_with("w2"))
        .map(|(w, c)| (w.clone(), *c))
        .collect();
    assert_eq!(prefixed, with_prefix);
    // Queries from several threads at once while more input is processed.
    let more = lines(8, 100);
    write("iq-local-in", &more);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let store = store.clone();
            scope.spawn(move || {
                for _ in 0..50 {
                    match store.get(&"w3".to_owned()) {
                        Ok(count) => assert!(count.is_some()),
                        // One instance in a stable group: no query may fail.
                        Err(e) => panic!("query failed: {e}"),
                    }
                }
            });
        }
    });
    let all = word_counts(input.iter().chain(&more));
    await_queried(&streams, &all);

    assert!(streams.close(Duration::from_secs(10)));
    assert!(matches!(
        store.get(&"w1".to_owned()),
        Err(StreamsError::StoreNotQueryable {
            reason: NotQueryable::NotAvailable(State::NotRunning),
            ..
        })
    ));
}

word_count_topology!(struct Elastic { input: "iq-elastic-in", output: "iq-elastic-out" });

#[test]
fn stream_threads_are_added_and_removed_while_the_counts_stay_exact() {
    let app = app_id("iq-elastic");
    kafka().create_topics(&["iq-elastic-in", "iq-elastic-out"], 4);
    let state = tempfile::tempdir().unwrap();
    let mut streams = KafkaStreams::new(Elastic, config(&app, state.path(), "1")).unwrap();
    streams.start().unwrap();
    await_running(&streams);
    let mut written = Vec::new();
    let mut step = |seed: u64, streams: &KafkaStreams<Elastic>| {
        let batch = lines(seed, 150);
        write("iq-elastic-in", &batch);
        written.extend(batch);
        await_queried(streams, &word_counts(&written));
    };
    step(1, &streams);
    let names: Vec<String> = (0..2).map(|_| streams.add_stream_thread().unwrap()).collect();
    assert_eq!(
        names,
        [format!("{app}-StreamThread-2"), format!("{app}-StreamThread-3")]
    );
    step(2, &streams);
    let tasks_of = |streams: &KafkaStreams<Elastic>| {
        streams
            .metadata_for_local_threads()
            .into_iter()
            .map(|t| (t.thread_name, t.active_tasks.len()))
            .collect::<Vec<_>>()
    };
    // Eight tasks (two sub-topologies, four partitions) over three threads.
    let spread = tasks_of(&streams);
    assert_eq!(spread.len(), 3);
    assert_eq!(spread.iter().map(|(_, n)| n).sum::<usize>(), 8, "{spread:?}");
    let removed = streams.remove_stream_thread(Duration::from_secs(30)).unwrap();
    assert_eq!(removed, format!("{app}-StreamThread-1"));
    step(3, &streams);
    let spread = tasks_of(&streams);
    assert_eq!(
        spread.iter().map(|(name, _)| name.clone()).collect::<Vec<_>>(),
        [format!("{app}-StreamThread-2"), format!("{app}-StreamThread-3")]
    );
    assert_eq!(spread.iter().map(|(_, n)| n).sum::<usize>(), 8, "{spread:?}");
    // The removed thread's number is the next new thread's.
    assert_eq!(streams.add_stream_thread().unwrap(), format!("{app}-StreamThread-1"));
    step(4, &streams);
    // No record lost or double counted: the output's last count per word is the input's count.
    let expected = word_counts(&written);
    let output = kafka().read("iq-elastic-out", "read_uncommitted", Duration::from_secs(1), |r| {
        r.iter().map(|r| (r.key_str(), r.long())).collect::<BTreeMap<_, _>>() == expected
    });
    let latest: BTreeMap<String, i64> = output.iter().map(|r| (r.key_str(), r.long())).collect();
    assert_eq!(latest, expected);
    assert!(streams.close(Duration::from_secs(10)));
    assert!(streams.take_failure().is_none());
}

word_count_topology!(struct Served { input: "iq-http-in", output: "iq-http-out" });

/// One instance of the served word count.
struct Instance {
    streams: Arc<KafkaStreams<Served>>,
    me: HostInfo,
    serving: Option<word_count_server::Serving>,
    _state: tempfile::TempDir,
}

fn http_get(runtime: &tokio::runtime::Runtime, url: &str) -> (u16, String) {
    runtime.block_on(async {
        let reply = reqwest::get(url).await.unwrap();
        (reply.status().as_u16(), reply.text().await.unwrap())
    })
}

#[test]
fn two_instances_learn_each_other_and_answer_for_every_word_over_http() {
    let app = app_id("iq-http");
    kafka().create_topics(&["iq-http-in", "iq-http-out"], 4);
    let input = lines(11, 300);
    write("iq-http-in", &input);
    let expected = word_counts(&input);
    let instances: Vec<Instance> = (0..2)
        .map(|_| {
            let state = tempfile::tempdir().unwrap();
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let me = HostInfo::new("127.0.0.1", listener.local_addr().unwrap().port());
            let mut config = config(&app, state.path(), "1");
            config.application_server = Some(me.clone());
            let mut streams = KafkaStreams::new(Served, config).unwrap();
            streams.start().unwrap();
            let streams = Arc::new(streams);
            let serving = word_count_server::serve(Arc::clone(&streams), me.clone(), listener).unwrap();
            Instance {
                streams,
                me,
                serving: Some(serving),
                _state: state,
            }
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let hosts: BTreeSet<HostInfo> = instances.iter().map(|i| i.me.clone()).collect();
    let repartition = format!("{app}-counts-store-repartition");

    // Both instances see both, with every partition of both sub-topologies held once, and the
    // gathered counts are the input's.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let settled = instances.iter().all(|i| {
            let all = i.streams.all_metadata();
            let partitions: Vec<&(String, i32)> = all.iter().flat_map(|m| &m.topic_partitions).collect();
            all.iter().map(|m| m.host_info.clone()).collect::<BTreeSet<_>>() == hosts
                && partitions.len() == 8
                && i.streams.state() == State::Running
        }) && instances.iter().all(|i| {
            let (status, body) = http_get(&runtime, &format!("http://{}/counts", i.me));
            status == 200 && serde_json::from_str::<BTreeMap<String, i64>>(&body).unwrap() == expected
        });
        if settled {
            break;
        }
        assert!(Instant::now() < deadline, "{:?}", instances[0].streams.all_metadata());
        std::thread::sleep(Duration::from_millis(200));
    }
    for instance in &instances {
        let all = instance.streams.all_metadata_for_store("counts-store");
        assert_eq!(all.len(), 2);
        for m in &all {
            assert_eq!(m.state_store_names, BTreeSet::from(["counts-store".to_owned()]));
            let repartitions = m.topic_partitions.iter().filter(|(t, _)| *t == repartition).count();
            assert_eq!(
                repartitions, 2,
                "the range assignor splits the 4 partitions evenly: {m:?}"
            );
        }
    }

    // Every word from both instances: the holder answers, locally or through the other.
    let mut answered_by = BTreeMap::new();
    for (word, count) in &expected {
        let holder = instances[0]
            .streams
            .query_metadata_for_key("counts-store", word, &StringSerde)
            .unwrap()
            .unwrap();
        for instance in &instances {
            let (status, body) = http_get(&runtime, &format!("http://{}/counts/{word}", instance.me));
            assert_eq!(status, 200, "{word} from {}: {body}", instance.me);
            let reply: WordCountReply = serde_json::from_str(&body).unwrap();
            assert_eq!(
                reply,
                WordCountReply {
                    word: word.clone(),
                    count: *count,
                    host: holder.active_host.to_string()
                }
            );
            // The local store holds the word only on its holder.
            let local = instance.streams.key_value_store::<String, i64>("counts-store").unwrap();
            let held = (instance.me == holder.active_host).then_some(*count);
            assert_eq!(local.get(word).unwrap(), held, "{word} on {}", instance.me);
        }
        *answered_by.entry(holder.active_host.port).or_insert(0) += 1;
    }
    assert_eq!(answered_by.len(), 2, "both instances hold words: {answered_by:?}");
    let (status, _) = http_get(&runtime, &format!("http://{}/counts/never-seen", instances[1].me));
    assert_eq!(status, 404);

    // One instance closes: it withdraws, and the other takes every partition over.
    let mut instances = instances;
    let leaving = instances.remove(0);
    drop(leaving.serving);
    assert!(leaving.streams.close(Duration::from_secs(10)));
    let stays = &instances[0];
    let deadline = Instant::now() + Duration::from_secs(90);
    while !(stays.streams.all_metadata().len() == 1
        && stays.streams.all_metadata()[0].topic_partitions.len() == 8
        && http_get(&runtime, &format!("http://{}/counts", stays.me)).1 == serde_json::to_string(&expected).unwrap())
    {
        assert!(Instant::now() < deadline, "{:?}", stays.streams.all_metadata());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(stays.streams.all_metadata()[0].host_info, stays.me);
    let mut stays = instances.remove(0);
    drop(stays.serving.take());
    assert!(stays.streams.close(Duration::from_secs(10)));
}
