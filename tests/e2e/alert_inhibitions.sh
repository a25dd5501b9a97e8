#!/usr/bin/env bash
# The inhibition rules of alertmanager/alertmanager.yml, in a real Alertmanager (configuration
# derived as for the delivery test) fed through its API: which alerts it reports as
# suppressed, and which notifications reach the sinks.
#   - a critical mutes the warning of the same alert, instance and object, nothing else;
#   - AfpPostgresDown mutes the instance's other database alerts, its PostgreSQL
#     collectors' failures, a missing pg_up, and the app's errors, probe and slowness;
#   - AfpExporterDown mutes every other alert of the instance;
#   - the app's slow queries mute the server's slow statement, and either mutes the
#     probe's db stage, of its severity (and a critical one their warnings), never a
#     critical under a warning;
#   - the probe failing mutes the identification errors;
#   - a slow stage (fingerprinting, the app's queries, a statement) mutes the slow API of
#     its severity and below, never a critical API under a warning stage;
#   - dead rows mute the stale statistics of the same table;
#   - nothing mutes AfpHeartbeat, which reaches the dead man's switch webhook (with the
#     token from its credentials file) and neither email nor Slack;
#   - an alert that is not afp's is never muted by afp's rules.
#
#   alert_inhibitions.sh ALERTMANAGER
source "$(dirname "$0")/alerting/lib.sh"
alertmanager=$1

start_sinks
derive >/dev/null
am=$(free_port)
start_alertmanager alertmanager "$am" --cluster.listen-address=

# Each alert: name severity component instance [label=value...]
alerts=(
  "AfpFingerprintGenerationSlow critical pipeline fp-1:9793"
  "AfpFingerprintGenerationSlow warning pipeline fp-1:9793"
  "AfpFingerprintGenerationSlow warning pipeline fp-2:9793"
  "AfpFilesystemUsed critical system fp-1:9793 mountpoint=/data device=/dev/sdb1 fstype=xfs"
  "AfpFilesystemUsed warning system fp-1:9793 mountpoint=/data device=/dev/sdb1 fstype=xfs"
  "AfpFilesystemUsed warning system fp-1:9793 mountpoint=/srv device=/dev/sdc1 fstype=ext4"
  "AfpPostgresDown critical database db-1:9793"
  "AfpPostgresDeadRows warning database db-1:9793 datname=afp schemaname=public relname=fingerprints"
  "AfpPostgresDeadRows warning database db-2:9793 datname=afp schemaname=public relname=fingerprints"
  "AfpExporterCollectorFailing warning exporter db-1:9793 collector=pg_stat_statements"
  "AfpExporterCollectorFailing warning exporter db-1:9793 collector=filesystem"
  "AfpIdentificationErrors critical pipeline db-1:9793"
  "AfpProbeFailing critical pipeline db-1:9793"
  "AfpDbQueriesSlow warning pipeline db-1:9793 operation=lookup"
  "AfpPostgresMetricsAbsent warning exporter db-1:9793 collector=postgres"
  "AfpPostgresStatementSlow critical database st-1:9793 datname=afp queryid=42 user=afp"
  "AfpDbQueriesSlow critical pipeline st-1:9793 operation=lookup"
  "AfpProbeStageSlow warning pipeline st-1:9793 stage=db"
  "AfpProbeStageSlow warning pipeline st-1:9793 stage=fingerprint"
  "AfpPostgresStatementSlow warning database st-2:9793 datname=afp queryid=42 user=afp"
  "AfpDbQueriesSlow critical pipeline st-2:9793 operation=lookup"
  "AfpPostgresStatementSlow critical database st-3:9793 datname=afp queryid=42 user=afp"
  "AfpDbQueriesSlow warning pipeline st-3:9793 operation=lookup"
  "AfpProbeFailing critical pipeline pr-1:9793"
  "AfpIdentificationErrors critical pipeline pr-1:9793"
  "AfpExporterDown critical exporter api-1:9793"
  "AfpFilesystemUsed warning system api-1:9793 device=/dev/sda1 fstype=ext4"
  "AfpExporterCollectorFailing warning exporter api-1:9793 collector=cpu"
  "AfpIngestRejecting warning exporter api-1:9793 transport=http reason=unauthorized"
  "AfpHeartbeat none exporter api-1:9793"
  "AfpFingerprintGenerationSlow critical pipeline sa-1:9793"
  "AfpApiRequestsSlow warning pipeline sa-1:9793 endpoint=/identify"
  "AfpDbQueriesSlow warning pipeline sa-2:9793 operation=lookup"
  "AfpApiRequestsSlow warning pipeline sa-2:9793 endpoint=/identify"
  "AfpDbQueriesSlow warning pipeline sa-3:9793 operation=lookup"
  "AfpApiRequestsSlow critical pipeline sa-3:9793 endpoint=/identify"
  "AfpApiRequestsSlow warning pipeline sa-4:9793 endpoint=/identify"
  "AfpPostgresDeadRows critical database dr-1:9793 datname=afp schemaname=public relname=fingerprints"
  "AfpPostgresStatisticsStale warning database dr-1:9793 datname=afp schemaname=public relname=fingerprints"
  "AfpPostgresStatisticsStale warning database dr-1:9793 datname=afp schemaname=public relname=songs"
  "NodeFilesystemFull critical system fp-1:9793 mountpoint=/data"
  "NodeFilesystemFull warning system fp-1:9793 mountpoint=/data"
)
"$py" - "$am" "${alerts[@]}" <<'EOF'
import json, sys, urllib.request
port, specs = sys.argv[1], sys.argv[2:]
alerts = []
for spec in specs:
    name, severity, component, instance, *extra = spec.split()
    labels = {"alertname": name, "severity": severity, "component": component,
              "instance": instance, "job": "afp", **dict(e.split("=", 1) for e in extra)}
    alerts.append({"labels": labels, "annotations": {
        "summary": f"{name} {severity} on {instance} {' '.join(extra)}".strip(),
        "runbook_url": f"https://git.example.org/afp/docs/runbook.md#{name.lower()}",
        "dashboard_url": "https://grafana.example.org/d/afp-overview"}})
