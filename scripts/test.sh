#!/usr/bin/env bash
# Runs every test of the workspace (unit, driver, examples, trybuild UI tests) on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo test --workspace --all-targets "$@"
cargo test --workspace --doc
