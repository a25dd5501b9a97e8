#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the integration tests, on 127.0.0.1 and a free port.
#
#   pg_cluster.sh start DIR   initdb in DIR, start with pg_stat_statements preloaded, create
#                             the role "afp" (pg_monitor) and the database "fingerprints",
#                             and write the DSN to DIR/dsn (password auth over TCP)
#   pg_cluster.sh stop DIR    stop the server and remove DIR
#   pg_cluster.sh pause DIR / resume DIR    stop / restart the server, keeping the data
#
# initdb and pg_ctl refuse to run as root, so as root they run as the postgres user, and
# the cluster's files live in a directory of their own under /tmp that this user can reach
# (DIR, in the build tree, may sit below a directory only root can enter); DIR keeps the
# DSN files and the path of that directory.
set -euo pipefail
proc_name=pg_cluster
source "$(cd "$(dirname "$0")/../.." && pwd)/scripts/lib/proc.sh" # free_port
cmd=$1
dir=$(realpath -m "$2")
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -x "$bindir/initdb" ] || { echo "pg_cluster: PostgreSQL server binaries not found" >&2; exit 2; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

data_root() { cat "$dir/data_root" 2>/dev/null || true; }

pg_start() {
  local root
  root=$(data_root)
  as_owner "$bindir/pg_ctl" -D "$root/data" -l "$root/server.log" -w -t 60 \
    -o "-c port=$(cat "$dir/port")" start >/dev/null || { cat "$root/server.log" >&2; exit 1; }
}

case "$cmd" in
  start)
    "$0" stop "$dir"  # a cluster left over from an interrupted run
    mkdir -p "$dir"
    root=$(mktemp -d /tmp/afp-pgtest.XXXXXX)
    chmod 755 "$root"
    echo "$root" >"$dir/data_root"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$root"
    password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
    printf '%s\n' "$password" >"$root/pwfile"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$root/pwfile"
    as_owner "$bindir/initdb" -D "$root/data" -U postgres --pwfile="$root/pwfile" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$root/pwfile"
    cat >>"$root/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$root'
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.max = 10000
pg_stat_statements.track = all
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
    free_port >"$dir/port"
    pg_start
    port=$(cat "$dir/port")
    as_owner "$bindir/psql" -h "$root" -p "$port" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 <<SQL >/dev/null
CREATE ROLE afp LOGIN PASSWORD '$password' IN ROLE pg_monitor;
CREATE DATABASE fingerprints OWNER afp;
\c fingerprints
CREATE EXTENSION pg_stat_statements;
SQL
    echo "postgresql://afp:$password@127.0.0.1:$port/fingerprints" >"$dir/dsn"
    echo "postgresql://postgres:$password@127.0.0.1:$port/fingerprints" >"$dir/admin_dsn"
    echo "pg_cluster: started on 127.0.0.1:$port ($dir)"
    ;;
  pause)
    as_owner "$bindir/pg_ctl" -D "$(data_root)/data" -w -m fast stop >/dev/null
    ;;
  resume)
    pg_start
    ;;
  stop)
    root=$(data_root)
    if [ -n "$root" ] && [ -f "$root/data/postmaster.pid" ]; then
      as_owner "$bindir/pg_ctl" -D "$root/data" -w -m immediate stop >/dev/null || true
    fi
    [ -n "$root" ] && rm -rf "$root"
    rm -rf "$dir"
    ;;
  *)
    echo "usage: pg_cluster.sh start|stop|pause|resume DIR" >&2
    exit 2
    ;;
esac
