#!/usr/bin/env bash
# A million distinct api_request label sets pushed over HTTP and statsd leave the exporter
# with at most --ingest.max-series series and a peak resident set under 150 MB (before the
# series cap: 4.1 GB). Known series keep working afterwards.
#
#   label_flood.sh EXPORTER
set -euo pipefail
exporter=$1
here=$(dirname "$0")
source "$here/../lib/exporter.sh"
statsd_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_exporter "$exporter" --statsd.listen-address="127.0.0.1:$statsd_port"
fail() {
  echo "$1" >&2
  tail -n 20 "$workdir/log" >&2
  exit 1
}

/usr/bin/python3 "$here/label_flood.py" "$port" "$statsd_port"
sleep 1  # the statsd listener drains its socket
curl -fsS "http://127.0.0.1:$port/metrics" >"$workdir/scrape"
series=$(grep -c '^afp_api_request_duration_seconds_count{' "$workdir/scrape" || true)
peak_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
refused=$(awk -F' ' '/^afp_ingest_rejected_total\{.*reason="series_limit"/ {s += $2} END {print s + 0}' "$workdir/scrape")
echo "series: $series, refused for the series cap: $refused, peak RSS: $((peak_kb / 1024)) MB"
[ "$series" -le 2000 ] || fail "$series series, more than --ingest.max-series (2000)"
[ "$series" -ge 1 ] || fail "no series at all"
[ "$refused" -gt 0 ] || fail "nothing counted as series_limit"
[ "$peak_kb" -lt $((150 * 1024)) ] || fail "peak RSS $((peak_kb / 1024)) MB, over 150 MB"
# A known series still takes observations.
known=$(grep -m1 '^afp_api_request_duration_seconds_count{' "$workdir/scrape" | sed 's/^[^{]*{\(.*\)} .*/\1/')
endpoint=$(sed 's/.*endpoint="\([^"]*\)".*/\1/' <<<"$known")
method=$(sed 's/.*method="\([^"]*\)".*/\1/' <<<"$known")
status=$(sed 's/.*status="\([^"]*\)".*/\1/' <<<"$known")
code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  --data "{\"observations\":[{\"metric\":\"api_request\",\"seconds\":0.2,\"labels\":{\"endpoint\":\"$endpoint\",\"method\":\"$method\",\"status\":\"$status\"}}]}" \
  "http://127.0.0.1:$port/api/v1/observations")
[ "$code" = 200 ] || fail "a known series was refused ($code)"
