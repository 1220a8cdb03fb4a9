#!/usr/bin/env bash
# Azurite's Blob service (npm devDependency, pinned 3.35.0: the last that runs on Node 20) on
# loopback, in memory, without telemetry. `up` boots it, waits until it answers and writes its
# connection facts; `down` stops it by pid. Idempotent: `up` on a running Azurite is a no-op.
set -euo pipefail
# CI runs with standard input closed; nothing here reads from it.
exec </dev/null
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STATE=${QUIVER_SERVERS_DIR:-${TMPDIR:-/tmp}/quiver-servers}
DIR=$STATE/azurite
PORT=${QUIVER_AZURE_PORT:-10000}
READY_WAIT_S_MAX=60
# Azurite's well-known development account (public, documented by Azure; not a secret).
ACCOUNT=devstoreaccount1
KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

log() { echo "azurite: $*" >&2; }
alive() { [ -f "$DIR/azurite.pid" ] && kill -0 "$(cat "$DIR/azurite.pid")" 2>/dev/null; }
answers() { curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/$ACCOUNT?comp=list"; }

write_env() {
  mkdir -p "$STATE"
  cat > "$STATE/azure.env" <<ENV
QUIVER_AZURE_CONNECTION_STRING=DefaultEndpointsProtocol=http;AccountName=$ACCOUNT;AccountKey=$KEY;BlobEndpoint=http://127.0.0.1:$PORT/$ACCOUNT;
QUIVER_AZURE_ACCOUNT=$ACCOUNT
QUIVER_AZURE_KEY=$KEY
QUIVER_AZURE_ENDPOINT=http://127.0.0.1:$PORT/$ACCOUNT
ENV
}

up() {
  if alive && answers; then write_env; log "already running on 127.0.0.1:$PORT"; return; fi
  local bin=$ROOT/node_modules/.bin/azurite-blob
  [ -x "$bin" ] || { log "$bin is missing: run npm ci first"; exit 1; }
  down_quiet
  mkdir -p "$DIR"
  (cd "$DIR" && exec setsid "$bin" --blobHost 127.0.0.1 --blobPort "$PORT" --inMemoryPersistence \
    --disableTelemetry --skipApiVersionCheck --silent >"$DIR/azurite.log" 2>&1 < /dev/null) &
  echo $! > "$DIR/azurite.pid"
  local waited=0
  until answers; do
    sleep 0.5; waited=$((waited + 1))
    alive || { log "exited while starting; see $DIR/azurite.log"; exit 1; }
    if [ "$waited" -ge $((READY_WAIT_S_MAX * 2)) ]; then log "no answer on 127.0.0.1:$PORT after ${READY_WAIT_S_MAX}s"; exit 1; fi
  done
  write_env
  log "up on 127.0.0.1:$PORT"
}

down_quiet() {
  alive || return 0
  stop_pids 5 "$(cat "$DIR/azurite.pid")"
}

down() { down_quiet; rm -f "$STATE/azure.env" "$DIR/azurite.pid"; log "stopped"; }

case ${1:-up} in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