req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v2/alerts", json.dumps(alerts).encode(),
                             {"Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=5).read()
EOF

# state NAME SEVERITY INSTANCE [label=value...]: prints active or suppressed
state() {
  "$py" - "$am" "$@" <<'EOF'
import json, sys, urllib.request
port, name, severity, instance, *extra = sys.argv[1:]
want = {"alertname": name, "severity": severity, "instance": instance, **dict(e.split("=", 1) for e in extra)}
alerts = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/alerts", timeout=5))
found = [a for a in alerts if all(a["labels"].get(k) == v for k, v in want.items())]
print(found[0]["status"]["state"] if len(found) == 1 else f"{len(found)} alerts match")
EOF
}
failures=0
expect_state() {
  local want=$1 got
  shift
  got=$(state "$@")
  if [ "$got" = "$want" ]; then
    printf 'ok    %-11s %s\n' "$want" "$*"
  else
    printf 'FAIL  %-11s %s (want %s)\n' "$got" "$*" "$want"
    failures=$((failures + 1))
  fi
}

wait_until 10 "the alerts in Alertmanager" sh -c "curl -fsS http://127.0.0.1:$am/api/v2/alerts | grep -q AfpIngestRejecting"
expect_state active AfpFingerprintGenerationSlow critical fp-1:9793
expect_state suppressed AfpFingerprintGenerationSlow warning fp-1:9793
expect_state active AfpFingerprintGenerationSlow warning fp-2:9793
expect_state active AfpFilesystemUsed critical fp-1:9793 mountpoint=/data
expect_state suppressed AfpFilesystemUsed warning fp-1:9793 mountpoint=/data
expect_state active AfpFilesystemUsed warning fp-1:9793 mountpoint=/srv
expect_state active AfpPostgresDown critical db-1:9793
expect_state suppressed AfpPostgresDeadRows warning db-1:9793
expect_state active AfpPostgresDeadRows warning db-2:9793
expect_state suppressed AfpExporterCollectorFailing warning db-1:9793 collector=pg_stat_statements
expect_state active AfpExporterCollectorFailing warning db-1:9793 collector=filesystem
expect_state suppressed AfpIdentificationErrors critical db-1:9793
expect_state suppressed AfpProbeFailing critical db-1:9793
expect_state suppressed AfpDbQueriesSlow warning db-1:9793
expect_state suppressed AfpPostgresMetricsAbsent warning db-1:9793
expect_state suppressed AfpPostgresStatementSlow critical st-1:9793
expect_state active AfpDbQueriesSlow critical st-1:9793
expect_state suppressed AfpProbeStageSlow warning st-1:9793 stage=db
expect_state active AfpProbeStageSlow warning st-1:9793 stage=fingerprint
expect_state suppressed AfpPostgresStatementSlow warning st-2:9793
expect_state active AfpDbQueriesSlow critical st-2:9793
expect_state active AfpPostgresStatementSlow critical st-3:9793
expect_state active AfpDbQueriesSlow warning st-3:9793
expect_state active AfpProbeFailing critical pr-1:9793
expect_state suppressed AfpIdentificationErrors critical pr-1:9793
expect_state active AfpExporterDown critical api-1:9793
expect_state suppressed AfpFilesystemUsed warning api-1:9793
expect_state suppressed AfpExporterCollectorFailing warning api-1:9793 collector=cpu
expect_state suppressed AfpIngestRejecting warning api-1:9793
expect_state active AfpHeartbeat none api-1:9793
expect_state suppressed AfpApiRequestsSlow warning sa-1:9793
expect_state suppressed AfpApiRequestsSlow warning sa-2:9793
expect_state active AfpApiRequestsSlow critical sa-3:9793
expect_state active AfpApiRequestsSlow warning sa-4:9793
expect_state suppressed AfpPostgresStatisticsStale warning dr-1:9793 relname=fingerprints
expect_state active AfpPostgresStatisticsStale warning dr-1:9793 relname=songs
expect_state active NodeFilesystemFull critical fp-1:9793
expect_state active NodeFilesystemFull warning fp-1:9793
((failures == 0)) || fail "$failures inhibition case(s) failed"

# What reaches people: only the active alerts (group_wait 1 s, group_interval 2 s here).
wait_until 30 "the notifications" arrived mail --title "[FIRING:1] CRITICAL AfpExporterDown on api-1:9793"
sleep 5
expect_count 1 slack --title "[FIRING:1] WARNING AfpFingerprintGenerationSlow on fp-2:9793"
expect_count 0 slack --title "[FIRING:1] WARNING AfpFingerprintGenerationSlow on fp-1:9793"
expect_count 1 slack --title "[FIRING:1] WARNING AfpFilesystemUsed on fp-1:9793" --has "mountpoint=/srv"
expect_count 0 slack --has "WARNING: AfpFilesystemUsed warning on fp-1:9793 mountpoint=/data"
expect_count 0 slack --title "[FIRING:1] WARNING AfpPostgresDeadRows on db-1:9793"
expect_count 1 slack --title "[FIRING:1] WARNING AfpPostgresDeadRows on db-2:9793"
expect_count 1 mail --title "[FIRING:1] WARNING AfpPostgresDeadRows on db-2:9793" --has "to: afp-dba@example.com"
expect_count 1 mail --title "[FIRING:1] CRITICAL AfpPostgresDown on db-1:9793" --has "to: afp-dba@example.com"
expect_count 1 mail --title "[FIRING:1] CRITICAL AfpPostgresDown on db-1:9793" --has "to: afp-oncall@example.com"
expect_count 1 slack --title "[FIRING:1] WARNING AfpExporterCollectorFailing on db-1:9793" --has "collector=filesystem"
expect_count 0 slack --has "collector=pg_stat_statements"
expect_count 0 slack --title "[FIRING:1] WARNING AfpExporterCollectorFailing on api-1:9793"
expect_count 0 slack --title "[FIRING:1] WARNING AfpIngestRejecting"
# One page per cause: PostgreSQL down on db-1, the slow queries on st-1, the probe on pr-1.
expect_count 0 mail --title "[FIRING:1] CRITICAL AfpIdentificationErrors on db-1:9793"
expect_count 0 mail --title "[FIRING:1] CRITICAL AfpProbeFailing on db-1:9793"
expect_count 1 mail --title "[FIRING:1] CRITICAL AfpDbQueriesSlow on st-1:9793"
expect_count 0 mail --title "[FIRING:1] CRITICAL AfpPostgresStatementSlow on st-1:9793"
expect_count 1 mail --title "[FIRING:1] CRITICAL AfpDbQueriesSlow on st-2:9793"
expect_count 1 mail --title "[FIRING:1] CRITICAL AfpProbeFailing on pr-1:9793"
expect_count 0 mail --title "[FIRING:1] CRITICAL AfpIdentificationErrors on pr-1:9793"
expect_count 0 slack --title "[FIRING:1] WARNING AfpFilesystemUsed on api-1:9793"
wait_until 15 "the heartbeat at the dead man's switch" arrived webhook --title /webhook/afp-deadmans-switch
expect_count 1 webhook --title /webhook/afp-deadmans-switch --has "authorization: Bearer $webhook_token" \
  --has "alertname=AfpHeartbeat" --has "status: firing"
# Only the heartbeat goes to a webhook (the generic one is routed nowhere).
expect_count 0 webhook --has "severity=critical"
expect_count 0 webhook --has "severity=warning"
expect_count 0 slack --has "AfpHeartbeat"
expect_count 0 mail --has "AfpHeartbeat"
step "inhibitions hold in a real Alertmanager; the heartbeat reaches the dead man's switch only"
