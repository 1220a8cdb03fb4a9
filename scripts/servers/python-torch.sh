#!/usr/bin/env bash
# Debian's PyTorch for the Python client's tests (clients/python): python3-torch and python3-numpy,
# usable only from Debian's own /usr/bin/python3 (a pyenv python3 first on PATH has no torch).
# `up` installs them when missing (needs root, as CI is); `down` has nothing to stop. Idempotent.
exec </dev/null
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

have() { /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null; }

case "${1:-up}" in
  up) apt_install_missing python-torch have python3-torch python3-numpy ;;
  down) ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
