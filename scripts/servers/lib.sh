# Shared by the server scripts (sourced, not run): stopping daemons by pid the same way everywhere.

# stop_pids WAIT_S PID... — SIGTERM every pid, wait up to WAIT_S seconds (checked every 0.25 s)
# for all of them to exit, then SIGKILL the stragglers. Pids already gone are fine.
stop_pids() {
  local wait_s=$1; shift
  [ $# -eq 0 ] && return 0
  kill "$@" 2>/dev/null || true
  local i p left
  for ((i = 0; i < wait_s * 4; i++)); do
    left=0
    for p in "$@"; do kill -0 "$p" 2>/dev/null && left=1; done
    [ "$left" -eq 0 ] && return 0
    sleep 0.25
  done
  kill -9 "$@" 2>/dev/null || true
}

# apt_install_missing NAME HAVE_CMD PACKAGE... — installs Debian packages unless HAVE_CMD (a
# function or command) already succeeds; needs root (as CI is). Logs as NAME; returns 1 on failure.
apt_install_missing() {
  local name=$1 have=$2; shift 2
  if "$have"; then return 0; fi
  if [ "$(id -u)" != 0 ]; then
    echo "$name: missing and this is not root: run 'apt-get install -y --no-install-recommends $*' as root" >&2
    return 1
  fi
  echo "$name: installing $*" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || { echo "$name: apt-get update failed" >&2; return 1; }
  apt-get install -y -q --no-install-recommends "$@" || { echo "$name: apt-get install failed" >&2; return 1; }
  "$have" || { echo "$name: installed, yet the check still fails" >&2; return 1; }
}
