#!/usr/bin/env bash
# The afp rules in a Prometheus that also scrapes other teams' exporters, live.
#
#   coexistence_live.sh EXPORTER PROMETHEUS NODE_EXPORTER POSTGRES_EXPORTER
#
# One set of targets, all sick: node_exporter (job="node") reads a /proc tree whose memory
# is 99 % used, postgres_exporter (job="postgres") has a DSN to a closed port (pg_up 0), and
# afp_exporter (job="afp") has both faults. Two Prometheus servers scrape them every second
# and evaluate every second, with rules rendered from the mixin with 2-second `for`s:
#   - "default": the default selectors (job="afp"). AfpHostMemoryUsed and AfpPostgresDown
#     fire for the afp target, and no afp alert, pending or firing, names job="node" or
#     job="postgres";
#   - "widened": hostSelector job=~"afp|node", pgSelector job=~"afp|postgres". The same
#     alerts fire for the foreign targets too: the silence above is the selectors' doing,
#     not a fault that did not take.
# Exit 77 (skipped) when a binary is missing. Everything on 127.0.0.1, free ports only; a
# trap stops every process started here and removes the work directory.
set -euo pipefail
exporter=$1
prometheus=$2
node_exporter=$3
postgres_exporter=$4
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
source "$repo/scripts/lib/proc.sh" # free_port

for bin in "$exporter" "$prometheus" "$node_exporter" "$postgres_exporter"; do
  [ -x "$bin" ] || { echo "SKIP: $bin is not an executable" >&2; exit 77; }
done
for tool in jsonnet curl jq; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not on PATH" >&2; exit 77; }
done

workdir=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$workdir"
}
trap cleanup EXIT

# start_listening VAR LOG PATH COMMAND...: runs COMMAND with every "{port}" replaced by a
# free port until it answers http://127.0.0.1:<port>PATH (another process may take the port
# between the check and the bind: then try another); sets VAR to the port.
start_listening() {
  local var=$1 log=$2 path=$3 try_port try_pid
  shift 3
  for _ in 1 2 3 4 5; do
    try_port=$(free_port)
    "${@//\{port\}/$try_port}" >"$log" 2>&1 &
    try_pid=$!
    pids+=("$try_pid")
    for _ in $(seq 1 100); do
      if curl -fsS -o /dev/null "http://127.0.0.1:$try_port$path" 2>/dev/null; then
        printf -v "$var" %s "$try_port"
        return 0
      fi
      kill -0 "$try_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill "$try_pid" 2>/dev/null || true
  done
  echo "$1 did not start on a free port:" >&2
  cat "$log" >&2
  exit 1
}

# --- The sick host: a copy of the default /proc fixture with 1 % of memory available -----
sick=$workdir/sick
cp -r "$repo/tests/fixtures/default" "$sick"
total_kb=$(awk '/^MemTotal:/ {print $2}' "$sick/proc/meminfo")
sed -i "s/^MemAvailable:.*/MemAvailable:   $((total_kb / 100)) kB/" "$sick/proc/meminfo"

# A port nobody listens on: the dead database.
closed_port=$(free_port)

# --- The exporters --------------------------------------------------------------------------
start_listening node_port "$workdir/node.log" /metrics \
  "$node_exporter" --web.listen-address="127.0.0.1:{port}" --path.procfs="$sick/proc" \
  --path.sysfs="$sick/sys" --collector.disable-defaults --collector.meminfo

export DATA_SOURCE_NAME="postgresql://afp@127.0.0.1:$closed_port/afp?sslmode=disable&connect_timeout=1"
start_listening pg_port "$workdir/postgres_exporter.log" /metrics \
  "$postgres_exporter" --web.listen-address="127.0.0.1:{port}"
unset DATA_SOURCE_NAME

AFP_PG_DSN="host=127.0.0.1 port=$closed_port dbname=afp user=afp connect_timeout=1" \
  "$exporter" --web.listen-address=127.0.0.1:0 --path.procfs="$sick/proc" \
  --path.sysfs="$sick/sys" 2>"$workdir/afp.log" &
pids+=($!)
afp_port=
for _ in $(seq 1 200); do
  afp_port=$(sed -n 's/.*msg=listening .*port=\([0-9]*\).*/\1/p' "$workdir/afp.log" | head -n1)
  [ -n "$afp_port" ] && break
  kill -0 "${pids[-1]}" 2>/dev/null || { cat "$workdir/afp.log" >&2; exit 1; }
  sleep 0.05
