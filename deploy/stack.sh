#!/usr/bin/env bash
# The distributed topology on one machine: Kafka, PostgreSQL, and each service in its own process.
#   deploy/stack.sh start|stop|status        (state and logs under var/stack/)
# Ports: intake 8001, router 8002, workflow 8003, analytics 8004 (override with STACK_BASE_PORT).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
DIR=${STACK_DIR:-var/stack}
BASE=${STACK_BASE_PORT:-8000}
SERVICES=(intake router workflow analytics)
mkdir -p "$DIR"
export PYTHONPATH=$PWD

port_of() {
  local i
  for i in "${!SERVICES[@]}"; do
    if [ "${SERVICES[$i]}" = "$1" ]; then echo $((BASE + i + 1)); fi
  done
}

start() {
  local pg_url bootstrap
  pg_url=$($BIN/python -m services.pgserver start "$DIR/pg" | tail -1)
  bootstrap=$(deploy/kafka/kafka.sh start "$DIR/kafka" | tail -1)
  export CITYLOOP_DATABASE_URL=$pg_url CITYLOOP_BUS=kafka CITYLOOP_KAFKA_BOOTSTRAP=$bootstrap
  export CITYLOOP_DATA_DIR=${CITYLOOP_DATA_DIR:-$DIR}
  $BIN/cityloop migrate all
  $BIN/cityloop topics --partitions "${STACK_PARTITIONS:-6}" >/dev/null
  for svc in "${SERVICES[@]}"; do
    local port; port=$(port_of "$svc")
    if [ -f "$DIR/$svc.pid" ] && kill -0 "$(cat "$DIR/$svc.pid")" 2>/dev/null; then continue; fi
    nohup $BIN/cityloop run "$svc" --port "$port" >"$DIR/$svc.log" 2>&1 &
    echo $! >"$DIR/$svc.pid"
  done
  for svc in "${SERVICES[@]}"; do
    local port; port=$(port_of "$svc")
    for _ in $(seq 1 120); do
      curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
      sleep 0.5
    done
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || { echo "$svc did not become ready:"; tail -30 "$DIR/$svc.log"; exit 1; }
    echo "$svc ready on http://127.0.0.1:$port (pid $(cat "$DIR/$svc.pid"))"
  done
  echo "PostgreSQL $pg_url"
  echo "Kafka $bootstrap"
}

stop() {
  for svc in "${SERVICES[@]}"; do
    if [ -f "$DIR/$svc.pid" ]; then
      kill "$(cat "$DIR/$svc.pid")" 2>/dev/null || true
      rm -f "$DIR/$svc.pid"
    fi
  done
  sleep 1
  deploy/kafka/kafka.sh stop "$DIR/kafka" >/dev/null 2>&1 || true
  $BIN/python -m services.pgserver stop "$DIR/pg" >/dev/null 2>&1 || true
  echo "stack stopped"
}

status() {
  for svc in "${SERVICES[@]}"; do
    local port; port=$(port_of "$svc")
    printf '%-10s %s\n' "$svc" "$(curl -fsS "http://127.0.0.1:$port/readyz" 2>/dev/null || echo down)"
  done
}

"${1:-start}"
