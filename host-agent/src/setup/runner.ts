/**
 * `POST /api/containers/:id/setup`: turns a container into a running dev environment for one
 * repo and branch, in the background, reporting each phase by signed callback:
 * cloning -> installing -> starting -> ready, or error with a message a person can act on.
 * This module only sequences the phases, each in a module of its own (clone.ts, install.ts,
 * dev-server.ts; main-image.ts builds the main image after ready), and turns any failure into
 * one error callback whose message carries the last lines of output and never the token.
 *
 * A setup holds its container in the operation lock (containers/operation-lock.ts) from the
 * request until `ready` or `error`: a start, stop, restart or redeploy meanwhile is a 409. The
 * main image build after `ready` does not hold it (the environment is the user's from `ready`
 * on); only a second setup waits for that build to end. The build compares the lock's
 * generation with the one at `ready` instead: once anything claimed the container since (a
 * redeploy rewriting /app, a restart or start about to report its own phases), it makes no image
 * from what it may have read mid-change and announces nothing, since its `ready` (a newer
 * sequence) would land in the middle of that operation's phases and show ready too early.
 */
import { AppError } from "../api/errors.js";
import { ERROR_TAIL_LINES, MAIN_IMAGE_BUILDS_MAX } from "../config.js";
import { killTagged, newExecTag } from "../containers/exec-tag.js";
import { KeyedLock } from "../lib/keyed-lock.js";
import { prepareWorkspace, type Workspace } from "./clone.js";
import { LineTail } from "./container-io.js";
import { startDevServer, type DevServerStarted } from "./dev-server.js";
import { redact } from "./git.js";
import { installDependencies } from "./install.js";
import { mainImageTag } from "./artifact-names.js";
import { buildMainImage, findMainImage, mainImageContextRoot } from "./main-image.js";
import { SetupProgress, type PhaseTimer, type Report } from "../report/progress.js";
import { forgetRun } from "./run-marker.js";
import type { RepoCache } from "./repo-cache.js";
import type { Setup } from "./setup-request.js";
import { SetupError } from "./setup-error.js";
import { readyUrl, rememberSettings, rememberSetup, type LaunchDeps } from "./workspace-launch.js";

/** How a setup ended: `interrupted` is one a previous run of the agent left unfinished. */
export type SetupOutcome = "ready" | "error" | "interrupted";
/** What setups tell whoever counts them (metrics/): each completed phase's duration, each end. */
export type SetupObserver = { phaseDone: PhaseTimer; ended: (outcome: SetupOutcome, count?: number) => void };

/**
 * What a setup and a redeploy are built from: a launch's, and the repo cache and install locks;
 * a setup's observer too, when something counts setups.
 */
export type SetupDeps = LaunchDeps & { repos: RepoCache; installLocks: KeyedLock; observe?: SetupObserver };

type Ready = { hostPort: number; url: string };

export class SetupRunner {
  private readonly active = new Map<string, Promise<void>>();
  private readonly progress: SetupProgress;
  /** Main image builds by tag: one at a time per tag, a second one is skipped. */
  private readonly builds = new KeyedLock();
  private buildsRunning = 0;

  constructor(private readonly d: SetupDeps) {
    this.progress = new SetupProgress(d.config.dataDir, d.outbox, d.logger, d.observe?.phaseDone);
  }

  /**
   * Validates and starts a setup in the background; 404 unknown container, 409 while another
   * operation holds it or its last setup still builds the main image. A restart during that build
   * may cut it short (it is logged, and the next setup of the default branch builds again).
   */
  async start(id: string, req: Setup): Promise<void> {
    if (this.active.has(id)) throw new AppError("conflict", `Container ${id} is already being set up`);
    const release = this.d.locks.claim(id, "being set up");
    try {
      await this.d.containers.get(id);
    } catch (err) {
      release();
      throw err;
    }
    const work = this.run(id, req, release).finally(() => {
      release();
      this.active.delete(id);
    });
    this.active.set(id, work);
  }

