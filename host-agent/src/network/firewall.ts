/**
 * The host's side of isolation. An internal Docker network has no route off the host, but its
 * containers still reach the host itself through the bridge: the gateway address and every other
 * address of the host answer for whatever listens there (the agent's API, published dev servers
 * of other environments, a Docker TCP socket, SSH). Docker writes no INPUT rules, so the agent
 * does: traffic arriving from any environment bridge (`artie+`) is dropped, except replies to
 * connections the host opened (the port forwarder's) and the egress proxy's port on the
 * environment gateways. Applied at start-up, idempotently, in a chain of its own.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { BRIDGE_PREFIX } from "./environment-networks.js";

const run = promisify(execFile);
export const FIREWALL_CHAIN = "ARTIE-INPUT";

export class FirewallError extends Error {}

/** The rules of the chain, in order (iptables argv after `-A ARTIE-INPUT`). */
export function chainRules(egressProxyPort: number, subnetPool: string): string[][] {
  return [
    ["-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
    ["-p", "tcp", "-d", subnetPool, "--dport", String(egressProxyPort), "-j", "ACCEPT"],
    ["-j", "DROP"],
  ];
}

async function iptables(args: string[]): Promise<void> {
  // -w: wait for the xtables lock instead of failing while Docker writes its own rules.
  await run("iptables", ["-w", ...args], { timeout: 30_000 });
}

export async function installFirewall(egressProxyPort: number, subnetPool: string): Promise<void> {
  try {
    await iptables(["-N", FIREWALL_CHAIN]).catch(async (err: { stderr?: string }) => {
      if (!/exists/i.test(err.stderr ?? "")) throw err;
      await iptables(["-F", FIREWALL_CHAIN]);
    });
    for (const rule of chainRules(egressProxyPort, subnetPool)) await iptables(["-A", FIREWALL_CHAIN, ...rule]);
    const jump = ["INPUT", "-i", `${BRIDGE_PREFIX}+`, "-j", FIREWALL_CHAIN];
    await iptables(["-C", ...jump]).catch(() => iptables(["-I", ...jump.slice(0, 1), "1", ...jump.slice(1)]));
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    const why = e.code === "ENOENT" ? "iptables is not installed" : e.stderr?.trim() || e.message;
    throw new FirewallError(
      `Network isolation needs the host firewall and could not set it (${why}). Run the agent as root on the Docker ` +
        "host with iptables installed (apt-get install iptables), or set CONTAINER_NETWORK to a Docker network name " +
        "to run without isolation (never for untrusted code).",
      { cause: err },
    );
  }
}
