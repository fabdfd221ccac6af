#!/usr/bin/env bash
# The one command that runs every test, on a fresh machine or a warm one:
#   1. npm dependencies (npm ci, only when node_modules is missing or older than the lockfile),
#   2. a Docker engine that answers (scripts/ensure-docker.sh installs and starts one if needed),
#   3. Debian's Chromium for the dashboard's browser tests (scripts/ensure-chromium.sh),
#   4. the local test images (scripts/test-images.sh builds them only when missing),
#   5. vitest, with a JSON report,
#   6. then, in a run of its own, vitest project `podman`: a selection of the Docker files against
#      Podman's Docker API (scripts/ensure-podman.sh starts it, with apt-get install podman when
#      missing, and stops it after, undoing its host settings),
#   7. the framework corpus (`npm run test:frameworks`: real projects installed from the npm
#      registry) when a registry answers `npm ping`; without one it is skipped and says so,
#   8. the last line, summed over every report: "N passed, N failed".
# Extra arguments go to vitest (e.g. `npm test -- --project unit`) and skip podman and the corpus.
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
rm -f test-output/vitest.json test-output/frameworks-vitest.json test-output/podman-vitest.json
npx vitest run --reporter=default --reporter=json --outputFile.json=test-output/vitest.json "$@"
status=$?
reports=(test-output/vitest.json)

if [ "$#" -eq 0 ]; then
  # A vitest run of its own (vitest.config.ts says why), after the Docker tests: Podman's engine
  # and its host settings are there only while it runs (ensure-podman.sh stop undoes them).
  echo "== Podman (project podman: a selection of the Docker files against Podman's Docker API)"
  if bash scripts/ensure-podman.sh start >/dev/null; then
    ARTIE_PODMAN=1 npx vitest run --reporter=default --reporter=json --outputFile.json=test-output/podman-vitest.json
    [ $? -eq 0 ] || status=1
    reports+=(test-output/podman-vitest.json)
  else
    echo "Podman's Docker API could not be started (see above): the podman project counts as failed."
    status=1
    reports+=(missing-podman-report)
  fi
  bash scripts/ensure-podman.sh stop || true

  echo "== framework corpus (real projects from the npm registry)"
  if timeout 20 npm ping >/dev/null 2>&1; then
    npx vitest run --config host-agent/test/frameworks/vitest.config.ts \
      --reporter=default --reporter=json --outputFile.json=test-output/frameworks-vitest.json
    [ $? -eq 0 ] || status=1
    reports+=(test-output/frameworks-vitest.json)
  else
    echo "Skipped: no npm registry answers here (npm ping). It runs wherever one does, CI included."
  fi
fi

node scripts/test-summary.mjs "${reports[@]}"
summary_status=$?
[ "$status" -eq 0 ] && [ "$summary_status" -eq 0 ]
