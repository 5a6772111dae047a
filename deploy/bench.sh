#!/usr/bin/env bash
# make bench: the distributed topology under load, plus each service's own micro-benchmarks.
# Writes BENCHMARKS.md (machine described, numbers from this run). Not part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export PYTHONPATH=$PWD
export STACK_DIR=${STACK_DIR:-var/bench-stack}
# The load generator is one client offering hundreds of requests a second: rate limits off (empty) for the run.
export CITYLOOP_RATE_LIMIT_CLIENT=${CITYLOOP_RATE_LIMIT_CLIENT-} CITYLOOP_RATE_LIMIT_HOTLINE=${CITYLOOP_RATE_LIMIT_HOTLINE-}
export CITYLOOP_RATE_LIMIT_USER=${CITYLOOP_RATE_LIMIT_USER-}
rm -rf "$STACK_DIR"
trap 'deploy/stack.sh stop >/dev/null 2>&1 || true' EXIT
OUT=var/bench
mkdir -p "$OUT"

deploy/stack.sh start | tee "$OUT/stack.txt"
PG=$(grep '^PostgreSQL' "$OUT/stack.txt" | cut -d' ' -f2)
KAFKA=$(grep '^Kafka' "$OUT/stack.txt" | cut -d' ' -f2)
INTAKE_URL=$(grep '^intake ready on' "$OUT/stack.txt" | head -1 | cut -d' ' -f4)
# BENCH_RATES: offered reports/s per step (the last ≈ 3× what this machine sustains: overload);
# BENCH_SECONDS: length of each step (60 for the record; shorter to iterate).
$BIN/python -m tools.bench --url "${INTAKE_URL:-http://127.0.0.1:8001}" --bootstrap "$KAFKA" --pg "$PG" \
  --stack-dir "$STACK_DIR" --rates "${BENCH_RATES:-100,300,900}" --seconds "${BENCH_SECONDS:-60}" \
  --out "$OUT/e2e.md"
deploy/stack.sh stop
trap - EXIT

# The same machine with 1 and with 2 replicas of every service (tools/bench_replicas.py starts its own stacks).
$BIN/python -m tools.bench_replicas --replicas 1,2 --rate "${BENCH_REPLICA_RATE:-40}" \
  --seconds "${BENCH_SECONDS:-20}" --out "$OUT/replicas.md"

PG_MICRO=$($BIN/python -m services.pgserver start var/bench-pg | tail -1)
trap '$BIN/python -m services.pgserver stop var/bench-pg >/dev/null 2>&1 || true' EXIT
micro() {  # name, command...
  echo
  echo "## $1"
  echo
  echo '```'
  shift
  "$@" 2>&1 | grep -v -i "warn\|user_runtime_dir" | tail -40
  echo '```'
}

{
  echo "# Benchmarks"
  echo
  echo "Produced by \`make bench\` on $(date -u '+%Y-%m-%d %H:%M') UTC. Numbers are from one run on the machine"
  echo "described; compare ratios within a run, not absolute numbers across machines."
  echo
  cat "$OUT/e2e.md"
  echo
  cat "$OUT/replicas.md"
  micro "router: routing one report in-process (full demo district)" $BIN/python -m tools.bench_router
  micro "workflow: durable timers (${BENCH_TIMERS:-1000000} pending, cohort of ${BENCH_COHORT:-100000} due at one instant)" \
    $BIN/python -m tools.bench_timers --url "$PG_MICRO" --timers "${BENCH_TIMERS:-1000000}" --cohort "${BENCH_COHORT:-100000}"
  micro "analytics: scoreboards (rollups) over ${BENCH_CASES:-10000000} cases" \
    $BIN/python -m tools.bench_analytics --url "$PG_MICRO" --cases "${BENCH_CASES:-10000000}"
} > BENCHMARKS.md
$BIN/python -m services.pgserver stop var/bench-pg >/dev/null
echo "wrote BENCHMARKS.md"
