#!/usr/bin/env bash
# Apache Kafka (4.1.1, from Maven Central) on loopback, for the tests and benchmarks.
#
#   bash scripts/kafka.sh start [--brokers N] [--dir DIR] [--sasl]
#                                      # N combined broker/controller nodes (default 1) on free
#                                      # 127.0.0.1 ports; prints the bootstrap servers
#   bash scripts/kafka.sh ensure [...] # start unless already running; prints the bootstrap servers
#   bash scripts/kafka.sh status [--dir DIR]
#   bash scripts/kafka.sh stop [--dir DIR]
#   bash scripts/kafka.sh stop-node I [--dir DIR]    # SIGTERM node I (1-based) and wait for it
#   bash scripts/kafka.sh kill-node I [--dir DIR]    # SIGKILL node I
#   bash scripts/kafka.sh start-node I [--dir DIR]   # start node I again on its old ports
#   bash scripts/kafka.sh run CLASS ARGS...          # a Kafka tool, e.g. org.apache.kafka.tools.ConsoleProducer
#
# DIR defaults to $KAFKA_DIR or target/kafka of the checkout; it holds the nodes' logs and data
# (node-I/), their pids, and `bootstrap`. --sasl adds a SASL_PLAINTEXT (PLAIN) listener and the
# StandardAuthorizer with `admin` (password admin-secret) as super user; users alice and bob
# (passwords alice-secret, bob-secret) exist, with no ACLs. The first run downloads the broker
# with Maven into ~/.m2 (and installs a JDK and Maven with apt if missing).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
here="$root/scripts/kafka"
dir="${KAFKA_DIR:-$root/target/kafka}"
brokers=1
sasl=0

die() { echo "kafka.sh: $*" >&2; exit 1; }

# shellcheck source=scripts/jdk.sh
source "$root/scripts/jdk.sh"

