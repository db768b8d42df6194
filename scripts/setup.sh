#!/usr/bin/env bash
# Installs what a fresh machine lacks to build the workspace and run its tests: the pinned Rust
# toolchain (linked offline to an installed stable 1.95.0 when rustup cannot download it) and
# libclang (bindgen, for RocksDB). The Kafka broker's own needs are scripts/kafka.sh's.
set -euo pipefail
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

pinned="$(sed -n 's/^channel *= *"\(.*\)"/\1/p' "$(dirname "$0")/../rust-toolchain.toml")"
if command -v rustup >/dev/null 2>&1 && ! rustup toolchain list | grep -q "^$pinned"; then
  stable="$(rustup toolchain list | sed -n 's/^\(stable-[^ ]*\).*/\1/p' | head -n 1)"
  dir="$(rustup run "$stable" rustc --print sysroot 2>/dev/null || true)"
  if [ -n "$dir" ] && "$dir/bin/rustc" --version | grep -q "^rustc $pinned "; then
    rustup toolchain link "$pinned" "$dir"
  fi
fi

# (Only libclang itself counts: libclang-cpp, which some machines have, is not what bindgen loads.)
if ! ls /usr/lib/llvm-*/lib/libclang.so >/dev/null 2>&1 && ! dpkg -s libclang-dev >/dev/null 2>&1; then
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q libclang-dev
fi
