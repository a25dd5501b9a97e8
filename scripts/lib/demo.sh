# Sourced by scripts/demo (which sets repo_dir): starts, supervises, breaks and stops the
# demo's processes. Everything lives in one temporary directory and is gone after Ctrl-C.

py=/usr/bin/python3 # Debian's, with python3-yaml and python3-aiosmtpd
alerting_dir=$repo_dir/tests/e2e/alerting
pg_cluster=$repo_dir/tests/integration/pg_cluster.sh
fault_role=afp_faults
state_file=${AFP_DEMO_STATE:-${TMPDIR:-/tmp}/afp-demo-$(id -u).state}
build_dir=${BUILD_DIR:-$repo_dir/build}

exporter_port=${AFP_DEMO_EXPORTER_PORT:-9793}
prometheus_port=${AFP_DEMO_PROMETHEUS_PORT:-9090}
alertmanager_port=${AFP_DEMO_ALERTMANAGER_PORT:-9093}
workload_port=${AFP_DEMO_WORKLOAD_PORT:-8080}
songs=${AFP_DEMO_SONGS:-300}
rate=${AFP_DEMO_RATE:-2}
report=${AFP_DEMO_REPORT:-http}
interval=${AFP_DEMO_INTERVAL:-5s}
alert_for=${AFP_DEMO_FOR:-6m}
time_scale=${AFP_DEMO_SCALE:-0.1}
probe_interval=${AFP_DEMO_PROBE_INTERVAL:-15s}
group_wait=${AFP_DEMO_GROUP_WAIT:-10s}
group_interval=${AFP_DEMO_GROUP_INTERVAL:-30s}

# free_port, wait_until, spawn, stop_spawned; the processes in pids, their names in names.
source "$repo_dir/scripts/lib/proc.sh"
proc_name=demo

demo_die() {
  echo "demo: $*" >&2
  exit 2
}
say() { printf '[demo %s] %s\n' "$(date +%T)" "$*"; }

# The faults the demo itself breaks (the others are afp_workload's).
demo_own_faults="db-down exporter-down disk-full"
fault_usage="slow-fingerprint[=SECONDS] slow-api[=SECONDS] drop-index db-stall[=SECONDS] db-down dead-rows[=RATIO] stale-stats[=RATIO] exporter-down errors[=RATIO] cpu[=THREADS] memory[=RATIO] disk-full probe-unreachable clear[=NAME]"

demo_check_fault() {
  local name=${1%%=*}
  case "$name" in
    slow-fingerprint | slow-api | drop-index | db-stall | db-down | dead-rows | stale-stats | \
      exporter-down | errors | cpu | memory | disk-full | probe-unreachable | clear) ;;
    *) demo_die "unknown fault '$1': $fault_usage" ;;
  esac
  if [[ " $demo_own_faults " == *" $name "* ]] && [ "$1" != "$name" ]; then
    demo_die "$name takes no value"
  fi
  if [ "$1" = disk-full ] && [ "$(id -u)" != 0 ]; then
    demo_die "disk-full mounts a small tmpfs for the exporter to watch: run the demo as root"
  fi
  return 0
}

