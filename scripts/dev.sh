#!/usr/bin/env bash
# `npm run dev`: the whole system on one machine, for development.
#   - the host agent on :8080 (scripts/start-agent.sh: npm deps, Docker, .env on first run);
#   - the Convex functions, pushed and watched by `npx convex dev`, when a deployment is
#     configured: CONVEX_DEPLOYMENT (written to .env.local by a first interactive `npx convex dev`)
#     or CONVEX_SELF_HOSTED_URL + CONVEX_SELF_HOSTED_ADMIN_KEY for a self-hosted backend.
#     Without one it says how to make one and runs the rest;
#   - the dashboard (Vite, hot reload) on http://127.0.0.1:5173.
# Ctrl-C stops all of them; so does any one of them exiting.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

bash scripts/ensure-npm-deps.sh || exit 1

convex_configured() {
  [ -n "${CONVEX_DEPLOYMENT:-}${CONVEX_SELF_HOSTED_URL:-}" ] ||
    grep -qsE '^(CONVEX_DEPLOYMENT|CONVEX_SELF_HOSTED_URL)=.+' .env.local
}

pids=()
stop_all() {
  trap - EXIT INT TERM
  kill "${pids[@]}" 2>/dev/null
  wait 2>/dev/null
}
trap stop_all EXIT INT TERM

bash scripts/start-agent.sh &
pids+=($!)

if convex_configured; then
  npx convex dev &
  pids+=($!)
else
  cat <<'MSG'
dev: no Convex deployment configured, so the control plane is not running. Either
  - run `npx convex dev` once (with a Convex account, or choose a local deployment), or
  - set CONVEX_SELF_HOSTED_URL and CONVEX_SELF_HOSTED_ADMIN_KEY in .env.local (self-hosted),
then `npm run dev` again. The dashboard shows the same instructions until then.
MSG
fi

npm run dev -w web &
pids+=($!)

wait -n
