/**
 * Bringing a set-up environment's dev server back after its container started again:
 * `POST /api/containers/:id/start` (a stopped container) and `POST /api/containers/:id/restart`
 * with a body. The workspace volume kept the checkout and every uncommitted change; what the
 * dev server needs besides is the repo's facts from the last successful setup (run-marker.ts)
 * and the run settings, which the control plane sends again (the agent stores no environment
 * value). The dev server is started by dev-server.ts's startDevServer, exactly as setup starts
 * it, and reported by the same signed callbacks: `starting`, then `ready` or `error`.
 *
 * The dev server watch (watch/dev-server-watch.ts) is told before the container is stopped,
 * started or restarted (`expect`: the old dev server ending is no crash, whatever order Docker's
 * events arrive in) and takes the new dev server up once it answers (`track`), so a start's
 * callbacks and a later crash report share the container's one ordered queue in the outbox.
 *
 * Each claims the container in the operation lock (containers/operation-lock.ts) before its first
 * await, and a start or restart holds it until the dev server answered or failed: a second
 * operation meanwhile is a 409. So does a restart without a body (the seed API's and the CLI's),
 * which brings the dev server back too when the agent kept its settings (run-settings.ts).
 *
 * A container the engine started again by itself (a crash, an engine restart) gets its dev server
 * back the same way (`comeBack`, asked by come-back.ts), with the settings kept at its last
 * `ready` (run-settings.ts) instead of a request's. The repo's variables are kept in the agent's
 * memory only: an agent that restarted since (a host reboot) has none, so a container that had
 * variables is not run without them; an `error` callback with reason `needs-relaunch` asks the
 * control plane, which holds them encrypted, to restart it with its settings. A container with
 * no variables misses nothing and is brought back by the agent alone.
 *
 * What it leaves out: cloning and installing (the workspace and the dependency volume are as
 * they were; a changed branch is a new setup's or a redeploy's).
 */
import { rm } from "node:fs/promises";
import type { z } from "zod";
import type { ContainerDetails, StartContainerRequest } from "../api/contract.js";
import { AppError } from "../api/errors.js";
import type { Release } from "../containers/operation-lock.js";
import { SetupProgress } from "../report/progress.js";
import { forgetRun, listRuns, readRun, type RunFacts } from "./run-marker.js";
import {
  readComebackRecord,
  readKeptSettings,
  RUN_SETTINGS_PATH,
  saveComebackRecord,
  type ComebackRecord,
  type RunSettings,
} from "./run-settings.js";
import { launcherIn, requestFor, runReported, startWatched, type LaunchDeps } from "./workspace-launch.js";

export type Start = z.output<typeof StartContainerRequest>;

/** 409 `in_use` when the container's last activity (its details', activity.ts) is after `after`. */
function refuseIfUsedSince(details: ContainerDetails, after: number): void {
  const at = details.lastActivityAt;
  const usedAt = typeof at === "number" ? at : typeof at === "string" ? Date.parse(at) : NaN;
  if (!(usedAt > after)) return;
  throw new AppError(
    "in_use",
    `Container ${details.id} was used at ${new Date(usedAt).toISOString()}, after ${new Date(after).toISOString()}; not stopped`,
  );
}

/** What a dev server brought back without a request runs with, or what of it is missing. */
type Kept = { settings: RunSettings } | { missing: "file" | "values" };

/** The `needs-relaunch` errors' words (the dashboard shows them on the environment's timeline). */
const NEEDS_RELAUNCH_AFTER_COME_BACK =
  "The container was restarted by the engine while the host agent was not running; restarting its dev server with its settings from the control plane (the host agent keeps the repo's variables in memory only).";
const NEEDS_RELAUNCH_AFTER_RESTART =
  "The container was restarted, but the host agent has restarted since its dev server last started and no longer holds the repo's variables (it keeps them in memory only); restarting its dev server with its settings from the control plane.";

export class Relauncher {
  private readonly running = new Set<Promise<void>>();
  private readonly progress: SetupProgress;

  constructor(private readonly d: LaunchDeps) {
    this.progress = new SetupProgress(d.config.dataDir, d.outbox, d.logger);
  }

  /**
   * Stops the container (409 while another operation on it runs). The watch is told first, so
   * the dev server's end is not reported as a crash even when the engine's `kill` event comes
   * late or the event stream is reconnecting. With `unlessUsedAfter` (the idle reaper's), one
   * whose last activity is later is refused (`409 in_use`) and left running: the check is made
   * holding the claim, right before the stop, so use after the reaper looked is not lost. (An
   * exec takes no claim: one that begins in the instant between this check and the engine's stop
   * still ends with the container, as with any stop.)
   */
  stop(id: string, o: { unlessUsedAfter?: number } = {}): Promise<ContainerDetails> {
    return this.holding(id, "being stopped", async () => {
      const details = await this.d.containers.snapshot(id); // 404 before the watch is touched
      if (o.unlessUsedAfter !== undefined) refuseIfUsedSince(details, o.unlessUsedAfter);
      this.d.watch.expect(id);
      return this.d.containers.stop(id);
    });
  }

