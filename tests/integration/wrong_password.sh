#!/usr/bin/env bash
# The exporter with a DSN whose password is wrong: it starts, serves, reports pg_up 0 and
# the PostgreSQL collectors failed, logs why, and never shows the password anywhere.
set -euo pipefail
exporter=$1
good_dsn=$(cat "$2")
workdir=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$workdir"
}
trap cleanup EXIT

secret="NotThePassword-$RANDOM$RANDOM"
echo "$good_dsn" | sed -E "s#://([^:]+):[^@]+@#://\1:$secret@#" >"$workdir/dsn"
grep -q "$secret" "$workdir/dsn"
AFP_PG_DSN_FILE="$workdir/dsn" "$exporter" --web.listen-address=127.0.0.1:0 2>"$workdir/log" &
pid=$!
port=
for _ in $(seq 1 200); do
  port=$(sed -n 's/.*msg=listening .*port=\([0-9]*\).*/\1/p' "$workdir/log" | head -n1)
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$workdir/log" >&2; exit 1; }
  sleep 0.05
done
[ -n "$port" ] || { echo "exporter did not start" >&2; exit 1; }

curl -fsS "http://127.0.0.1:$port/metrics" >"$workdir/scrape"
fail() { echo "$1" >&2; cat "$workdir/log" >&2; exit 1; }
grep -q '^pg_up 0$' "$workdir/scrape" || fail "pg_up is not 0"
grep -q '^afp_exporter_scrape_collector_success{collector="pg_stat_database"} 0$' "$workdir/scrape" ||
  fail "pg_stat_database did not fail"
grep -q '^node_cpu_seconds_total{' "$workdir/scrape" || fail "system metrics missing"
grep -q 'password authentication failed' "$workdir/log" || fail "the log does not say why"
if grep -q "$secret" "$workdir/log" "$workdir/scrape"; then fail "the password leaked"; fi
echo "wrong password: pg_up 0, reason logged, password shown nowhere"
