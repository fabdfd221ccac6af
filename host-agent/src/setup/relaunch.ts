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
 * What it leaves out: cloning and installing (the workspace and the dependency volume are as
 * they were; a changed branch is a new setup's or a redeploy's).
 */
import { rm } from "node:fs/promises";
import type { z } from "zod";
import { SetupRequest, type ContainerDetails, type StartContainerRequest } from "../api/contract.js";
import { AppError } from "../api/errors.js";
import { ERROR_TAIL_LINES, type Config } from "../config.js";
import { killTagged, newExecTag } from "../containers/exec-tag.js";
import type { ContainerService } from "../containers/service.js";
import type { DockerClient } from "../docker/client.js";
import type { Logger } from "../lib/logger.js";
import type { CallbackOutbox } from "./callbacks.js";
import type { Workspace } from "./clone.js";
import { LineTail, type ContainerIO } from "./container-io.js";
import { startDevServer, type DevServerDeps, type DevServerStarted } from "./dev-server.js";
import { resolveLauncher } from "./launcher.js";
import { SetupProgress, type Report } from "./progress.js";
import { forgetRun, listRuns, readRun, recordRun, type RunFacts } from "./run-marker.js";
import { envList, type Setup } from "./setup-request.js";
import { SetupError } from "./setup-error.js";
import type { DevServerWatch } from "../watch/dev-server-watch.js";

export type Start = z.output<typeof StartContainerRequest>;

export type RelaunchDeps = {
  config: Config;
  docker: DockerClient;
  containers: ContainerService;
  io: ContainerIO;
  outbox: CallbackOutbox;
  logger: Logger;
  /** Whether a setup of this container is running (runner.ts): a start then waits its turn. */
  setupActive: (id: string) => boolean;
  /** Watches the dev server after `ready`; told of every intentional stop. */
  watch: DevServerWatch;
};

/** The URL a ready environment is reported at, as setup reports it. */
const readyUrl = (config: Config, hostPort: number) => `http://${config.publicHost}:${hostPort}`;

/**
 * Records what a successful setup leaves for a later start (called by runner.ts just before
 * `ready`). A failure to record is logged, not thrown: the environment is ready all the same,
 * and a start then answers that it has no setup to bring back.
 */
export async function rememberSetup(
  d: { config: Config; containers: ContainerService; logger: Logger },
  id: string,
  req: Setup,
  w: Workspace,
): Promise<void> {
  try {
    const details = await d.containers.snapshot(id);
    const recorded = await recordRun(d.config.dataDir, {
      containerId: id,
      repo: req.repo,
      branch: req.branch,
      tenant: req.tenant,
      commit: w.commit,
      containerPort: details.ports[0]!.containerPort,
      image: details.image,
      deps: w.deps,
      launcherArgv: w.launcher.argv,
    });
    if (!recorded) d.logger.warn({ id }, "setup facts too large to keep: a start will not bring the dev server back");
  } catch (err) {
    d.logger.warn({ id, err: String(err) }, "could not record the setup for later starts");
  }
}

export class Relauncher {
  /** Containers whose start or restart is under way, from the request until ready or error. */
  private readonly active = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  private readonly progress: SetupProgress;

  constructor(private readonly d: RelaunchDeps) {
    this.progress = new SetupProgress(d.config.dataDir, d.outbox, d.logger);
  }

  isActive(id: string): boolean {
    return this.active.has(id);
  }

  /** 409 while a setup, a start or a restart of `id` runs (a stop or another start would cut it short). */
  assertIdle(id: string): void {
    if (this.d.setupActive(id)) throw new AppError("conflict", `Container ${id} is being set up`);
    if (this.active.has(id)) throw new AppError("conflict", `Container ${id} is starting its dev server`);
  }

  /**
   * Stops the container (409 while a setup or start of it runs). The watch is told first, so
   * the dev server's end is not reported as a crash even when the engine's `kill` event comes
   * late or the event stream is reconnecting.
   */
  async stop(id: string): Promise<ContainerDetails> {
    this.assertIdle(id);
    await this.d.containers.snapshot(id); // 404 before the watch is touched
    this.d.watch.expect(id);
    return this.d.containers.stop(id);
  }

  /** Starts a stopped container and, in the background, its dev server. */
  start(id: string, body: Start): Promise<ContainerDetails> {
    return this.begin(id, body, () => this.d.containers.start(id));
  }

  /** Restarts the container and, in the background, its dev server with the settings given. */
  restart(id: string, body: Start): Promise<ContainerDetails> {
    return this.begin(id, body, () => this.d.containers.restart(id));
  }