  /**
   * A restart without a body (the seed API's, the CLI's): restarts the container, then brings its
   * dev server back in the background, as a restart with a body does, with the settings kept at
   * its last `ready` (run-settings.ts) and reported where that setup reported. A container with
   * nothing kept (a pool container, one never set up, one whose settings file is gone) is only
   * restarted; its start then counts as seen, so the come-back leaves it alone too. One whose
   * variables the agent no longer holds is reported `needs-relaunch` (the class header says why).
   */
  async restartOnly(id: string): Promise<ContainerDetails> {
    const release = this.d.locks.claim(id, "restarting");
    let handedOver = false;
    try {
      await this.d.containers.snapshot(id);
      this.d.watch.expect(id);
      const details = await this.d.containers.restart(id);
      const { dataDir, container } = this.d.config;
      const record = await readComebackRecord(dataDir, id);
      const run = record ? await readRun(dataDir, id) : null;
      if (!record || !run) return details;
      const info = await this.d.docker.inspect(details.dockerId);
      if (info?.State.Running) await saveComebackRecord(dataDir, id, { ...record, startedAt: info.State.StartedAt });
      const kept = await this.kept(id, container.user, details.dockerId);
      const { callbackUrl, callbackSecret } = record;
      if ("missing" in kept) {
        if (kept.missing === "values")
          await this.progress.reporter(id, requestFor(run, { callbackUrl, callbackSecret, envVars: {} }))("error", {
            error: NEEDS_RELAUNCH_AFTER_RESTART,
            reason: "needs-relaunch",
          });
        return details;
      }
      this.background(id, { callbackUrl, callbackSecret, ...kept.settings }, run, details, release);
      handedOver = true;
      return details;
    } finally {
      if (!handedOver) release();
    }
  }

  /** Starts a stopped container and, in the background, its dev server. */
  start(id: string, body: Start): Promise<ContainerDetails> {
    return this.begin(id, body, "starting its dev server", () => this.d.containers.start(id));
  }

  /** Restarts the container and, in the background, its dev server with the settings given. */
  restart(id: string, body: Start): Promise<ContainerDetails> {
    return this.begin(id, body, "restarting its dev server", () => this.d.containers.restart(id));
  }

  /**
   * Brings the dev server back in a container the engine started again by itself (come-back.ts):
   * with the settings of its last `ready` (the variables from the agent's memory, the dev command
   * from the container) and the report-to the agent kept (run-settings.ts), reported `starting`,
   * then `ready` or `error`, like a start; without the variables it had, `error` with reason
   * `needs-relaunch` instead (the class header says why). Skipped (false) while another
   * operation holds the container, when there is no finished setup, or when the container is not
   * running or is still the one the dev server last came up in. This start counts as seen at once
   * (the record takes its StartedAt), so a failure is reported once, not at every reconnect.
   */
  async comeBack(id: string, record: ComebackRecord): Promise<boolean> {
    let release: Release;
    try {
      release = this.d.locks.claim(id, "bringing its dev server back");
    } catch {
      return false; // the agent is doing something to it: that operation reports
    }
    let handedOver = false;
    try {
      const details = await this.d.containers.snapshot(id);
      const run = await readRun(this.d.config.dataDir, id);
      const info = await this.d.docker.inspect(details.dockerId);
      if (!run || !info?.State.Running || info.State.StartedAt === record.startedAt) return false;
      const { dataDir, container } = this.d.config;
      await saveComebackRecord(dataDir, id, { ...record, startedAt: info.State.StartedAt });
      this.d.logger.info({ id }, "the engine started the container again: bringing its dev server back");
      this.d.watch.expect(id);
      const kept = await this.kept(id, container.user, details.dockerId);
      const { callbackUrl, callbackSecret } = record;
      if ("missing" in kept) {
        const report = this.progress.reporter(id, requestFor(run, { callbackUrl, callbackSecret, envVars: {} }));
        if (kept.missing === "values") {
          this.d.logger.info({ id }, "the repo's variables are not in memory: asking the control plane to restart it");
          await report("error", { error: NEEDS_RELAUNCH_AFTER_COME_BACK, reason: "needs-relaunch" });
        } else
          await report("error", {
            error: `The environment's container was started again, but its run settings (${RUN_SETTINGS_PATH}) are gone, so its dev server was not brought back. Restart the environment to start it again.`,
          });
        return false;
      }
      const body: Start = { callbackUrl, callbackSecret, ...kept.settings };
      this.background(id, body, run, details, release);
      handedOver = true;
      return true;
    } finally {
      if (!handedOver) release();
    }
  }

