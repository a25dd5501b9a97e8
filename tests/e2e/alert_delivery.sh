#!/usr/bin/env bash
# End to end, down to the delivered message: the exporter, Prometheus with the shipped rules
# (scraping and evaluating every second), Alertmanager with a configuration derived from
# the shipped one (tests/e2e/alerting/derive.py: only the SMTP smarthost and the Slack URL
# point at local sinks, `for`/keep_firing_for and group_wait/group_interval are shortened,
# repeat_interval is not), an SMTP sink with STARTTLS and AUTH, and a Slack webhook sink.
#
#   1. fingerprint timings of 4 s through ingest -> exactly one warning on Slack, no critical;
#   2. 6 s -> the critical arrives by email and on Slack, the warning is inhibited;
#   3. back to normal -> resolved messages arrive (email and Slack), saying how long it fired;
#   4. no repeat within the test window;
#   5. once the rules have AfpHeartbeat: it reaches the dead man's switch webhook only.
#
#   alert_delivery.sh EXPORTER PROMETHEUS ALERTMANAGER
source "$(dirname "$0")/alerting/lib.sh"
exporter=$1
prometheus=$2
alertmanager=$3

step "starting the exporter, the sinks, Alertmanager and Prometheus"
start_exporter "$exporter"
start_sinks
derive
am_port=$(free_port)
start_alertmanager alertmanager "$am_port" --cluster.listen-address=
start_prometheus "$(free_port)" "$am_port"
instance=127.0.0.1:$exporter_port
alert=AfpFingerprintGenerationSlow

step "1. 40 fingerprints of 4 s: p95 3.95 s, over the 3 s warning, under the 5 s critical"
push 40 4
wait_until 60 "the warning on Slack" arrived slack --title "[FIRING:1] WARNING $alert on $instance"
# The links as the rules give them (runbook_url, dashboard_url), shown as afp.tmpl shows them.
runbook=$(prom_annotation "$alert" warning runbook_url)
dashboard=$(prom_annotation "$alert" warning dashboard_url)
[ -n "$runbook" ] || fail "the warning in Prometheus has no runbook_url"
sleep 6  # three group intervals: anything else would have arrived by now
expect_count 1 slack --title "[FIRING:1] WARNING $alert on $instance" \
  --has "channel: #afp-alerts" --has "color: warning" \
  --has "*FIRING WARNING: Fingerprint generation p95 3.95s on $instance*" \
  --has "at or above the warning threshold of 3s" --has '*Value:* `3.95s`' \
  --has "*Instance:* \`$instance\`" \
  --has "*Runbook:* $(shown slack runbook "$runbook")  *Dashboard:* $(shown slack dashboard "$dashboard")"
expect_count 1 slack --has "$alert"
expect_count 0 mail

step "2. 800 fingerprints of 6 s: p95 over 5 s, critical"
push 800 6
wait_until 60 "the critical email" arrived mail --title "[FIRING:1] CRITICAL $alert on $instance"
wait_until 30 "the critical on Slack" arrived slack --title "[FIRING:1] CRITICAL $alert on $instance"
# The warning still fires in Prometheus, but Alertmanager holds it back.
wait_until 15 "Alertmanager to report the warning inhibited" sh -c \
  "curl -fsS 'http://127.0.0.1:$am_port/api/v2/alerts?filter=alertname=\"$alert\"&filter=severity=\"warning\"' | grep -q '\"inhibitedBy\":\[\"'"
sleep 6
expect_count 1 mail --title "[FIRING:1] CRITICAL $alert on $instance: Fingerprint generation p95 7.369s on $instance" \
  --has "to: afp-oncall@example.com" --has "tls: True" --has "login: alertmanager@example.com" \
  --has "FIRING CRITICAL $alert: Fingerprint generation p95 7.369s on $instance" \
  --has "at or above the critical threshold of 5s" --has "Instance:   $instance" \
  --has "Runbook:    $(shown text runbook "$runbook")" \
  --has "Dashboard:  $(shown text dashboard "$dashboard")" --has "<!DOCTYPE html>" \
  --has "<td style=\"color: #555;\">Runbook</td><td>$(shown html runbook "$runbook")</td>"
expect_count 1 slack --title "[FIRING:1] CRITICAL $alert on $instance" --has "color: danger" \
  --has "*FIRING CRITICAL: Fingerprint generation p95 7.369s on $instance" --has "$runbook"
expect_count 1 slack --title "[FIRING:1] WARNING $alert"
expect_count 2 slack --has "$alert"
expect_count 1 mail --has "$alert"

step "3. 20,000 fingerprints of 0.1 s: p95 back under 3 s, both resolve"
push 20000 0.1
wait_until 60 "the resolved email" arrived mail --title "[RESOLVED] CRITICAL $alert on $instance"
wait_until 30 "the resolved critical on Slack" arrived slack --title "[RESOLVED] CRITICAL $alert on $instance"
wait_until 30 "the resolved warning on Slack" arrived slack --title "[RESOLVED] WARNING $alert on $instance"

step "4. no repeat: wait three more group intervals"
sleep 6
expect_count 1 mail --title "[RESOLVED] CRITICAL $alert on $instance: Fingerprint generation p95 7.369s on $instance" \
  --has "RESOLVED CRITICAL $alert" --has "fired for " --has "(when it last fired)" \
  --has "Runbook:    $(shown text runbook "$runbook")"
expect_count 1 slack --title "[RESOLVED] CRITICAL $alert on $instance" --has "color: good" \
  --has "*Resolved:* " --has ", fired for " --has "$runbook"
expect_count 1 slack --title "[RESOLVED] WARNING $alert on $instance" --has "fired for "
expect_count 4 slack --has "$alert"
expect_count 2 mail --has "$alert"
expect_count 4 slack
expect_count 2 mail
step "delivered: 1 warning, 1 critical (email + Slack), the warning inhibited meanwhile, 3 resolved, no repeat"

# The heartbeat, once the rules have it (AfpHeartbeat, from the mixin): Prometheus ->
# Alertmanager -> the dead man's switch webhook, with its token, and never email or Slack.
if prom_has 'ALERTS{alertname="AfpHeartbeat", alertstate="firing"}'; then
  wait_until 30 "AfpHeartbeat at the dead man's switch" arrived webhook \
    --title /webhook/afp-deadmans-switch --has "alertname=AfpHeartbeat"
  expect_count 0 webhook --title /webhook/afp-deadmans-switch --has "alertname=$alert"
  count webhook --title /webhook/afp-deadmans-switch --has "authorization: Bearer $webhook_token" |
    grep -qvx 0 || fail "the heartbeat arrived without the token of its credentials file"
  expect_count 0 slack --has AfpHeartbeat
  expect_count 0 mail --has AfpHeartbeat
  step "AfpHeartbeat reached the dead man's switch, and only it"
else
  step "no AfpHeartbeat in the rules yet (alert_inhibitions.sh checks its route)"
fi