demo_build() {
  exporter_bin=$build_dir/exporter/afp_exporter
  workload_bin=$build_dir/workload/afp_workload
  if [ "${AFP_DEMO_NO_BUILD:-0}" != 1 ]; then
    cmake -S "$repo_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$build_dir" -j"$(nproc)" --target afp_exporter afp_workload
  fi
  [ -x "$exporter_bin" ] && [ -x "$workload_bin" ] ||
    demo_die "afp_exporter or afp_workload is not built in $build_dir"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

demo_check_ports() {
  if [ -f "$state_file" ] && kill -0 "$(sed -n 's/^demo_pid=//p' "$state_file")" 2>/dev/null; then
    demo_die "a demo is already running (see $state_file); stop it with Ctrl-C first"
  fi
  local entry name port var
  for entry in "exporter:$exporter_port:EXPORTER" "Prometheus:$prometheus_port:PROMETHEUS" \
    "Alertmanager:$alertmanager_port:ALERTMANAGER" "afp_workload:$workload_port:WORKLOAD"; do
    IFS=: read -r name port var <<<"$entry"
    if port_busy "$port"; then
      demo_die "port $port (for $name) on 127.0.0.1 is busy: stop what listens there, or pick another with AFP_DEMO_${var}_PORT=N"
    fi
  done
}

# demo_spawn NAME COMMAND...: spawn, with the pid in the state file for `scripts/demo stop`.
demo_spawn() {
  spawn "$@"
  echo "pid_$1=$spawned_pid" >>"$state_file"
}

http_ok() { curl -fsS -o /dev/null --max-time 2 "$1"; }

demo_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if ((rc != 0 && rc != 130 && rc != 143)) && [ -n "${dir:-}" ]; then
    for log in "$dir"/*.log; do
      [ -f "$log" ] || continue
      echo "----- last lines of $(basename "$log")" >&2
      tail -n 15 "$log" >&2
    done
  fi
  say "stopping everything"
  stop_spawned
  [ -n "${dir:-}" ] && "$pg_cluster" stop "$dir/pg" >/dev/null 2>&1 || true
  [ -n "${dir:-}" ] && mountpoint -q "$dir/disk" 2>/dev/null && umount "$dir/disk"
  rm -f "$state_file"
  [ -n "${dir:-}" ] && rm -rf "$dir"
  say "stopped; nothing left behind"
  exit "$rc"
}

start_postgres() {
  say "PostgreSQL: a temporary cluster with pg_stat_statements"
  "$pg_cluster" start "$dir/pg" >"$dir/postgres.log" 2>&1 ||
    { cat "$dir/postgres.log" >&2; exit 1; }
  pg_port=$(cat "$dir/pg/port")
  echo "pg_dir=$dir/pg" >>"$state_file"
  # The workload's faults run as a role of their own (a member of the app's role "afp",
  # so it may drop its index and lock its tables): the exporter leaves that role's
  # statements out of the app's (--pg.statements.exclude-users).
  local password
  password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
  psql "$(cat "$dir/pg/admin_dsn")" -qAt -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE $fault_role LOGIN PASSWORD '$password' IN ROLE afp" >>"$dir/postgres.log" 2>&1 ||
    demo_die "could not create the role $fault_role (see $dir/postgres.log)"
  sed "s#://afp:[^@]*@#://$fault_role:$password@#" "$dir/pg/dsn" >"$dir/pg/fault_dsn"
  chmod 600 "$dir/pg/fault_dsn"
}

start_sinks() {
  say "sinks: SMTP (STARTTLS + AUTH) and webhook, printing what they receive"
  mkdir -p "$dir/inbox"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$dir/sink.key" -out "$dir/ca.pem" \
    >"$dir/openssl.log" 2>&1 || demo_die "openssl could not make the sinks' certificate"
  smtp_password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
  local user
  user=$(sed -n 's/^ *smtp_auth_username: *//p' "$repo_dir/alertmanager/alertmanager.yml" | tr -d "\"'")
  # Its stdout is this terminal: each message is printed as it arrives.
  AFP_SINK_ECHO=1 "$py" "$alerting_dir/sinks.py" "$dir/inbox" "$dir/ca.pem" "$dir/sink.key" \
    "$user" "$smtp_password" 2>"$dir/sinks.log" &
  names+=(sinks)
  pids+=($!)
  echo "pid_sinks=$!" >>"$state_file"
  wait_until 15 "the sinks to listen" test -f "$dir/inbox/ports"
  smtp_port=$(sed -n 's/.*smtp=\([0-9]*\).*/\1/p' "$dir/inbox/ports")
  webhook_port=$(sed -n 's/.*http=\([0-9]*\).*/\1/p' "$dir/inbox/ports")
}

