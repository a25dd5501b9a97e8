#!/usr/bin/env bash
# A DNS server that never answers cannot hold a scrape. The DSN's host is a name only DNS
# can resolve, and the one nameserver reads every query and answers none, with glibc's
# longest waits (5 attempts of 30 s). Every scrape still ends within --pg.connect-timeout
# plus a margin, with pg_up 0 and a log line naming the host; the exporter keeps serving,
# and waits for the one lookup in flight instead of starting a thread per scrape.
#
#   silent_resolver.sh EXPORTER
#
# Runs in its own network and mount namespaces (unshare): only loopback, the silent server
# on 127.0.0.1:53 (UDP and TCP), and /etc/resolv.conf and /etc/nsswitch.conf bind-mounted
# over with files that point at it. Needs root (CAP_SYS_ADMIN); exits 77, which CTest
# reports as skipped, when the namespaces cannot be made.
set -euo pipefail
exporter=$1
here=$(cd "$(dirname "$0")" && pwd)

if [ "${2:-}" != --inside ]; then
  if ! unshare --net --mount --propagation private true 2>/dev/null; then
    echo "skipped: cannot create network and mount namespaces (not root?)" >&2
    exit 77
  fi
  exec unshare --net --mount --propagation private "$0" "$exporter" --inside
fi

source "$here/../lib/exporter.sh"
fail() {
  echo "$1" >&2
  tail -n 20 "$workdir/log" >&2
  exit 1
}

ip link set lo up
cat >"$workdir/resolv.conf" <<'EOF'
nameserver 127.0.0.1
options timeout:30 attempts:5
EOF
echo 'hosts: files dns' >"$workdir/nsswitch.conf"
mount --bind "$workdir/resolv.conf" /etc/resolv.conf
mount --bind "$workdir/nsswitch.conf" /etc/nsswitch.conf

# The silent server: counts the queries it reads and answers none.
/usr/bin/python3 - "$workdir/queries" <<'EOF' &
import socket, sys, threading
count_file = sys.argv[1]
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 53))
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.bind(("127.0.0.1", 53))
tcp.listen(64)
held = []
threading.Thread(target=lambda: [held.append(tcp.accept()) for _ in iter(int, 1)],
                 daemon=True).start()
open(count_file, "w").write("0\n")
queries = 0
while True:
    udp.recvfrom(4096)
    queries += 1
    open(count_file, "w").write(f"{queries}\n")
EOF
server=$!
trap 'kill $server 2>/dev/null; cleanup_exporter' EXIT
for _ in $(seq 1 100); do
  [ -s "$workdir/queries" ] && break
  sleep 0.05
done
[ -s "$workdir/queries" ] || fail "the silent DNS server did not start"

connect_timeout=3
AFP_PG_DSN="host=db.afp-silent-resolver.example port=5432 dbname=afp user=afp" \
  start_exporter "$exporter" --pg.connect-timeout=${connect_timeout}s

# Each scrape: the time it took, pg_up, and the exporter's threads after it.
limit_ms=$(((connect_timeout + 2) * 1000))
threads_after=()
for scrape in 1 2 3; do
  started=$(date +%s%N)
  curl -fsS -m 60 "http://127.0.0.1:$port/metrics" >"$workdir/scrape" ||
    fail "scrape $scrape failed"
  elapsed_ms=$((($(date +%s%N) - started) / 1000000))
  pg_up=$(awk '$1 == "pg_up" {print $2}' "$workdir/scrape")
  threads_after+=("$(awk '/^Threads:/ {print $2}' "/proc/$pid/status")")
  echo "scrape $scrape: ${elapsed_ms} ms, pg_up ${pg_up:-missing}, ${threads_after[-1]} threads"
  [ "$pg_up" = 0 ] || fail "scrape $scrape: pg_up is '${pg_up:-missing}', not 0"
  [ "$elapsed_ms" -lt "$limit_ms" ] ||
    fail "scrape $scrape took ${elapsed_ms} ms, past --pg.connect-timeout=${connect_timeout}s"
done
# The lookup still in flight is waited for again, not joined by one more thread per scrape.
[ "${threads_after[2]}" -le "${threads_after[0]}" ] ||
  fail "threads grew from ${threads_after[0]} to ${threads_after[2]} across the scrapes"

queries=$(cat "$workdir/queries")
echo "queries the silent server read: $queries"
[ "$queries" -ge 1 ] || fail "no query reached the silent server: the test resolved elsewhere"
grep -q 'db.afp-silent-resolver.example' "$workdir/log" || fail "no log line names the host"
grep -i 'db.afp-silent-resolver.example.*timed out' "$workdir/log" >/dev/null ||
  fail "the log does not say the lookup timed out"
curl -fsS -m 5 "http://127.0.0.1:$port/-/healthy" >/dev/null || fail "/-/healthy does not answer"
