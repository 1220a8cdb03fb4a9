#!/usr/bin/env bash
# Debian's tmux, the real terminal in which the CLI's progress-bar test runs (tests/cli/terminal.test.ts).
# Not a server: `up` installs it when missing (needs root, as CI is); `down` has nothing to stop. Idempotent.
exec </dev/null
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

have() { command -v tmux >/dev/null; }

case "${1:-up}" in
  up) apt_install_missing tmux have tmux ;;
  down) ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
