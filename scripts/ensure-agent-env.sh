#!/usr/bin/env bash
# On first run, writes the agent's .env from .env.example with a freshly generated API_SECRET and
# STREAM_TOKEN_KEY (mode 0600), and EGRESS_ALLOWLIST set to the host of the npm registry this
# machine is configured with (`npm config get registry`), so installs inside environments work
# through the egress proxy. Does nothing when .env exists or API_SECRET is already in the
# environment. `npm run convex:env` (which `npm run dev` runs) hands the secrets to the control plane.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${API_SECRET:-}" ] || [ -f .env ]; then exit 0; fi

registry=$(npm config get registry 2>/dev/null || true)

# Node makes the secrets and writes the file itself, so they never appear in an argv.
node -e '
  const { randomBytes } = require("node:crypto");
  const fs = require("node:fs");
  const secret = () => randomBytes(32).toString("hex");
  let registryHost = "";
  try { registryHost = new URL(process.argv[1]).hostname; } catch {}
  const text = fs.readFileSync(".env.example", "utf8")
    .replace(/^API_SECRET=.*$/m, `API_SECRET=${secret()}`)
    .replace(/^STREAM_TOKEN_KEY=.*$/m, `STREAM_TOKEN_KEY=${secret()}`)
    .replace(/^EGRESS_ALLOWLIST=.*$/m, `EGRESS_ALLOWLIST=${registryHost}`);
  fs.writeFileSync(".env", text, { mode: 0o600, flag: "wx" });
  console.log("Wrote .env with a new API_SECRET and STREAM_TOKEN_KEY (npm run convex:env gives them to the control plane).");
  console.log(registryHost
    ? `Environments may reach ${registryHost} (the npm registry this machine uses) and nothing else: EGRESS_ALLOWLIST in .env.`
    : "No npm registry is configured here (npm config get registry), so EGRESS_ALLOWLIST is empty: environments reach nothing until you name hosts there.");
' "$registry"
