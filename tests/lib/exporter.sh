# Sourced by the black-box test scripts: starts the exporter on a free port and stops it
# (with the work directory) when the script exits, whatever happens.
#
#   start_exporter EXPORTER [FLAGS...]   sets $workdir, $pid and $port; log in $workdir/log

workdir=$(mktemp -d)
pid=
cleanup_exporter() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$workdir"
}
trap cleanup_exporter EXIT

start_exporter() {
  # The log exists before the loop reads it: the background job opens it only once it runs.
  : >"$workdir/log"
  "$@" --web.listen-address=127.0.0.1:0 2>>"$workdir/log" &
  pid=$!
  port=
  for _ in $(seq 1 200); do
    port=$(sed -n 's/.*msg=listening .*port=\([0-9]*\).*/\1/p' "$workdir/log" | head -n1)
    [ -n "$port" ] && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$workdir/log" >&2; exit 1; }
    sleep 0.05
  done
  echo "exporter did not start" >&2
  cat "$workdir/log" >&2
  exit 1
}
