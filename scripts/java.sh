#!/usr/bin/env bash
# Java Kafka Streams 4.1.1 beside ours (examples/java/): resolves the pom's classpath with Maven
# (cached in ~/.m2 per pom version), compiles examples/java/src with javac into
# target/java/classes when a source changed, and runs a class.
#
#   bash scripts/java.sh classpath             # prints the classpath (dependencies + classes)
#   bash scripts/java.sh run CLASS ARGS...     # e.g. streamsrs.Oracle OUT_DIR SCENARIO...
#
# JAVA_OPTS adds JVM options (default -Xmx512m). A JDK and Maven are installed with apt if missing.
set -euo pipefail
shopt -s inherit_errexit

root="$(cd "$(dirname "$0")/.." && pwd)"
project="$root/examples/java"
classes="$root/target/java/classes"

# shellcheck source=scripts/jdk.sh
source "$root/scripts/jdk.sh"

dependencies() {
  local key cache
  key="$(sha1sum "$project/pom.xml" | cut -c1-12)"
  cache="$HOME/.m2/streams-rs-java-classpath-$key"
  if [ ! -s "$cache" ]; then
    mvn -q -B -Dstyle.color=never -f "$project/pom.xml" dependency:build-classpath \
      -Dmdep.outputFile="$cache.tmp" >&2
    mv "$cache.tmp" "$cache"
  fi
  cat "$cache"
}

# Compiles the sources unless the classes are newer than every source.
build() {
  local deps="$1" stamp="$classes/.built"
  if [ -f "$stamp" ] && [ -z "$(find "$project/src" -name '*.java' -newer "$stamp" | head -1)" ]; then
    return
  fi
  rm -rf "$classes"
  mkdir -p "$classes"
  find "$project/src" -name '*.java' -print0 | xargs -0 javac -nowarn -d "$classes" -cp "$deps" >&2
  touch "$stamp"
}

classpath() {
  need_jdk
  local deps
  mkdir -p "$root/target/java"
  exec 9>"$root/target/java/.lock"
  flock 9   # tests may ask concurrently: one resolves and compiles, the others wait
  deps="$(dependencies)"
  build "$deps"
  flock -u 9
  echo "$classes:$deps"
}

case "${1:-}" in
  classpath) classpath ;;
  run)
    shift
    cp="$(classpath)"
    # shellcheck disable=SC2086
    exec java ${JAVA_OPTS:--Xmx512m} -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$cp" "$@"
    ;;
  *) echo "usage: java.sh classpath | run CLASS ARGS..." >&2; exit 2 ;;
esac
