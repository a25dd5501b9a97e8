# Sourced by the alert delivery tests: starts the exporter, the sinks, Prometheus and
# Alertmanagers on 127.0.0.1 (ports the kernel picks), all in one temporary directory, and
# stops every process it started (by pid) and removes the directory when the script exits.
# On failure the tail of every log is printed.

set -euo pipefail
alerting_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$alerting_dir/../../.." && pwd)
py=/usr/bin/python3  # Debian's, with python3-yaml and python3-aiosmtpd
# free_port, wait_until, spawn (logs in $tmp/NAME.log), stop_spawned; $pids.
source "$repo_dir/scripts/lib/proc.sh"
tmp=$(mktemp -d)
spawn_dir=$tmp
am_ports=()

cleanup() {
  local rc=$? log port
  if [ "$rc" -ne 0 ]; then
    if [ -n "${prometheus_port:-}" ]; then
      echo "----- Prometheus alerts" >&2
      curl -sS --max-time 2 "http://127.0.0.1:$prometheus_port/api/v1/alerts" >&2 || true
      echo >&2
    fi
    for port in "${am_ports[@]}"; do
      echo "----- Alertmanager 127.0.0.1:$port alerts" >&2
      curl -sS --max-time 2 "http://127.0.0.1:$port/api/v2/alerts" >&2 || true
      echo >&2
    done
  fi
  stop_spawned
  if [ "$rc" -ne 0 ]; then
    for log in "$tmp"/*.log; do
      [ -f "$log" ] || continue
      echo "----- last lines of $(basename "$log")" >&2
      tail -n "${AFP_E2E_LOG_LINES:-25}" "$log" >&2
    done
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT

step() { printf '[%s] %s\n' "$(date +%T)" "$*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

http_ok() { curl -fsS -o /dev/null --max-time 2 "$1"; }

# start_exporter EXPORTER: only the pipeline collector, so that only the alerts a test
# provokes can fire. Batches of up to 20,000 observations: a step that changes a p95 (or
# resolves an alert) lands in one request, never half of it in a rule evaluation, so the
# values the messages quote are exact. Sets $exporter_port.
start_exporter() {
  spawn exporter "$1" --web.listen-address=127.0.0.1:0 --collector.disable-defaults --collector.pipeline \
    --ingest.max-batch-items=20000 --ingest.max-body-bytes=4194304
  wait_until 10 "the exporter to listen" grep -q 'msg=listening' "$tmp/exporter.log"
  exporter_port=$(sed -n 's/.*msg=listening .*port=\([0-9]*\).*/\1/p' "$tmp/exporter.log" | head -n1)
  [ -n "$exporter_port" ] || fail "no port in the exporter's log"
}

# start_sinks: the SMTP (STARTTLS + AUTH) and Slack stand-ins. Sets $smtp_port,
# $http_port, $inbox, $smtp_password, $webhook_token and $tmp/ca.pem (the sink's self-signed certificate,
# which Alertmanager trusts through SSL_CERT_FILE).
start_sinks() {
  inbox=$tmp/inbox
  mkdir -p "$inbox"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$tmp/sink.key" -out "$tmp/ca.pem" \
    >"$tmp/openssl.log" 2>&1 || fail "openssl could not make the sink's certificate"
  smtp_password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
  webhook_token=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')  # the webhooks' credentials_file
  # The user the shipped configuration authenticates as.
  smtp_user=$(sed -n 's/^ *smtp_auth_username: *//p' "$repo_dir/alertmanager/alertmanager.yml" | tr -d "\"'")
  spawn sinks "$py" "$alerting_dir/sinks.py" "$inbox" "$tmp/ca.pem" "$tmp/sink.key" \
    "$smtp_user" "$smtp_password"
  wait_until 15 "the sinks to listen" test -f "$inbox/ports"
  smtp_port=$(sed -n 's/.*smtp=\([0-9]*\).*/\1/p' "$inbox/ports")
  http_port=$(sed -n 's/.*http=\([0-9]*\).*/\1/p' "$inbox/ports")
}

# derive: the test copies of the shipped rules and alertmanager.yml (derive.py); the
# webhook receivers post to the HTTP sink at /webhook/<receiver>, with $webhook_token.
derive() {
  "$py" "$alerting_dir/derive.py" --rules-dir "$repo_dir/rules" \
    --alertmanager "$repo_dir/alertmanager/alertmanager.yml" --out "$tmp/derived" \
    --smtp "127.0.0.1:$smtp_port" --slack-url "http://127.0.0.1:$http_port/slack" \
    --smtp-password "$smtp_password" --webhook-token "$webhook_token" --for 2s \
    --keep-firing-for 2s --group-wait 1s --group-interval 2s
}

