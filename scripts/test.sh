#!/usr/bin/env bash
# Runs every test of the workspace (unit, driver, examples, trybuild UI tests) on a fresh machine,
# the Kafka runtime's against a real Apache Kafka broker that it starts (scripts/kafka.sh) and
# stops on every exit path.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export KAFKA_DIR="$PWD/target/kafka-test"
trap 'bash scripts/kafka.sh stop --dir "$KAFKA_DIR" >/dev/null 2>&1 || true' EXIT
bash scripts/kafka.sh stop --dir "$KAFKA_DIR" >/dev/null 2>&1 || true
STREAMS_TEST_BOOTSTRAP="$(bash scripts/kafka.sh start --dir "$KAFKA_DIR")"
export STREAMS_TEST_BOOTSTRAP
echo "Kafka broker for the tests: $STREAMS_TEST_BOOTSTRAP"
cargo test --workspace --all-targets "$@"
cargo test --workspace --doc
# The API documentation builds without a warning (a missing doc is an error: `missing_docs`),
# and the two library crates package and build as crates.io would take them.
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
cargo publish --dry-run --allow-dirty -p streams-macros -p streams-runtime
