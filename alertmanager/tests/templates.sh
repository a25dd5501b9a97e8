#!/usr/bin/env bash
# `amtool template render` of every notification template in alertmanager/templates/ on a
# firing critical alert (firing.json) and on two resolved warnings (resolved.json): each
# message must show the severity, summary, description, value, instance, runbook and
# dashboard, and a resolved one how long it fired. Then the same with the two link bases
# set (a temporary copy), where the links must be absolute URLs.
#
#   templates.sh AMTOOL
set -euo pipefail
amtool=$1
here=$(cd "$(dirname "$0")" && pwd)
templates=$here/../templates/afp.tmpl
failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

render() {  # render GLOB DATA TEMPLATE [text|html]
  "$amtool" template render --template.glob="$1" --template.data="$2" \
    --template.type="${4:-text}" --template.text="{{ template \"$3\" . }}"
}
# has NAME OUTPUT WANT...: every WANT (fixed string) occurs in OUTPUT
has() {
  local name=$1 out=$2 want
  shift 2
  for want in "$@"; do
    if grep -qF -- "$want" <<<"$out"; then
      printf 'ok    %-40s has %s\n' "$name" "$want"
    else
      printf 'FAIL  %-40s lacks %s\n' "$name" "$want"
      failures=$((failures + 1))
    fi
  done
}
lacks() {
  local name=$1 out=$2 want
  shift 2
  for want in "$@"; do
    if grep -qF -- "$want" <<<"$out"; then
      printf 'FAIL  %-40s has %s\n' "$name" "$want"
      failures=$((failures + 1))
    else
      printf 'ok    %-40s lacks %s\n' "$name" "$want"
    fi
  done
}

firing=$here/firing.json
resolved=$here/resolved.json
summary='Fingerprint generation p95 7.375s on fp-1:9793'
description='at or above the critical threshold of 5s'

out=$(render "$templates" "$firing" afp.email.subject)
[ "$(wc -l <<<"$out")" = 1 ] || { echo "FAIL  subject is not one line"; failures=$((failures + 1)); }
has "email subject (firing)" "$out" "[FIRING:1] CRITICAL AfpFingerprintGenerationSlow on fp-1:9793: $summary"
for t in afp.email.text afp.slack.text; do
  out=$(render "$templates" "$firing" $t)
  has "$t (firing)" "$out" "CRITICAL" "$summary" "$description" "7.375s" "fp-1:9793" \
    "docs/runbook.md#afpfingerprintgenerationslow" "/d/afp-overview?var-instance=fp-1:9793"
  lacks "$t (firing)" "$out" "RESOLVED" "fired for"
done
out=$(render "$templates" "$firing" afp.email.html html)
has "afp.email.html (firing)" "$out" "<!DOCTYPE html>" "FIRING CRITICAL AfpFingerprintGenerationSlow" \
  "$summary" "$description" "<b>7.375s</b>" "fp-1:9793" "docs/runbook.md#afpfingerprintgenerationslow" \
  "/d/afp-overview?var-instance=fp-1:9793" "#c62828"
has "afp.slack.title (firing)" "$(render "$templates" "$firing" afp.slack.title)" \
  "[FIRING:1] CRITICAL AfpFingerprintGenerationSlow on fp-1:9793"
[ "$(render "$templates" "$firing" afp.slack.color)" = danger ] &&
  echo "ok    afp.slack.color (firing) is danger" ||
  { echo "FAIL  afp.slack.color (firing) is not danger"; failures=$((failures + 1)); }
has "afp.slack.fallback (firing)" "$(render "$templates" "$firing" afp.slack.fallback)" "$summary"

out=$(render "$templates" "$resolved" afp.email.subject)
has "email subject (resolved)" "$out" "[RESOLVED] WARNING AfpFilesystemUsed on db-1:9793: Filesystem /var/lib/postgresql 90% used on db-1:9793 (2 alerts)"
for t in afp.email.text afp.slack.text; do
  out=$(render "$templates" "$resolved" $t)
  has "$t (resolved)" "$out" "RESOLVED WARNING" "Filesystem /var/lib/postgresql 90% used" \
    "Filesystem /srv/audio 86% used" "fired for 1h12m32s" "fired for 50m40s" "(when it last fired)" \
    "docs/runbook.md#afpfilesystemused" "/d/afp-system?var-instance=db-1:9793"
done
out=$(render "$templates" "$resolved" afp.email.html html)
has "afp.email.html (resolved)" "$out" "RESOLVED WARNING AfpFilesystemUsed" "fired for 1h12m32s" "#2e7d32"
[ "$(render "$templates" "$resolved" afp.slack.color)" = good ] &&
  echo "ok    afp.slack.color (resolved) is good" ||
  { echo "FAIL  afp.slack.color (resolved) is not good"; failures=$((failures + 1)); }

# With the bases set once in "afp.link", every link is absolute.
sed -e 's|{{- $runbook_base := "" -}}|{{- $runbook_base := "https://git.example.org/ops/afp_exporter/-/blob/main/" -}}|' \
    -e 's|{{- $grafana_base := "" -}}|{{- $grafana_base := "https://grafana.example.org" -}}|' \
    "$templates" >"$tmp/afp.tmpl"
grep -q 'git.example.org' "$tmp/afp.tmpl" && grep -q 'grafana.example.org' "$tmp/afp.tmpl" ||
  { echo "FAIL  could not set the link bases in a copy of afp.tmpl"; exit 1; }
runbook=https://git.example.org/ops/afp_exporter/-/blob/main/docs/runbook.md#afpfingerprintgenerationslow
dashboard=https://grafana.example.org/d/afp-overview?var-instance=fp-1:9793
has "afp.email.text (bases set)" "$(render "$tmp/afp.tmpl" "$firing" afp.email.text)" \
  "Runbook:    $runbook" "Dashboard:  $dashboard"
has "afp.slack.text (bases set)" "$(render "$tmp/afp.tmpl" "$firing" afp.slack.text)" \
  "<$runbook|runbook>" "<$dashboard|dashboard>"
has "afp.email.html (bases set)" "$(render "$tmp/afp.tmpl" "$firing" afp.email.html html)" \
  "<a href=\"$runbook\">" "<a href=\"$dashboard\">"

if [ "$failures" -ne 0 ]; then
  echo "$failures template check(s) failed" >&2
  exit 1
fi
echo "all template checks pass"
