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

readonly DASHBOARD_URL=http://127.0.0.1:5173
readonly READY_TIMEOUT_S=120
# The Convex CLI, as an argv: CONVEX_CLI (whitespace-separated; tests put a recorder there).
read -ra CONVEX <<< "${CONVEX_CLI:-npx convex}"

bash scripts/ensure-npm-deps.sh || exit 1
bash scripts/ensure-docker.sh || exit 1
bash scripts/ensure-agent-env.sh || exit 1

agent_port() {
  local from_file
  from_file=$(grep -sE '^PORT=[0-9]+$' .env | tail -n1 | cut -d= -f2)
  echo "${PORT:-${from_file:-8080}}"
}
readonly AGENT_URL="http://127.0.0.1:$(agent_port)"

convex_configured() {
  [ -n "${CONVEX_DEPLOYMENT:-}${CONVEX_SELF_HOSTED_URL:-}" ] ||
    grep -qsE '^(CONVEX_DEPLOYMENT|CONVEX_SELF_HOSTED_URL)=.+' .env.local
}

anonymous_deployment() {
  [[ "${CONVEX_DEPLOYMENT:-}" == anonymous:* ]] || grep -qsE '^CONVEX_DEPLOYMENT=anonymous:' .env.local
}

# The local deployment, made once; its output is kept so a failure can be quoted.
init_log=$(mktemp)
start_local_deployment() {
  echo "dev: no Convex deployment configured; making a local one (no account needed)"
  CONVEX_AGENT_MODE=anonymous "${CONVEX[@]}" init 2>&1 | tee "$init_log"
  return "${PIPESTATUS[0]}"
}

no_deployment_paragraph() {
  local reason
  reason=$(grep -m1 -E '✖|[Ee]rror' "$init_log" | sed -e 's/^✖ *//' || true)
  cat <<MSG

dev: the control plane is not running. With no deployment configured, npm run dev makes a local
Convex deployment, whose backend the Convex CLI downloads on first use, and that download failed
here (${reason:-see the output above}); a machine with no route to it cannot have a local backend.
The host agent (${AGENT_URL}) and the dashboard run without it, and the dashboard says the same.
To run the control plane, either sign in to Convex (run \`npx convex dev\` once and choose a cloud
dev deployment), or use a self-hosted backend (set CONVEX_SELF_HOSTED_URL and
CONVEX_SELF_HOSTED_ADMIN_KEY in .env.local); then run \`npm run dev\` again, and it gives that
deployment the environment it needs (npm run convex:env).

MSG
}

# Waits for a URL to answer HTTP at all (any status), up to READY_TIMEOUT_S.
wait_http() {
  node -e '
    const [url, seconds] = process.argv.slice(1);
    const deadline = Date.now() + Number(seconds) * 1000;
    (async () => {
      while (Date.now() < deadline) {
        try { await fetch(url, { signal: AbortSignal.timeout(2000) }); process.exit(0); } catch {}
        await new Promise((r) => setTimeout(r, 300));
      }
      process.exit(1);
    })();' "$1" "$READY_TIMEOUT_S"
}

pids=()
stop_all() {
  trap - EXIT INT TERM
  kill "${pids[@]}" 2>/dev/null
  wait 2>/dev/null
  rm -f "$init_log"
}
trap stop_all EXIT INT TERM

bash scripts/start-agent.sh &
pids+=($!)

control_plane="not running (see above)"
if convex_configured || start_local_deployment; then
  # Keep the CLI in the mode the deployment was made in.
  if anonymous_deployment; then export CONVEX_AGENT_MODE=anonymous; fi
  # Only missing variables are set; a problem is reported and does not stop the rest.
  npm run --silent convex:env -- --site-url "$DASHBOARD_URL" ||
    echo "dev: the deployment's environment is incomplete (see above); the control plane may refuse some calls"
  "${CONVEX[@]}" dev &
  pids+=($!)
  control_plane="npx convex dev"
else
  no_deployment_paragraph
fi

npm run dev -w web &
pids+=($!)

if wait_http "$AGENT_URL/health" && wait_http "$DASHBOARD_URL"; then
  echo "Artie Docker Host is up: open ${DASHBOARD_URL} (agent ${AGENT_URL}, control plane ${control_plane})"
else
  echo "dev: the agent or the dashboard did not answer within ${READY_TIMEOUT_S} s (see above)"
fi

wait -n
