/**
 * What an environment needs to install from the registry this machine uses: its host for the
 * agent's EGRESS_ALLOWLIST, read at run time from `npm config get registry` (as
 * scripts/ensure-agent-env.sh does, so no registry is ever named in code); the addresses that
 * host resolves to here, for EGRESS_ALLOWED_CIDRS (a transparent TLS-inspecting proxy answers
 * DNS with its own address, which may sit in a reserved range the egress proxy refuses unless
 * opened); and the CA bundle for EXTRA_CA_CERTS.
 */
import { execFile } from "node:child_process";
import { lookup } from "node:dns/promises";
import { access } from "node:fs/promises";
import { isIP } from "node:net";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Where Debian keeps the system's trusted certificates (the host's extra CA included). */
export const SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

export async function registryHost(): Promise<string> {
  const { stdout } = await run("npm", ["config", "get", "registry"], { timeout: 30_000 });
  try {
    return new URL(stdout.trim()).hostname;
  } catch {
    throw new Error(`npm config get registry gave "${stdout.trim()}", not a URL: the corpus installs from a registry`);
  }
}

/** The registry host's addresses as single-address CIDRs: opens exactly what npm itself reaches. */
export async function registryCidrs(host: string): Promise<string[]> {
  const addresses = await lookup(host, { all: true });
  return [...new Set(addresses.map((a) => `${a.address}/${isIP(a.address) === 6 ? 128 : 32}`))];
}

/** The bundle the host's Node trusts beyond its own (NODE_EXTRA_CA_CERTS), else the system's. */
export async function extraCaBundle(): Promise<string | undefined> {
  for (const file of [process.env.NODE_EXTRA_CA_CERTS, SYSTEM_CA_BUNDLE]) {
    if (!file) continue;
    try {
      await access(file);
      return file;
    } catch {
      // Not on this machine: try the next.
    }
  }
  return undefined;
}
