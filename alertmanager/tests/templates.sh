#!/usr/bin/env bash
# `amtool template render` of every notification template in alertmanager/templates/ on a
# firing critical alert (firing.json) and on two resolved warnings (resolved.json): each
# message must show the severity, summary, description, value, instance, runbook and
# dashboard, and a resolved one how long it fired.
# Links: the rules' `runbook_url` and `dashboard_url` annotations are absolute URLs (the
# mixin's runbookURLPattern / dashboardURLPattern) and must appear exactly as given, as
# links; the second resolved alert has neither annotation and must show "-" for both; an
# older rule file's relative path (a temporary copy of firing.json) is shown as text, never
# as a link; and the template holds no base URL of its own.
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

runbook=https://git.example.org/ops/afp_exporter/-/blob/main/docs/runbook.md#afpfingerprintgenerationslow
dashboard="https://grafana.example.org/d/afp-overview?var-instance=fp-1:9793"

out=$(render "$templates" "$firing" afp.email.subject)
[ "$(wc -l <<<"$out")" = 1 ] || { echo "FAIL  subject is not one line"; failures=$((failures + 1)); }
has "email subject (firing)" "$out" "[FIRING:1] CRITICAL AfpFingerprintGenerationSlow on fp-1:9793: $summary"
out=$(render "$templates" "$firing" afp.email.text)
has "afp.email.text (firing)" "$out" "CRITICAL" "$summary" "$description" "Value:      7.375s" \
  "Instance:   fp-1:9793" "Runbook:    $runbook" "Dashboard:  $dashboard"
lacks "afp.email.text (firing)" "$out" "RESOLVED" "fired for"
out=$(render "$templates" "$firing" afp.slack.text)
has "afp.slack.text (firing)" "$out" "CRITICAL" "$summary" "$description" '*Value:* `7.375s`' \
  "fp-1:9793" "*Runbook:* <$runbook|runbook>" "*Dashboard:* <$dashboard|dashboard>"
lacks "afp.slack.text (firing)" "$out" "RESOLVED" "fired for"
out=$(render "$templates" "$firing" afp.email.html html)
has "afp.email.html (firing)" "$out" "<!DOCTYPE html>" "FIRING CRITICAL AfpFingerprintGenerationSlow" \
  "$summary" "$description" "<b>7.375s</b>" "fp-1:9793" "<a href=\"$runbook\">$runbook</a>" \
  "<a href=\"${dashboard/&/&amp;}\">" "#c62828"
has "afp.slack.title (firing)" "$(render "$templates" "$firing" afp.slack.title)" \
  "[FIRING:1] CRITICAL AfpFingerprintGenerationSlow on fp-1:9793"
[ "$(render "$templates" "$firing" afp.slack.color)" = danger ] &&
  echo "ok    afp.slack.color (firing) is danger" ||
  { echo "FAIL  afp.slack.color (firing) is not danger"; failures=$((failures + 1)); }
has "afp.slack.fallback (firing)" "$(render "$templates" "$firing" afp.slack.fallback)" "$summary"

# resolved.json: the first alert has both links, the second neither.
out=$(render "$templates" "$resolved" afp.email.subject)
has "email subject (resolved)" "$out" "[RESOLVED] WARNING AfpFilesystemUsed on db-1:9793: Filesystem /var/lib/postgresql 90% used on db-1:9793 (2 alerts)"
fs_runbook=https://git.example.org/ops/afp_exporter/-/blob/main/docs/runbook.md#afpfilesystemused
fs_dashboard="https://grafana.example.org/d/afp-system?var-instance=db-1:9793"
out=$(render "$templates" "$resolved" afp.email.text)
has "afp.email.text (resolved)" "$out" "RESOLVED WARNING" "Filesystem /var/lib/postgresql 90% used" \
  "Filesystem /srv/audio 86% used" "fired for 1h12m32s" "fired for 50m40s" "(when it last fired)" \
  "Runbook:    $fs_runbook" "Dashboard:  $fs_dashboard" "Runbook:    -" "Dashboard:  -"
lacks "afp.email.text (resolved)" "$out" "<no value>"
out=$(render "$templates" "$resolved" afp.slack.text)
has "afp.slack.text (resolved)" "$out" "RESOLVED WARNING" "Filesystem /var/lib/postgresql 90% used" \
  "Filesystem /srv/audio 86% used" "fired for 1h12m32s" "fired for 50m40s" "(when it last fired)" \
  "*Runbook:* <$fs_runbook|runbook>  *Dashboard:* <$fs_dashboard|dashboard>" \
  "*Runbook:* -  *Dashboard:* -"
lacks "afp.slack.text (resolved)" "$out" "<no value>" "<|" "<-|"
out=$(render "$templates" "$resolved" afp.email.html html)
has "afp.email.html (resolved)" "$out" "RESOLVED WARNING AfpFilesystemUsed" "fired for 1h12m32s" "#2e7d32" \
  "<a href=\"$fs_runbook\">" "<td style=\"color: #555;\">Runbook</td><td>-</td>" \
  "<td style=\"color: #555;\">Dashboard</td><td>-</td>"
lacks "afp.email.html (resolved)" "$out" "<no value>" '<a href="">'
[ "$(render "$templates" "$resolved" afp.slack.color)" = good ] &&
  echo "ok    afp.slack.color (resolved) is good" ||
  { echo "FAIL  afp.slack.color (resolved) is not good"; failures=$((failures + 1)); }

# An older rule file's relative annotations: shown as text, never made into a link.
sed -e "s|\"runbook_url\": \"[^\"]*\"|\"runbook_url\": \"docs/runbook.md#afpfingerprintgenerationslow\"|" \
    -e "s|\"dashboard_url\": \"[^\"]*\"|\"dashboard_url\": \"/d/afp-overview\"|" "$firing" >"$tmp/relative.json"
grep -q '"docs/runbook.md#' "$tmp/relative.json" || { echo "FAIL  could not make relative.json"; exit 1; }
out=$(render "$templates" "$tmp/relative.json" afp.email.text)
has "afp.email.text (relative links)" "$out" "Runbook:    docs/runbook.md#afpfingerprintgenerationslow" \
  "Dashboard:  /d/afp-overview"
out=$(render "$templates" "$tmp/relative.json" afp.slack.text)
has "afp.slack.text (relative links)" "$out" \
  "*Runbook:* docs/runbook.md#afpfingerprintgenerationslow  *Dashboard:* /d/afp-overview"
lacks "afp.slack.text (relative links)" "$out" "<docs/" "</d/"
lacks "afp.email.html (relative links)" "$(render "$templates" "$tmp/relative.json" afp.email.html html)" \
  "<a href="

# No base URL inside the template: the links come only from the annotations.
if grep -nE 'https?://' "$templates"; then
  echo "FAIL  afp.tmpl contains a URL (above); base URLs belong in the mixin's _config"
  failures=$((failures + 1))
else
  echo "ok    afp.tmpl holds no URL of its own"
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures template check(s) failed" >&2
  exit 1
fi
echo "all template checks pass"