derive_configs() {
  "$py" "$alerting_dir/derive.py" --rules-dir "$repo_dir/rules" \
    --alertmanager "$repo_dir/alertmanager/alertmanager.yml" --out "$dir/derived" \
    --smtp "127.0.0.1:$smtp_port" --slack-url "http://127.0.0.1:$webhook_port/slack" \
    --smtp-password "$smtp_password" --scale "$time_scale" --for "$alert_for" \
    --min-window "$((4 * ${interval%s}))s" \
    --group-wait "$group_wait" --group-interval "$group_interval" \
    --timings "$dir/derived/timings.txt" >"$dir/derive.log"
  "$py" "$alerting_dir/derive_prometheus.py" "$repo_dir/deploy/prometheus.yml" \
    "$dir/derived/prometheus.yml" --rules "$dir/derived/rules/*.yml" \
    --alertmanager "127.0.0.1:$alertmanager_port" --interval "$interval" \
    --target "afp=127.0.0.1:$exporter_port" --target "prometheus=127.0.0.1:$prometheus_port" \
    --target "alertmanager=127.0.0.1:$alertmanager_port" >>"$dir/derive.log"
}

start_alertmanager() {
  say "Alertmanager: the shipped routes, delivering to the sinks"
  mkdir -p "$dir/alertmanager"
  demo_spawn alertmanager env SSL_CERT_FILE="$dir/ca.pem" prometheus-alertmanager \
    --config.file="$dir/derived/alertmanager.yml" --storage.path="$dir/alertmanager" \
    --web.listen-address="127.0.0.1:$alertmanager_port" --cluster.listen-address= \
    --web.external-url="http://127.0.0.1:$alertmanager_port/"
  wait_until 30 "Alertmanager" http_ok "http://127.0.0.1:$alertmanager_port/-/ready"
}

# start_exporter: also after `fault exporter-down` is cleared, with the same flags.
start_exporter() {
  local statsd=()
  [ "$report" = statsd ] && statsd=(--statsd.listen-address="127.0.0.1:$statsd_port")
  demo_spawn exporter env AFP_PG_DSN_FILE="$dir/pg/dsn" AFP_INGEST_TOKEN_FILE="$dir/ingest_token" \
    "$exporter_bin" --web.listen-address="127.0.0.1:$exporter_port" \
    --pg.statements.include-query --pg.statements.exclude-users="$fault_role" "${statsd[@]}" \
    --probe.url="http://127.0.0.1:$probe_port/identify" --probe.audio-file="$dir/probe.wav" \
    --probe.interval="$probe_interval" --probe.timeout=10s
  wait_until 30 "afp_exporter" http_ok "http://127.0.0.1:$exporter_port/-/healthy"
}

start_exporter_and_workload() {
  head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/ingest_token"
  chmod 600 "$dir/ingest_token"
  local push=(--report "http://127.0.0.1:$exporter_port")
  if [ "$report" = statsd ]; then
    statsd_port=$(free_port)
    push=(--report "statsd://127.0.0.1:$statsd_port")
  elif [ "$report" != http ]; then
    demo_die "AFP_DEMO_REPORT=$report: http or statsd"
  fi
  # The probe comes in through a port of its own, as through a public ingress, so that
  # `fault probe-unreachable` can close it while the app keeps serving.
  probe_port=$(free_port)
  echo "probe_port=$probe_port" >>"$state_file"
  # The probe's reference audio: 5 seconds from the middle of song 1, as the clients send.
  "$workload_bin" synth --seed 1 --start 10 --clip-seconds 5 --out "$dir/probe.wav" >/dev/null
  say "afp_exporter: every collector, PostgreSQL, ingest ($report), a probe of the service"
  start_exporter
  say "afp_workload: ingesting $songs synthetic songs, identifying $rate clips/s"
  demo_spawn workload env AFP_PG_DSN_FILE="$dir/pg/dsn" AFP_FAULT_PG_DSN_FILE="$dir/pg/fault_dsn" \
    AFP_INGEST_TOKEN_FILE="$dir/ingest_token" \
    "$workload_bin" serve --listen "127.0.0.1:$workload_port" \
    --probe-listen "127.0.0.1:$probe_port" "${push[@]}" --songs "$songs" --rate "$rate"
  wait_until 60 "afp_workload" http_ok "http://127.0.0.1:$workload_port/healthz"
}

