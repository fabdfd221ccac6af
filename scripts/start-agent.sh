#!/usr/bin/env bash
# Starts the host agent for a newcomer on a fresh machine: installs npm dependencies when
# missing, makes sure a Docker engine answers, and on first run writes a .env with a freshly
# generated API_SECRET and STREAM_TOKEN_KEY (printed once, for the control plane's
# DOCKER_API_SECRET and DOCKER_STREAM_TOKEN_KEY). Then runs the
# agent in the foreground. Production runs the same entry point under systemd or compose.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-npm-deps.sh
bash scripts/ensure-docker.sh

if [ -z "${API_SECRET:-}" ] && [ ! -f .env ]; then
  random_hex() { node -e 'console.log(require("node:crypto").randomBytes(32).toString("hex"))'; }
  secret=$(random_hex)
  stream_key=$(random_hex)
  sed -e "s/^API_SECRET=.*/API_SECRET=${secret}/" -e "s/^STREAM_TOKEN_KEY=.*/STREAM_TOKEN_KEY=${stream_key}/" \
    .env.example > .env
  chmod 600 .env
  echo "Wrote .env with a new API_SECRET and STREAM_TOKEN_KEY. Give them to the control plane:"
  echo "  npx convex env set DOCKER_API_SECRET ${secret}"
  echo "  npx convex env set DOCKER_STREAM_TOKEN_KEY ${stream_key}"
fi

exec node --import tsx host-agent/src/main.ts
