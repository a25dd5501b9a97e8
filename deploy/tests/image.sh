#!/usr/bin/env bash
# The container image as a user gets it: `scripts/image` builds it (the base images made
# with debootstrap when missing), `scripts/image run` serves the host's metrics: the
# exporter in the container reports the host's boot time and processes, not the
# container's, and runs as user 65534.
#
#   image.sh REPO
# Slow (a Debian base, the build's packages and a full compile): CTest label "image",
# which scripts/test leaves out; run it with `ctest -L image`.
set -euo pipefail
repo=$1
cd "$repo"
source scripts/lib/proc.sh # free_port, wait_until
log=$(mktemp)
port=$(free_port)
cleanup() {
  [ -n "${runner:-}" ] && kill "$runner" 2>/dev/null && wait "$runner" 2>/dev/null
  rm -f "$log" "$log.scrape"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; tail -n 30 "$log" >&2; exit 1; }

scripts/image >"$log" 2>&1 || fail "scripts/image failed"
grep -E '^(localhost/)?afp_exporter:latest ' "$log" || fail "no afp_exporter:latest listed"

scripts/image run --web.listen-address="127.0.0.1:$port" >"$log" 2>&1 &
runner=$!
wait_until 20 "the container's /metrics" curl -fsS "http://127.0.0.1:$port/metrics" -o "$log.scrape"
btime=$(awk '$1 == "btime" { print $2 }' /proc/stat)
grep -q "^node_boot_time_seconds $btime\$" "$log.scrape" ||
  fail "node_boot_time_seconds is not the host's $btime: $(grep '^node_boot_time' "$log.scrape")"
failed=$(grep '^afp_exporter_scrape_collector_success{' "$log.scrape" | awk '$NF != 1') || true
[ -z "$failed" ] || fail "collectors failing in the container: $failed"
pid=$(pgrep -x afp_exporter -a | awk -v want="--web.listen-address=127.0.0.1:$port" '$0 ~ want { print $1; exit }')
[ -n "$pid" ] || fail "no afp_exporter process with port $port on the host (not --pid host?)"
uid=$(awk '$1 == "Uid:" { print $2 }' "/proc/$pid/status")
[ "$uid" = 65534 ] || fail "the exporter runs as uid $uid, not 65534"
echo "the container serves the host's metrics: btime $btime, $(grep -c '^node_' "$log.scrape") node_ samples"
