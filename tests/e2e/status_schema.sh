#!/usr/bin/env bash
# `afp_exporter status --json` against a real exporter matches docs/status.schema.json, with
# every check in report order (n/a rows included), and the text report has the same rows.
#
#   status_schema.sh EXPORTER SCHEMA [DSN_FILE]   with a DSN file, the database rows are judged
set -euo pipefail
exporter=$1
schema=$2
dsn_file=${3:-}
source "$(dirname "$0")/../lib/exporter.sh"

if [ -n "$dsn_file" ]; then
  export AFP_PG_DSN_FILE=$dsn_file
else
  unset AFP_PG_DSN AFP_PG_DSN_FILE DATA_SOURCE_NAME DATA_SOURCE_URI
fi
start_exporter "$exporter"
url="http://127.0.0.1:$port/metrics"

# Exit 1 (a WARN on a busy test machine) is a report too; 2 is not.
set +e
"$exporter" status --json --url "$url" >"$workdir/status.json" 2>"$workdir/err"
json_exit=$?
"$exporter" status --url "$url" >"$workdir/status.txt" 2>>"$workdir/err"
text_exit=$?
set -e
if ((json_exit > 1 || text_exit > 1)); then
  echo "status exited $json_exit (--json) and $text_exit (text):" >&2
  cat "$workdir/err" >&2
  exit 1
fi

/usr/bin/python3 - "$schema" "$workdir/status.json" "$workdir/status.txt" "${dsn_file:+pg}" <<'PY'
import json
import sys

import jsonschema

schema_file, json_file, text_file, with_pg = sys.argv[1:5]
schema, doc = json.load(open(schema_file)), json.load(open(json_file))
jsonschema.Draft202012Validator.check_schema(schema)
jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)

order = schema["$defs"]["check"]["properties"]["name"]["enum"]
names = []
for check in doc["checks"]:
    if not names or names[-1] != check["name"]:
        names.append(check["name"])
if names != order:
    sys.exit(f"checks out of order or missing:\n  got  {names}\n  want {order}")
for check in doc["checks"]:
    if check["state"] == "n/a" and "note" not in check:
        sys.exit(f"an n/a row without a note: {check}")
database = [c for c in doc["checks"] if c["name"].startswith("pg_")]
if with_pg and any(c["state"] == "n/a" and c["name"] == "pg_up" for c in database):
    sys.exit(f"PostgreSQL rows not judged with a DSN: {database}")
if not with_pg and any(c.get("note") != "no pg_up in the readings: no PostgreSQL DSN"
                       for c in database):
    sys.exit(f"without a DSN every database row must say so: {database}")
rows = open(text_file).read().splitlines()[2:]
if len(rows) != len(doc["checks"]):
    sys.exit(f"{len(rows)} text rows, {len(doc['checks'])} JSON checks")
print(f"status --json: {len(doc['checks'])} checks valid against the schema, in report order")
PY
