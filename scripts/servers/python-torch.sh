#!/usr/bin/env bash
# Debian's PyTorch for the Python client's tests (clients/python): python3-torch and python3-numpy,
# usable only from Debian's own /usr/bin/python3 (a pyenv python3 first on PATH has no torch).
# `up` installs them when missing (needs root, as CI is); `down` has nothing to stop. Idempotent.
exec </dev/null
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

log() { echo "python-torch: $*" >&2; }
have() { /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null; }

up() {
  if have; then return 0; fi
  apt_install python-torch python3-torch python3-numpy
  have || { log "installed, yet /usr/bin/python3 cannot import torch and numpy"; return 1; }
}

case "${1:-up}" in
  up) up ;;
  down) ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
