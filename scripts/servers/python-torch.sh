#!/usr/bin/env bash
# Debian's PyTorch for the Python client's tests (clients/python): python3-torch and python3-numpy,
# usable only from Debian's own /usr/bin/python3 (a pyenv python3 first on PATH has no torch).
# `up` installs them when missing (needs root, as CI is); `down` has nothing to stop. Idempotent.
exec </dev/null
set -euo pipefail

log() { echo "python-torch: $*" >&2; }
have() { /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null; }

up() {
  if have; then return 0; fi
  if [ "$(id -u)" != 0 ]; then
    log "python3-torch is missing and this is not root: run 'apt-get install -y python3-torch python3-numpy' as root"
    return 1
  fi
  log "installing python3-torch python3-numpy"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q || { log "apt-get update failed"; return 1; }
  apt-get install -y -q --no-install-recommends python3-torch python3-numpy || { log "apt-get install failed"; return 1; }
  have || { log "installed, yet /usr/bin/python3 cannot import torch and numpy"; return 1; }
}

case "${1:-up}" in
  up) up ;;
  down) ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
