#!/usr/bin/env bash
# mixin/render --set for a site: the selectors, the fingerprint table, a threshold, a `for`
# and both URL patterns reach the rendered rules, PrometheusRule and dashboards, and
# nothing of the defaults is left where an override applies.
#
#   overrides.sh OUT_DIR
set -euo pipefail
out=$1
render=$(cd "$(dirname "$0")/.." && pwd)/render
rm -rf "$out"
"$render" --output-dir "$out" \
  --set afpSelector='job="fp"' --set hostSelector='job="fp-node"' \
  --set pgSelector='job="fp-pg"' --set fingerprintTable=audio_hashes \
  --set thresholds.cpuBusy.warning=0.75 --set alertFor.AfpHostMemoryUsed=7m \
  --set runbookURLPattern='https://wiki.example.com/afp#%s' \
  --set dashboardURLPattern='https://g.example.com/d/%s' >/dev/null

failures=0
expect() {  # expect DESCRIPTION FILE GREP_ARGS...
  local what=$1 file=$2
  shift 2
  if ! grep -q "$@" "$out/$file"; then
    echo "FAIL $what ($file)" >&2
    failures=$((failures + 1))
  fi
}
refuse() {  # refuse DESCRIPTION FILE GREP_ARGS...
  local what=$1 file=$2
  shift 2
  if grep -q "$@" "$out/$file"; then
    echo "FAIL $what ($file): $(grep -m1 "$@" "$out/$file")" >&2
    failures=$((failures + 1))
  fi
}
for f in rules/afp-recording.yml rules/afp-alerts.yml deploy/kubernetes/prometheusrule.yaml; do
  refuse 'no job="afp" left' "$f" -F 'job="afp"'
  expect 'the afp selector' "$f" -F '{job="fp"'
  expect 'the host selector' "$f" -F '{job="fp-node"'
  expect 'the PostgreSQL selector' "$f" -F '{job="fp-pg"'
done
for f in rules/afp-alerts.yml deploy/kubernetes/prometheusrule.yaml; do
  expect 'the fingerprint table' "$f" -F 'relname="audio_hashes"'
  refuse 'no default fingerprint table' "$f" -F 'relname="fingerprints"'
  expect 'the CPU threshold' "$f" -F 'instance:node_cpu_busy:ratio_rate5m >= 0.75'
  expect 'the for of AfpHostMemoryUsed' "$f" -F 'for 7 minutes, at or above'
  expect 'the runbook URL' "$f" -F 'https://wiki.example.com/afp#afphostcpubusy'
  expect 'the dashboard URL' "$f" -F 'https://g.example.com/d/afp-system?var-instance='
  refuse 'no default URL' "$f" -e 'example\.internal'
done
expect 'the CPU threshold colours the dashboards' grafana/dashboards/afp-system.json -F '"value": 0.75'
expect 'the CPU threshold in the panel descriptions' grafana/dashboards/afp-system.json -F 'warning 75 %'
expect 'the fingerprint table variable' grafana/dashboards/afp-database.json -F '"query": "audio_hashes"'
for d in "$out"/grafana/dashboards/*.json; do
  expect 'dashboards select jobs through the selectors' "grafana/dashboards/${d##*/}" -e 'job=\\"fp'
  refuse 'no job="afp" left' "grafana/dashboards/${d##*/}" -F 'job=\"afp\"'
done

# A misspelt key would otherwise be added beside the real one and change nothing: refused,
# naming the key, with nothing written.
typo_out="$out.typo"
for typo in 'afpSelecter=job="x"' 'alertFor.AfpHostCpuBsy=2m' 'thresholds.cpuBusy.warning.x=1'; do
  rm -rf "$typo_out"
  if message=$("$render" --output-dir "$typo_out" --set "$typo" 2>&1); then
    echo "FAIL --set $typo was accepted" >&2
    failures=$((failures + 1))
  elif [[ $message != *"has no key"* ]] || [ -e "$typo_out" ]; then
    echo "FAIL --set $typo: want one line naming the key and nothing written, got: $message" >&2
    failures=$((failures + 1))
  fi
done
rm -rf "$typo_out"

if [ "$failures" -ne 0 ]; then
  echo "$failures override check(s) failed" >&2
  exit 1
fi
echo "every override reached the rendered files"