start_prometheus() {
  say "Prometheus: deploy/prometheus.yml and rules/, demo timings"
  mkdir -p "$dir/prometheus"
  demo_spawn prometheus prometheus --config.file="$dir/derived/prometheus.yml" \
    --storage.tsdb.path="$dir/prometheus" --web.listen-address="127.0.0.1:$prometheus_port" \
    --web.external-url="http://127.0.0.1:$prometheus_port/"
  wait_until 30 "Prometheus" http_ok "http://127.0.0.1:$prometheus_port/-/ready"
}

demo_start() {
  dir=$(mktemp -d "${TMPDIR:-/tmp}/afp-demo.XXXXXX")
  chmod 755 "$dir"
  spawn_dir=$dir
  trap demo_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  cat >"$state_file" <<EOF
demo_pid=$$
dir=$dir
exporter_bin=$exporter_bin
workload_bin=$workload_bin
exporter_port=$exporter_port
workload_port=$workload_port
time_scale=$time_scale
EOF
  start_postgres
  start_sinks
  derive_configs
  start_alertmanager
  start_exporter_and_workload
  start_prometheus
  local spec
  for spec in "$@"; do apply_fault "$spec"; done
  banner
}

banner() {
  cat <<EOF

afp demo is up on 127.0.0.1 (Ctrl-C stops everything and removes $dir)
  afp_exporter   http://127.0.0.1:$exporter_port/          metrics: /metrics
  Prometheus     http://127.0.0.1:$prometheus_port/alerts    targets: /targets
  Alertmanager   http://127.0.0.1:$alertmanager_port/
  afp_workload   http://127.0.0.1:$workload_port/          POST /identify, GET /stats
  PostgreSQL     127.0.0.1:$pg_port, database fingerprints (DSN in $dir/pg/dsn)
  quick look     scripts/demo status
Messages: email and webhook (Slack) notifications are printed here as they arrive, and kept
  as JSON in $dir/inbox/.
Grafana: add a Prometheus data source at http://127.0.0.1:$prometheus_port and import
  grafana/dashboards/*.json, or provision them: grafana/provisioning/ (README "Grafana").
Break it, in another terminal: scripts/demo fault SPEC, one of
  $fault_usage
  (README, "Faults and what they page"); mend it: scripts/demo fault clear
EOF
  demo_changes
  say "ready"
}

# What the demo's copies in $dir/derived/ change of what ships, from derive_configs' log and
# timings: every changed file and rule timing, and nothing else.
demo_changes() {
  cat <<EOF
This demo runs copies of the shipped rules, routes and Prometheus configuration
  ($dir/derived/), changed as follows and in nothing else:
$(awk '!seen[$0]++ { sub(/^derived:? */, "  "); print }' "$dir/derive.log")
Rule timings are shortened, the shipped durations times $time_scale: every 'for',
  'keep_firing_for' and range of 15 minutes or less (ranges at least $((4 * ${interval%s}))s, 'for'
  at most $alert_for); longer ranges and offsets kept (AfpFilesystemFillingUp still wants an
  hour of history). Shipped -> this demo:
$(sed 's/^/  /' "$dir/derived/timings.txt")
EOF
}

