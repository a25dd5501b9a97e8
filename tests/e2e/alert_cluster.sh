#!/usr/bin/env bash
# High availability: two Alertmanagers clustered on loopback (--cluster.listen-address,
# --cluster.peer), both with the configuration derived from the shipped one and both
# receiving every alert from Prometheus (as the README recommends). One warning must reach
# Slack exactly once: the second Alertmanager waits its turn (--cluster.peer-timeout,
# 15 s by default), sees in the gossiped notification log that the first one sent it, and
# sends nothing.
#
#   alert_cluster.sh EXPORTER PROMETHEUS ALERTMANAGER
source "$(dirname "$0")/alerting/lib.sh"
exporter=$1
prometheus=$2
alertmanager=$3

step "starting the exporter, the sinks, two clustered Alertmanagers and Prometheus"
start_exporter "$exporter"
start_sinks
derive
am1=$(free_port) am2=$(free_port) gossip1=$(free_port) gossip2=$(free_port)
start_alertmanager am1 "$am1" --cluster.listen-address="127.0.0.1:$gossip1" \
  --cluster.advertise-address="127.0.0.1:$gossip1" --cluster.peer="127.0.0.1:$gossip2"
start_alertmanager am2 "$am2" --cluster.listen-address="127.0.0.1:$gossip2" \
  --cluster.advertise-address="127.0.0.1:$gossip2" --cluster.peer="127.0.0.1:$gossip1"
cluster_of_two() {
  local port
  for port in "$am1" "$am2"; do
    curl -fsS --max-time 2 "http://127.0.0.1:$port/api/v2/status" |
      "$py" -c 'import json, sys; c = json.load(sys.stdin)["cluster"]; sys.exit(not (c["status"] == "ready" and len(c["peers"]) == 2))'
  done
}
wait_until 90 "both Alertmanagers to see a settled cluster of two" cluster_of_two
start_prometheus "$(free_port)" "$am1" "$am2"
instance=127.0.0.1:$exporter_port
alert=AfpFingerprintGenerationSlow

step "40 fingerprints of 4 s: one warning"
push 40 4
has_alert() {
  curl -fsS --max-time 2 "http://127.0.0.1:$1/api/v2/alerts?filter=alertname=\"$alert\"" |
    grep -q '"state":"active"'
}
wait_until 60 "the warning to reach the first Alertmanager" has_alert "$am1"
wait_until 30 "the warning to reach the second Alertmanager" has_alert "$am2"
wait_until 60 "the warning on Slack" arrived slack --title "[FIRING:1] WARNING $alert on $instance"
step "waiting 25 s: longer than the second Alertmanager's turn (peer timeout 15 s)"
sleep 25
expect_count 1 slack --title "[FIRING:1] WARNING $alert on $instance" \
  --has "*FIRING WARNING: Fingerprint generation p95 3.95s on $instance*" \
  --has "*Runbook:* $(shown slack runbook "$(prom_annotation "$alert" warning runbook_url)")"
expect_count 1 slack
expect_count 0 mail
step "two clustered Alertmanagers with the alert, one notification delivered"