  /** Forgets the container's last setup (it was deleted). */
  forget(id: string): Promise<void> {
    return forgetRun(this.d.config.dataDir, id);
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

  /**
   * Claims `id` (one start at a time, never during a setup), checks there is a setup to bring
   * back, runs `act` (the container's start or restart), then brings the dev server back in
   * the background. Nothing is changed when any check fails.
   */
  private async begin(id: string, body: Start, act: () => Promise<ContainerDetails>): Promise<ContainerDetails> {
    this.assertIdle(id);
    this.active.add(id);
    let launched = false;
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
      const work = this.relaunch(id, body, run, details)
        .catch((err: unknown) => this.d.logger.error({ id, err: String(err) }, "could not report a start"))
        .finally(() => {
          this.active.delete(id);
          this.running.delete(work);
        });
      this.running.add(work);
      launched = true;
      return details;
    } finally {
      if (!launched) this.active.delete(id);
    }
  }

  private async relaunch(id: string, body: Start, run: RunFacts, details: ContainerDetails): Promise<void> {
    const { config, docker, io, logger } = this.d;
    const req = SetupRequest.parse({
      repo: run.repo,
      branch: run.branch,
      tenant: run.tenant,
      callbackUrl: body.callbackUrl,
      callbackSecret: body.callbackSecret,
      envVars: body.envVars,
      devCommand: body.devCommand,
    });
    const report = this.progress.reporter(id, req);
    const tail = new LineTail(ERROR_TAIL_LINES);
    // Every process this start runs carries the tag, so a failed one can end them all.
    const tag = newExecTag();
    const { dockerId } = details;
    try {
      await report("starting");
      const where = `${run.repo} ${run.branch} at ${run.commit.slice(0, 12)}`;
      await io.writeLog(dockerId, [`[starting] bringing the dev server back: ${where}, with the workspace as it is`]);
      const workspace: Workspace = {
        dockerId,
        commit: run.commit,
        deps: run.deps,
        launcher: await launcherIn(this.d, dockerId, run.deps, details.image, req),
        mainImage: null,
        baseImage: null,
        requestedBase: null,
        volumeName: details.volumeName ?? "",
      };
      await startWatched(this.d, id, req, workspace, { tag, tail, report });
    } catch (err) {
      const message = failureMessage(err, tail, "Starting the dev server again");
      logger.warn({ id, err: String(err) }, "bringing the dev server back failed");
      await killTagged(docker, dockerId, config.container.user, tag).catch(() => undefined);
      await io.writeLog(dockerId, [`[error] ${message}`]).catch(() => undefined);
      await report("error", { error: message });
    }
  }
}

/**
 * How this container runs the repo's package manager. Found again at each start rather than
 * kept: its environment may hold what the repo's variables say (npm's registry), and those are
 * the ones sent now.
 */
export function launcherIn(
  d: { config: Config; docker: DockerClient },
  dockerId: string,
  deps: RunFacts["deps"],
  image: string,
  req: Setup,
) {
  return resolveLauncher(d.docker, dockerId, {
    user: d.config.container.user,
    manager: deps.manager,
    lockfile: deps.lockfile,
    pin: deps.pkg.packageManager,
    files: deps.files,
    image,
    env: envList(req, []),
  });
}

/**
 * Starts the dev server in a workspace that is ready for it, reports `ready` once it answers,
 * and hands it to the watch, which reports it stopping from then on (a start's and a
 * redeploy's last step).
 */
export async function startWatched(
  d: DevServerDeps & { watch: DevServerWatch },
  id: string,
  req: Setup,
  w: Workspace,
  run: { tag: string; tail: LineTail; report: Report },
): Promise<void> {
  let started: DevServerStarted | undefined;
  const hostPort = await startDevServer(d, id, req, w, run.tag, run.tail, (s) => (started = s));
  await run.report("ready", { hostPort, url: readyUrl(d.config, hostPort) });
  if (started) {
    const { callbackUrl, callbackSecret, repo, branch } = req;
    await d.watch.track(id, { dockerId: w.dockerId, ...started, callbackUrl, callbackSecret, repo, branch });
  }
}

/** An error callback's message: what went wrong (`what` failed, unless it says), then the last lines of output. */
export function failureMessage(err: unknown, tail: LineTail, what: string): string {
  const base =
    err instanceof SetupError ? err.message : `${what} failed: ${err instanceof Error ? err.message : String(err)}`;
  const last = tail.lines.slice(-ERROR_TAIL_LINES).join("\n");
  return last ? `${base}\nLast output:\n${last}` : base;
}
