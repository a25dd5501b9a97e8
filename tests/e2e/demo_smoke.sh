#!/usr/bin/env bash
# scripts/demo, run as a user would but without a terminal, on free ports:
#   1. every Prometheus target (exporter, Prometheus, Alertmanager) is up within a minute
#      of starting the demo;
#   2. `scripts/demo fault drop-index` makes AfpFingerprintSeqScans arrive at the webhook
#      (Slack) sink, and it had not fired before the fault;
#   3. SIGTERM stops the demo and leaves no process, no PostgreSQL, no file behind.
#
#   demo_smoke.sh BUILD_DIR
set -euo pipefail
repo_dir=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=$(cd "$1" && pwd)
py=/usr/bin/python3
tmp=$(mktemp -d)
demo_pid=
source "$repo_dir/scripts/lib/proc.sh" # free_port, wait_until

step() { printf '[%s] %s\n' "$(date +%T)" "$*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

cleanup() {
  local rc=$?
  if [ -n "$demo_pid" ] && kill -0 "$demo_pid" 2>/dev/null; then
    kill -TERM "$demo_pid" 2>/dev/null || true
    wait "$demo_pid" 2>/dev/null || true
  fi
  if [ "$rc" -ne 0 ]; then
    echo "----- the demo's output" >&2
    tail -n 80 "$tmp/demo.out" >&2 || true
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT

# wait_until (scripts/lib/proc.sh) polls every 0.5 s and gives up once the demo has exited.
wait_interval=0.5
wait_until_check() {
  kill -0 "$demo_pid" 2>/dev/null || fail "the demo exited while waiting for $1"
}

export AFP_DEMO_STATE=$tmp/state BUILD_DIR=$build_dir AFP_DEMO_NO_BUILD=1
# Enough songs (300,000 fingerprint rows) for the planner to prefer the hash index for a
# look-up batch of 1,000 (on a table of 100,000 a sequential scan is cheaper, and
# AfpFingerprintSeqScans would rightly fire); timings shortened further than the demo's
# own, the test has no minutes to spare.
export AFP_DEMO_SONGS=100 AFP_DEMO_RATE=2 AFP_DEMO_INTERVAL=2s AFP_DEMO_FOR=6s
export AFP_DEMO_GROUP_WAIT=1s AFP_DEMO_GROUP_INTERVAL=2s

# start_demo: on four free ports. Another test may take one of them between our choice and
# the demo's check; the demo then names it busy and exits at once, and we choose again.
start_demo() {
  for _ in 1 2 3; do
    export AFP_DEMO_EXPORTER_PORT=$(free_port) AFP_DEMO_PROMETHEUS_PORT=$(free_port)
    export AFP_DEMO_ALERTMANAGER_PORT=$(free_port) AFP_DEMO_WORKLOAD_PORT=$(free_port)
    prom=http://127.0.0.1:$AFP_DEMO_PROMETHEUS_PORT
    "$repo_dir/scripts/demo" >"$tmp/demo.out" 2>&1 &
    demo_pid=$!
    # Past the port check once it starts PostgreSQL.
    for _ in $(seq 1 80); do
      grep -q "PostgreSQL: a temporary" "$tmp/demo.out" && return 0
      kill -0 "$demo_pid" 2>/dev/null || break
      sleep 0.25
    done
    if grep -q "is busy" "$tmp/demo.out"; then
      wait "$demo_pid" || true
      step "a chosen port was taken meanwhile ($(grep -o 'port [0-9]*' "$tmp/demo.out")), again"
      continue
    fi
    return 0
  done
  fail "no set of free ports in three attempts"
}

step "starting scripts/demo"
started=$SECONDS
start_demo

targets_up() {
  curl -fsS --max-time 2 "$prom/api/v1/targets" |
    jq -e '[.data.activeTargets[] | select(.health == "up")] | length == 3' >/dev/null
}
wait_until 60 "every Prometheus target up" targets_up
step "ok   3 targets up $((SECONDS - started))s after the start"
curl -fsS "$prom/api/v1/targets" | jq -r '.data.activeTargets[] | "     \(.labels.job) \(.scrapeUrl) \(.health)"'

dir=$(sed -n 's/^dir=//p' "$AFP_DEMO_STATE")
data_root=$(cat "$dir/pg/data_root")
mapfile -t pids < <(sed -n 's/^pid_[a-z]*=//p' "$AFP_DEMO_STATE")
inbox=$dir/inbox

firing() {
  curl -fsS --max-time 2 "$prom/api/v1/alerts" |
    jq -e --arg a "$1" '[.data.alerts[] | select(.labels.alertname == $a)] | length > 0' >/dev/null
}
arrived() { grep -l "\"title\": \"\\[FIRING:1\\] WARNING $1" "$inbox"/http-*.json; }

# The workload must be identifying through the index before the fault, over the 10,000
# live rows the alert asks for, or a firing alert would prove nothing.
live_rows() {
  curl -fsS --max-time 2 "$prom/api/v1/query" \
    --data-urlencode 'query=pg_stat_user_tables_n_live_tup{relname="fingerprints"} >= 10000' |
    jq -e '.data.result | length == 1' >/dev/null
}
lookups() {
  curl -fsS --max-time 2 "$prom/api/v1/query" \
    --data-urlencode 'query=increase(afp_db_query_duration_seconds_count{operation="lookup"}[30s]) > 0' |
    jq -e '.data.result | length >= 1' >/dev/null
}
wait_until 240 "100 songs ingested" live_rows
wait_until 60 "look-ups reported by the workload" lookups
sleep 10 # several evaluations with look-ups through the index
seq_scans='instance_relname:pg_stat_user_tables_seq_tup_read:rate5m{relname="fingerprints"} > 0'
curl -fsS "$prom/api/v1/query" --data-urlencode "query=$seq_scans" |
  jq -e '.data.result | length == 0' >/dev/null ||
  fail "the fingerprint table was read by sequential scans before the fault"
firing AfpFingerprintSeqScans && fail "AfpFingerprintSeqScans fires before the fault"
step "ok   no sequential scan of the fingerprint table and no alert before the fault"

step "scripts/demo fault drop-index"
"$repo_dir/scripts/demo" fault drop-index
wait_until 120 "AfpFingerprintSeqScans at the webhook sink" arrived AfpFingerprintSeqScans
step "ok   AfpFingerprintSeqScans delivered to the webhook sink"
grep -h '"title"' "$inbox"/http-*.json | sed 's/^ */     /'

step "SIGTERM to the demo"
kill -TERM "$demo_pid"
for _ in $(seq 1 120); do kill -0 "$demo_pid" 2>/dev/null || break; sleep 0.5; done
kill -0 "$demo_pid" 2>/dev/null && fail "the demo still runs 60 s after SIGTERM"
rc=0
wait "$demo_pid" || rc=$?
demo_pid=
((rc == 143)) || fail "the demo exited with $rc after SIGTERM, not 143"
for pid in "${pids[@]}"; do
  kill -0 "$pid" 2>/dev/null && fail "process $pid ($(ps -o args= -p "$pid")) survived the demo"
done
pgrep -f "$data_root" >/dev/null && fail "PostgreSQL of $data_root still runs"
[ -e "$dir" ] && fail "$dir is left behind"
[ -e "$data_root" ] && fail "$data_root is left behind"
[ -e "$AFP_DEMO_STATE" ] && fail "the state file is left behind"
step "ok   stopped: ${#pids[@]} processes and PostgreSQL gone, no files left"
