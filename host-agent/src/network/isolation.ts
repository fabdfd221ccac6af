/**
 * Everything that makes an environment isolated, kept together so the container service sees one
 * step before a container exists and one after it is gone:
 *
 * - its own internal network (environment-networks.ts),
 * - the egress proxy listening on that network's gateway (egress/proxy.ts),
 * - its host ports, forwarded by the agent because an internal network cannot publish
 *   (port-forwarder.ts).
 *
 * After an agent restart `restore` serves every environment again from what Docker holds, and
 * removes networks whose environment is gone.
 */
import type { EgressStats, PortMapping } from "../api/contract.js";
import type { NetworkPlacement } from "../docker/container-spec.js";
import type { EgressProxy } from "../egress/proxy.js";
import type { Logger } from "../lib/logger.js";
import type { EnvironmentNetwork, EnvironmentNetworks } from "./environment-networks.js";
import type { PortForwarder } from "./port-forwarder.js";

export class Isolation {
  constructor(
    private readonly networks: EnvironmentNetworks,
    private readonly forwarder: PortForwarder,
    private readonly proxy: EgressProxy,
    private readonly placementDefaults: { proxyPort: number },
    private readonly logger: Logger,
  ) {}

  /** The network and egress of an environment, made or found; before its container is created. */
  async prepare(id: string): Promise<NetworkPlacement> {
    const net = await this.networks.take(id);
    await this.proxy.listen({ id, gateway: net.gateway, subnet: net.subnet });
    return this.placement(net);
  }

  /**
   * Serves the environment's host ports. On a port held by something else (PortInUseError) the
   * ports opened by this call are closed again before the error goes up.
   */
  async openPorts(net: NetworkPlacement, ports: PortMapping[]): Promise<void> {
    const opened: number[] = [];
    try {
      for (const p of ports) {
        await this.forwarder.open({ hostPort: p.hostPort, targetIp: net.containerIp, targetPort: p.containerPort });
        opened.push(p.hostPort);
      }
    } catch (err) {
      await this.closePorts(opened);
      throw err;
    }
  }

  async closePorts(hostPorts: number[]): Promise<void> {
    await Promise.all(hostPorts.map((p) => this.forwarder.close(p)));
  }

  /**
   * After the container is gone: ports, proxy and network. Each step is tried whatever the one
   * before did, and a failure is logged, not thrown: the caller's own error (a failed create)
   * stays the one reported, and the host ports are released either way.
   */
  async teardown(id: string, hostPorts: number[]): Promise<void> {
    const steps: Array<[string, () => Promise<void>]> = [
      ["port forwards", () => this.closePorts(hostPorts)],
      ["egress proxy", () => this.proxy.close(id)],
      ["network", () => this.networks.release(id)],
    ];
    for (const [what, step] of steps) {
      await step().catch((err: Error) => this.logger.error({ id, err: err.message }, `teardown of the ${what} failed`));
    }
  }

  /** At start-up: serve every existing environment again; remove networks left without one. */
  async restore(environments: Array<{ id: string; ports: PortMapping[]; network: string | null }>): Promise<void> {
    const networks = await this.networks.restore(environments);
    for (const env of environments) {
      const net = networks.get(env.id);
      if (!net) continue; // made on a shared network (CONTAINER_NETWORK was set then)
      // One environment that cannot be served again must not keep the agent from the others.
      try {
        await this.proxy.listen({ id: env.id, gateway: net.gateway, subnet: net.subnet });
        await this.openPorts(this.placement(net), env.ports);
      } catch (err) {
        this.logger.error({ id: env.id, err: (err as Error).message }, "cannot serve an environment again");
      }
    }
  }

  /** The environment's network as the agent serves it; null when it is on a shared network. */
  network(id: string): { name: string; subnet: string; gateway: string } | null {
    const net = this.networks.of(id);
    return net ? { name: net.name, subnet: net.subnet, gateway: net.gateway } : null;
  }

  egressStats(id: string): EgressStats | null {
    return this.proxy.stats(id);
  }

  egressDeniedTotal(): number {
    return this.proxy.deniedTotal();
  }

  async close(): Promise<void> {
    await this.forwarder.closeAll();
    await this.proxy.closeAll();
    await this.networks.close();
  }

  private placement(net: EnvironmentNetwork): NetworkPlacement {
    return { name: net.name, containerIp: net.containerIp, gateway: net.gateway, ...this.placementDefaults };
  }
}
