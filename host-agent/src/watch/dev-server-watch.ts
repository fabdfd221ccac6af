/**
 * After `ready`, each environment's dev server is watched, and when it stops without the agent
 * having been asked to stop it, the control plane is told by an `error` callback (the next
 * sequence, signed and ordered with the setup's own, through progress.ts) with a `reason` and
 * words a person can act on (crash-report.ts). The container's `health` comes from here too.
 *
 * What it follows: Docker's events for the agent's containers (docker/engine-events.ts): the dev
 * server's exec ending (`exec_die`, with its exit code), the container's main process ending
 * (`die`), the kernel's OOM killer in the container's cgroup (`oom`); and a HEAD request to the
 * dev server's port every HEALTH_CHECK_EVERY_MS (health-check.ts). A death waits
 * DEV_SERVER_DEATH_SETTLE_MS for the events that explain it before it is decided: an `oom` within
 * OOM_ATTRIBUTION_MS makes it `oom`, a container that stopped `container-died`, else `exited`.
 *
 * Intentional ends are not crashes. Docker logs `kill` for every stop, restart and forced remove
 * through its API (the agent's, an operator's `docker stop`), before the death it causes: a `kill`
 * ends the watch of that container silently. Whatever ends the dev server another way (killing
 * its processes by exec tag, as a redeploy may) calls `expect(id)` first; so does every setup.
 * A stop, start or restart that brings the dev server back calls `track` again with the new exec.
 *
 * Watches survive an agent restart (watch-markers.ts): at start, and after each reconnect of the
 * event stream, every watch is checked against the engine (container running, exec running), so
 * what ended meanwhile is reported (with "while the host agent was not running" when found at start).
 *
 * They survive an engine restart with live-restore too. The container and the dev server's
 * processes keep running, but the engine forgets its execs: the exec is unknown, and its end
 * will send no `exec_die`. A watch whose container is the one it watched (same StartedAt) and
 * whose exec is unknown is no crash: it goes on by its health check alone, and
 * HEALTH_FAILURES_BEFORE_DOWN failed checks in a row are then taken as the dev server's end.
 */
import type { DevServerDownReason, HealthState } from "../api/contract.js";
import {
  DEV_SERVER_DEATH_SETTLE_MS,
  HEALTH_CHECK_EVERY_MS,
  HEALTH_CHECKS_IN_FLIGHT,
  HEALTH_FAILURES_BEFORE_DOWN,
  OOM_ATTRIBUTION_MS,
  type Config,
} from "../config.js";
import { dockerMessage, type DockerClient } from "../docker/client.js";
import type { EngineEvent, EngineEvents } from "../docker/engine-events.js";
import { KeyedLock } from "../lib/keyed-lock.js";
import type { Logger } from "../lib/logger.js";
import type { CallbackOutbox } from "../report/callbacks.js";
import { SetupProgress } from "../report/progress.js";
import { describeStop, lastDevServerLines } from "./crash-report.js";
import { answersHead, checkAll } from "./health-check.js";
import { WatchMarkers, type WatchTarget } from "./watch-markers.js";

export type { WatchTarget } from "./watch-markers.js";

/**
 * watching: the dev server runs; settling: it died, the cause is being decided; down: reported,
 * the container still runs (its port is still checked: someone may start a server by hand);
 * gone: reported, the container stopped (nothing is checked, health is none).
 */
type Entry = {
  id: string;
  target: WatchTarget;
  state: "watching" | "settling" | "down" | "gone";
  health: HealthState;
  failures: number;
  /** The engine's time of the last `oom` in this container. */
  oomAtMs: number | null;
  /** The engine forgot the dev server's exec (it restarted with live-restore): health decides. */
  execLost: boolean;
};

type Death = { atMs: number; exitCode: number | null; container: boolean; whileAway: boolean };

export type WatchDeps = {
  config: Config;
  docker: DockerClient;
  outbox: CallbackOutbox;
  events: EngineEvents;
  logger: Logger;
};

export class DevServerWatch {
  private readonly entries = new Map<string, Entry>();
  private readonly progress: SetupProgress;
  private readonly markers: WatchMarkers;
  private unsubscribe: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private checking = false;
  private connects = 0;
  private stopped = false;
  /** Reports under way (tests and shutdown wait for them). */
  private readonly busy = new Set<Promise<void>>();
  private readonly markerLock = new KeyedLock();

  constructor(private readonly d: WatchDeps) {
    this.progress = new SetupProgress(d.config.dataDir, d.outbox, d.logger);
    this.markers = new WatchMarkers(d.config.dataDir, d.logger);
  }

