/**
 * What an environment needs to install from the registry this machine uses: its host for the
 * agent's EGRESS_ALLOWLIST, read at run time from `npm config get registry` (as
 * scripts/ensure-agent-env.sh does, so no registry is ever named in code); the addresses that
 * host resolves to here, for EGRESS_ALLOWED_CIDRS (a transparent TLS-inspecting proxy answers
 * DNS with its own address, which may sit in a reserved range the egress proxy refuses unless
 * opened); the hosts the fixtures' own lockfiles fetch tarballs from (a yarn 1 lockfile names
 * yarn's registry in every `resolved` URL), read from the committed lockfiles, never written
 * here; and the CA bundle for EXTRA_CA_CERTS. An operator allows the same hosts in production.
 */
import { execFile } from "node:child_process";
import { lookup } from "node:dns/promises";
import { access, readdir, readFile } from "node:fs/promises";
import path from "node:path";
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

/** The hosts' addresses as single-address CIDRs: opens exactly what npm itself reaches. */
export async function registryCidrs(hosts: string[]): Promise<string[]> {
  const addresses = (await Promise.all(hosts.map((h) => lookup(h, { all: true })))).flat();
  return [...new Set(addresses.map((a) => `${a.address}/${isIP(a.address) === 6 ? 128 : 32}`))];
}

const LOCKFILES = ["package-lock.json", "yarn.lock", "pnpm-lock.yaml"];
/** `resolved "https://host/…"` (yarn 1), `"resolved": "https://host/…"` (npm), `tarball: https://host/…`. */
const RESOLVED_HOST = /(?:resolved"?:?\s+"?|tarball:\s+)https:\/\/([a-z0-9.-]+)\//g;

/** Every host the fixtures' committed lockfiles fetch tarballs from. */
export async function lockfileHosts(fixturesDir: string): Promise<string[]> {
  const hosts = new Set<string>();
  for (const fixture of await readdir(fixturesDir)) {
    for (const name of LOCKFILES) {
      const text = await readFile(path.join(fixturesDir, fixture, name), "utf8").catch(() => "");
      for (const m of text.matchAll(RESOLVED_HOST)) hosts.add(m[1]!);
    }
  }
  return [...hosts];
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
