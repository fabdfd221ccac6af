#!/usr/bin/env bash
# Installs the npm dependencies (npm ci) when node_modules is missing or older than the
# lockfile; otherwise does nothing. Shared by the test, dev and agent start-up scripts.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # npm ci empties node_modules first; through a link that would empty someone else's copy.
  if [ -L node_modules ]; then
    echo "node_modules is a link to $(readlink node_modules) and older than package-lock.json: run npm ci there"
    exit 1
  fi
  echo "== installing npm dependencies"
  npm ci --no-audit --no-fund || { echo "npm ci failed"; exit 1; }
fi
