#!/usr/bin/env bash
# Runs the real exporter with its default collectors on this machine and lints a full
# scrape with `promtool check metrics`. The only findings allowed are promtool's
# camelCase complaints about node_memory_<Field> names, which keep /proc/meminfo's field
# names exactly as node_exporter does (node_memory_MemTotal_bytes), and the missing "_total"
# of the pg_stat_database counters listed below, which keep postgres_exporter's names: the
# dashboards and rules written for those exporters query these names (docs/compatibility.md).
# Anything else fails the test.
#
#   check_metrics.sh EXPORTER [DSN_FILE]   with a DSN file, the PostgreSQL collectors run too
set -euo pipefail
exporter=$1
dsn_file=${2:-}
source "$(dirname "$0")/../lib/exporter.sh"

if [ -n "$dsn_file" ]; then
  export AFP_PG_DSN_FILE=$dsn_file
else
  unset AFP_PG_DSN AFP_PG_DSN_FILE
fi
start_exporter "$exporter"

curl -fsS "http://127.0.0.1:$port/metrics" >"$workdir/scrape"
grep -q '^node_cpu_seconds_total{' "$workdir/scrape"
grep -q '^afp_exporter_scrape_collector_success{collector="process"} 1$' "$workdir/scrape"
if [ -n "$dsn_file" ]; then
  grep -q '^pg_up 1$' "$workdir/scrape"
  grep -Eq '^pg_postmaster_start_time_seconds [0-9]' "$workdir/scrape"
  grep -q '^pg_stat_user_indexes_idx_scan_total{' "$workdir/scrape" ||
    grep -q '^afp_exporter_scrape_collector_success{collector="pg_stat_user_indexes"} 1$' "$workdir/scrape"
fi
set +e
promtool check metrics <"$workdir/scrape" >"$workdir/lint" 2>&1
set -e
# postgres_exporter 0.11 declares these pg_stat_database columns counters without "_total"
# (docs/compatibility.md); exactly these families, and only this finding, are exempt.
pg_compatible_counters='pg_stat_database_(xact_commit|xact_rollback|blks_read|blks_hit|tup_returned|tup_fetched|tup_inserted|tup_updated|tup_deleted|conflicts|temp_files|temp_bytes|deadlocks|blk_read_time|blk_write_time|stats_reset)'
unexpected=$(grep -vE "^node_memory_[A-Za-z0-9_]+ metric names should be written in 'snake_case' not 'camelCase'$" "$workdir/lint" |
  grep -vE "^$pg_compatible_counters counter metrics should have \"_total\" suffix$" || true)
if [ -n "$unexpected" ]; then
  echo "promtool check metrics found problems:" >&2
  echo "$unexpected" >&2
  exit 1
fi
failed=$(grep -c '_success{collector="[a-z_]*"} 0$' "$workdir/scrape" || true)
if [ "$failed" != 0 ]; then
  echo "collectors failed on this machine:" >&2
  grep '_success{collector="[a-z_]*"} 0$' "$workdir/scrape" >&2
  cat "$workdir/log" >&2
  exit 1
fi
echo "promtool check metrics: $(wc -l <"$workdir/scrape") lines, only the documented node_memory_ camelCase and postgres_exporter-compatible pg_stat_database names flagged ($(wc -l <"$workdir/lint"))"
