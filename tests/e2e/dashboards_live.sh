#!/usr/bin/env bash
# Every panel query of every shipped Grafana dashboard, run against a live Prometheus.
#
#   dashboards_live.sh EXPORTER PROMETHEUS PG_CLUSTER_DIR WORKLOAD
#
# PG_CLUSTER_DIR is the test cluster of tests/integration/pg_cluster.sh (CTest fixture "pg");
# this test works in a database of its own there and drops it at the end. WORKLOAD is
# afp_workload, whose `init` creates Dejavu's schema (the one copy of it).
#
# Sets up what a healthy installation has: Dejavu's schema with some songs in PostgreSQL
# and look-ups running against it (so pg_stat_statements has data), the exporter with every
# collector on (PostgreSQL DSN, --pg.statements.include-query, and a probe of a tiny local
# stand-in for the app that answers with a Server-Timing header), the app's pipeline
# observations pushed through POST /api/v1/observations all along, and Prometheus 2.x
# scraping the exporter every second with the shipped rules/*.yml.
#
# Then every target of every panel of grafana/dashboards/*.json is run as Grafana would run
# it: template variables substituted as Grafana does ($__rate_interval from the 1 s scrape
# interval, $__range from the dashboard's time range, $job/$instance with "All" = the
# variables' allValue, then once more with one job and one instance selected, regex-escaped
# as Grafana's Prometheus data source escapes them), through /api/v1/query and, for
# time-series targets, /api/v1/query_range. Each must parse and return at least one series;
# the few queries that are empty in a healthy system are listed below with the reason.
# Everything listens on 127.0.0.1 and lives in one temp directory; all is stopped on exit.
set -euo pipefail
exporter=$(realpath "$1")
prometheus=$2
cluster=$(realpath "$3")
workload=$(realpath "$4")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

# Queries allowed to return nothing in a healthy system: "dashboard uid|panel title|refId".
declare -A allowed_empty=(
  ["afp-overview|Firing alerts|A"]="nothing fires in a healthy system, and every rule's 'for' outlasts this test"
  ["afp-system|Filesystem space and time to full|C"]="only a filesystem whose free space shrank over the last 6 hours has a time to full"
)

# Targets whose series must carry a label the panel shows: the statement tables join the
# query text from pg_stat_statements_query_id (--pg.statements.include-query), the heatmaps
# read the buckets' le.
declare -A required_label=(
  ["afp-database|Top statements by total time|A"]=query
  ["afp-database|Top statements by mean time|A"]=query
  ["afp-overview|Fingerprint generation|A"]=le
  ["afp-overview|API request duration|A"]=le
  ["afp-overview|Database query duration|A"]=le
)

scrape_interval=1
# Grafana: $__interval is the range divided by the panel width, never below the data
# source's scrape interval; $__rate_interval = max($__interval + scrape interval,
# 4 x scrape interval). With a 1 s scrape interval and $__interval at its floor:
interval=1s
rate_interval=4s