# Also restarts the exporter once `fault clear` has removed the exporter-down mark.
demo_wait() {
  local i
  while sleep 1; do
    for i in "${!pids[@]}"; do
      kill -0 "${pids[$i]}" 2>/dev/null && continue
      if [ "${names[$i]}" = exporter ]; then
        [ -f "$dir/exporter-down" ] && continue
        wait "${pids[$i]}" 2>/dev/null || true
        say "restarting afp_exporter"
        start_exporter
        continue
      fi
      echo "demo: ${names[$i]} exited unexpectedly" >&2
      exit 1
    done
  done
}

exporter_pid() { sed -n 's/^pid_exporter=//p' "$state_file" | tail -n 1; }

# The demo's own faults: break_NAME and mend_NAME (mend only if broken).
break_db-down() {
  say "fault: stopping PostgreSQL (expect AfpPostgresDown)"
  "$pg_cluster" pause "$dir/pg"
}
mend_db-down() {
  "$pg_cluster" resume "$dir/pg"
  say "PostgreSQL is back"
}
break_exporter-down() {
  say "fault: killing afp_exporter (expect AfpExporterDown); clear starts it again"
  kill "$(exporter_pid)"
}
mend_exporter-down() {
  wait_until 30 "afp_exporter to be restarted" http_ok "http://127.0.0.1:$exporter_port/-/healthy"
  say "afp_exporter is back"
}
# A 64 MiB tmpfs, which the exporter's filesystem collector reports like any other mount,
# filled to 97% (expect AfpFilesystemUsed critical).
break_disk-full() {
  say "fault: mounting a 64 MiB tmpfs on $dir/disk and filling it to 97%"
  mkdir -p "$dir/disk"
  mount -t tmpfs -o size=64m,mode=0755 afp-demo-disk "$dir/disk"
  head -c $((64 * 1024 * 1024 * 97 / 100)) /dev/zero >"$dir/disk/fill"
}
mend_disk-full() {
  umount "$dir/disk"
  say "the full filesystem is gone"
}

# apply_fault SPEC, inside the demo or from `scripts/demo fault` (state read from the file).
apply_fault() {
  local spec=$1 url="http://127.0.0.1:$workload_port" name
  demo_check_fault "$spec"
  if [[ " $demo_own_faults " == *" $spec "* ]]; then
    [ -f "$dir/$spec" ] && return
    touch "$dir/$spec"
    "break_$spec"
    return
  fi
  if [ "$spec" = clear ] || [[ " $demo_own_faults " == *" ${spec#clear=} "* ]]; then
    for name in $demo_own_faults; do
      [ "$spec" = clear ] || [ "$spec" = "clear=$name" ] || continue
      [ -f "$dir/$name" ] || continue
      rm -f "$dir/$name"
      "mend_$name"
    done
    [ "$spec" = clear ] || return 0
  fi
  say "fault: $spec"
  "$workload_bin" fault --url "$url" "$spec"
}

load_state() {
  [ -f "$state_file" ] || demo_die "no demo is running (no $state_file); start one with scripts/demo"
  local demo_pid
  demo_pid=$(sed -n 's/^demo_pid=//p' "$state_file")
  kill -0 "$demo_pid" 2>/dev/null || demo_die "the demo recorded in $state_file is not running"
  eval "$(grep -E '^(dir|exporter_bin|workload_bin|exporter_port|workload_port|time_scale)=' "$state_file")"
}

demo_fault() {
  (($#)) || demo_die "usage: scripts/demo fault SPEC... (e.g. drop-index, clear)"
  local spec
  for spec in "$@"; do demo_check_fault "$spec"; done
  load_state
  for spec in "$@"; do apply_fault "$spec"; done
}

# status waits as long after PostgreSQL's start to judge its cache as the demo's shortened
# AfpPostgresCacheHitLow does: 15 minutes times the scale.
demo_status() {
  load_state
  "$exporter_bin" status --url "http://127.0.0.1:$exporter_port/metrics" \
    --pg.cache-settle "$(awk -v scale="$time_scale" 'BEGIN { printf "%ds", int(900 * scale + 0.999) }')"
}
