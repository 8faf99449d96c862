#!/usr/bin/env bash
# Runs once, when the postgres volume is first initialised (docker-entrypoint-initdb.d).
# POSTGRES_DB is created by the image itself and holds Dagster's storage (runs, event logs, schedules);
# this script creates the second database, the catalog the storefront reads (ONEC_CATALOG_DB).
set -euo pipefail

catalog_db="${ONEC_CATALOG_DB:-onec_catalog}"
if [ "$catalog_db" = "${POSTGRES_DB:-postgres}" ]; then
  echo "ONEC_CATALOG_DB equals POSTGRES_DB ($catalog_db): nothing to create"
  exit 0
fi

exists="$(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-postgres}" -tAc \
  "SELECT 1 FROM pg_database WHERE datname = '${catalog_db}'")"
if [ "$exists" != "1" ]; then
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-postgres}" \
    -c "CREATE DATABASE \"${catalog_db}\" OWNER \"${POSTGRES_USER}\""
  echo "created catalog database ${catalog_db}"
fi