# The broker's and tools' classpath, resolved by Maven once per version of the pom.
classpath() {
  need_jdk
  local key cache
  key="$(sha1sum "$here/pom.xml" | cut -c1-12)"
  cache="$HOME/.m2/streams-rs-kafka-classpath-$key"
  if [ ! -s "$cache" ]; then
    mvn -q -B -Dstyle.color=never -f "$here/pom.xml" dependency:build-classpath -Dmdep.outputFile="$cache.tmp" >&2
    mv "$cache.tmp" "$cache"
  fi
  cat "$cache"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

java_run() { # CLASS ARGS...
  local cp
  cp="$(classpath)"
  java -Xmx256m -cp "$cp" -Dlog4j2.configurationFile="$here/log4j2.properties" \
    -Dkafka.logs.dir="${KAFKA_TOOL_LOGS:-/tmp}" "$@"
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Writes node I's server.properties from the ports in $dir/ports.
write_config() { # I
  local i=$1 n port cport voters="" listeners advertised protocols
  n=$(wc -l <"$dir/ports")
  for j in $(seq 1 "$n"); do
    voters+="${voters:+,}$j@127.0.0.1:$(sed -n "${j}p" "$dir/ports" | cut -d' ' -f2)"
  done
  read -r port cport sport <<<"$(sed -n "${i}p" "$dir/ports")"
  local rf=$(( n < 3 ? n : 3 )) isr=$(( n < 3 ? 1 : 2 ))
  listeners="PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport"
  advertised="PLAINTEXT://127.0.0.1:$port"
  protocols="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  if [ "$sasl" = 1 ]; then
    listeners+=",SASL_PLAINTEXT://127.0.0.1:$sport"
    advertised+=",SASL_PLAINTEXT://127.0.0.1:$sport"
    protocols+=",SASL_PLAINTEXT:SASL_PLAINTEXT"
  fi
  mkdir -p "$dir/node-$i"
  cat >"$dir/node-$i/server.properties" <<EOF
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
controller.listener.names=CONTROLLER
listeners=$listeners
advertised.listeners=$advertised
listener.security.protocol.map=$protocols
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/node-$i/data
num.partitions=1
default.replication.factor=$rf
min.insync.replicas=$isr
auto.create.topics.enable=false
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
transaction.state.log.num.partitions=5
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
transaction.abort.timed.out.transaction.cleanup.interval.ms=1000
log.retention.check.interval.ms=10000
EOF
  if [ "$sasl" = 1 ]; then
    cat >>"$dir/node-$i/server.properties" <<EOF
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS;User:admin
allow.everyone.if.no.acl.found=false
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret" user_bob="bob-secret";
EOF
  fi
}

start_node() { # I
  local i=$1
  pid_alive "$dir/node-$i/pid" && return 0
  : >"$dir/node-$i/server.log"
  KAFKA_TOOL_LOGS="$dir/node-$i" nohup java -Xms256m -Xmx768m -XX:+UseG1GC -cp "$(classpath)" \
    -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$dir/node-$i" \
    kafka.Kafka "$dir/node-$i/server.properties" >"$dir/node-$i/stdout.log" 2>&1 &
  echo $! >"$dir/node-$i/pid"
}

await_node() { # I
  local i=$1 deadline=$((SECONDS + 60))
  until grep -q "Kafka Server started" "$dir/node-$i/server.log" 2>/dev/null; do
    pid_alive "$dir/node-$i/pid" || { tail -n 30 "$dir/node-$i/stdout.log" "$dir/node-$i/server.log" >&2; die "node $i exited"; }
    [ $SECONDS -lt $deadline ] || die "node $i not ready within 60 s (see $dir/node-$i/server.log)"
    sleep 0.2
  done
}

# Waits until the cluster answers metadata with every node in it.
await_metadata() {
  local deadline=$((SECONDS + 60)) n
  n=$(wc -l <"$dir/ports")
  until [ "$(java_run org.apache.kafka.tools.BrokerApiVersionsCommand --bootstrap-server "$(cat "$dir/bootstrap")" 2>/dev/null | grep -c '(id: ')" -ge "$n" ]; do
    [ $SECONDS -lt $deadline ] || die "the cluster does not answer metadata"
    sleep 0.5
  done
}

running() {
  [ -f "$dir/ports" ] || return 1
  local n
  n=$(wc -l <"$dir/ports")
  for i in $(seq 1 "$n"); do pid_alive "$dir/node-$i/pid" || return 1; done
}

cmd_start() {
  running && die "already running in $dir (bootstrap $(cat "$dir/bootstrap")); stop it first"
  cmd_stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  mkdir -p "$dir"
  classpath >/dev/null
  for _ in $(seq 1 "$brokers"); do echo "$(free_port) $(free_port) $(free_port)"; done >"$dir/ports"
  local id bootstrap=""
  id="$(python3 -c 'import base64, uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')"
  for i in $(seq 1 "$brokers"); do
    write_config "$i"
    java_run kafka.tools.StorageTool format --cluster-id="$id" -c "$dir/node-$i/server.properties" >/dev/null
    bootstrap+="${bootstrap:+,}127.0.0.1:$(sed -n "${i}p" "$dir/ports" | cut -d' ' -f1)"
  done
  echo "$bootstrap" >"$dir/bootstrap"
  if [ "$sasl" = 1 ]; then
    local s=""
    for i in $(seq 1 "$brokers"); do s+="${s:+,}127.0.0.1:$(sed -n "${i}p" "$dir/ports" | cut -d' ' -f3)"; done
    echo "$s" >"$dir/sasl-bootstrap"
  fi
  for i in $(seq 1 "$brokers"); do start_node "$i"; done
  for i in $(seq 1 "$brokers"); do await_node "$i"; done
  await_metadata
  cat "$dir/bootstrap"
}

cmd_stop() {
  [ -d "$dir" ] || return 0
  local pids=()
  for f in "$dir"/node-*/pid; do
    [ -f "$f" ] || continue
    pid_alive "$f" && { kill "$(cat "$f")" 2>/dev/null || true; pids+=("$(cat "$f")"); }
    rm -f "$f"
  done
  local deadline=$((SECONDS + 30))
  for p in "${pids[@]}"; do
    while kill -0 "$p" 2>/dev/null; do
      [ $SECONDS -lt $deadline ] || { kill -9 "$p" 2>/dev/null || true; break; }
      sleep 0.2
    done
  done
  echo "stopped"
}

node_arg() {
  [ -n "${1:-}" ] && [ -d "$dir/node-$1" ] || die "no node ${1:-?} in $dir"
}

case "${1:-}" in
  start|ensure|status|stop|stop-node|kill-node|start-node|run|classpath) cmd=$1; shift ;;
  *) sed -n '2,17p' "$0" >&2; exit 2 ;;
esac
node=""
if [[ "$cmd" == *-node ]]; then node="${1:-}"; shift || true; fi
if [ "$cmd" = run ]; then java_run "$@"; exit $?; fi
while [ $# -gt 0 ]; do
  case "$1" in
    --brokers) brokers="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --sasl) sasl=1; shift ;;
    *) die "unknown argument $1" ;;
  esac
done

case "$cmd" in
  start) cmd_start ;;
  ensure) if running; then cat "$dir/bootstrap"; else cmd_start; fi ;;
  status)
    if running; then echo "running: $(cat "$dir/bootstrap")"; else echo "not running"; exit 1; fi ;;
  stop) cmd_stop ;;
  stop-node)
    node_arg "$node"
    if pid_alive "$dir/node-$node/pid"; then
      p=$(cat "$dir/node-$node/pid"); kill "$p"
      while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
    fi ;;
  kill-node)
    node_arg "$node"
    if pid_alive "$dir/node-$node/pid"; then
      p=$(cat "$dir/node-$node/pid"); kill -9 "$p"
      while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
    fi ;;
  start-node)
    node_arg "$node"
    [ -f "$dir/sasl-bootstrap" ] && sasl=1
    start_node "$node"; await_node "$node" ;;
  classpath) classpath ;;
esac
