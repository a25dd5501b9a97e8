#!/usr/bin/env bash
# Where afp_exporter finds afp_web_security.so, and that it does not without need: with
# default flags the module and its libraries are never mapped; in the installed layout
# (bin/ and lib/afp-exporter/) it is found; without it, a web config is one line naming the
# files looked for, and a non-zero exit.
#
#   web_security_module.sh EXPORTER MODULE
set -euo pipefail
exporter=$1
module=$2
work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$exporter" --web.listen-address=127.0.0.1:0 --collector.disable-defaults >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 50); do
  grep -q "listening" "$work/log" && break
  sleep 0.1
done
kill -0 "$pid" || fail "the exporter did not start: $(cat "$work/log")"
maps=$(cat "/proc/$pid/maps")
for library in afp_web_security libssl libcrypto libyaml-cpp libcrypt.so; do
  ! grep -q "$library" <<<"$maps" || fail "default flags map $library"
done
kill "$pid"
wait "$pid" || true
pid=

mkdir -p "$work/root/usr/bin" "$work/root/usr/lib/afp-exporter" "$work/alone"
cp "$exporter" "$work/root/usr/bin/"
cp "$module" "$work/root/usr/lib/afp-exporter/"
hash=$(printf 'secret\n' | "$work/root/usr/bin/afp_exporter" web hash-password --cost 4)
[[ "$hash" == '$2b$04$'* ]] || fail "installed layout: hash-password printed: $hash"

cp "$exporter" "$work/alone/"
printf 'basic_auth_users:\n  alice: %s\n' "$hash" >"$work/web.yml"
status=0
"$work/alone/afp_exporter" --web.listen-address=127.0.0.1:0 \
  --web.config.file="$work/web.yml" >"$work/out" 2>&1 || status=$?
[ "$status" -ne 0 ] || fail "without the module a web config still started"
[ "$(wc -l <"$work/out")" -eq 1 ] || fail "not one line: $(cat "$work/out")"
grep -q "$work/alone/afp_web_security.so" "$work/out" ||
  fail "the message does not name the file looked for: $(cat "$work/out")"
echo "ok: default flags map no TLS library; found in lib/afp-exporter/; missing: $(cat "$work/out")"