# shellcheck source=../lib/exporter.sh
source "$here/../lib/exporter.sh"  # $workdir, start_exporter, its own cleanup
source "$here/../../scripts/lib/proc.sh" # free_port
bg_pids=()
database=afp_dash_$$
admin_dsn=$(cat "$cluster/admin_dsn")
admin_db_dsn=${admin_dsn%/*}/postgres
app_dsn=$(sed "s#/[^/]*\$#/$database#" "$cluster/dsn")

cleanup() {
  local status=$?
  for p in "${bg_pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${bg_pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  psql "$admin_db_dsn" -qAt -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
  if [ "$status" -ne 0 ] && [ -f "$workdir/log" ]; then
    echo "--- exporter log (last 20 lines)" >&2
    tail -n 20 "$workdir/log" >&2 || true
    echo "--- prometheus log (last 20 lines)" >&2
    tail -n 20 "$workdir/prometheus.log" >&2 || true
  fi
  cleanup_exporter
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- PostgreSQL: Dejavu's schema and songs, owned by the app's role ---------------------
psql "$admin_db_dsn" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE $database OWNER afp" >/dev/null
psql "${admin_dsn%/*}/$database" -qAt -v ON_ERROR_STOP=1 \
  -c "CREATE EXTENSION pg_stat_statements" >/dev/null
AFP_PG_DSN=$app_dsn "$workload" init >"$workdir/init.log" 2>&1 ||
  { cat "$workdir/init.log" >&2; exit 1; }
psql "$app_dsn" -qAt -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
INSERT INTO songs (song_name, fingerprinted, total_hashes)
  SELECT 'song ' || g, 1, 200 FROM generate_series(1, 50) g;
INSERT INTO fingerprints (hash, song_id, "offset")
  SELECT substring(decode(md5(s || ':' || o), 'hex') FROM 1 FOR 10), s, o
  FROM generate_series(1, 50) s, generate_series(1, 200) o;
DELETE FROM fingerprints WHERE song_id = 50;
VACUUM ANALYZE songs, fingerprints;
SQL
echo "$app_dsn" >"$workdir/dsn"

# Dejavu's look-up of a batch of hashes, again and again, as the app does for each query.
lookups() {
  local i=0 hashes s
  while true; do
    i=$((i + 1))
    hashes=
    for s in $(seq 1 $((1 + i % 7))); do
      hashes+="${hashes:+, }substring(decode(md5('$(((i * 7 + s) % 49 + 1)):$((i % 200 + 1))'), 'hex') FROM 1 FOR 10)"
    done
    psql "$app_dsn" -qAt -c "SELECT upper(encode(hash, 'hex')), song_id, \"offset\" FROM fingerprints WHERE hash IN ($hashes)" >/dev/null
    sleep 0.3
  done
}
lookups &
bg_pids+=($!)

# --- A stand-in for the app's identify endpoint, for the probe ---------------------------
cat >"$workdir/app.py" <<'PY'
import http.server
class App(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Server-Timing", "decode;dur=12, fingerprint;dur=230, db;dur=41")
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"song_id": 1, "song_name": "song 1"}')
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), App)
print(server.server_address[1], flush=True)
server.serve_forever()
PY
/usr/bin/python3 "$workdir/app.py" >"$workdir/app.port" &
bg_pids+=($!)
for _ in $(seq 1 100); do
  [ -s "$workdir/app.port" ] && break
  sleep 0.05
done
app_port=$(cat "$workdir/app.port")
head -c 4096 /dev/urandom >"$workdir/probe.wav"

# --- The exporter: every collector on -----------------------------------------------------
AFP_PG_DSN_FILE="$workdir/dsn" start_exporter "$exporter" --pg.statements.include-query \
  --probe.url="http://127.0.0.1:$app_port/identify" --probe.audio-file="$workdir/probe.wav" \
  --probe.interval=1s --probe.timeout=5s
exporter_port=$port
instance="127.0.0.1:$exporter_port"

# The app's pipeline observations, a batch every 0.2 s (values vary, to fill the buckets).
push() {
  local i=0 r gen api db
  while true; do
    i=$((i + 1))
    r=$RANDOM
    gen=$((r % 6)).$((r % 1000))
    api=$((r % 9)).$((r % 997))
    db=0.0$((r % 90 + 10))
    curl -fsS -o /dev/null -X POST "http://$instance/api/v1/observations" \
      -H 'Content-Type: application/json' -d '{"observations": [
        {"metric": "fingerprint_generation", "seconds": '"$gen"'},
        {"metric": "api_request", "seconds": '"$api"',
         "labels": {"endpoint": "/identify", "method": "POST", "status": "200"}},
        {"metric": "api_request", "seconds": 0.0'"$((r % 9 + 1))"',
         "labels": {"endpoint": "/songs", "method": "GET", "status": "'"$((i % 10 ? 200 : 503))"'"}},
        {"metric": "db_query", "seconds": '"$db"', "labels": {"operation": "lookup"}},
        {"metric": "db_query", "seconds": 0.0'"$((r % 9 + 1))"', "labels": {"operation": "insert"}},
        {"metric": "identification", "labels": {"result": "'"$([ $((i % 3)) = 0 ] && echo no_match || echo match)"'"}},
        {"metric": "audio_processed", "seconds": 10.0},
        {"metric": "fingerprint_hashes", "count": 4919}]}' || true
    sleep 0.2
  done
}
push &
bg_pids+=($!)

# --- Prometheus with the shipped rules ---------------------------------------------------
rule_files=
for f in "$repo"/rules/*.yml; do
  [ -e "$f" ] && rule_files+="  - $f"$'\n'
done
cat >"$workdir/prometheus.yml" <<EOF
global:
  scrape_interval: ${scrape_interval}s
  scrape_timeout: ${scrape_interval}s
  evaluation_interval: ${scrape_interval}s
rule_files:
${rule_files:-  []}
scrape_configs:
  - job_name: afp
    static_configs:
      - targets: ['$instance']
EOF
prom_port=
for attempt in 1 2 3 4 5; do
  prom_port=$(free_port)
  "$prometheus" --config.file="$workdir/prometheus.yml" --storage.tsdb.path="$workdir/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$workdir/prometheus.log" 2>&1 &
  prom_pid=$!
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$prom_port/-/ready" 2>/dev/null && break 2
    kill -0 "$prom_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$prom_pid" 2>/dev/null || true
  wait "$prom_pid" 2>/dev/null || true
  prom_pid=
  [ "$attempt" = 5 ] && { echo "Prometheus did not start" >&2; cat "$workdir/prometheus.log" >&2; exit 1; }
done
bg_pids+=("$prom_pid")
api="http://127.0.0.1:$prom_port/api/v1"

# Rules that failed to load or evaluate would make their series silently missing.
rules_state=$(curl -fsS "$api/rules")
bad_rules=$(jq -r '[.data.groups[].rules[] | select(.health == "err")] | map(.name + ": " + .lastError) | .[]' <<<"$rules_state")
[ -z "$bad_rules" ] || { echo "rules failing: $bad_rules" >&2; exit 1; }
echo "Prometheus on 127.0.0.1:$prom_port with $(jq '[.data.groups[].rules[]] | length' <<<"$rules_state") rules; exporter on $instance"

# Wait for 10 scrapes, so every rate() window of $rate_interval holds several samples.
for _ in $(seq 1 120); do
  n=$(curl -fsS "$api/query" --data-urlencode "query=count_over_time(up{job=\"afp\"}[1m])" |
    jq -r '.data.result[0].value[1] // 0')
  [ "$n" -ge 10 ] && break
  sleep 0.5
done
[ "$n" -ge 10 ] || { echo "Prometheus scraped the exporter only $n times" >&2; exit 1; }

# --- Every panel target, variables substituted as Grafana does ---------------------------
# One JSON object per target: {uid, panel, ref, instant, expr} with the variables replaced by
# $values (an object from variable name to its text). "All" of a multi-value variable is its
# allValue; a textbox is its current value.
extract() {  # extract VALUES_JSON
  jq -c --argjson given "$1" --arg rate "$rate_interval" --arg interval "$interval" '
    (.time.from | capture("^now-(?<n>[0-9]+)(?<u>[smhdw])$")) as $r
    | (($r.n | tonumber) * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[$r.u]) as $range_s
    | ({"__rate_interval": $rate, "__interval": $interval,
        "__interval_ms": (($interval | rtrimstr("s") | tonumber) * 1000 | tostring),
        "__range": ($r.n + $r.u), "__range_s": ($range_s | tostring),
        "__range_ms": ($range_s * 1000 | tostring)}
       + ([.templating.list[] | select(.type == "textbox" or .type == "constant" or .type == "custom")
           | {(.name): (.current.value // .query)}] | add // {})
       + ([.templating.list[] | select(.type == "query") | {(.name): .allValue}] | add // {})
       + $given) as $vars
    | .uid as $uid
    | [.panels[] | ., (.panels // [])[]] | .[] | select(.type != "row") as $p
    | $p.targets[]
    | {uid: $uid, panel: $p.title, ref: .refId, instant: (.instant == true),
       expr: (.expr | gsub("\\$\\{?(?<v>[A-Za-z_][A-Za-z0-9_]*)\\}?"; ($vars[.v] // ("$" + .v))))}
  ' "$repo"/grafana/dashboards/*.json
}

# Grafana's Prometheus data source escapes a selected value of a multi-value variable for a
# regex inside a double-quoted PromQL string: every regex metacharacter gets "\\".
grafana_regex_escape() { sed -E 's/[][$^*+?.(){}|\\]/\\\\&/g' <<<"$1"; }

failures=0
queries=0
run_all() {  # run_all LABEL VALUES_JSON
  local label=$1 uid panel ref instant expr key result n kind now
  extract "$2" >"$workdir/queries"
  [ -s "$workdir/queries" ] || { echo "no panel queries found" >&2; exit 1; }
  # Fields separated by US (0x1f), which no title or expression contains.
  jq -r '[.uid, .panel, .ref, (.instant | tostring), .expr] | join("\u001f")' \
    "$workdir/queries" >"$workdir/fields"
  while IFS=$'\x1f' read -r uid panel ref instant expr; do
    key="$uid|$panel|$ref"
    if grep -q '\$' <<<"$expr"; then
      echo "FAIL [$label] $key: variable left after substitution: $expr" >&2
      failures=$((failures + 1))
      continue
    fi
    kinds=(query)
    [ "$instant" = true ] || kinds+=(query_range)
    for kind in "${kinds[@]}"; do
      queries=$((queries + 1))
      now=$(date +%s)
      if [ "$kind" = query ]; then
        result=$(curl -sS "$api/query" --data-urlencode "query=$expr" --data-urlencode "time=$now")
      else
        result=$(curl -sS "$api/query_range" --data-urlencode "query=$expr" \
          --data-urlencode "start=$((now - 20))" --data-urlencode "end=$now" --data-urlencode "step=2")
      fi
      n=$(jq -r --arg want "${required_label[$key]:-}" '
        if .status != "success" then "error: " + (.error // tostring)
        elif $want != "" and (.data.result | length) > 0
             and any(.data.result[]; .metric[$want] == null) then "error: a series without label " + $want
        else .data.result | length end' <<<"$result")
      if [ "${n#error: }" != "$n" ]; then
        echo "FAIL [$label] $key ($kind): $n" >&2
        echo "     $expr" >&2
        failures=$((failures + 1))
      elif [ "$n" -eq 0 ]; then
        if [ -n "${allowed_empty[$key]:-}" ]; then
          echo "ok   [$label] $key ($kind): empty, allowed: ${allowed_empty[$key]}"
        else
          echo "FAIL [$label] $key ($kind): no series" >&2
          echo "     $expr" >&2
          failures=$((failures + 1))
        fi
      else
        echo "ok   [$label] $key ($kind): $n series"
      fi
    done
  done <"$workdir/fields"
}

# The recording rules over 5-minute windows need two evaluations with data; give the
# slowest of them (statement means from pg_stat_statements) a few more seconds.
for _ in $(seq 1 40); do
  n=$(curl -fsS "$api/query" --data-urlencode 'query=instance_queryid:pg_stat_statements_seconds:mean5m' |
    jq '.data.result | length')
  [ "$n" -gt 0 ] && break
  sleep 0.5
done

run_all "all" '{}'
run_all "one" "$(jq -cn --arg job "$(grafana_regex_escape afp)" \
  --arg instance "$(grafana_regex_escape "$instance")" '{job: $job, instance: $instance}')"

# An allow-list entry that names no query has gone stale: the panel was renamed or removed.
for key in "${!allowed_empty[@]}"; do
  if ! jq -se --arg uid "${key%%|*}" --arg rest "${key#*|}" \
      'any(.[]; .uid == $uid and (.panel + "|" + .ref) == $rest)' "$workdir/queries" >/dev/null; then
    echo "FAIL allow-list entry matches no panel target: $key" >&2
    failures=$((failures + 1))
  fi
done

echo "$queries queries against Prometheus, $failures failed"
[ "$failures" -eq 0 ]
