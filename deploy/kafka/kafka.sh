#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft) broker from Maven Central, for development, tests and CI.
#
#   kafka.sh fetch                    gather the broker classpath into $KAFKA_CACHE/libs
#   kafka.sh start <run_dir> [port]   start a broker (reusing run_dir's data); prints 127.0.0.1:<port>
#   kafka.sh stop <run_dir>           SIGTERM, up to 30 s for a clean exit, then SIGKILL
#   kafka.sh kill <run_dir>           SIGKILL (crash the broker, for fault tests)
#   kafka.sh restart <run_dir>        stop, then start on the same ports and data
#
# Environment: KAFKA_CACHE (default <repo>/.cache/kafka/<version>), PYTHON (default
# <repo>/.venv/bin/python), KAFKA_HEAP_OPTS, KAFKA_JVM_OPTS, KAFKA_START_TIMEOUT (s, default 90).
# restart keeps <run_dir>/server.properties, so a test may edit it between stop and restart.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/pom.xml")"
CACHE="${KAFKA_CACHE:-$REPO/.cache/kafka/$VERSION}"
LIBS="$CACHE/libs"
STAMP="$CACHE/libs.complete"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
# shellcheck disable=SC2206  # option lists split on purpose
JAVA=(java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
  ${KAFKA_JVM_OPTS--XX:TieredStopAtLevel=1} "-Dlog4j.configuration=file:$HERE/log4j.properties" -cp "$LIBS/*")

