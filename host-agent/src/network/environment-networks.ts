/**
 * One Docker network per environment: `Internal: true` (no route out of the host: Docker drops
 * its traffic to every other interface), a /28 of its own (see subnets.ts), a bridge named
 * `artie<hash>` so one host firewall rule covers every environment (see firewall.ts), and the
 * agent's labels so a restarted agent finds it again. Two environments never share a network,
 * so neither can reach the other. Removed with its environment.
 */
import { createHash } from "node:crypto";
import { AppError } from "../api/errors.js";
import type { DockerClient } from "../docker/client.js";
import { LABEL } from "../docker/labels.js";
import { KeyedLock } from "../lib/keyed-lock.js";
import { formatCidr, freeSubnet, parseCidr, subnetAt, type Cidr, type EnvironmentSubnet } from "./subnets.js";

/** Prefix of every environment bridge interface; the firewall matches `artie+`. */
export const BRIDGE_PREFIX = "artie";

export type EnvironmentNetwork = EnvironmentSubnet & { id: string; name: string; bridge: string };

export const networkName = (id: string) => `artie-net-${id}`;

/** Linux interface names are at most 15 bytes: the prefix and 10 hex digits of the id's hash. */
export const bridgeName = (id: string) =>
  `${BRIDGE_PREFIX}${createHash("sha256")
    .update(id)
    .digest("hex")
    .slice(0, 15 - BRIDGE_PREFIX.length)}`;

export class EnvironmentNetworks {
  /** Subnet choice and network creation run one at a time, so two creates never pick one subnet. */
  private readonly allocation = new KeyedLock();
  private readonly pool: Cidr;

  constructor(
    private readonly docker: DockerClient,
    pool: string,
  ) {
    this.pool = parseCidr(pool);
  }

  /** The environment's network, created when missing. */
  async ensure(id: string): Promise<EnvironmentNetwork> {
    return this.allocation.run("subnets", async () => {
      const existing = await this.docker.inspectNetwork(networkName(id));
      if (existing) return this.describe(id, existing.IPAM?.Config?.[0]?.Subnet);
      const subnet = freeSubnet(this.pool, await this.docker.usedSubnets());
      if (!subnet) {
        throw new AppError(
          "network_pool_exhausted",
          `No free /28 left in ENVIRONMENT_SUBNETS (${formatCidr(this.pool)}): remove environments or widen the pool`,
        );
      }
      await this.docker.createNetwork({
        Name: networkName(id),
        Driver: "bridge",
        Internal: true,
        CheckDuplicate: true,
        IPAM: { Driver: "default", Config: [{ Subnet: subnet.subnet, Gateway: subnet.gateway }] },
        Options: {
          "com.docker.network.bridge.name": bridgeName(id),
          "com.docker.network.bridge.enable_ip_masquerade": "false",
        },
        Labels: { [LABEL.managed]: "true", [LABEL.id]: id },
      });
      return { ...subnet, id, name: networkName(id), bridge: bridgeName(id) };
    });
  }

  async remove(id: string): Promise<void> {
    await this.docker.removeNetwork(networkName(id));
  }

  /** Every environment network on the engine, by environment id. */
  async list(): Promise<Map<string, EnvironmentNetwork>> {
    const found = new Map<string, EnvironmentNetwork>();
    for (const n of await this.docker.listManagedNetworks()) {
      const id = n.Labels?.[LABEL.id];
      if (!id || n.Name !== networkName(id)) continue;
      try {
        found.set(id, this.describe(id, n.IPAM?.Config?.[0]?.Subnet));
      } catch {
        // A network with our labels but not our shape is left alone.
      }
    }
    return found;
  }

  private describe(id: string, subnet: string | undefined): EnvironmentNetwork {
    if (!subnet) throw new Error(`network ${networkName(id)} has no IPv4 subnet`);
    return { ...subnetAt(parseCidr(subnet).base), id, name: networkName(id), bridge: bridgeName(id) };
  }
}
