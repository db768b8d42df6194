#!/usr/bin/env bash
# Tansu, the second Kafka-protocol broker used by the throughput benchmarks
# (`cargo bench -p examples --bench kafka` starts it on a free loopback port).
#   bash scripts/tansu.sh install   # cargo install tansu --features dynostore (about 7 minutes), if missing
set -euo pipefail
case "${1:-install}" in
  install)
    if ! command -v tansu >/dev/null 2>&1; then
      cargo install tansu --features dynostore
    fi
    tansu --version || true
    ;;
  *)
    echo "usage: $0 install" >&2
    exit 2
    ;;
esac
