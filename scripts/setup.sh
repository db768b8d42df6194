#!/usr/bin/env bash
# Installs what a fresh machine lacks to build the workspace: libclang (bindgen, for RocksDB).
set -euo pipefail
# (Only libclang itself counts: libclang-cpp, which some machines have, is not what bindgen loads.)
if ! ls /usr/lib/llvm-*/lib/libclang.so >/dev/null 2>&1 && ! dpkg -s libclang-dev >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q libclang-dev
fi