log() { echo "kafka.sh: $*" >&2; }
die() { log "$*"; exit 1; }
py() { PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" "$@"; }
fetched() { [[ -f $STAMP && $(cat "$STAMP") == "$(sha256sum <"$HERE/pom.xml")" ]]; }

fetch() {
  fetched && return 0
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  ! command -v flock >/dev/null || flock 9  # parallel jobs sharing a cache fetch once
  if ! fetched; then
    log "fetching Kafka $VERSION from Maven Central into $LIBS"
    local tmp="$CACHE/libs.tmp.$$" out
    rm -rf "$tmp"
    out="$(mvn -q -B -f "$HERE/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$tmp" 2>&1)" \
      || { echo "$out" >&2; rm -rf "$tmp"; die "mvn failed"; }
    [[ -f $tmp/kafka_2.13-$VERSION.jar ]] || die "kafka_2.13-$VERSION.jar missing in $tmp"
    rm -rf "$LIBS" && mv "$tmp" "$LIBS"
    sha256sum <"$HERE/pom.xml" >"$STAMP"
  fi
  exec 9>&-
}

# Prints run_dir's broker pid if that process is alive (not a zombie) and is a Kafka broker.
broker_pid() {
  local pid info
  pid="$(cat "$1/kafka.pid" 2>/dev/null)" || return 1
  info="$(ps -ww -o stat=,args= -p "$pid" 2>/dev/null)" || return 1
  [[ $info != Z* && $info == *kafka.Kafka* ]] || return 1
  echo "$pid"
}

gone() { ! ps -o stat= -p "$1" 2>/dev/null | grep -qv '^Z'; }

wait_gone() {  # pid tenths_of_a_second; fails if still alive
  local i
  for ((i = 0; i < $2; i++)); do gone "$1" && return 0; sleep 0.1; done
  gone "$1"
}

prop() { sed -n "s/^$2=//p" "$1/server.properties"; }

# Prints "<port> <controller_port>": the given port (checked free) or a free one, and a free one.
free_ports() {
  py - "$@" <<'PY'
import socket, sys
socks = [socket.socket(), socket.socket()]
for s, port in zip(socks, [*map(int, sys.argv[1:]), 0, 0]):
    s.bind(("127.0.0.1", port))
print(*(s.getsockname()[1] for s in socks))
PY
}

write_props() {  # run_dir port controller_port
  cat >"$1/server.properties" <<EOF
# Written by deploy/kafka/kafka.sh: single-node KRaft broker for development and tests.
process.roles=broker,controller
node.id=1
listeners=PLAINTEXT://127.0.0.1:$2,CONTROLLER://127.0.0.1:$3
advertised.listeners=PLAINTEXT://127.0.0.1:$2
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
controller.quorum.voters=1@127.0.0.1:$3
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$1/data
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
# After a kill, the restarted broker must wait out its old session: 4 s instead of 9 s.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=4000
# Small machines: fewer threads, and a 32 MB log-cleaner buffer instead of 128 MB of a 512 MB heap.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=33554432
EOF
}

# Launches the broker described by run_dir/server.properties in the background.
launch() {
  local run="$1" id
  if [[ ! -f $run/data/meta.properties ]]; then  # format once: a restart keeps its data
    id="$(py -c 'import base64, uuid
while (u := base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode())[0] == "-": pass
print(u)')"
    # A short-lived JVM: C1 only and serial GC halve its start-up.
    "${JAVA[@]}" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "-Dkafka.logs.dir=$run" \
      kafka.tools.StorageTool format -t "$id" \
      -c "$run/server.properties" >"$run/format.out" 2>&1 \
      || { cat "$run/format.out" >&2; die "storage format failed"; }
  fi
  (cd "$run" && exec nohup "${JAVA[@]}" "-Dkafka.logs.dir=$run" kafka.Kafka "$run/server.properties" \
    >>"$run/kafka.out" 2>&1 </dev/null) &
  echo $! >"$run/kafka.pid"
  disown  # no "Killed" job notice if start-up fails and we kill it
}

# Waits for a real client round trip and prints the bootstrap; returns 2 if the broker died.
ready() {
  local run="$1" pid bootstrap
  bootstrap="127.0.0.1:$(prop "$run" advertised.listeners | sed 's/.*://')"
  pid="$(broker_pid "$run")" || return 2
  py -m tests.support.kafka wait "$bootstrap" --timeout "$START_TIMEOUT" --pid "$pid" || return
  echo "$bootstrap" >"$run/bootstrap"
  echo "$bootstrap"
}

fail_start() {  # run_dir message
  local pid
  if pid="$(broker_pid "$1")"; then kill -KILL "$pid"; wait_gone "$pid" 50 || true; fi
  rm -f "$1/kafka.pid"
  { echo "--- $1/kafka.log (tail)"; tail -n 40 "$1/kafka.log" 2>/dev/null
    echo "--- $1/kafka.out (tail)"; tail -n 20 "$1/kafka.out" 2>/dev/null; } >&2 || true
  die "$2"
}

cmd_start() {
  local run="$1" port="${2:-}" ctrl pid attempt rc=0
  mkdir -p "$run" && run="$(cd "$run" && pwd)"
  fetch
  if pid="$(broker_pid "$run")"; then
    log "already running (pid $pid)"
    ready "$run" || fail_start "$run" "running broker is not ready"
    return
  fi
  for attempt in 1 2 3; do
    read -r port ctrl < <(free_ports ${2:+"$2"} 2>/dev/null) && [[ -n $ctrl ]] || die "port ${2:-} is not free"
    write_props "$run" "$port" "$ctrl"
    launch "$run"
    ready "$run" && return 0 || rc=$?
    # Auto-picked ports can be taken by someone else before the broker binds them: retry.
    [[ $rc -eq 2 && -z ${2:-} ]] || break
    log "broker exited during start-up (attempt $attempt); retrying on new ports"
  done
  fail_start "$run" "broker on 127.0.0.1:$port not ready (rc $rc, timeout ${START_TIMEOUT}s)"
}

cmd_stop() {
  local run="$1" pid
  if ! pid="$(broker_pid "$run")"; then rm -f "$run/kafka.pid"; log "not running"; return 0; fi
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" 300; then
    log "no clean exit within 30 s; killing pid $pid"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 100 || die "pid $pid survived SIGKILL"
  fi
  rm -f "$run/kafka.pid"
  if [[ -f $run/data/.kafka_cleanshutdown ]]; then log "stopped cleanly"; else log "stopped (unclean)"; fi
}

cmd_kill() {
  local run="$1" pid
  if pid="$(broker_pid "$run")"; then
    kill -KILL "$pid"
    wait_gone "$pid" 100 || die "pid $pid survived SIGKILL"
  fi
  rm -f "$run/kafka.pid"
}

cmd_restart() {
  local run
  run="$(cd "$1" 2>/dev/null && pwd)" && [[ -f $run/server.properties ]] || die "no broker in $1"
  cmd_stop "$run"
  fetch
  launch "$run"
  ready "$run" || fail_start "$run" "broker not ready after restart"
}

case "${1:-}" in
  fetch) fetch ;;
  start) [[ $# -ge 2 ]] || die "usage: kafka.sh start <run_dir> [port]"; cmd_start "$2" "${3:-}" ;;
  stop | kill | restart) [[ $# -eq 2 ]] || die "usage: kafka.sh $1 <run_dir>"; "cmd_$1" "$2" ;;
  *) die "usage: kafka.sh fetch | start <run_dir> [port] | stop|kill|restart <run_dir>" ;;
esac
