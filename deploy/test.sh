#!/usr/bin/env bash
# Starts a real Kafka broker and a real PostgreSQL server, runs pytest against them, stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
RUN=$(mktemp -d "${TMPDIR:-/tmp}/cityloop-test.XXXXXX")
KAFKA_RUN="$RUN/kafka"
mkdir -p "$KAFKA_RUN"

command -v prometheus >/dev/null 2>&1 || {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing prometheus (Debian package) for the dashboard test"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null) \
      || echo "prometheus could not be installed: its test will be skipped"
  fi
}

# The console's browser test drives Debian's chromium (Playwright's own browser download is not used); the
# CJK font is for readable screenshots. Without them that test skips with its reason.
[ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi wqy || {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing chromium and a CJK font (Debian packages) for the console's browser test"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null) \
      || echo "chromium could not be installed: the console's browser test will be skipped"
  fi
}

cleanup() {
  deploy/kafka/kafka.sh stop "$KAFKA_RUN" >/dev/null 2>&1 || true
  $BIN/python -m services.pgserver stop "$RUN/pg" >/dev/null 2>&1 || true
  rm -rf "$RUN"
}
trap cleanup EXIT

echo "starting PostgreSQL and Kafka…"
started=$(date +%s)
PG_URL=$($BIN/python -m services.pgserver start "$RUN/pg" | tail -1)
BOOTSTRAP=$(deploy/kafka/kafka.sh start "$KAFKA_RUN" | tail -1)
echo "PostgreSQL $PG_URL, Kafka $BOOTSTRAP ready in $(( $(date +%s) - started ))s"

export CITYLOOP_TEST_DATABASE_URL="$PG_URL" CITYLOOP_TEST_KAFKA="$BOOTSTRAP"
set +e
$BIN/python -m pytest -q -p no:cacheprovider --durations=15 "$@"
status=$?
set -e
exit $status
