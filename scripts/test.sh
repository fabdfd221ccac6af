#!/usr/bin/env bash
# The one command that runs every test, on a fresh machine or a warm one:
#   1. npm dependencies (npm ci, only when node_modules is missing or older than the lockfile),
#   2. a Docker engine that answers (scripts/ensure-docker.sh installs and starts one if needed),
#   3. Debian's Chromium for the dashboard's browser tests (scripts/ensure-chromium.sh),
#   4. the local test images (scripts/test-images.sh builds them only when missing),
#   5. vitest, with a JSON report from which the last line is printed: "N passed, N failed".
# Extra arguments go to vitest (e.g. `npm test -- --project unit`).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

bash scripts/ensure-npm-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

echo "== Docker engine"
# gVisor too: the isolation suite runs under runc and under runsc.
if ! ENABLE_GVISOR=1 bash scripts/ensure-docker.sh; then
  echo "The Docker tests cannot run without an engine (see above)."
  echo "0 passed, 1 failed"
  exit 1
fi

echo "== Chromium (dashboard browser tests)"
if ! bash scripts/ensure-chromium.sh; then
  echo "The browser tests cannot run without Chromium (see above)."
  echo "0 passed, 1 failed"
  exit 1
fi

echo "== test images"
if ! bash scripts/test-images.sh; then
  echo "Building the local test images failed (see above)."
  echo "0 passed, 1 failed"
  exit 1
fi

mkdir -p test-output
rm -f test-output/vitest.json
npx vitest run --reporter=default --reporter=json --outputFile.json=test-output/vitest.json "$@"
status=$?
node scripts/test-summary.mjs test-output/vitest.json
summary_status=$?
[ "$status" -eq 0 ] && [ "$summary_status" -eq 0 ]
