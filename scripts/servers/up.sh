#!/usr/bin/env bash
# Boots every test server (S3 on radosgw, Azure Blob on Azurite, Redis for the bullmq runner),
# installs Debian's PyTorch for the Python client, Chromium for the web UI tests and tmux for the CLI's terminal test, and writes the servers' connection facts
# to $QUIVER_SERVERS_DIR/servers.env (default /tmp/quiver-servers). Idempotent.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
STATE=${QUIVER_SERVERS_DIR:-${TMPDIR:-/tmp}/quiver-servers}
bash "$HERE/radosgw.sh" up
bash "$HERE/azurite.sh" up
bash "$HERE/redis.sh" up
# Not a server: Debian's PyTorch for the Python client's tests (a failure skips them outside CI).
bash "$HERE/python-torch.sh" up || echo "up: python-torch.sh failed; the Python client tests will skip, or fail under CI=true" >&2
# Not a server either: Debian's Chromium for the web UI's browser tests (a failure skips them outside CI).
bash "$HERE/chromium.sh" up || echo "up: chromium.sh failed; the web UI browser tests will skip, or fail under CI=true" >&2
# Not a server either: tmux, the terminal of the CLI's progress-bar test.
bash "$HERE/tmux.sh" up || echo "up: tmux.sh failed; the CLI terminal test will skip, or fail under CI=true" >&2
cat "$STATE/s3.env" "$STATE/azure.env" "$STATE/redis.env" > "$STATE/servers.env.tmp" && mv "$STATE/servers.env.tmp" "$STATE/servers.env"