  /**
   * Deletes the container once the operation under way on it ended (operation-lock.ts says why
   * a delete waits rather than being refused), and forgets its last setup.
   */
  async remove(id: string, waitMs: number): Promise<void> {
    const release = await this.d.locks.claimForDelete(id, waitMs);
    try {
      this.d.watch.expect(id);
      await this.d.containers.remove(id);
      await this.forget(id);
    } finally {
      release();
    }
  }

  /** Forgets the container's last setup (it was deleted), its variables with it. */
  forget(id: string): Promise<void> {
    this.d.secrets.forget(id);
    return forgetRun(this.d.config.dataDir, id);
  }

  /**
   * The settings of the container's last `ready`: the dev command and variable names from its
   * workspace, the values from memory. A container that had no variables misses none.
   */
  private async kept(id: string, user: string, dockerId: string): Promise<Kept> {
    const kept = await readKeptSettings(this.d.docker, user, dockerId).catch(() => null);
    if (!kept) return { missing: "file" };
    const envVars = kept.envVarNames.length === 0 ? {} : this.d.secrets.get(id);
    if (!envVars) return { missing: "values" };
    return { settings: { envVars, devCommand: kept.devCommand } };
  }

  /**
   * Start-up: forgets the setups of containers that are gone, and half-written records. Run
   * once Docker answered; a container it cannot ask about keeps its record.
   */
  async sweep(): Promise<number> {
    const { ids, partials } = await listRuns(this.d.config.dataDir);
    let removed = 0;
    for (const file of partials) await rm(file, { force: true });
    for (const id of ids) {
      const gone = await this.d.containers.snapshot(id).then(
        () => false,
        (err: unknown) => err instanceof AppError && err.code === "container_not_found",
      );
      if (!gone) continue;
      await this.forget(id);
      removed++;
    }
    return removed;
  }

  /** Waits for the dev servers being brought back (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  /** Runs `act` holding `id` in the operation lock. */
  private async holding<T>(id: string, what: string, act: () => Promise<T>): Promise<T> {
    const release = this.d.locks.claim(id, what);
    try {
      return await act();
    } finally {
      release();
    }
  }

  /**
   * Claims `id`, checks there is a setup to bring back, runs `act` (the container's start or
   * restart), then brings the dev server back in the background, still holding the claim.
   * Nothing is changed when any check fails.
   */
  private async begin(
    id: string,
    body: Start,
    what: string,
    act: () => Promise<ContainerDetails>,
  ): Promise<ContainerDetails> {
    const release = this.d.locks.claim(id, what);
    let handedOver = false;
    try {
      await this.d.containers.snapshot(id); // 404 for an unknown container, before anything else
      const run = await readRun(this.d.config.dataDir, id);
      if (!run)
        throw new AppError(
          "conflict",
          `Container ${id} has no finished setup to bring its dev server back from; set it up instead`,
        );
      // The old dev server ending (restart) is intentional; the new one is tracked once it answers.
      this.d.watch.expect(id);
      const details = await act();
      this.background(id, body, run, details, release);
      handedOver = true;
      return details;
    } finally {
      if (!handedOver) release();
    }
  }

  private background(id: string, body: Start, run: RunFacts, details: ContainerDetails, release: Release) {
    const work = this.relaunch(id, body, run, details)
      .catch((err: unknown) => this.d.logger.error({ id, err: String(err) }, "could not report a start"))
      .finally(() => {
        release();
        this.running.delete(work);
      });
    this.running.add(work);
  }

  private relaunch(id: string, body: Start, run: RunFacts, details: ContainerDetails): Promise<void> {
    const req = requestFor(run, body);
    const { dockerId } = details;
    const what = "Starting the dev server again";
    return runReported(this.d, this.progress, id, req, { what, dockerId: () => dockerId }, async (r) => {
      await r.report("starting");
      const where = `${run.repo} ${run.branch} at ${run.commit.slice(0, 12)}`;
      await this.d.io.writeLog(dockerId, [
        `[starting] bringing the dev server back: ${where}, with the workspace as it is`,
      ]);
      const workspace = {
        dockerId,
        commit: run.commit,
        deps: run.deps,
        launcher: await launcherIn(this.d, dockerId, run.deps, details.image, req),
        mainImage: null,
        baseImage: null,
        requestedBase: null,
        volumeName: details.volumeName ?? "",
      };
      await startWatched(this.d, id, req, workspace, r);
    });
  }
}
