#!/usr/bin/env bash
# `npm run dev`: the whole system on one machine, with nothing configured beforehand.
#   1. npm dependencies, a Docker engine, and the agent's .env (fresh secrets on first run);
#   2. the control plane: the configured Convex deployment (CONVEX_DEPLOYMENT, or
#      CONVEX_SELF_HOSTED_URL + CONVEX_SELF_HOSTED_ADMIN_KEY, in the environment or .env.local),
#      or else a local one that needs no account (`CONVEX_AGENT_MODE=anonymous npx convex init`,
#      which downloads the backend on first use). Its environment is provisioned
#      (npm run convex:env: only what is missing), then `npx convex dev` pushes and watches;
#   3. the host agent on :8080 and the dashboard (Vite) on http://127.0.0.1:5173.
# Where no deployment can be had it says why and what to do, and runs the agent and dashboard.
# It ends by printing one line with the dashboard's URL. Ctrl-C stops everything; so does any
# part exiting.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
# Job control: each part runs in a process group of its own, so stopping a part stops all of it
# (npm and npx leave their children running otherwise).
set -m

readonly DASHBOARD_URL=http://127.0.0.1:5173
readonly READY_TIMEOUT_S=120
# The Convex CLI, as an argv: CONVEX_CLI (whitespace-separated; tests put a recorder there).
read -ra CONVEX <<< "${CONVEX_CLI:-npx convex}"

bash scripts/ensure-npm-deps.sh || exit 1
bash scripts/ensure-docker.sh || exit 1
bash scripts/ensure-agent-env.sh || exit 1

setting() { node scripts/env-value.mjs "$@"; }
AGENT_PORT=$(setting PORT .env)
readonly AGENT_URL="http://127.0.0.1:${AGENT_PORT:-8080}"

convex_configured() { [ -n "$(setting CONVEX_DEPLOYMENT .env.local)$(setting CONVEX_SELF_HOSTED_URL .env.local)" ]; }
anonymous_deployment() { [[ "$(setting CONVEX_DEPLOYMENT .env.local)" == anonymous:* ]]; }

# The local deployment, made once; its output is kept so a failure can be quoted.
init_log=$(mktemp)
start_local_deployment() {
  echo "dev: no Convex deployment configured; making a local one (no account needed)"
  CONVEX_AGENT_MODE=anonymous "${CONVEX[@]}" init 2>&1 | tee "$init_log"
  return "${PIPESTATUS[0]}"
}

no_deployment_paragraph() {
  local reason cause
  reason=$(grep -m1 -E '✖|[Ee]rror' "$init_log" | sed -e 's/^✖ *//' || true)
  if grep -qiE 'fetch|download|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|network' "$init_log"; then
    cause="whose backend the Convex CLI downloads on first use, and that download failed here (${reason}); a machine with no route to it cannot have a local backend."
  else
    cause="and making it failed (${reason:-see the output above})."
  fi
  cat <<MSG

dev: the control plane is not running. With no deployment configured, npm run dev makes a local
Convex deployment, ${cause}
The host agent (${AGENT_URL}) and the dashboard run without it, and the dashboard says the same.
To run the control plane, either sign in to Convex (run \`npx convex dev\` once and choose a cloud
dev deployment), or use a self-hosted backend (set CONVEX_SELF_HOSTED_URL and
CONVEX_SELF_HOSTED_ADMIN_KEY in .env.local); then run \`npm run dev\` again, and it gives that
deployment the environment it needs (npm run convex:env).

MSG
}

pids=()
convex_pid=""
# Each part's whole process group; the Convex CLI stops its local backend only on SIGINT.
stop_all() {
  trap - EXIT
  [ -n "$convex_pid" ] && kill -INT -- "-$convex_pid" 2>/dev/null
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -f "$init_log"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits for a URL to answer HTTP at all (any status), while every part is still running.
wait_http() {
  local deadline=$((SECONDS + READY_TIMEOUT_S))
  until node -e 'fetch(process.argv[1], { redirect: "manual", signal: AbortSignal.timeout(2000) }).then(() => process.exit(0), () => process.exit(1))' "$1"; do
    for pid in "${pids[@]}" $convex_pid; do kill -0 "$pid" 2>/dev/null || return 1; done
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.3
  done
}

bash scripts/start-agent.sh &
pids+=($!)

control_plane="not running (see above)"
if convex_configured || start_local_deployment; then
  # As the CLI's own recipe does (npx convex init --help): every command on an anonymous
  # deployment runs in the mode that made it.
  if anonymous_deployment; then export CONVEX_AGENT_MODE=anonymous; fi
  # Only missing variables are set; a problem is reported and does not stop the rest.
  npm run --silent convex:env -- --site-url "$DASHBOARD_URL" ||
    echo "dev: the deployment's environment is incomplete (see above); the control plane may refuse some calls"
  "${CONVEX[@]}" dev &
  convex_pid=$!
  control_plane="npx convex dev"
else
  no_deployment_paragraph
fi

npm run dev -w web &
pids+=($!)

if wait_http "$AGENT_URL/health" && wait_http "$DASHBOARD_URL"; then
  echo "Artie Docker Host is up: open ${DASHBOARD_URL} (agent ${AGENT_URL}, control plane ${control_plane})"
else
  echo "dev: the agent or the dashboard did not come up (see above)"
  exit 1
fi

wait -n
