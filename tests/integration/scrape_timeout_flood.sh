#!/usr/bin/env bash
# Hostile X-Prometheus-Scrape-Timeout-Seconds headers (tiny, NaN, infinite, huge), sent in a
# loop by a client without credentials, must not cost PostgreSQL collection for anybody:
# the next ordinary scrape has pg_up 1 and every PostgreSQL collector, the session was
# never dropped, and the junk is logged once.
set -euo pipefail
exporter=$1
export AFP_PG_DSN_FILE=$2
source "$(dirname "$0")/../lib/exporter.sh"
start_exporter "$exporter"
url="http://127.0.0.1:$port/metrics"
fail() {
  echo "$1" >&2
  cat "$workdir/log" >&2
  exit 1
}

curl -fsS "$url" >"$workdir/before"
grep -q '^pg_up 1$' "$workdir/before" || fail "pg_up is not 1 before the flood"
for round in $(seq 1 10); do
  for header in 0.5001 0.0001 nan inf -inf 1e10 1e400 -5 abc; do
    curl -sS -o /dev/null -H "X-Prometheus-Scrape-Timeout-Seconds: $header" "$url" ||
      fail "round $round: a scrape with timeout $header failed"
  done
done
curl -fsS -H "X-Prometheus-Scrape-Timeout-Seconds: 10" "$url" >"$workdir/scrape"
grep -q '^pg_up 1$' "$workdir/scrape" || fail "pg_up is not 1 after the flood"
for collector in postgres pg_stat_database pg_stat_user_tables pg_stat_user_indexes; do
  grep -q "^afp_exporter_scrape_collector_success{collector=\"$collector\"} 1$" "$workdir/scrape" ||
    fail "$collector failed after the flood"
done
if grep -q 'PostgreSQL unavailable' "$workdir/log"; then fail "the session was dropped"; fi
warnings=$(grep -c 'X-Prometheus-Scrape-Timeout-Seconds' "$workdir/log" || true)
[ "$warnings" = 1 ] || fail "the malformed header was logged $warnings times, not once"
echo "90 hostile scrape timeouts: pg_up 1, every PostgreSQL collector fine, one warning"