  /** Waits for running setups (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.active.values()]);
  }

  /** Reports setups a previous run of the agent left unfinished as errors. */
  async reportInterrupted(): Promise<number> {
    const count = await this.progress.reportInterrupted();
    if (count > 0) this.d.observe?.ended("interrupted", count);
    return count;
  }

  private async run(id: string, req: Setup, release: () => void): Promise<void> {
    const report = this.progress.reporter(id, req);
    const tail = new LineTail(ERROR_TAIL_LINES);
    // Every process this setup starts carries this tag, so a failed setup can end them all
    // (an install past its deadline, a dev server that never answered).
    const tag = newExecTag();
    let dockerId: string | undefined;
    // A setup replaces whatever ran here: the old dev server ending is no crash.
    this.d.watch.expect(id);
    try {
      // The workspace is about to change; the last setup's record no longer holds.
      await forgetRun(this.d.config.dataDir, id);
      this.d.secrets.forget(id);
      await report("cloning");
      const workspace = await prepareWorkspace(this.d, id, req, tail);
      dockerId = workspace.dockerId;
      await report("installing");
      await installDependencies(this.d, req, workspace, tag, tail);
      await report("starting");
      let started: DevServerStarted | undefined;
      const hostPort = await startDevServer(this.d, id, req, workspace, tag, tail, (s) => (started = s));
      const ready = { hostPort, url: readyUrl(this.d.config, hostPort) };
      const used = workspace.mainImage;
      // What a later start or redeploy needs to bring the dev server back (relaunch.ts, redeploy.ts).
      await rememberSetup(this.d, id, req, workspace);
      // And what brings it back when the engine starts the container by itself (come-back.ts).
      const startedAt = await rememberSettings(this.d, id, req, workspace.dockerId);
      await report("ready", { ...ready, ...(used ? { mainImage: { tag: used.tag, commit: used.commit } } : {}) });
      this.d.observe?.ended("ready");
      // From here on the dev server exiting or being killed is reported.
      if (started) {
        const target = { dockerId: workspace.dockerId, ...started, ...reportTo(req) };
        await this.d.watch.track(id, startedAt ? { ...target, startedAt } : target);
      }
      // The environment is the user's from `ready` on: other operations may begin.
      const since = this.d.locks.generation(id);
      release();
      const ours = () => this.d.locks.generation(id) === since;
      if (req.buildMainImage) await this.buildMainAfterReady(id, req, workspace, ready, report, ours);
    } catch (err) {
      const message = this.describe(err, req, tail);
      this.d.logger.warn({ id, err: redact(String(err), req.githubToken) }, "setup failed");
      if (dockerId) {
        await killTagged(this.d.docker, dockerId, this.d.config.container.user, tag).catch(() => undefined);
        await this.d.io.writeLog(dockerId, [`[error] ${message}`]).catch(() => undefined);
      }
      this.d.observe?.ended("error");
      await report("error", { error: message });
    }
  }

  /**
   * The environment is usable before its main image exists, so the image is built after `ready`
   * and announced by a second `ready` (newer sequence) carrying it. A main image whose lockfile
   * is this checkout's is current and left as it is (same dependencies, whatever the commit);
   * one built from another lockfile, or on another base than the setup's image (the settings
   * changed), is rebuilt, so warm setups stay warm as the repo moves. The old image keeps its
   * tag until the new one is built, so setups meanwhile still start warm. A failed build leaves
   * the environment ready; it is logged, and the next setup tries again. So does a build skipped
   * because one for that tag is already running, or MAIN_IMAGE_BUILDS_MAX are (each reads up to
   * MAIN_IMAGE_MAX_BYTES onto the host's disk and keeps the engine's builder busy).
   */
  private async buildMainAfterReady(
    id: string,
    req: Setup,
    w: Workspace,
    ready: Ready,
    report: Report,
    ours: () => boolean,
  ) {
    const { io, logger } = this.d;
    const tag = mainImageTag(req.tenant, req.repo);
    const skip = this.builds.isHeld(tag)
      ? `a build of main image ${tag} is already running`
      : this.buildsRunning >= MAIN_IMAGE_BUILDS_MAX
        ? `${this.buildsRunning} main image builds are already running on this host`
        : null;
    if (skip) {
      logger.info({ id, tag }, `main image build skipped: ${skip}`);
      await io.writeLog(w.dockerId, [`[ready] main image build skipped: ${skip}`]).catch(() => undefined);
      return;
    }
    this.buildsRunning++;
    try {
      await this.builds.run(tag, () => this.refreshMainImage(id, req, w, ready, report, ours));
    } finally {
      this.buildsRunning--;
    }
  }

