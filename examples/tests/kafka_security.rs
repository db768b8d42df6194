//! Security settings reach every client of the application: on a broker of the test's own with
//! a SASL_PLAINTEXT (PLAIN) listener and the ACL-enforcing `StandardAuthorizer`
//! (`support::OwnCluster` with `--sasl`), the word count runs under exactly-once as a user that
//! has the ACLs the reference lists (the source and sink topics, topics and groups prefixed with
//! the application id, transactional ids prefixed with it), and a user without them gets an
//! error naming the missing ACL.

mod support;

use examples::word_count_topology;
use std::time::Duration;
use streams_runtime::config::StreamsConfig;
use streams_runtime::kafka::{KafkaStreams, State};
use streams_runtime::prelude::*;
use support::{Kafka, OwnCluster, app_id, kafka_sh};

word_count_topology!(struct Secured { input: "sec-in", output: "sec-out" });

/// Adds an ACL allowing `user` `operations` on a resource (`--topic X`, `--group X`, ...),
/// through the PLAINTEXT listener (whose anonymous principal is a super user).
fn allow(cluster: &Kafka, user: &str, operations: &[&str], resource: &[&str]) {
    let bootstrap = cluster.bootstrap();
    let principal = format!("User:{user}");
    let mut args = vec![
        "run",
        "org.apache.kafka.tools.AclCommand",
        "--bootstrap-server",
        &bootstrap,
        "--add",
        "--allow-principal",
        &principal,
    ];
    for op in operations {
        args.extend(["--operation", op]);
    }
    args.extend_from_slice(resource);
    kafka_sh(&args);
}

fn config(sasl_bootstrap: &str, app: &str, user: &str, state: &std::path::Path) -> StreamsConfig {
    let password = format!("{user}-secret");
    let state = state.display().to_string();
    StreamsConfig::from_properties([
        ("application.id", app),
        ("bootstrap.servers", sasl_bootstrap),
        ("processing.guarantee", "exactly_once_v2"),
        ("state.dir", state.as_str()),
        // Every update is emitted (a zero record cache flushes each write at once, as Java does
        // with `statestore.cache.max.bytes=0`): the tests know how many to expect.
        ("statestore.cache.max.bytes", "0"),
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", "PLAIN"),
        ("sasl.username", user),
        ("sasl.password", password.as_str()),
    ])
    .unwrap()
}

#[test]
fn an_application_runs_with_the_acls_it_needs_and_names_the_one_it_lacks() {
    let own = OwnCluster::start(1, true);
    let cluster = &own.kafka;
    let sasl = own.sasl_bootstrap();
    cluster.create_topics(&["sec-in", "sec-out"], 1);
    let dir = tempfile::tempdir().unwrap();

    // bob has no ACL at all: the source topic is hidden from him.
    let bob = app_id("sec-bob");
    let mut streams = KafkaStreams::new(Secured, config(&sasl, &bob, "bob", dir.path())).unwrap();
    let err = streams.start().unwrap_err().to_string();
    assert!(err.contains("not authorized to describe source topic sec-in"), "{err}");
    // With the source topic's ACLs but none for the application's prefix, he cannot create
    // the internal topics.
    allow(cluster, "bob", &["Read", "Describe"], &["--topic", "sec-in"]);
    let mut streams = KafkaStreams::new(Secured, config(&sasl, &bob, "bob", dir.path())).unwrap();
    let err = streams.start().unwrap_err().to_string();
    assert!(
        err.contains(&format!(
            "the application's principal needs the CREATE ACL on topics prefixed `{bob}-`"
        )),
        "{err}"
    );

    // alice has the ACLs of the reference.
    let alice = app_id("sec-alice");
    allow(cluster, "alice", &["Read", "Describe"], &["--topic", "sec-in"]);
    allow(cluster, "alice", &["Write", "Describe"], &["--topic", "sec-out"]);
    let prefixed = ["--resource-pattern-type", "prefixed"];
    allow(
        cluster,
        "alice",
        &["All"],
        &["--topic", &format!("{alice}-"), prefixed[0], prefixed[1]],
    );
    allow(
        cluster,
        "alice",
        &["Read"],
        &["--group", &alice, prefixed[0], prefixed[1]],
    );
    allow(
        cluster,
        "alice",
        &["Write", "Describe"],
        &["--transactional-id", &format!("{alice}-"), prefixed[0], prefixed[1]],
    );
    let mut streams = KafkaStreams::new(Secured, config(&sasl, &alice, "alice", dir.path())).unwrap();
    streams.start().unwrap();
    cluster.send(
        "sec-in",
        None,
        &[(None, Some(b"hello secure kafka")), (None, Some(b"hello"))],
    );
    let records = cluster.read("sec-out", "read_committed", Duration::from_secs(1), |r| r.len() >= 4);
    let counts: Vec<(String, i64)> = records.iter().map(|r| (r.key_str(), r.long())).collect();
    let expected = [("hello", 1), ("secure", 1), ("kafka", 1), ("hello", 2)].map(|(w, n)| (w.to_owned(), n));
    assert_eq!(counts, expected);
    assert_ne!(streams.state(), State::Error, "{:?}", streams.take_failure());
    assert!(streams.close(Duration::from_secs(10)));
    assert!(streams.take_failure().is_none());
}