  /** Follows events, takes up the watches a previous run left, starts the health checks. */
  async start(): Promise<void> {
    this.unsubscribe = this.d.events.subscribe({
      event: (e) => this.onEvent(e),
      // The first connect is the agent's start, which checks the watches below (start() runs
      // before the event stream's); every later one follows a gap.
      connected: () => {
        if (this.connects++ > 0) this.verifyAll(false);
      },
    });
    for (const { id, target } of await this.markers.list()) {
      const entry = this.add(id, target);
      this.run(this.verify(entry, true));
    }
    this.timer = setInterval(() => this.run(this.checkHealth()), HEALTH_CHECK_EVERY_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.busy]);
  }

  /** Resolves when no report or check is under way (tests). */
  async idle(): Promise<void> {
    while (this.busy.size > 0) await Promise.allSettled([...this.busy]);
  }

  /**
   * Watches `id`'s dev server from now on: call it once the server answered (setup's `ready`,
   * or a start/restart that brought it back). Replaces any earlier watch of `id`.
   */
  async track(id: string, target: WatchTarget): Promise<void> {
    const entry = this.add(id, target);
    await this.syncMarker(id);
    // It may have died between answering and now: no event for it would be seen any more.
    this.run(this.verify(entry, false));
  }

  /**
   * Says the dev server or the container of `id` is about to be ended on purpose (a setup, a
   * redeploy, anything that kills it without a Docker stop): its watch ends now, nothing is
   * reported and health is `none` until `track` is called again.
   */
  expect(id: string): void {
    if (!this.entries.delete(id)) return;
    this.run(this.syncMarker(id));
  }

  health(id: string): HealthState {
    return this.entries.get(id)?.health ?? "none";
  }

  /** True once a stop of `id`'s dev server was seen (deciding or reported) and not tracked again. */
  isDown(id: string): boolean {
    const state = this.entries.get(id)?.state;
    return state !== undefined && state !== "watching";
  }

  /**
   * Makes `id`'s marker match its watch as it is now: written while it is watched, removed once
   * it ended or was reported. One at a time per id, so a quick track, expect, track leaves the
   * last word on disk. Without its marker a watch still runs; it only does not survive a restart.
   */
  private syncMarker(id: string): Promise<void> {
    return this.markerLock
      .run(id, async () => {
        const entry = this.entries.get(id);
        if (entry && (entry.state === "watching" || entry.state === "settling"))
          await this.markers.save(id, entry.target);
        else await this.markers.remove(id);
      })
      .catch((err: unknown) => this.d.logger.warn({ id, err }, "could not write a watch marker"));
  }

  private add(id: string, target: WatchTarget): Entry {
    const entry: Entry = {
      id,
      target,
      state: "watching",
      health: "answering",
      failures: 0,
      oomAtMs: null,
      execLost: false,
    };
    this.entries.set(id, entry);
    return entry;
  }

  private run(p: Promise<unknown>) {
    const tracked = p.then(
      () => undefined,
      (err: unknown) => this.d.logger.error({ err }, "dev server watch failed"),
    );
    this.busy.add(tracked);
    void tracked.finally(() => this.busy.delete(tracked));
  }

  private onEvent(e: EngineEvent) {
    const entry = e.agentId ? this.entries.get(e.agentId) : undefined;
    if (!entry || entry.target.dockerId !== e.dockerId) return;
    switch (e.action) {
      case "kill": // a stop, restart or remove through Docker's API: on purpose
      case "destroy":
        this.d.logger.info({ id: entry.id, action: e.action }, "watch ended: the container is being stopped");
        return this.expect(entry.id);
      case "oom":
        entry.oomAtMs = e.atMs;
        return;
      case "exec_die":
        if (e.execId !== entry.target.execId) return;
        return this.died(entry, { atMs: e.atMs, exitCode: e.exitCode, container: false, whileAway: false });
      case "die":
        if (entry.state === "down") {
          entry.state = "gone";
          entry.health = "none";
          return;
        }
        return this.died(entry, { atMs: e.atMs, exitCode: e.exitCode, container: true, whileAway: false });
    }
  }

  /** Checks every watch against the engine (after a reconnect: what happened in the gap). */
  private verifyAll(whileAway: boolean) {
    for (const entry of this.entries.values()) if (entry.state === "watching") this.run(this.verify(entry, whileAway));
  }

  private async verify(entry: Entry, whileAway: boolean) {
    const { docker } = this.d;
    const info = await docker.inspect(entry.target.dockerId).catch(() => undefined);
    if (info === undefined) return; // the engine does not answer: the next reconnect checks again
    if (info === null) return this.expect(entry.id); // removed: there is nothing left to report on
    if (!info.State.Running) {
      const atMs = Date.parse(info.State.FinishedAt) || Date.now();
      return this.died(entry, { atMs, exitCode: info.State.ExitCode ?? null, container: true, whileAway });
    }
    const { startedAt } = entry.target;
    // Running, but started again since the dev server answered: it ended with the container.
    if (startedAt && info.State.StartedAt !== startedAt)
      return this.died(entry, {
        atMs: Date.parse(info.State.StartedAt) || Date.now(),
        exitCode: null,
        container: true,
        whileAway,
      });
    const exec = await docker.inspectExec(entry.target.execId).catch(() => undefined);
    if (exec === undefined || exec?.running) return;
    if (exec === null && startedAt) {
      // The same container, and the engine no longer knows the exec: it restarted with live-restore.
      if (!entry.execLost)
        this.d.logger.info({ id: entry.id }, "the engine forgot the dev server's exec; watching its health");
      entry.execLost = true;
      return;
    }
    this.died(entry, { atMs: Date.now(), exitCode: exec?.exitCode ?? null, container: false, whileAway });
  }

  private died(entry: Entry, death: Death) {
    if (entry.state !== "watching") return;
    entry.state = "settling";
    const settled = new Promise((resolve) => setTimeout(resolve, DEV_SERVER_DEATH_SETTLE_MS).unref());
    this.run(settled.then(() => this.decide(entry, death)));
  }

  /** After the settle time: unless it turned out intentional, says what happened. */
  private async decide(entry: Entry, death: Death) {
    const { docker, config, logger } = this.d;
    // A kill event or expect() came meanwhile; or the agent is shutting down (the marker stays:
    // the next start finds the dev server gone and reports it).
    if (this.entries.get(entry.id) !== entry || this.stopped) return;
    const info = await docker.inspect(entry.target.dockerId).catch((err: unknown) => {
      logger.warn({ id: entry.id, err: dockerMessage(err) }, "cannot inspect a container whose dev server stopped");
      return undefined;
    });
    if (info === null) return this.expect(entry.id);
    const containerDown = death.container || info?.State.Running === false;
    const oomNear = entry.oomAtMs !== null && Math.abs(entry.oomAtMs - death.atMs) <= OOM_ATTRIBUTION_MS;
    const oom = oomNear || (containerDown && info?.State.OOMKilled === true);
    const reason: DevServerDownReason = oom ? "oom" : containerDown ? "container-died" : "exited";
    const exitCode = containerDown ? (info?.State.ExitCode ?? death.exitCode) : death.exitCode;
    const limit = info?.HostConfig.Memory;
    const memoryMb = limit ? Math.round(limit / 1024 / 1024) : config.container.memoryMb;
    const lines = await lastDevServerLines(docker, entry.target.dockerId).catch(() => []);
    if (this.entries.get(entry.id) !== entry || this.stopped) return;
    const error = describeStop({ reason, exitCode, memoryMb, whileAway: death.whileAway, lines });
    entry.state = containerDown ? "gone" : "down";
    entry.health = containerDown ? "none" : "not answering";
    logger.warn({ id: entry.id, reason, exitCode }, "the dev server stopped after ready");
    await this.syncMarker(entry.id);
    // A setup that began meanwhile ended this watch: its own callbacks come next, not this one.
    if (this.entries.get(entry.id) !== entry) return;
    await this.progress.reporter(entry.id, entry.target)("error", { error, reason });
  }

  /** One round of health checks; a round still running makes the next one skip. */
  private async checkHealth() {
    if (this.checking || this.stopped) return;
    this.checking = true;
    try {
      const due = [...this.entries.values()].filter((e) => e.state !== "gone");
      const answered = await checkAll(due, (e) => answersHead(e.target.probeUrl), HEALTH_CHECKS_IN_FLIGHT);
      due.forEach((entry, i) => {
        if (this.entries.get(entry.id) !== entry || entry.state === "gone") return;
        entry.failures = answered[i] ? 0 : entry.failures + 1;
        if (answered[i]) entry.health = "answering";
        else if (entry.failures >= HEALTH_FAILURES_BEFORE_DOWN || entry.state !== "watching")
          entry.health = "not answering";
        // No exec_die will come for an exec the engine forgot: not answering is the end it has.
        if (entry.execLost && entry.failures >= HEALTH_FAILURES_BEFORE_DOWN)
          this.died(entry, { atMs: Date.now(), exitCode: null, container: false, whileAway: false });
      });
    } finally {
      this.checking = false;
    }
  }
}