  /** `ours`: nothing claimed the container since `ready` (see the header). */
  private async refreshMainImage(
    id: string,
    req: Setup,
    w: Workspace,
    ready: Ready,
    report: Report,
    ours: () => boolean,
  ) {
    const { io, docker, config, logger } = this.d;
    try {
      const current = await findMainImage(docker, req.tenant, req.repo);
      // The settings' base image moved: the main image is stale even with the same lockfile.
      const baseMoved = current !== null && w.requestedBase !== null && current.base !== w.requestedBase;
      if (current?.lockHash === w.deps.hash && !baseMoved) {
        await io.writeLog(w.dockerId, [`[ready] main image ${current.tag} is current for this lockfile`]);
        return;
      }
      const why = !current
        ? "it has no main image yet"
        : baseMoved
          ? `its base image is now ${w.requestedBase} (the main image was built on ${current.base})`
          : "its lockfile changed since the main image was built";
      await io.writeLog(w.dockerId, [`[ready] building main image for ${req.repo}: ${why}`]);
      const started = Date.now();
      const claimed = (what: string) =>
        logger.info({ id }, `main image ${what}: the container was claimed since ready`);
      if (!ours()) return claimed("not built");
      const built = await buildMainImage(docker, io, {
        dockerId: w.dockerId,
        tenant: req.tenant,
        repo: req.repo,
        // A container made from the main image builds on that image's own base.
        baseImage: w.baseImage ?? (current?.base || config.defaultImage),
        commit: w.commit,
        lockHash: w.deps.hash,
        user: config.container.user,
        maxBytes: config.setup.mainImageMaxBytes,
        contextRoot: mainImageContextRoot(config.dataDir),
        stillOurs: ours,
      });
      if (!built) return claimed("not built");
      await io.writeLog(w.dockerId, [`[ready] main image ${built.tag} built`]);
      const mainImage = { tag: built.tag, commit: built.commit, buildMs: Date.now() - started };
      // A dev server that stopped meanwhile was reported: a `ready` now would be wrong.
      if (this.d.watch.isDown(id)) {
        logger.info({ id, tag: built.tag }, "main image built, not announced: the dev server stopped");
        return;
      }
      if (!ours()) return claimed("built, not announced");
      await report("ready", { ...ready, mainImage });
    } catch (err) {
      logger.error({ id, err }, "main image build failed");
      await io.writeLog(w.dockerId, [`[ready] main image build failed: ${String(err)}`]).catch(() => undefined);
    }
  }

  private describe(err: unknown, req: Setup, tail: LineTail): string {
    const base =
      err instanceof SetupError
        ? err.message
        : err instanceof Error && err.name === "GitError"
          ? `Could not fetch ${req.repo}: ${err.message}. Check that the repository exists and the token can read it.`
          : err instanceof Error && err.message.startsWith("timed out")
            ? `${err.message}.`
            : `Setup failed: ${err instanceof Error ? err.message : String(err)}`;
    const last = tail.lines.slice(-ERROR_TAIL_LINES).join("\n");
    return redact(last ? `${base}\nLast output:\n${last}` : base, req.githubToken);
  }
}

/** Where a setup's callbacks go, for the watch that reports after `ready`. */
const reportTo = (req: Setup) => ({
  callbackUrl: req.callbackUrl,
  callbackSecret: req.callbackSecret,
  repo: req.repo,
  branch: req.branch,
});
