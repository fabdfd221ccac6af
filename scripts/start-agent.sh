#!/usr/bin/env bash
# Starts the host agent for a newcomer on a fresh machine: installs npm dependencies when
# missing, makes sure a Docker engine answers, and on first run writes a .env with a freshly
# generated API_SECRET (printed once, for the control plane's DOCKER_API_SECRET). Then runs the
# agent in the foreground. Production runs the same entry point under systemd or compose.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
bash scripts/ensure-docker.sh

if [ -z "${API_SECRET:-}" ] && [ ! -f .env ]; then
  secret=$(node -e 'console.log(require("node:crypto").randomBytes(32).toString("hex"))')
  sed "s/^API_SECRET=.*/API_SECRET=${secret}/" .env.example > .env
  chmod 600 .env
  echo "Wrote .env with a new API_SECRET (set it as DOCKER_API_SECRET in Convex):"
  echo "  ${secret}"
fi

exec node --import tsx host-agent/src/main.ts
