#!/usr/bin/env bash
# The exporter started as afp_exporter.service starts it, without systemd: the unit's
# ExecStart (with the shipped config), its Environment= and LoadCredential= (secrets in a
# directory only the service's user can read), on a read-only file system as a dynamic
# user without privileges (enter_sandbox.sh). Then every collector must succeed, the
# filesystems must keep the read-only flag the host gives them (not the sandbox's), the
# ingest token must come through, and SIGHUP (ExecReload) must reload.
#
#   sandbox.sh EXPORTER UNIT CONFIG_JSON DSN_FILE
#
# Needs root and mount namespaces; exits 77 (skipped) without them.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
exporter=$1
unit=$2
config=$3
dsn_file=$4
here=$(cd "$(dirname "$0")" && pwd)

skip() { echo "skipped: $1"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (a mount namespace and another user)"
unshare -m true 2>/dev/null || skip "mount namespaces are not permitted here"

# shellcheck source=../../tests/lib/exporter.sh
source "$here/../../tests/lib/exporter.sh"  # $workdir, $pid, $port, start_exporter
fail() { echo "FAIL: $1" >&2; cat "$workdir/log" >&2; exit 1; }

uid=$((61184 + RANDOM % 4000))  # DynamicUser's range, 61184-65519
chmod 0711 "$workdir"
# The service's user reads the binary and the config from $workdir: the checkout's own
# directories may be closed to other users (a clone inside a 0700 `mktemp -d`, a home).
install -m 0755 "$exporter" "$workdir/afp_exporter"
install -m 0644 "$config" "$workdir/config.json"
exporter=$workdir/afp_exporter
config=$workdir/config.json
creds="$workdir/credentials"  # %d
mkdir -m 0500 "$creds"
token="afp-sandbox-token-$RANDOM$RANDOM"

while IFS=: read -r cred_id _; do
  case "$cred_id" in
    pg_dsn) cp "$dsn_file" "$creds/pg_dsn" ;;
    ingest_token) printf '%s\n' "$token" >"$creds/ingest_token" ;;
    *) fail "the unit loads credential $cred_id, which this test does not know" ;;
  esac
done < <(sed -n 's/^LoadCredential=//p' "$unit")
chown -R "$uid:$uid" "$creds"
chmod 0400 "$creds"/*

environment=(PATH=/usr/bin:/bin)
while read -ra assignments; do
  for assignment in "${assignments[@]}"; do
    environment+=("${assignment//%d/$creds}")
  done
done < <(sed -n 's/^Environment=//p' "$unit")

read -ra command <<<"$(sed -n 's/^ExecStart=//p' "$unit")"
command[0]=$exporter
for i in "${!command[@]}"; do
  [[ "${command[$i]}" == --config.file=* ]] && command[i]="--config.file=$config"
done

start_exporter unshare -m "$here/enter_sandbox.sh" "$uid" env -i "${environment[@]}" "${command[@]}"
echo "exporter pid $pid, uid $uid, port $port: ${command[*]}"

status=/proc/$pid/status
grep -q "^Uid:[[:space:]]*${uid}[[:space:]]" "$status" || fail "not running as uid $uid"
grep -q '^NoNewPrivs:[[:space:]]*1' "$status" || fail "NoNewPrivs is not set"
grep -q '^CapBnd:[[:space:]]*0*$' "$status" || fail "capabilities left in the bounding set"

scrape() { curl -fsS "http://127.0.0.1:$port/metrics" >"$workdir/scrape" || fail "scrape failed"; }
scrape
failed=$(grep '^afp_exporter_scrape_collector_success{' "$workdir/scrape" | awk '$NF != 1') || true
[ -z "$failed" ] || fail "collectors failing in the sandbox: $failed"
grep -q '^pg_up 1$' "$workdir/scrape" || fail "pg_up is not 1: the DSN credential did not work"
echo "every collector succeeds: $(grep -c '^afp_exporter_scrape_collector_success{' "$workdir/scrape")"

# The flag must be the host's: ProtectSystem=strict makes every mount read-only inside.
mismatches=$(awk '
  FNR == NR { host_ro[$2] = ($4 ~ /(^|,)ro(,|$)/) ? 1 : 0; next }
  /^node_filesystem_readonly\{/ {
    match($0, /mountpoint="[^"]*"/)
    mount_point = substr($0, RSTART + 12, RLENGTH - 13)
    if ((mount_point in host_ro) && host_ro[mount_point] != $NF)
      printf "%s: node_filesystem_readonly %s, the host mounts it %s\n", mount_point, $NF,
             host_ro[mount_point] ? "ro" : "rw"
  }' /proc/1/mounts "$workdir/scrape")
[ -z "$mismatches" ] || fail "read-only flags from the sandbox, not the host (filesystem alerts skip read-only filesystems):
$mismatches"
grep -q '^node_filesystem_readonly{.*mountpoint="/"} 0$' "$workdir/scrape" ||
  fail "no writable root filesystem reported"

post() {
  curl -sS -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/api/v1/observations" \
    -H 'Content-Type: application/json' -H "Authorization: Bearer $1" \
    -d '{"observations": [{"metric": "fingerprint_generation", "seconds": 1.5}]}'
}
[ "$(post "$token")" = 200 ] || fail "the ingest token from the credential is refused"
[ "$(post "wrong-$token")" = 401 ] || fail "a wrong ingest token is not refused with 401"

kill -HUP "$pid"
for _ in $(seq 1 100); do
  grep -q 'msg="configuration reloaded"' "$workdir/log" && break
  sleep 0.05
done
grep -q 'msg="configuration reloaded"' "$workdir/log" || fail "SIGHUP did not reload the config"
scrape
echo "ingest token accepted, SIGHUP reloaded, still serving"
