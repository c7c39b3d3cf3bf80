#!/usr/bin/env bash
# Starts (or stops) a throw-away PostgreSQL server for the tests, installing the Debian package
# when it is missing. `start` prints the admin URL to use as APFLOW_TEST_POSTGRES_URL; it wipes
# the data folder of a server already running there. Tests run it with fsync off (nothing to keep);
# APFLOW_TEST_POSTGRES_FSYNC=on keeps PostgreSQL's durable default (the benchmarks do).
#   eval "$(bash scripts/postgres.sh start)"   # exports APFLOW_TEST_POSTGRES_URL
#   bash scripts/postgres.sh stop
set -euo pipefail
PORT="${APFLOW_TEST_POSTGRES_PORT:-55432}"
DATA="${APFLOW_TEST_POSTGRES_DIR:-/tmp/apflow-test-postgres}"
FSYNC="${APFLOW_TEST_POSTGRES_FSYNC:-off}"

bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }

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
    as_postgres "$BIN/pg_ctl -D $DATA -l $DATA/server.log -w -o \"-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=$FSYNC -c max_connections=200\" start" >&2
    echo "export APFLOW_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$PORT/postgres"
    ;;
  stop)
    BIN="$(bin_dir)"
    if [ -n "$BIN" ] && [ -f "$DATA/postmaster.pid" ]; then as_postgres "$BIN/pg_ctl -D $DATA stop -m fast" >&2; fi
    rm -rf "$DATA"
    ;;
  *) echo "usage: postgres.sh start|stop" >&2; exit 2 ;;
esac
