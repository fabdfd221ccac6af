#!/usr/bin/env bash
# On first run, writes the agent's .env from .env.example with a freshly generated API_SECRET and
# STREAM_TOKEN_KEY (mode 0600). Does nothing when .env exists or API_SECRET is already in the
# environment. `npm run convex:env` (which `npm run dev` runs) hands both to the control plane.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${API_SECRET:-}" ] || [ -f .env ]; then exit 0; fi

# Node makes the secrets and writes the file itself, so they never appear in an argv.
node -e '
  const { randomBytes } = require("node:crypto");
  const fs = require("node:fs");
  const secret = () => randomBytes(32).toString("hex");
  const text = fs.readFileSync(".env.example", "utf8")
    .replace(/^API_SECRET=.*$/m, `API_SECRET=${secret()}`)
    .replace(/^STREAM_TOKEN_KEY=.*$/m, `STREAM_TOKEN_KEY=${secret()}`);
  fs.writeFileSync(".env", text, { mode: 0o600, flag: "wx" });
'
echo "Wrote .env with a new API_SECRET and STREAM_TOKEN_KEY (npm run convex:env gives them to the control plane)."
