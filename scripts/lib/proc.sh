# Sourced by scripts/, tests/ and bench/ (it lives here because scripts/ must work without
# tests/): free ports, polling, and background processes that are stopped again when the
# script exits, also when it fails.
#
#   free_port                          prints a port on 127.0.0.1 that nothing listens on
#   wait_until SECONDS WHAT COMMAND... polls COMMAND until it succeeds, fails after SECONDS
#   spawn NAME COMMAND...              runs COMMAND in the background, output appended to
#                                      $spawn_dir/NAME.log; its pid in $spawned_pid and pids
#   stop_spawned                       SIGTERM to every spawned pid, SIGKILL after 10 s
#
# The sourcing script calls stop_spawned from its EXIT trap (with whatever else its clean-up
# does: printing logs, removing its directory). Failures go through the script's own fail()
# when it has one, else "$proc_name: MESSAGE" (default: the script's name) and exit 1.

pids=()   # what spawn started, in order
names=()  # the NAME each was spawned as, at the same index
spawned_pid=

proc_fail() {
  if declare -F fail >/dev/null; then
    fail "$@"
  fi
  echo "${proc_name:-${0##*/}}: $*" >&2
  exit 1
}

# Below the kernel's ephemeral range (32768 and up), where outgoing connections, the scrapes
# among them, take their local ports: a port picked there may be taken before it is bound.
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 12000))
    (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
  echo "${proc_name:-${0##*/}}: no free port" >&2
  exit 2
}

# wait_until SECONDS WHAT COMMAND...: polls COMMAND every $wait_interval seconds (0.25 by
# default). A script may define wait_until_check WHAT, run on every round, to fail early
# (e.g. when the process it waits on has exited).
wait_until() {
  local limit=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || proc_fail "timed out after ${limit}s waiting for $what"
    if declare -F wait_until_check >/dev/null; then wait_until_check "$what"; fi
    sleep "${wait_interval:-0.25}"
  done
}

# spawn NAME COMMAND...: a NAME spawned again (the demo's exporter after a fault) replaces
# the one before in pids.
spawn() {
  local name=$1 i
  shift
  "$@" >>"$spawn_dir/$name.log" 2>&1 &
  spawned_pid=$!
  for i in "${!names[@]}"; do
    if [ "${names[$i]}" = "$name" ]; then
      pids[$i]=$spawned_pid
      return
    fi
  done
  names+=("$name")
  pids+=("$spawned_pid")
}

# Whether any spawned process still runs.
any_spawned_alive() {
  local pid
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && return 0; done
  return 1
}

# SIGTERM to every spawned pid, SIGKILL to what is left after 10 s (a hung or SIGSTOPped
# process must not hang the clean-up), then reaps them.
stop_spawned() {
  local pid
  ((${#pids[@]} > 0)) || return 0
  kill "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 1 40); do
    any_spawned_alive || break
    sleep 0.25
  done
  kill -9 "${pids[@]}" 2>/dev/null || true
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
