#!/usr/bin/env bash
# Renders the mixin with the host and PostgreSQL selectors widened to node_exporter's and
# postgres_exporter's jobs into OUT_DIR and runs rules/tests/widened-selectors.yml on it.
#
#   widened_selectors.sh PROMTOOL OUT_DIR
set -euo pipefail
promtool=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)

rm -rf "$out"
mkdir -p "$out"
"$here/../../mixin/render" --output-dir "$out" \
  --set hostSelector='job=~"afp|node"' --set pgSelector='job=~"afp|postgres"' >/dev/null
cp "$here/widened-selectors.yml" "$out/"
"$promtool" test rules "$out/widened-selectors.yml"
