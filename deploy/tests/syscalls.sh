#!/usr/bin/env bash
# Every system call the exporter makes, from exec to exit, under strace while it does all
# it does in production (scrapes with PostgreSQL, an HTTP push, a statsd datagram, probe
# runs through libcurl, a SIGHUP reload, SIGTERM), must be allowed by the unit's
# SystemCallFilter: outside systemd no filter is loaded, so this is where a call the
# filter refuses would show up (syscall_filter.py).
#
#   syscalls.sh STRACE SYSTEMD_ANALYZE EXPORTER UNIT CONFIG_JSON DSN_FILE
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
strace=$1
analyze=$2
exporter=$3
unit=$4
config=$5
dsn_file=$6
here=$(cd "$(dirname "$0")" && pwd)

# shellcheck source=../../tests/lib/exporter.sh
source "$here/../../tests/lib/exporter.sh"  # $workdir, $pid, $port, start_exporter
fail() { echo "FAIL: $1" >&2; cat "$workdir/log" >&2; exit 1; }
probe_server=
trap '[ -n "$probe_server" ] && kill "$probe_server" 2>/dev/null; cleanup_exporter' EXIT

# The probe's target: any HTTP server will do (it answers the upload with 501). The log
# exists before the server starts, or the first read of it races the shell's redirection.
: >"$workdir/http.log"
python3 -u -m http.server --bind 127.0.0.1 0 --directory "$workdir" >"$workdir/http.log" 2>&1 &
probe_server=$!
for _ in $(seq 1 100); do
  probe_port=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$workdir/http.log" | head -n1)
  [ -n "$probe_port" ] && break
  sleep 0.05
done
[ -n "${probe_port:-}" ] || fail "the probe's HTTP server did not start"
head -c 4096 /dev/urandom >"$workdir/probe.wav"

token="afp-syscalls-token-$RANDOM"
printf '%s\n' "$token" >"$workdir/ingest_token"
start_exporter "$strace" -f -qq -o "$workdir/trace" -- \
  env AFP_PG_DSN_FILE="$dsn_file" AFP_INGEST_TOKEN_FILE="$workdir/ingest_token" \
  "$exporter" --config.file="$config" --statsd.listen-address=127.0.0.1:0 \
  --probe.url="http://127.0.0.1:$probe_port/identify" --probe.audio-file="$workdir/probe.wav" \
  --probe.interval=1s --probe.timeout=1s
exporter_pid=$(cat "/proc/$pid/task/$pid/children")
[ -n "$exporter_pid" ] || fail "no exporter under strace"

base="http://127.0.0.1:$port"
for _ in 1 2 3; do
  curl -fsS --compressed "$base/metrics" >"$workdir/scrape" || fail "scrape failed"
done
grep -q '^pg_up 1$' "$workdir/scrape" || fail "pg_up is not 1"
curl -fsS "$base/" "$base/-/healthy" "$base/-/ready" >/dev/null || fail "landing or health failed"
curl -fsS -X POST "$base/api/v1/observations" -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $token" \
  -d '{"observations": [{"metric": "fingerprint_generation", "seconds": 1.5}]}' >/dev/null ||
  fail "push refused"
statsd_port=$(sed -n 's/.*msg="statsd listener on".* port=\([0-9]*\).*/\1/p' "$workdir/log")
[ -n "$statsd_port" ] || fail "no statsd port in the log"
printf 'afp.fingerprint_generation:1840|ms\n' >"/dev/udp/127.0.0.1/$statsd_port"

for _ in $(seq 1 200); do
  curl -fsS "$base/metrics" >"$workdir/scrape"
  grep -q '^afp_probe_http_status_code 501$' "$workdir/scrape" && break
  sleep 0.1
done
grep -q '^afp_probe_http_status_code 501$' "$workdir/scrape" || fail "the probe never ran"
grep -q '^afp_ingest_observations_total{transport="statsd"} [1-9]' "$workdir/scrape" ||
  fail "the statsd line was not counted"

kill -HUP "$exporter_pid"
for _ in $(seq 1 100); do
  grep -q 'msg="configuration reloaded"' "$workdir/log" && break
  sleep 0.05
done
grep -q 'msg="configuration reloaded"' "$workdir/log" || fail "SIGHUP did not reload"
kill -TERM "$exporter_pid"
wait "$pid" || fail "the exporter did not exit cleanly on SIGTERM"
pid=

"$here/syscall_filter.py" "$analyze" "$unit" "$workdir/trace"
