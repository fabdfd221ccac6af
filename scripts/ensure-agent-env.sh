#!/usr/bin/env bash
# On first run, writes the agent's .env from .env.example with a freshly generated API_SECRET and
# STREAM_TOKEN_KEY (mode 0600), and EGRESS_ALLOWLIST set to the host of the npm registry this
# machine is configured with (`npm config get registry`), so installs inside environments work
# through the egress proxy; when that host resolves to a private or reserved address (a mirror on
# the LAN, a proxy's address) also EGRESS_ALLOWED_CIDRS=<that address>/32, which the proxy refuses
# otherwise; and EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS when this shell trusts an extra CA that way
# (a TLS-inspecting proxy), so environments trust what the host trusts. Does nothing when .env exists or API_SECRET is already in the
# environment. `npm run convex:env` (which `npm run dev` runs) hands the secrets to the control plane.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${API_SECRET:-}" ] || [ -f .env ]; then exit 0; fi

registry=$(npm config get registry 2>/dev/null || true)
extra_ca=""
# The agent wants an absolute path: resolve a relative one (and any link) here.
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then extra_ca=$(realpath "$NODE_EXTRA_CA_CERTS"); fi

# Node makes the secrets and writes the file itself, so they never appear in an argv.
node -e '
  const { randomBytes } = require("node:crypto");
  const { lookup } = require("node:dns").promises;
  const net = require("node:net");
  const fs = require("node:fs");
  const secret = () => randomBytes(32).toString("hex");
  let registryHost = "";
  try { registryHost = new URL(process.argv[1]).hostname; } catch {}
  const extraCa = process.argv[2] || "";
  // Public addresses need no opening; the proxy refuses the rest unless EGRESS_ALLOWED_CIDRS has them.
  const isPublic = (ip) => {
    const b = new net.BlockList();
    for (const [a, p] of [["10.0.0.0", 8], ["172.16.0.0", 12], ["192.168.0.0", 16], ["100.64.0.0", 10],
      ["192.0.2.0", 24], ["198.18.0.0", 15], ["198.51.100.0", 24], ["203.0.113.0", 24], ["240.0.0.0", 4]])
      b.addSubnet(a, p, "ipv4");
    return net.isIPv4(ip) && !b.check(ip, "ipv4");
  };
  (async () => {
  const address = registryHost ? await lookup(registryHost, { family: 4 }).then((r) => r.address, () => "") : "";
  const cidr = address && !isPublic(address) ? `${address}/32` : "";
  const text = fs.readFileSync(".env.example", "utf8")
    .replace(/^API_SECRET=.*$/m, `API_SECRET=${secret()}`)
    .replace(/^STREAM_TOKEN_KEY=.*$/m, `STREAM_TOKEN_KEY=${secret()}`)
    .replace(/^EGRESS_ALLOWLIST=.*$/m, `EGRESS_ALLOWLIST=${registryHost}`)
    .replace(/^EGRESS_ALLOWED_CIDRS=.*$/m, `EGRESS_ALLOWED_CIDRS=${cidr}`)
    .replace(/^EXTRA_CA_CERTS=.*$/m, `EXTRA_CA_CERTS=${extraCa}`);
  fs.writeFileSync(".env", text, { mode: 0o600, flag: "wx" });
  console.log("Wrote .env with a new API_SECRET and STREAM_TOKEN_KEY (npm run convex:env gives them to the control plane).");
  console.log(registryHost
    ? `Environments may reach ${registryHost} (the npm registry this machine uses) and nothing else: EGRESS_ALLOWLIST in .env.`
    : "No npm registry is configured here (npm config get registry), so EGRESS_ALLOWLIST is empty: environments reach nothing until you name hosts there.");
  if (cidr) console.log(`${registryHost} resolves to ${address}, not a public address: EGRESS_ALLOWED_CIDRS=${cidr} in .env lets the proxy connect to it.`);
  if (extraCa) console.log(`Environments trust the CA bundle this shell names in NODE_EXTRA_CA_CERTS (${extraCa}): EXTRA_CA_CERTS in .env.`);
  })().catch((err) => { console.error(String(err)); process.exit(1); });
' "$registry" "$extra_ca"
