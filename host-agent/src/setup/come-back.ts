/**
 * Finds environment containers the engine started again by itself and has their dev servers
 * brought back (relaunch.ts's `comeBack`: `starting`, then `ready`, by callback, under the
 * operation lock). The engine does that after a crash of the container's main process and after
 * its own restart without live-restore (the restart policy, docker/container-spec.ts); an
 * operator's `docker start` looks the same and is treated the same.
 *
 * How it is found: a `start` event for a managed container that no operation of the agent holds
 * (containers/operation-lock.ts: the agent's own start, restart and setup hold it until their
 * dev server answered), and, for what no event told (the agent or the engine was down), a look at
 * every container with a come-back record once the agent read its containers at start and after
 * each reconnect of the event stream. Either way the container must be running with another
 * StartedAt than the one its dev server last came up in (run-settings.ts), so a container whose
 * dev server alone exited is not restarted behind the person's back (the watch reports it), and
 * a container still up after a live-restore restart is left alone.
 *
 * Pool containers and containers never set up have no record: they just stay up.
 */
import { dockerMessage } from "../docker/client.js";
import type { EngineEvents } from "../docker/engine-events.js";
import { containerName } from "../docker/labels.js";
import type { Relauncher } from "./relaunch.js";
import { listComebackRecords, readComebackRecord } from "./run-settings.js";
import type { LaunchDeps } from "./workspace-launch.js";

export type ComeBackDeps = Pick<LaunchDeps, "config" | "docker" | "logger" | "locks"> & {
  events: EngineEvents;
  relaunch: Relauncher;
};

export class ComeBack {
  private unsubscribe: (() => void) | null = null;
  private connects = 0;
  /** Looks under way (tests and shutdown wait for them). */
  private readonly busy = new Set<Promise<void>>();
  /** Containers being looked at: one look at a time each. */
  private readonly looking = new Set<string>();

  constructor(private readonly d: ComeBackDeps) {}

  /**
   * Follows `start` events, and looks at every container after each reconnect. The first
   * connect is the agent's start, whose look waits for the containers to be read (`checkAll`,
   * called by server.ts then).
   */
  start(): void {
    this.unsubscribe = this.d.events.subscribe({
      event: (e) => {
        if (e.action === "start" && e.agentId) this.run(this.check(e.agentId));
      },
      connected: () => {
        if (this.connects++ > 0) this.run(this.checkAll());
      },
    });
  }

  stop(): void {
    this.unsubscribe?.();
  }

  /** Resolves when no look is under way (the dev servers they bring back: relaunch.idle). */
  async idle(): Promise<void> {
    while (this.busy.size > 0) await Promise.allSettled([...this.busy]);
  }

  /** Looks at every container with a come-back record. */
  async checkAll(): Promise<void> {
    for (const id of await listComebackRecords(this.d.config.dataDir))
      await this.check(id).catch((err: unknown) =>
        this.d.logger.warn({ id, err: dockerMessage(err) }, "could not look at a container to bring back"),
      );
  }

  private run(p: Promise<void>) {
    const tracked = p.catch((err: unknown) => this.d.logger.warn({ err: dockerMessage(err) }, "come-back look failed"));
    this.busy.add(tracked);
    void tracked.finally(() => this.busy.delete(tracked));
  }

  private async check(id: string): Promise<void> {
    // The agent's own operation started it: that operation brings the dev server back and reports.
    if (this.d.locks.holder(id) !== null || this.looking.has(id)) return;
    this.looking.add(id);
    try {
      const record = await readComebackRecord(this.d.config.dataDir, id);
      if (!record) return;
      // Looked at first without the lock (relaunch.comeBack looks again under it): a claim only
      // to find nothing to do would answer the person's own next operation 409.
      const info = await this.d.docker.inspect(containerName(id));
      if (!info?.State.Running || info.State.StartedAt === record.startedAt) return;
      await this.d.relaunch.comeBack(id, record);
    } finally {
      this.looking.delete(id);
    }
  }
}
