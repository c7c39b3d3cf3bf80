#!/usr/bin/env bash
# Starts (or stops) a throw-away PostgreSQL server for the tests, installing the Debian package
# when it is missing. `start` prints the admin URL to use as APFLOW_TEST_POSTGRES_URL; it wipes
# the data folder of a server already running there. Tests run it with fsync off (nothing to keep);
# APFLOW_TEST_POSTGRES_FSYNC=on keeps PostgreSQL's durable default (the benchmarks do).
# A running server can be taken down and brought back on its data, as a real restart does:
# `down` stops it (fast: every session is cut), `up` starts it again on the same port, `restart`
# does both with APFLOW_TEST_POSTGRES_DOWN_S seconds (default 0) in between.
#   eval "$(bash scripts/postgres.sh start)"   # exports APFLOW_TEST_POSTGRES_URL
#   bash scripts/postgres.sh down; bash scripts/postgres.sh up
#   APFLOW_TEST_POSTGRES_DOWN_S=1 bash scripts/postgres.sh restart
#   bash scripts/postgres.sh stop
set -euo pipefail
PORT="${APFLOW_TEST_POSTGRES_PORT:-55432}"
DATA="${APFLOW_TEST_POSTGRES_DIR:-/tmp/apflow-test-postgres}"
FSYNC="${APFLOW_TEST_POSTGRES_FSYNC:-off}"
DOWN_S="${APFLOW_TEST_POSTGRES_DOWN_S:-0}"

bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
run_server() {
  as_postgres "$1/pg_ctl -D $DATA -l $DATA/server.log -w -o \"-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=$FSYNC -c max_connections=200\" start" >&2
}
kept_data() {
  BIN="$(bin_dir)"
  if [ -z "$BIN" ] || [ ! -f "$DATA/PG_VERSION" ]; then echo "no server data in $DATA (run start first)" >&2; exit 1; fi
}
down() { as_postgres "$BIN/pg_ctl -D $DATA stop -m fast -w" >&2; }

case "${1:-start}" in
  start)
    if [ -z "$(bin_dir)" ]; then
      echo "installing postgresql (Debian package)" >&2
      if [ "$(id -u)" != 0 ]; then echo "postgresql is missing and this user cannot install it" >&2; exit 1; fi
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
    fi
    BIN="$(bin_dir)"
    if [ -f "$DATA/postmaster.pid" ]; then as_postgres "$BIN/pg_ctl -D $DATA stop -m immediate" >&2 || true; fi
    rm -rf "$DATA"
    mkdir -p "$DATA"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$DATA"; fi
    as_postgres "$BIN/initdb -D $DATA -A trust -U postgres --no-sync" >/dev/null
    run_server "$BIN"
    echo "export APFLOW_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$PORT/postgres"
    ;;
  down)
    kept_data
    down
    ;;
  up)
    kept_data
    run_server "$BIN"
    ;;
  restart)
    kept_data
    down
    sleep "$DOWN_S"
    run_server "$BIN"
    ;;
  stop)
    BIN="$(bin_dir)"
    if [ -n "$BIN" ] && [ -f "$DATA/postmaster.pid" ]; then as_postgres "$BIN/pg_ctl -D $DATA stop -m fast" >&2; fi
    rm -rf "$DATA"
    ;;
  *) echo "usage: postgres.sh start|down|up|restart|stop" >&2; exit 2 ;;
esac
