/**
 * One Docker network per environment: `Internal: true` (no route off the host: Docker drops its
 * traffic to every other interface), a /28 of its own (see subnets.ts), a bridge named
 * `artie<hash>` so one host firewall rule covers every environment (see firewall.ts), and the
 * agent's label. Two environments never share a network, so neither can reach the other.
 *
 * Creating a network costs the engine about 80 ms (a bridge, its addresses, its iptables rules),
 * most of what isolation adds to a create. So a few spare networks are made ahead, in the
 * background, and an environment takes one. Network names are therefore not environment ids:
 * which network an environment has is recorded on its container (label `artie.network`), and a
 * restarted agent reads it back from there. A network no container names is a spare.
 */
import { createHash, randomBytes } from "node:crypto";
import { AppError } from "../api/errors.js";
import { NETWORK_SPARES } from "../config.js";
import { dockerMessage, type DockerClient } from "../docker/client.js";
import { LABEL } from "../docker/labels.js";
import { KeyedLock } from "../lib/keyed-lock.js";
import type { Logger } from "../lib/logger.js";
import { formatCidr, freeSubnet, parseCidr, subnetAt, type Cidr, type EnvironmentSubnet } from "./subnets.js";

/** Prefix of every environment bridge interface; the firewall matches `artie+`. */
export const BRIDGE_PREFIX = "artie";
const NETWORK_PREFIX = "artie-net-";
/** Subnets tried when other processes keep taking the free one first. */
const SUBNET_ATTEMPTS = 5;
/** How long after a spare is taken a new one is made. */
const REFILL_DELAY_MS = 1_000;

export type EnvironmentNetwork = EnvironmentSubnet & { name: string; bridge: string };

/** Linux interface names are at most 15 bytes: the prefix and 10 hex digits of the name's hash. */
export const bridgeName = (network: string) =>
  `${BRIDGE_PREFIX}${createHash("sha256")
    .update(network)
    .digest("hex")
    .slice(0, 15 - BRIDGE_PREFIX.length)}`;

export class EnvironmentNetworks {
  /** Subnet choice and network creation run one at a time, so two never pick one subnet. */
  private readonly allocation = new KeyedLock();
  private readonly pool: Cidr;
  /** Environment id -> its network, for every environment this agent serves. */
  private readonly byEnvironment = new Map<string, EnvironmentNetwork>();
  private readonly spares: EnvironmentNetwork[] = [];
  private refilling: Promise<void> | null = null;
  private refillTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly docker: DockerClient,
    pool: string,
    private readonly logger: Logger,
  ) {
    this.pool = parseCidr(pool);
  }

  /** The environment's network: the one it has, else a spare, else a new one. */
  async take(id: string): Promise<EnvironmentNetwork> {
    const known = this.byEnvironment.get(id);
    if (known) return known;
    let net: EnvironmentNetwork | undefined;
    // A spare can vanish under us (another agent's start-up on the same engine removes networks
    // it does not know): check before handing one out.
    while ((net = this.spares.shift()) && !(await this.docker.inspectNetwork(net.name)));
    net ??= await this.create();
    this.byEnvironment.set(id, net);
    // Made a little later, not beside the container this network is for: the engine would make
    // both at once, and the environment waiting for its container would pay for the spare.
    clearTimeout(this.refillTimer);
    this.refillTimer = setTimeout(() => this.refill(), REFILL_DELAY_MS).unref();
    return net;
  }

  /** The network of an environment this agent serves, if any. */
  of(id: string): EnvironmentNetwork | null {
    return this.byEnvironment.get(id) ?? null;
  }

  /** Removes the environment's network (after its container is gone). */
  async release(id: string): Promise<void> {
    const net = this.byEnvironment.get(id);
    this.byEnvironment.delete(id);
    if (net) await this.docker.removeNetwork(net.name);
  }

  /**
   * At start-up: every environment network on the engine, matched to the environments that name
   * it. Unnamed ones are removed (their environment is gone, or they are another run's spares:
   * a clean start is cheaper than proving they are unused), then spares are made again.
   */
  async restore(environments: Array<{ id: string; network: string | null }>): Promise<Map<string, EnvironmentNetwork>> {
    const named = new Map(environments.flatMap((e) => (e.network ? [[e.network, e.id] as const] : [])));
    const unused: string[] = [];
    for (const n of await this.docker.listManagedNetworks()) {
      if (!n.Name.startsWith(NETWORK_PREFIX)) continue;
      const id = named.get(n.Name);
      const subnet = n.IPAM?.Config?.[0]?.Subnet;
      if (id && subnet) this.byEnvironment.set(id, this.describe(n.Name, subnet));
      else unused.push(n.Name);
    }
    // Removed in the background: serving the environments that exist must not wait on it.
    this.refilling = Promise.all(unused.map((name) => this.removeQuietly(name, "a network no environment uses"))).then(
      () => {
        this.refilling = null;
        this.refill();
      },
    );
    return new Map(this.byEnvironment);
  }

  /** Stops making spares and removes those made (shutdown); environments' networks stay. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.refillTimer);
    await this.refilling;
    await Promise.all(this.spares.splice(0).map((net) => this.removeQuietly(net.name, "a spare network")));
  }

  private async removeQuietly(name: string, what: string): Promise<void> {
    this.logger.info({ network: name }, `removing ${what}`);
    await this.docker
      .removeNetwork(name)
      .catch((err: Error) => this.logger.warn({ network: name, err: err.message }, "network removal failed"));
  }

  /** Keeps NETWORK_SPARES networks ready, in the background; a failure waits for the next take. */
  private refill(): void {
    if (this.refilling || this.closed) return;
    this.refilling = (async () => {
      try {
        while (this.spares.length < NETWORK_SPARES && !this.closed) this.spares.push(await this.create());
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, "could not make a spare environment network");
      } finally {
        this.refilling = null;
      }
    })();
  }

  /**
   * A new network on the first free /28. Another process making a network at the same moment
   * (a second agent, an operator) can take that subnet first: Docker then refuses with "overlaps",
   * and the next free one is tried.
   */
  private async create(): Promise<EnvironmentNetwork> {
    return this.allocation.run("subnets", async () => {
      for (let attempt = 1; ; attempt++) {
        const subnet = freeSubnet(this.pool, await this.docker.usedSubnets());
        if (!subnet) {
          throw new AppError(
            "network_pool_exhausted",
            `No free /28 left in ENVIRONMENT_SUBNETS (${formatCidr(this.pool)}): remove environments or widen the pool`,
          );
        }
        const name = `${NETWORK_PREFIX}${randomBytes(6).toString("hex")}`;
        try {
          await this.docker.createNetwork({
            Name: name,
            Driver: "bridge",
            Internal: true,
            CheckDuplicate: true,
            IPAM: { Driver: "default", Config: [{ Subnet: subnet.subnet, Gateway: subnet.gateway }] },
            Options: {
              "com.docker.network.bridge.name": bridgeName(name),
              "com.docker.network.bridge.enable_ip_masquerade": "false",
            },
            Labels: { [LABEL.managed]: "true" },
          });
          return { ...subnet, name, bridge: bridgeName(name) };
        } catch (err) {
          if (!/overlaps/i.test(dockerMessage(err)) || attempt >= SUBNET_ATTEMPTS) throw err;
        }
      }
    });
  }

  private describe(name: string, subnet: string): EnvironmentNetwork {
    return { ...subnetAt(parseCidr(subnet).base), name, bridge: bridgeName(name) };
  }
}
