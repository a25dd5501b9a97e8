#!/usr/bin/env bash
# amtool checks of alertmanager/alertmanager.yml: the file is valid (templates included),
# and every severity x component combination reaches the receivers it should.
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
  expect oncall-critical severity=critical component=$component alertname=X instance=h:9793
  expect slack-warning severity=warning component=$component alertname=X instance=h:9793
  expect low-priority severity=info component=$component alertname=X instance=h:9793
done
# The database team also gets every database alert.
expect database-team-email,oncall-critical severity=critical component=database alertname=AfpPostgresDown
expect database-team-email,slack-warning severity=warning component=database alertname=AfpPostgresDeadRows
expect database-team-email,low-priority severity=info component=database alertname=AfpPostgresIndexUnused
# Alerts without a known severity are not lost.
expect slack-warning component=pipeline alertname=SomethingElse
expect slack-warning severity=page component=system
# ... a database one reaches the database team (the first route matched, so the default
# receiver is not used).
expect database-team-email component=database

# The alerts the rules ship, with their real labels.
rules_dir=$(dirname "$0")/../../rules
if [ -f "$rules_dir/afp-alerts.yml" ]; then
  while read -r alertname severity component; do
    case $severity in
      critical) want=oncall-critical ;;
      warning) want=slack-warning ;;
      info) want=low-priority ;;
    esac
    [ "$component" = database ] && want=database-team-email,$want
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