# start_alertmanager NAME PORT [FLAGS...]
start_alertmanager() {
  local name=$1 port=$2
  shift 2
  mkdir -p "$tmp/$name"
  spawn "$name" env SSL_CERT_FILE="$tmp/ca.pem" "$alertmanager" \
    --config.file="$tmp/derived/alertmanager.yml" --storage.path="$tmp/$name" \
    --web.listen-address="127.0.0.1:$port" "$@"
  wait_until 20 "$name to be ready" http_ok "http://127.0.0.1:$port/-/ready"
  am_ports+=("$port")
}

# start_prometheus PORT ALERTMANAGER_PORT...: scrapes the exporter and evaluates the
# derived rules every second, and sends alerts to the given Alertmanagers.
start_prometheus() {
  local port=$1 targets="" am
  shift
  for am in "$@"; do targets+="'127.0.0.1:$am', "; done
  cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $tmp/derived/rules/*.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: [${targets%, }]
scrape_configs:
  - job_name: afp
    static_configs:
      - targets: ['127.0.0.1:$exporter_port']
EOF
  mkdir -p "$tmp/prometheus"
  spawn prometheus "$prometheus" --config.file="$tmp/prometheus.yml" \
    --storage.tsdb.path="$tmp/prometheus" --web.listen-address="127.0.0.1:$port"
  wait_until 30 "Prometheus to be ready" http_ok "http://127.0.0.1:$port/-/ready"
  prometheus_port=$port
  # Two scrapes with the histogram, so rate() has something to work on.
  wait_until 30 "Prometheus to scrape the exporter" prom_has \
    'count_over_time(afp_fingerprint_generation_seconds_count[1m]) >= 2'
}

# prom_has EXPR: the instant query returns at least one series.
prom_has() {
  local answer
  answer=$(curl -fsS --max-time 2 "http://127.0.0.1:$prometheus_port/api/v1/query" \
    --data-urlencode "query=$1") && [[ $answer == *'"result":[{'* ]]
}

# push N SECONDS: N fingerprint_generation observations of SECONDS each, in batches of
# at most 20,000 (the batch limit start_exporter sets).
push() {
  local n=$1 seconds=$2 batch
  while ((n > 0)); do
    batch=$((n > 20000 ? 20000 : n))
    "$py" -c 'import json, sys; n, s = int(sys.argv[1]), float(sys.argv[2]); print(json.dumps({"observations": [{"metric": "fingerprint_generation", "seconds": s}] * n}))' \
      "$batch" "$seconds" >"$tmp/batch.json"
    curl -fsS --max-time 10 -H 'Content-Type: application/json' --data-binary "@$tmp/batch.json" \
      "http://127.0.0.1:$exporter_port/api/v1/observations" >/dev/null ||
      fail "the exporter refused the observations"
    n=$((n - batch))
  done
}

# prom_annotation ALERTNAME SEVERITY KEY: annotation KEY of the firing alert in Prometheus
# (empty when the rule has none). The delivery tests read the links from here rather than
# hard-coding them, so they hold whatever the rules carry (relative paths before the mixin,
# absolute runbook_url / dashboard_url after).
prom_annotation() {
  curl -fsS --max-time 2 "http://127.0.0.1:$prometheus_port/api/v1/alerts" |
    "$py" -c 'import json, sys
name, severity, key = sys.argv[1:]
alerts = [a for a in json.load(sys.stdin)["data"]["alerts"]
          if a["labels"].get("alertname") == name and a["labels"].get("severity") == severity]
print(alerts[0]["annotations"].get(key, "") if alerts else "")' "$@"
}

# shown FORMAT KIND URL: how alertmanager/templates/afp.tmpl ("afp.link") shows a link
# annotation: "-" when missing, a link when absolute, the text as it is otherwise.
shown() {
  local format=$1 kind=$2 url=$3
  if [ -z "$url" ]; then
    echo "-"
  elif [[ $url =~ ^https?:// ]]; then
    case $format in
      html) echo "<a href=\"$url\">$url</a>" ;;
      slack) echo "<$url|$kind>" ;;
      *) echo "$url" ;;
    esac
  else
    echo "$url"
  fi
}

# count mail|slack|webhook [inbox.py filters...]
count() { "$py" "$alerting_dir/inbox.py" "$inbox" "$@"; }
show() { "$py" "$alerting_dir/inbox.py" "$inbox" "$@" --print; }
arrived() { [ "$(count "$@")" -ge 1 ]; }

# expect_count N mail|slack|webhook [filters...]
expect_count() {
  local want=$1 got
  shift
  got=$(count "$@")
  if [ "$got" != "$want" ]; then
    echo "FAIL: $want message(s) expected, $got arrived: $*" >&2
    echo "Everything that arrived:" >&2
    show mail >&2
    show slack >&2
    exit 1
  fi
  echo "ok   $want x $*"
}
