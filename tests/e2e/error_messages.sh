#!/usr/bin/env bash
# Bad inputs and the exact words the operator reads about them, from the real binary: each
# row gives the input, the exit code or HTTP status ("-" where there is neither: a counter
# or a log line of a running exporter) and the message line, word for word. An error must
# say what was wrong and what to do, on one line, and never show a secret.
#
#   error_messages.sh EXPORTER PG_CLUSTER_DIR
#
# PG_CLUSTER_DIR is the test cluster of tests/integration/pg_cluster.sh (CTest fixture "pg").
# Two rows restart it without pg_stat_statements preloaded; it gets it back on exit.
set -euo pipefail
exporter=$(realpath "$1")
cluster=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
unset AFP_PG_DSN AFP_PG_DSN_FILE DATA_SOURCE_NAME DATA_SOURCE_URI DATA_SOURCE_URI_FILE \
  DATA_SOURCE_USER DATA_SOURCE_USER_FILE DATA_SOURCE_PASS DATA_SOURCE_PASS_FILE \
  AFP_INGEST_TOKEN AFP_INGEST_TOKEN_FILE PGDATABASE PGUSER PGSERVICE

workdir=$(mktemp -d)
# The mode-000 file, alone in a directory others may enter: root reads any file, so as root
# the rows that need it run the exporter as nobody (setpriv), who gets the file's own EACCES.
opendir=$(mktemp -d)
chmod 0711 "$opendir"
runner=()
pids=()
preload_removed=
admin_dsn=$(cat "$cluster/admin_dsn")  # postgresql://postgres:PASS@127.0.0.1:PORT/fingerprints
dsn=$(cat "$cluster/dsn")              # postgresql://afp:PASS@127.0.0.1:PORT/fingerprints
server=${dsn#*@}
server=${server%/*}
pg_port=${server#*:}
password=${dsn#postgresql://afp:}
password=${password%%@*}
noext_db=afp_errors_noext_$$

admin_sql() {  # admin_sql DATABASE SQL
  psql "${admin_dsn%/*}/$1" -qAt -v ON_ERROR_STOP=1 -c "$2" >/dev/null
}
restart_cluster() {
  "$here/../integration/pg_cluster.sh" pause "$cluster"
  "$here/../integration/pg_cluster.sh" resume "$cluster"
}
cleanup() {
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
  done
  if [ -n "$preload_removed" ]; then
    admin_sql postgres "ALTER SYSTEM RESET shared_preload_libraries" && restart_cluster
  fi
  admin_sql postgres "DROP DATABASE IF EXISTS $noext_db WITH (FORCE)" || true
  rm -rf "$workdir" "$opendir"
}
trap cleanup EXIT

# --- how an input is given; each sets got_status and got_line ---------------------------

split_env() {  # VAR=value... -- FLAG...: env=(VAR=value...) flags=(FLAG...)
  env=()
  while [ "$1" != "--" ]; do
    env+=("$1")
    shift
  done
  shift
  flags=("$@")
}

# exits [VAR=value...] -- [FLAG...]: the exporter run to its end; stderr is the line.
exits() {
  split_env "$@"
  set +e
  "${runner[@]}" env "${env[@]}" timeout 10 "$exporter" "${flags[@]}" </dev/null >/dev/null \
    2>"$workdir/stderr"
  got_status=$?
  set -e
  got_line=$(cat "$workdir/stderr")  # a second line would show, and fail the row
}

# serve NAME [VAR=value...] -- [FLAG...]: the exporter in the background, its JSON log in
# $workdir/NAME.log; returns once it listens, with its port in $port.
serve() {
  local name=$1
  shift
  split_env "$@"
  env "${env[@]}" "$exporter" --log.format=json --web.listen-address=127.0.0.1:0 "${flags[@]}" \
    </dev/null 2>"$workdir/$name.log" &
  pids+=($!)
  for _ in $(seq 1 400); do
    port=$(logged "$name" listening port)
    [ -n "$port" ] && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.05
  done
  echo "the exporter $name did not start:" >&2
  cat "$workdir/$name.log" >&2
  exit 1
}

# logged NAME MSG FIELD [COLLECTOR]: FIELD of the first record MSG (of COLLECTOR) in NAME's log.
logged() {
  jq -r --arg m "$2" --arg f "$3" --arg c "${4:-}" \
    'select(.msg == $m and ($c == "" or .collector == $c)) | .[$f]' \
    "$workdir/$1.log" 2>/dev/null | head -n1
}

# http_answer URL: the status and body of a plain-HTTP GET.
http_answer() {
  got_status=$(curl -s -o "$workdir/body" -w '%{http_code}' --max-time 10 "$1" || true)
  got_line=$(cat "$workdir/body" 2>/dev/null || true)
}

# statsd_verdict WEB_PORT STATSD_PORT LINE: the counter that LINE moved.
statsd_verdict() {
  printf '%s' "$3" >"/dev/udp/127.0.0.1/$2"
  got_status=-
  got_line=
  for _ in $(seq 1 100); do
    got_line=$(curl -fsS "http://127.0.0.1:$1/metrics" |
      grep -E '^afp_ingest_(rejected_total\{transport="statsd"|observations_total\{transport="statsd"\}).* [1-9]' ||
      true)
    [ -n "$got_line" ] && return 0
    sleep 0.05
  done
}

# pg_log_err NAME MSG COLLECTOR [VAR=value...] -- [FLAG...]: an exporter started with the
# given DSN and scraped; the err of its first log record MSG (of COLLECTOR, if not "").
pg_log_err() {
  local name=$1 msg=$2 collector=$3
  shift 3
  serve "$name" "$@"
  curl -fsS "http://127.0.0.1:$port/metrics" >/dev/null
  got_status=-
  got_line=
  for _ in $(seq 1 200); do
    got_line=$(logged "$name" "$msg" err "$collector")
    [ -n "$got_line" ] && return 0
    sleep 0.05
  done
}

# --- the table ------------------------------------------------------------------------

failures=0
# row WHAT STATUS MESSAGE PROBE [ARG...]
row() {
  local what=$1 want_status=$2 want_line=$3
  shift 3
  "$@"
  if [ "$got_status" = "$want_status" ] && [ "$got_line" = "$want_line" ]; then
    printf 'ok    %-44s %-3s %s\n' "$what" "$want_status" "$want_line"
  else
    printf 'FAIL  %-44s\n      want: %s %s\n      got:  %s %s\n' "$what" "$want_status" \
      "$want_line" "$got_status" "$got_line"
    failures=$((failures + 1))
  fi
}

# Inputs the rows use.
mkdir "$workdir/dir"
printf '{\n  "log.level": "info"\n  "log.format": "json"\n}\n' >"$workdir/syntax.json"
printf '{"log.level": "info", "log.level": "debug"}\n' >"$workdir/twice.json"
printf '{"log.level": "info"}\n' >"$opendir/unreadable.json"
chmod 000 "$opendir/unreadable.json"
unreadable_runner=()
unreadable_exporter=$exporter
if [ "$(id -u)" -eq 0 ]; then
  unreadable_runner=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  # A copy nobody can reach: the build may sit under a directory only root may enter (a
  # clone in a mktemp -d, root's home).
  unreadable_exporter=$opendir/afp_exporter
  cp "$exporter" "$unreadable_exporter"
  # Checked as the rows run it (through env and timeout: setpriv's own exec may still hold
  # root's capabilities, the next one does not).
  "${unreadable_runner[@]}" env timeout 10 "$unreadable_exporter" --version >/dev/null 2>&1 ||
    unreadable_runner=(skip)
fi
# unreadable_row WHAT MESSAGE FLAG...: a mode-000 row, run as nobody when we are root.
unreadable_row() {
  local what=$1 want=$2
  shift 2
  if [ "${unreadable_runner[*]}" = skip ]; then
    printf 'skip  %-44s nobody cannot run %s: the directory row stands in\n' "$what" \
      "$unreadable_exporter"
    return 0
  fi
  runner=("${unreadable_runner[@]}")
  local built=$exporter
  exporter=$unreadable_exporter
  row "$what" 2 "$want" exits -- --web.listen-address=127.0.0.1:0 "$@"
  exporter=$built
  runner=()
}
printf 'host=127.0.0.1 password=%s = =\n' "$password" >"$workdir/bad.dsn"
printf 'postgresql://afp:%s@%s/no_such_db\n' "$password" "$server" >"$workdir/nodb.dsn"
printf 'postgresql://afp:%s@%s\n' "$password" "$server" >"$workdir/nodbname.dsn"
printf 'postgresql://afp:%s@%s/%s\n' "$password" "$server" "$noext_db" >"$workdir/noext.dsn"
printf '%s\n' "$dsn" >"$workdir/good.dsn"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$workdir/server.key" \
  -out "$workdir/server.crt" >/dev/null 2>&1
printf 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n' >"$workdir/web.yml"
admin_sql postgres "DROP DATABASE IF EXISTS $noext_db WITH (FORCE)"
admin_sql postgres "CREATE DATABASE $noext_db OWNER afp"

# One exporter holds a TCP and a UDP port the rows then ask for; its statsd listener judges
# the statsd rows.
serve occupant -- --statsd.listen-address=127.0.0.1:0
busy=$port
busy_udp=$(logged occupant "statsd listener on" port)
serve tls -- --web.config.file="$workdir/web.yml"
tls_port=$port

row "HTTP port in use" 2 \
  "afp_exporter: cannot listen on \"127.0.0.1:$busy\": address already in use (another process holds the port: stop it, or choose another port with --web.listen-address)" \
  exits -- --web.listen-address="127.0.0.1:$busy"
row "statsd port in use" 2 \
  "afp_exporter: statsd listen address \"127.0.0.1:$busy_udp\": address already in use (another process holds the port: stop it, or choose another port with --statsd.listen-address)" \
  exits -- --web.listen-address=127.0.0.1:0 --statsd.listen-address="127.0.0.1:$busy_udp"
row "config file missing" 2 \
  "afp_exporter: config file /nonexistent/afp.json: cannot be read: No such file or directory" \
  exits -- --web.listen-address=127.0.0.1:0 --config.file=/nonexistent/afp.json
row "config file is a directory" 2 \
  "afp_exporter: config file $workdir/dir: cannot be read: Is a directory" \
  exits -- --web.listen-address=127.0.0.1:0 --config.file="$workdir/dir"
unreadable_row "config file mode 000" \
  "afp_exporter: config file $opendir/unreadable.json: cannot be read: Permission denied" \
  --config.file="$opendir/unreadable.json"
row "config file JSON syntax error" 2 \
  "afp_exporter: config file $workdir/syntax.json: not valid JSON at line 3, column 14: syntax error while parsing object - unexpected string literal; expected '}'" \
  exits -- --web.listen-address=127.0.0.1:0 --config.file="$workdir/syntax.json"
row "config file key given twice" 2 \
  "afp_exporter: config file $workdir/twice.json: key \"log.level\" is given twice" \
  exits -- --web.listen-address=127.0.0.1:0 --config.file="$workdir/twice.json"
row "plain HTTP to a TLS listener" 400 \
  "this port speaks TLS: use https://" \
  http_answer "http://127.0.0.1:$tls_port/metrics"
row "statsd line without a required tag" - \
  'afp_ingest_rejected_total{transport="statsd",reason="missing_label"} 1' \
  statsd_verdict "$busy" "$busy_udp" "afp.db_query:41|ms"
row "secret file is a directory" 2 \
  "afp_exporter: AFP_INGEST_TOKEN_FILE $workdir/dir: cannot read the file: Is a directory" \
  exits AFP_INGEST_TOKEN_FILE="$workdir/dir" -- --web.listen-address=127.0.0.1:0
unreadable_row "secret file mode 000" \
  "afp_exporter: pg.dsn-file $opendir/unreadable.json: cannot read the file: Permission denied" \
  --pg.dsn-file="$opendir/unreadable.json"
row "secret file holds no DSN (text not shown)" 2 \
  "afp_exporter: AFP_PG_DSN_FILE $workdir/bad.dsn: not a valid libpq connection string or postgresql:// URI (its text is not shown: it may hold a password)" \
  exits AFP_PG_DSN_FILE="$workdir/bad.dsn" -- --web.listen-address=127.0.0.1:0
row "DSN names a database that does not exist" - \
  "connection to server at \"127.0.0.1\", port $pg_port failed: FATAL:  database \"no_such_db\" does not exist (dbname in the DSN from AFP_PG_DSN_FILE $workdir/nodb.dsn chose it: name a database that exists there, or create this one)" \
  pg_log_err nodb "PostgreSQL unavailable" "" AFP_PG_DSN_FILE="$workdir/nodb.dsn" --
row "DSN without dbname: the user name's database" - \
  "connection to server at \"127.0.0.1\", port $pg_port failed: FATAL:  database \"afp\" does not exist (the DSN from AFP_PG_DSN_FILE $workdir/nodbname.dsn sets no dbname, so libpq took the user name: add the database to the DSN)" \
  pg_log_err nodbname "PostgreSQL unavailable" "" AFP_PG_DSN_FILE="$workdir/nodbname.dsn" --
row "pg_stat_statements not installed" - \
  "pg_stat_statements is not installed in database \"$noext_db\": run CREATE EXTENSION pg_stat_statements; in that database as a superuser" \
  pg_log_err noext "collector failed" pg_stat_statements AFP_PG_DSN_FILE="$workdir/noext.dsn" --

# Another library stays preloaded ('' would be read as one library named ""), as on a
# server that has some but not pg_stat_statements.
preload_removed=yes
admin_sql postgres "ALTER SYSTEM SET shared_preload_libraries = 'auto_explain'"
restart_cluster
row "pg_stat_statements installed, not preloaded" - \
  "pg_stat_statements is installed in database \"fingerprints\" but its library is not loaded: add shared_preload_libraries = 'pg_stat_statements' to postgresql.conf (keeping any library already listed there) and restart PostgreSQL" \
  pg_log_err unloaded "collector failed" pg_stat_statements AFP_PG_DSN_FILE="$workdir/good.dsn" --
row "pg_stat_statements neither installed nor preloaded" - \
  "pg_stat_statements is not installed in database \"$noext_db\" and its library is not loaded: add shared_preload_libraries = 'pg_stat_statements' to postgresql.conf (keeping any library already listed there), restart PostgreSQL, then run CREATE EXTENSION pg_stat_statements; in that database as a superuser" \
  pg_log_err neither "collector failed" pg_stat_statements AFP_PG_DSN_FILE="$workdir/noext.dsn" --

if grep -rqF "$password" "$workdir"/*.log "$workdir/stderr"; then
  echo "FAIL  the PostgreSQL password appears in a log or an error" >&2
  failures=$((failures + 1))
fi
[ "$failures" -eq 0 ] || { echo "$failures rows failed" >&2; exit 1; }
echo "every bad input gets its exact message"
