#!/usr/bin/env bash
# systemd-analyze on a copy of the shipped unit whose ExecStart runs the built exporter
# (verify checks that the binary exists and is executable). Neither needs a running
# systemd, so both work in a container.
#
#   unit_analyze.sh verify   SYSTEMD_ANALYZE EXPORTER UNIT
#       any message (an unknown or misspelt directive is only a warning) fails
#   unit_analyze.sh security SYSTEMD_ANALYZE EXPORTER UNIT MAX_EXPOSURE
#       the overall exposure level (0.0 best, 10.0 worst) must be at most MAX_EXPOSURE
set -euo pipefail
mode=$1
analyze=$2
exporter=$3
unit=$4

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
copy="$dir/$(basename "$unit")"
sed -E "s#^ExecStart=[^ ]+#ExecStart=$exporter#" "$unit" >"$copy"
grep -q "^ExecStart=$exporter " "$copy" || { echo "$unit: no ExecStart= line" >&2; exit 1; }

case "$mode" in
  verify)
    "$analyze" verify "$copy" >"$dir/out" 2>&1 || status=$?
    if [ "${status:-0}" -ne 0 ] || [ -s "$dir/out" ]; then
      cat "$dir/out" >&2
      echo "systemd-analyze verify: status ${status:-0}, messages above" >&2
      exit 1
    fi
    echo "systemd-analyze verify: $(basename "$unit") is clean"
    ;;
  security)
    max=$5
    "$analyze" security --offline=true "$copy" >"$dir/out" 2>&1 || true
    grep -v '^✓' "$dir/out"
    score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p' "$dir/out")
    [ -n "$score" ] || { echo "no exposure level in the output" >&2; exit 1; }
    if awk -v s="$score" -v m="$max" 'BEGIN { exit !(s > m) }'; then
      echo "exposure $score is above $max: the unit lost some of its hardening" >&2
      exit 1
    fi
    echo "exposure $score (at most $max)"
    ;;
  *)
    echo "usage: $0 verify|security SYSTEMD_ANALYZE EXPORTER UNIT [MAX_EXPOSURE]" >&2
    exit 2
    ;;
esac
