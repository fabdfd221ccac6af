#!/usr/bin/env bash
# Starts the host agent for a newcomer on a fresh machine: installs npm dependencies when
# missing, makes sure a Docker engine answers, and on first run writes a .env with a freshly
# generated API_SECRET and STREAM_TOKEN_KEY (scripts/ensure-agent-env.sh). Then runs the agent in
# the foreground. Production runs the same entry point under systemd or compose.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-npm-deps.sh
bash scripts/ensure-docker.sh

bash scripts/ensure-agent-env.sh

exec node --import tsx host-agent/src/main.ts
