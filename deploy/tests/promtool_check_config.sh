#!/usr/bin/env bash
# promtool check config of the shipped deploy/prometheus.yml, with its rule_files resolving
# to the repository's rules: a temporary tree mirrors /etc/prometheus/ and the file's
# absolute /etc/prometheus/ paths are moved under it, nothing else changed.
#
#   promtool_check_config.sh PROMTOOL SHIPPED_PROMETHEUS_YML RULES_DIR
set -euo pipefail
promtool=$1
shipped=$2
rules_dir=$3

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

etc="$root/etc/prometheus"
mkdir -p "$etc/rules/afp"
cp "$rules_dir"/afp-recording.yml "$rules_dir"/afp-alerts.yml "$etc/rules/afp/"
sed "s#/etc/prometheus/#$etc/#g" "$shipped" >"$etc/prometheus.yml"

"$promtool" check config "$etc/prometheus.yml" | tee "$root/out"
# promtool accepts a glob that matches nothing; the two shipped files must be loaded.
grep -q 'SUCCESS: 2 rule files found' "$root/out" || {
  echo "rule_files of $shipped do not load rules/afp-recording.yml and rules/afp-alerts.yml" >&2
  exit 1
}
for name in afp-recording.yml afp-alerts.yml; do
  grep -q "Checking $etc/rules/afp/$name" "$root/out" || {
    echo "promtool did not check $name" >&2
    exit 1
  }
done
