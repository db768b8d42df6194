#!/usr/bin/env bash
# Installs what a fresh machine lacks to build the workspace: libclang (bindgen, for RocksDB).
set -euo pipefail
if ! ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 && ! ldconfig -p 2>/dev/null | grep -q libclang; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q libclang-dev
fi
