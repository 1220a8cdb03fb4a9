#!/usr/bin/env bash
# Debian's Chromium for the web UI's browser tests (tests/web/ui.test.ts drives it with playwright-core;
# `npx playwright install` cannot download a browser here). `up` installs it when /usr/bin/chromium
# is missing (needs root, as CI is); `down` has nothing to stop. Idempotent.
exec </dev/null
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

have() { [ -x /usr/bin/chromium ]; }

case "${1:-up}" in
  up) apt_install_missing chromium have chromium ;;
  down) ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
