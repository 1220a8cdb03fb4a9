#!/usr/bin/env bash
# A single-node Ceph RADOS Gateway (S3) on loopback for tests and benchmarks: one mon, one OSD on
# memstore (data lives in memory), auth none, pool size 1. `up` installs Debian's packages when
# missing, boots, waits until S3 answers and writes its connection facts; `down` stops it by pid.
# Idempotent: `up` on a running gateway only rewrites the env file.
set -Eeuo pipefail
# CI runs with standard input closed, and the ceph CLI then fails (`ceph osd crush add` exits
# non-zero, printing nothing); every tool here reads nothing from it, so give them /dev/null.
exec </dev/null
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STATE=${QUIVER_SERVERS_DIR:-${TMPDIR:-/tmp}/quiver-servers}
DIR=$STATE/radosgw
PORT=${QUIVER_S3_PORT:-7480}
MON_PORT=${QUIVER_CEPH_MON_PORT:-6789}
ACCESS_KEY=quiver-test
SECRET_KEY=quiver-test-secret
READY_WAIT_S_MAX=90
export CEPH_CONF=$DIR/ceph.conf

log() { echo "radosgw: $*" >&2; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
# A failed step says which, with the daemons' last log lines, instead of exiting silently.
trap 'rc=$?; log "failed (exit $rc) at line $LINENO: $BASH_COMMAND; logs in $DIR/log"; tail -n 5 "$DIR"/log/*.log >&2 2>/dev/null || true' ERR
s3_answers() { curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; }

write_env() {
  mkdir -p "$STATE"
  cat > "$STATE/s3.env" <<ENV
QUIVER_S3_ENDPOINT=http://127.0.0.1:$PORT
QUIVER_S3_REGION=us-east-1
QUIVER_S3_ACCESS_KEY=$ACCESS_KEY
QUIVER_S3_SECRET_KEY=$SECRET_KEY
ENV
}

install_if_missing() {
  command -v radosgw >/dev/null && command -v ceph-osd >/dev/null && command -v ceph-mon >/dev/null && return
  log "installing ceph-mon ceph-osd radosgw ceph-common with apt-get (1-2 min)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ceph-mon ceph-osd radosgw ceph-common >/dev/null
}

write_conf() {
  local fsid; fsid=$(cat /proc/sys/kernel/random/uuid)
  cat > "$CEPH_CONF" <<CONF
[global]
fsid = $fsid
mon_host = v1:127.0.0.1:$MON_PORT
mon_initial_members = a
ms_bind_msgr2 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
run_dir = $DIR/run
pid_file = $DIR/run/\$name.pid
admin_socket = $DIR/run/\$name.asok
log_file = $DIR/log/\$name.log
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_warn_on_pool_no_redundancy = false
[mon.a]
mon_data = $DIR/mon
public_addr = 127.0.0.1:$MON_PORT
[osd.0]
osd_data = $DIR/osd
osd_objectstore = memstore
memstore_device_bytes = 6442450944
[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:$PORT tcp_nodelay=1
rgw_data = $DIR/rgw
CONF
}

# Boots are retried: now and then (1 boot in ~5 here) the OSD starts from an empty memstore (its
# mkfs left no superblock behind: "mkfs had fsid 00000000-…"), the monitor refuses it with 'wrong
# fsid' and ceph-osd exits 250. A fresh boot from scratch has always succeeded after that.
BOOT_ATTEMPTS_MAX=3

up() {
  if alive "$DIR/run/client.rgw.a.pid" && s3_answers; then write_env; log "already running on 127.0.0.1:$PORT"; return; fi
  install_if_missing
  local attempt
  for attempt in $(seq 1 "$BOOT_ATTEMPTS_MAX"); do
    # A child process, so `set -e` holds inside the boot (it would not in a function called from `if`).
    if bash "$0" boot-once; then return 0; fi
    log "boot attempt $attempt of $BOOT_ATTEMPTS_MAX failed"
  done
  down_quiet
  log "could not boot after $BOOT_ATTEMPTS_MAX attempts; logs in $DIR/log"
  exit 1
}

boot_once() {
  down_quiet
  rm -rf "$DIR"; mkdir -p "$DIR/run" "$DIR/log" "$DIR/mon" "$DIR/osd" "$DIR/rgw"
  write_conf
  ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --add a "v1:127.0.0.1:$MON_PORT" --fsid "$(awk '/^fsid/{print $3}' "$CEPH_CONF")" "$DIR/monmap" >/dev/null
  ceph-mon --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring"
  ceph-mon -i a 2>>"$DIR/log/boot.log"
  local osd; osd=$(ceph osd create)
  ceph-osd -i "$osd" --mkfs 2>/dev/null
  ceph osd crush add "osd.$osd" 1.0 root=default >/dev/null 2>&1
  ceph-osd -i "$osd" 2>>"$DIR/log/boot.log"
  radosgw -n client.rgw.a 2>>"$DIR/log/boot.log"
  local waited=0
  until s3_answers; do
    sleep 1; waited=$((waited + 1))
    if [ "$waited" -ge "$READY_WAIT_S_MAX" ]; then log "S3 did not answer on 127.0.0.1:$PORT after ${READY_WAIT_S_MAX}s; logs in $DIR/log"; exit 1; fi
  done
  radosgw-admin user create --uid=quiver --display-name=quiver --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null 2>&1 || true
  write_env
  log "up on 127.0.0.1:$PORT after ${waited}s"
}

down_quiet() {
  local pids=()
  for f in "$DIR"/run/*.pid; do [ -f "$f" ] && alive "$f" && pids+=("$(cat "$f")"); done
  [ ${#pids[@]} -eq 0 ] && return 0
  # The OSD takes a few seconds after SIGTERM; wait up to 15 s, then SIGKILL the stragglers.
  stop_pids 15 "${pids[@]}"
}

down() { down_quiet; rm -f "$STATE/s3.env"; log "stopped"; }

case ${1:-up} in
  up) up ;;
  boot-once) boot_once ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
