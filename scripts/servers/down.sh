#!/usr/bin/env bash
# Stops every test server that up.sh started, by the pids in their run folders.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
STATE=${QUIVER_SERVERS_DIR:-${TMPDIR:-/tmp}/quiver-servers}
rm -f "$STATE/servers.env"
bash "$HERE/redis.sh" down
bash "$HERE/azurite.sh" down
bash "$HERE/radosgw.sh" down
bash "$HERE/python-torch.sh" down
bash "$HERE/chromium.sh" down
bash "$HERE/tmux.sh" down