done
[ -n "$afp_port" ] || { echo "afp_exporter did not start" >&2; cat "$workdir/afp.log" >&2; exit 1; }

# --- Two renderings of the mixin, every `for` 2 seconds --------------------------------------
short_for=()
for alert in $(cd "$repo/mixin" && jsonnet -e "std.objectFields((import 'config.libsonnet')._config.alertFor)" | jq -r '.[]'); do
  short_for+=(--set "alertFor.$alert=2s")
done
"$repo/mixin/render" --output-dir "$workdir/default" "${short_for[@]}" >/dev/null
"$repo/mixin/render" --output-dir "$workdir/widened" "${short_for[@]}" \
  --set hostSelector='job=~"afp|node"' --set pgSelector='job=~"afp|postgres"' >/dev/null

declare -A api
for variant in default widened; do
  cat >"$workdir/$variant/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $workdir/$variant/rules/afp-recording.yml
  - $workdir/$variant/rules/afp-alerts.yml
scrape_configs:
  - job_name: node
    static_configs: [{targets: ['127.0.0.1:$node_port']}]
  # postgres_exporter 0.11 takes a second to give up on the closed port: more than the
  # 1 s timeout, which would leave no pg_up at all.
  - job_name: postgres
    scrape_interval: 3s
    scrape_timeout: 3s
    static_configs: [{targets: ['127.0.0.1:$pg_port']}]
  - job_name: afp
    static_configs: [{targets: ['127.0.0.1:$afp_port']}]
EOF
  start_listening prom_port "$workdir/$variant/prometheus.log" /-/ready \
    "$prometheus" --config.file="$workdir/$variant/prometheus.yml" \
    --storage.tsdb.path="$workdir/$variant/tsdb" --web.listen-address="127.0.0.1:{port}" \
    --log.level=warn
  api[$variant]="http://127.0.0.1:$prom_port/api/v1"
  bad=$(curl -fsS "${api[$variant]}/rules" |
    jq -r '[.data.groups[].rules[] | select(.health == "err") | .name + ": " + .lastError] | .[]')
  [ -z "$bad" ] || { echo "$variant: rules failing: $bad" >&2; exit 1; }
done

query() {  # query VARIANT PROMQL: the number of series the query returns
  curl -fsS "${api[$1]}/query" --data-urlencode "query=$2" | jq '.data.result | length'
}

# Wait until both Prometheus servers fire what they must (for 2 s, plus the scrape and the
# rate-free recording rules: a few seconds).
declare -A want=(
  [default]='AfpHostMemoryUsed/afp AfpPostgresDown/afp'
  [widened]='AfpHostMemoryUsed/afp AfpPostgresDown/afp AfpHostMemoryUsed/node AfpPostgresDown/postgres'
)
deadline=$((SECONDS + 60))
for variant in default widened; do
  for pair in ${want[$variant]}; do
    alert=${pair%/*} job=${pair#*/}
    until [ "$(query "$variant" "ALERTS{alertname=\"$alert\", alertstate=\"firing\", job=\"$job\"}")" -gt 0 ]; do
      if [ "$SECONDS" -ge "$deadline" ]; then
        echo "FAIL [$variant] $alert did not fire for job=\"$job\" within 60 s; alerts:" >&2
        curl -fsS "${api[$variant]}/alerts" | jq -c '.data.alerts[] | {labels, state}' >&2
        exit 1
      fi
      sleep 0.5
    done
    echo "ok   [$variant] $alert fires for job=\"$job\""
  done
done

failures=0
# The faults did reach the default Prometheus through the foreign jobs...
for check in 'node_memory_MemAvailable_bytes{job="node"}' 'pg_up{job="postgres"} == 0'; do
  if [ "$(query default "$check")" -eq 0 ]; then
    echo "FAIL [default] the injected fault is not visible: $check" >&2
    failures=$((failures + 1))
  fi
done
# ... and raised no afp alert there, not even a pending one.
foreign='ALERTS{alertname=~"Afp.*", job=~"node|postgres"}'
if [ "$(query default "$foreign")" -ne 0 ]; then
  echo "FAIL [default] afp alerts on other teams' jobs:" >&2
  curl -fsS "${api[default]}/query" --data-urlencode "query=$foreign" | jq -c '.data.result[].metric' >&2
  failures=$((failures + 1))
else
  echo "ok   [default] no afp alert names job=\"node\" or job=\"postgres\""
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "the afp rules judge only the jobs their selectors name"
