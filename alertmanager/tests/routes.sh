#!/usr/bin/env bash
# amtool checks of alertmanager/alertmanager.yml: the file is valid (templates included),
# every severity x component combination reaches the receivers it should, and the
# heartbeat (AfpHeartbeat, severity="none") reaches the dead man's switch and nothing else.
#
#   routes.sh AMTOOL ALERTMANAGER_YML
set -euo pipefail
amtool=$1
config=$2

"$amtool" check-config "$config"

failures=0
# expect RECEIVERS LABEL=VALUE...   (receivers comma-separated, in routing-tree order)
expect() {
  local want=$1 got
  shift
  got=$("$amtool" config routes test --config.file="$config" "$@" 2>/dev/null)
  if [ "$got" = "$want" ]; then
    printf 'ok    %-45s -> %s\n' "$*" "$got"
  else
    printf 'FAIL  %-45s -> %s, want %s\n' "$*" "$got" "$want"
    failures=$((failures + 1))
  fi
}

for component in system pipeline exporter; do
  expect afp-oncall-critical severity=critical component=$component alertname=X instance=h:9793
  expect afp-slack-warning severity=warning component=$component alertname=X instance=h:9793
  expect afp-low-priority severity=info component=$component alertname=X instance=h:9793
done
# The database team also gets every database alert.
expect afp-database-team-email,afp-oncall-critical severity=critical component=database alertname=AfpPostgresDown
expect afp-database-team-email,afp-slack-warning severity=warning component=database alertname=AfpPostgresDeadRows
expect afp-database-team-email,afp-low-priority severity=info component=database alertname=AfpPostgresIndexUnused
# Alerts without a known severity are not lost.
expect afp-slack-warning component=pipeline alertname=SomethingElse
expect afp-slack-warning severity=page component=system
# ... a database one reaches the database team (the first route matched, so the default
# receiver is not used).
expect afp-database-team-email component=database

# The heartbeat: the dead man's switch only, whatever its other labels (never email or
# Slack, not even the database team's).
expect afp-deadmans-switch alertname=AfpHeartbeat severity=none
expect afp-deadmans-switch alertname=AfpHeartbeat severity=none component=database instance=h:9793
expect afp-deadmans-switch alertname=AfpHeartbeat severity=none component=exporter job=afp
# ... and nothing else goes there.
expect afp-slack-warning alertname=Watchdog severity=none

# The alerts the rules ship, with their real labels.
rules_dir=$(dirname "$0")/../../rules
if [ -f "$rules_dir/afp-alerts.yml" ]; then
  while read -r alertname severity component; do
    case $severity in
      critical) want=afp-oncall-critical ;;
      warning) want=afp-slack-warning ;;
      info) want=afp-low-priority ;;
      *) want=afp-slack-warning ;;
    esac
    [ "$component" = database ] && want=afp-database-team-email,$want
    [ "$alertname" = AfpHeartbeat ] && want=afp-deadmans-switch
    expect "$want" alertname="$alertname" severity="$severity" component="$component" instance=h:9793
  done < <(sed -n -e 's/^ *- alert: *\(.*\)$/A \1/p' -e 's/^ *severity: *\(.*\)$/S \1/p' \
                 -e 's/^ *component: *\(.*\)$/C \1/p' "$rules_dir/afp-alerts.yml" |
           awk '$1=="A"{a=$2} $1=="S"{s=$2} $1=="C"{print a, s, $2}' | sort -u)
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures routing case(s) failed" >&2
  exit 1
fi
echo "all routing cases pass"
