#!/bin/sh
# Run once by the postgres image on an empty data folder (docker-entrypoint-initdb.d): the role
# and database the Podium services use. Temporal keeps its own role (POSTGRES_USER); Podium never
# connects as a superuser.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  --set=app_password="$APP_DB_PASSWORD" <<'SQL'
CREATE ROLE podium LOGIN PASSWORD :'app_password';
CREATE DATABASE podium OWNER podium;
REVOKE ALL ON DATABASE podium FROM PUBLIC;
SQL
