#!/usr/bin/env bash
# On first run, writes the agent's .env from .env.example with a freshly generated API_SECRET and
# STREAM_TOKEN_KEY (mode 0600). Does nothing when .env exists or API_SECRET is already in the
# environment. `npm run dev` then hands both to the control plane (npm run convex:env); for any
# other deployment the lines printed here say how.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${API_SECRET:-}" ] || [ -f .env ]; then exit 0; fi

random_hex() { node -e 'console.log(require("node:crypto").randomBytes(32).toString("hex"))'; }
secret=$(random_hex)
stream_key=$(random_hex)
umask 077
sed -e "s/^API_SECRET=.*/API_SECRET=${secret}/" -e "s/^STREAM_TOKEN_KEY=.*/STREAM_TOKEN_KEY=${stream_key}/" \
  .env.example > .env
echo "Wrote .env with a new API_SECRET and STREAM_TOKEN_KEY (npm run convex:env gives them to the control plane)."
