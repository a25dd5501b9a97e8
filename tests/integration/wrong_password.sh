#!/usr/bin/env bash
# The exporter with a DSN whose password is wrong: it starts, serves, reports pg_up 0 and
# the PostgreSQL collectors failed, logs why, and never shows the password anywhere.
set -euo pipefail
exporter=$1
good_dsn=$(cat "$2")
source "$(dirname "$0")/../lib/exporter.sh"

secret="NotThePassword-$RANDOM$RANDOM"
echo "$good_dsn" | sed -E "s#://([^:]+):[^@]+@#://\1:$secret@#" >"$workdir/dsn"
grep -q "$secret" "$workdir/dsn"
AFP_PG_DSN_FILE="$workdir/dsn" start_exporter "$exporter"

curl -fsS "http://127.0.0.1:$port/metrics" >"$workdir/scrape"
fail() { echo "$1" >&2; cat "$workdir/log" >&2; exit 1; }
grep -q '^pg_up 0$' "$workdir/scrape" || fail "pg_up is not 0"
grep -q '^afp_exporter_scrape_collector_success{collector="pg_stat_database"} 0$' "$workdir/scrape" ||
  fail "pg_stat_database did not fail"
grep -q '^node_cpu_seconds_total{' "$workdir/scrape" || fail "system metrics missing"
grep -q 'password authentication failed' "$workdir/log" || fail "the log does not say why"
if grep -q "$secret" "$workdir/log" "$workdir/scrape"; then fail "the password leaked"; fi
echo "wrong password: pg_up 0, reason logged, password shown nowhere"
