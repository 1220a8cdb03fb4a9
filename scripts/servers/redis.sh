#!/usr/bin/env bash
# Redis (Debian `redis-server`, 7.0 meets BullMQ's minimum of 6.2) on loopback for the bullmq
# runner's tests and benchmarks: its own port, no persistence (no RDB, no AOF), a pid file.
# `up` installs the package when missing, boots, waits until PING answers and writes its URL;
# `down` stops it by pid. Idempotent: `up` on a running Redis only rewrites the env file.
set -euo pipefail
# CI runs with standard input closed; nothing here reads from it.
exec </dev/null
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STATE=${QUIVER_SERVERS_DIR:-${TMPDIR:-/tmp}/quiver-servers}
DIR=$STATE/redis
PORT=${QUIVER_REDIS_PORT:-6390}
READY_WAIT_S_MAX=30

log() { echo "redis: $*" >&2; }
alive() { [ -f "$DIR/redis.pid" ] && kill -0 "$(cat "$DIR/redis.pid")" 2>/dev/null; }
answers() { [ "$(redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null)" = PONG ]; }

write_env() {
  mkdir -p "$STATE"
  echo "QUIVER_REDIS_URL=redis://127.0.0.1:$PORT" > "$STATE/redis.env"
}

install_if_missing() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return
  log "installing redis-server with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
}

up() {
  install_if_missing
  if alive && answers; then write_env; log "already running on 127.0.0.1:$PORT"; return; fi
  down_quiet
  mkdir -p "$DIR"
  # BullMQ needs keys never evicted (noeviction); `save ""` and appendonly off: nothing on disk.
  redis-server --bind 127.0.0.1 --port "$PORT" --protected-mode yes --save '' --appendonly no \
    --maxmemory-policy noeviction --dir "$DIR" --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log" \
    --daemonize yes
  local waited=0
  until answers; do
    sleep 0.2; waited=$((waited + 1))
    if [ "$waited" -ge $((READY_WAIT_S_MAX * 5)) ]; then log "no PONG on 127.0.0.1:$PORT after ${READY_WAIT_S_MAX}s; see $DIR/redis.log"; exit 1; fi
  done
  write_env
  log "up on 127.0.0.1:$PORT"
}

down_quiet() {
  alive || return 0
  stop_pids 10 "$(cat "$DIR/redis.pid")"
}

down() { down_quiet; rm -f "$STATE/redis.env" "$DIR/redis.pid"; log "stopped"; }

case ${1:-up} in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
