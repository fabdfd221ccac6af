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
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { BRIDGE_PREFIX } from "./environment-networks.js";

const run = promisify(execFile);
export const FIREWALL_CHAIN = "ARTIE-INPUT";

export class FirewallError extends Error {}

type Tool = "iptables" | "ip6tables";

/** The rules of the chain, in order (argv after `-A <chain>`). */
export function chainRules(tool: Tool, egressProxyPort: number, subnetPool: string): string[][] {
  return [
    ["-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
    // Environment networks are IPv4 only: over IPv6 nothing from them is let in.
    ...(tool === "iptables"
      ? [["-p", "tcp", "-d", subnetPool, "--dport", String(egressProxyPort), "-j", "ACCEPT"]]
      : []),
    ["-j", "DROP"],
  ];
}

async function table(tool: Tool, args: string[]): Promise<string> {
  // -w: wait for the xtables lock instead of failing while Docker writes its own rules.
  const { stdout } = await run(tool, ["-w", ...args], { timeout: 30_000 });
  return stdout;
}

/**
 * Replaces the chain without a moment of being open: a new chain (named with a fresh suffix) is
 * filled completely, its jump goes in at the top of INPUT, and only then are earlier chains and
 * their jumps removed. Containers keep running across agent restarts, so the old rules guard
 * them until the new ones are in place.
 */
async function install(tool: Tool, egressProxyPort: number, subnetPool: string): Promise<void> {
  const chain = `${FIREWALL_CHAIN}-${randomBytes(3).toString("hex")}`;
  const previous = (await table(tool, ["-S"]))
    .split("\n")
    .flatMap((line) => /^-N (ARTIE-INPUT(-[0-9a-f]{6})?)$/.exec(line)?.[1] ?? []);
  await table(tool, ["-N", chain]);
  for (const rule of chainRules(tool, egressProxyPort, subnetPool)) await table(tool, ["-A", chain, ...rule]);
  await table(tool, ["-I", "INPUT", "1", "-i", `${BRIDGE_PREFIX}+`, "-j", chain]);
  for (const old of previous) {
    // Every jump to it (there may be several after crashes), then the chain itself.
    while (
      await table(tool, ["-D", "INPUT", "-i", `${BRIDGE_PREFIX}+`, "-j", old]).then(
        () => true,
        () => false,
      )
    );
    await table(tool, ["-F", old]);
    await table(tool, ["-X", old]);
  }
}

export async function installFirewall(egressProxyPort: number, subnetPool: string): Promise<void> {
  try {
    await install("iptables", egressProxyPort, subnetPool);
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
  // The host bridge has an IPv6 link-local address; Docker gives these containers none, and this
  // shuts the door should one ever get one.
  await install("ip6tables", egressProxyPort, subnetPool).catch((err: { stderr?: string; message: string }) => {
    throw new FirewallError(`The IPv6 host firewall could not be set (${err.stderr?.trim() || err.message})`, {
      cause: err,
    });
  });
}
