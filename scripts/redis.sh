#!/usr/bin/env bash
# Starts (or stops) a throw-away Redis server for the tests, installing the Debian package when
# it is missing. `start` prints the URL to use as APFLOW_TEST_REDIS_URL. Memory-only by default;
# APFLOW_TEST_REDIS_APPENDONLY=yes writes an append-only file synced every second (Redis's usual
# durable setting; the benchmarks use it).
#   eval "$(bash scripts/redis.sh start)"   # exports APFLOW_TEST_REDIS_URL
#   bash scripts/redis.sh stop
set -euo pipefail
PORT="${APFLOW_TEST_REDIS_PORT:-56379}"
DATA="${APFLOW_TEST_REDIS_DIR:-/tmp/apflow-test-redis}"
APPENDONLY="${APFLOW_TEST_REDIS_APPENDONLY:-no}"

stop_server() {
  if [ -f "$DATA/redis.pid" ]; then
    local pid
    pid="$(cat "$DATA/redis.pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
}

case "${1:-start}" in
  start)
    if ! command -v redis-server >/dev/null; then
      echo "installing redis-server (Debian package)" >&2
      if [ "$(id -u)" != 0 ]; then echo "redis-server is missing and this user cannot install it" >&2; exit 1; fi
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >&2
    fi
    stop_server
    rm -rf "$DATA"
    mkdir -p "$DATA"
    # Private: loopback, no snapshots, its own pid and log (and append-only file when asked).
    redis-server --bind 127.0.0.1 --port "$PORT" --dir "$DATA" --daemonize yes --pidfile "$DATA/redis.pid" \
      --logfile "$DATA/server.log" --save '' --appendonly "$APPENDONLY" --appendfsync everysec --protected-mode yes >&2 \
      || { echo "redis-server did not start:" >&2; cat "$DATA/server.log" >&2 2>/dev/null || true; exit 1; }
    for _ in $(seq 1 100); do
      if [ "$(redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null)" = PONG ]; then break; fi
      sleep 0.1
    done
    if [ "$(redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null)" != PONG ]; then
      echo "redis-server did not answer on port $PORT:" >&2
      cat "$DATA/server.log" >&2 2>/dev/null || true
      exit 1
    fi
    echo "export APFLOW_TEST_REDIS_URL=redis://127.0.0.1:$PORT/0"
    ;;
  stop)
    stop_server
    rm -rf "$DATA"
    ;;
  *) echo "usage: redis.sh start|stop" >&2; exit 2 ;;
esac
