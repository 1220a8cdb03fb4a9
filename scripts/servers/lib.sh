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

# apt_install WHO PACKAGE... — installs Debian packages that are missing, as root only (CI is);
# WHO prefixes the messages. Fails with the reason when not root or when apt-get fails.
apt_install() {
  local who=$1; shift
  if [ "$(id -u)" != 0 ]; then
    echo "$who: $* missing and this is not root: run 'apt-get install -y $*' as root" >&2
    return 1
  fi
  echo "$who: installing $*" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q || { echo "$who: apt-get update failed" >&2; return 1; }
  apt-get install -y -q --no-install-recommends "$@" || { echo "$who: apt-get install failed" >&2; return 1; }
}
