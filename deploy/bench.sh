#!/usr/bin/env bash
# make bench: the distributed topology under load, plus each service's own micro-benchmarks.
# Writes BENCHMARKS.md (machine described, numbers from this run). Not part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export PYTHONPATH=$PWD
export STACK_DIR=${STACK_DIR:-var/bench-stack}
rm -rf "$STACK_DIR"
trap 'deploy/stack.sh stop >/dev/null 2>&1 || true' EXIT
OUT=var/bench
mkdir -p "$OUT"

deploy/stack.sh start | tee "$OUT/stack.txt"
PG=$(grep '^PostgreSQL' "$OUT/stack.txt" | cut -d' ' -f2)
KAFKA=$(grep '^Kafka' "$OUT/stack.txt" | cut -d' ' -f2)
$BIN/python -m services.bench --url http://127.0.0.1:8001 --bootstrap "$KAFKA" --pg "$PG" \
  --stack-dir "$STACK_DIR" --rates "${BENCH_RATES:-50,100,200,400,800}" --seconds "${BENCH_SECONDS:-20}" \
  --out "$OUT/e2e.md"
deploy/stack.sh stop
trap - EXIT

{
  echo "# Benchmarks"
  echo
  echo "Produced by \`make bench\` on $(date -u '+%Y-%m-%d %H:%M') UTC. Numbers are from one run on the machine"
  echo "described; compare ratios within a run, not absolute numbers across machines."
  echo
  cat "$OUT/e2e.md"
  for mod in router.bench workflow.bench analytics.bench; do
    if $BIN/python -c "import ${mod%.bench}.bench" 2>/dev/null; then
      echo
      echo "## ${mod%.bench}"
      echo
      echo '```'
      $BIN/python -m "$mod" ${BENCH_MICRO_ARGS:-} 2>&1 | tail -40
      echo '```'
    fi
  done
} > BENCHMARKS.md
echo "wrote BENCHMARKS.md"
