#!/usr/bin/env bash
# The distributed topology on one machine: Kafka, PostgreSQL, and each service in its own process.
#   deploy/stack.sh start|stop|status        (state and logs under var/stack/)
# Ports: intake 8001, router 8002, workflow 8003, analytics 8004 (override with STACK_BASE_PORT).
# REPLICAS=N starts N processes of each service: replica r (1…N) listens on base + service + 10·(r−1)
# (router replica 2 on 8012) and writes <service>-<r>.pid/.log; replica 1 keeps <service>.pid/.log.
# Replicas of a service share its consumer groups (Kafka spreads the partitions) and its timer rows.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
DIR=${STACK_DIR:-var/stack}
BASE=${STACK_BASE_PORT:-8000}
REPLICAS=${REPLICAS:-1}
SERVICES=(intake router workflow analytics)
mkdir -p "$DIR"
export PYTHONPATH=$PWD
[[ "$REPLICAS" =~ ^[1-9][0-9]?$ ]] || { echo "REPLICAS must be a number from 1 to 99, not '$REPLICAS'" >&2; exit 2; }

port_of() {  # service, replica
  local i
  for i in "${!SERVICES[@]}"; do
    if [ "${SERVICES[$i]}" = "$1" ]; then echo $((BASE + i + 1 + 10 * ($2 - 1))); fi
  done
}

name_of() {  # service, replica: the pid/log file name
  if [ "$2" = 1 ]; then echo "$1"; else echo "$1-$2"; fi
}

instances() {  # every "service replica" pair that has a pid file, or that REPLICAS asks for
  local svc r f
  for svc in "${SERVICES[@]}"; do
    for r in $(seq 1 "$REPLICAS"); do echo "$svc $r"; done
    for f in "$DIR/$svc"-*.pid; do
      [ -e "$f" ] || continue
      r=${f##*-}; r=${r%.pid}
      [[ "$r" =~ ^[0-9]+$ ]] && [ "$r" -gt "$REPLICAS" ] && echo "$svc $r"
    done
  done
  return 0
}

start() {
  local pg_url bootstrap svc r
  pg_url=$($BIN/python -m services.pgserver start "$DIR/pg" | tail -1)
  bootstrap=$(deploy/kafka/kafka.sh start "$DIR/kafka" | tail -1)
  export CITYLOOP_DATABASE_URL=$pg_url CITYLOOP_BUS=kafka CITYLOOP_KAFKA_BOOTSTRAP=$bootstrap
  export CITYLOOP_DATA_DIR=${CITYLOOP_DATA_DIR:-$DIR}
  $BIN/cityloop migrate all
  $BIN/cityloop topics --partitions "${STACK_PARTITIONS:-6}" >/dev/null
  for svc in "${SERVICES[@]}"; do
    for r in $(seq 1 "$REPLICAS"); do
      local port name; port=$(port_of "$svc" "$r"); name=$(name_of "$svc" "$r")
      if [ -f "$DIR/$name.pid" ] && kill -0 "$(cat "$DIR/$name.pid")" 2>/dev/null; then continue; fi
      nohup $BIN/cityloop run "$svc" --port "$port" >"$DIR/$name.log" 2>&1 &
      echo $! >"$DIR/$name.pid"
    done
  done
  for svc in "${SERVICES[@]}"; do
    for r in $(seq 1 "$REPLICAS"); do
      local port name; port=$(port_of "$svc" "$r"); name=$(name_of "$svc" "$r")
      for _ in $(seq 1 120); do
        curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
        sleep 0.5
      done
      curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || { echo "$name did not become ready:"; tail -30 "$DIR/$name.log"; exit 1; }
      echo "$name ready on http://127.0.0.1:$port (pid $(cat "$DIR/$name.pid"))"
    done
  done
  echo "PostgreSQL $pg_url"
  echo "Kafka $bootstrap"
}

stop() {
  local svc r name
  while read -r svc r; do
    name=$(name_of "$svc" "$r")
    if [ -f "$DIR/$name.pid" ]; then
      kill "$(cat "$DIR/$name.pid")" 2>/dev/null || true
      rm -f "$DIR/$name.pid"
    fi
  done < <(instances)
  sleep 1
  deploy/kafka/kafka.sh stop "$DIR/kafka" >/dev/null 2>&1 || true
  $BIN/python -m services.pgserver stop "$DIR/pg" >/dev/null 2>&1 || true
  echo "stack stopped"
}

status() {
  local svc r
  while read -r svc r; do
    printf '%-12s %s\n' "$(name_of "$svc" "$r")" \
      "$(curl -fsS "http://127.0.0.1:$(port_of "$svc" "$r")/readyz" 2>/dev/null || echo down)"
  done < <(instances)
}

"${1:-start}"
