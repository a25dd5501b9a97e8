#!/bin/bash
# Run once by the postgres image's entrypoint, on an empty data directory, as the
# superuser: the app's role (owner of the fingerprints database, as Dejavu's is) and the
# exporter's (pg_monitor only), with the passwords of their secret files, and
# pg_stat_statements in the app's database.
set -euo pipefail
app_password=$(cat /run/secrets/pg_app_password)
exporter_password=$(cat /run/secrets/pg_exporter_password)
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v app_password="$app_password" -v exporter_password="$exporter_password" <<'SQL'
CREATE ROLE dejavu LOGIN PASSWORD :'app_password';
CREATE ROLE afp_exporter LOGIN PASSWORD :'exporter_password' IN ROLE pg_monitor;
CREATE DATABASE fingerprints OWNER dejavu;
\c fingerprints
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
SQL
