//! The reference's quick start, with Kafka's own clients: the word-count binary runs against the
//! broker (`support::kafka`), Kafka's console producer (from `kafka-tools`) writes the two sample
//! lines, and Kafka's console consumer reads `streams-wordcount-output` with `LongDeserializer`.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use support::{app_id, kafka, repo_root};

/// A Kafka tool run by `scripts/kafka.sh run CLASS ARGS...`.
fn kafka_tool(class: &str, args: &[&str]) -> Command {
    let mut command = Command::new("bash");
    command
        .arg(repo_root().join("scripts/kafka.sh"))
        .arg("run")
        .arg(class)
        .args(args);
    command
}

#[test]
fn the_quick_start_runs_with_the_console_producer_and_consumer() {
    let (input, output) = ("streams-plaintext-input", "streams-wordcount-output");
    kafka().create_topics(&[input, output], 1);
    let bootstrap = kafka().bootstrap();
    let mut app = Command::new(env!("CARGO_BIN_EXE_word-count"))
        .args([
            "--bootstrap-servers",
            &bootstrap,
            "--application-id",
            &app_id("streams-wordcount"),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(app.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.unwrap() == "running"), "the application did not start");

    let mut producer = kafka_tool(
        "org.apache.kafka.tools.ConsoleProducer",
        &["--bootstrap-server", &bootstrap, "--topic", input],
    )
    .stdin(Stdio::piped())
    .spawn()
    .unwrap();
    producer
        .stdin
        .take()
        .unwrap()
        .write_all(b"all streams lead to kafka\nhello kafka streams\n")
        .unwrap();
    assert!(producer.wait().unwrap().success(), "the console producer failed");

    let consumer = kafka_tool(
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        &[
            "--bootstrap-server",
            &bootstrap,
            "--topic",
            output,
            "--from-beginning",
            "--max-messages",
            "8",
            "--timeout-ms",
            "60000",
            "--property",
            "print.key=true",
            "--property",
            "print.value=true",
            "--property",
            "key.deserializer=org.apache.kafka.common.serialization.StringDeserializer",
            "--property",
            "value.deserializer=org.apache.kafka.common.serialization.LongDeserializer",
        ],
    )
    .output()
    .unwrap();
    let _ = app.kill();
    let _ = app.wait();
    assert!(
        consumer.status.success(),
        "{}",
        String::from_utf8_lossy(&consumer.stderr)
    );
    let printed = String::from_utf8(consumer.stdout).unwrap();
    let printed: Vec<&str> = printed.lines().collect();
    assert_eq!(
        printed,
        [
            "all\t1",
            "streams\t1",
            "lead\t1",
            "to\t1",
            "kafka\t1",
            "hello\t1",
            "kafka\t2",
            "streams\t2"
        ],
        "what the reference's quick start prints"
    );
}
