/**
 * Redeploy (`POST /api/containers/:id/redeploy`): a set-up environment takes its branch's new
 * commits without losing its uncommitted work, and its dev server starts again on them.
 *
 * Before answering (so a refusal is the request's answer and nothing has changed): the last
 * setup's record (run-marker.ts) must be for the same repo and branch; the repo cache is fetched
 * with the request's token; the checkout of the branch is compared with the environment's commit
 * (workspace-update.ts), and a file the update would overwrite or delete that the workspace
 * changed is refused as `409 uncommitted_changes`, each file in `issues`, unless `force`. Only
 * those files are compared, on purpose: every other local change is kept by the update as it is.
 *
 * Then, reported by callback like a setup: `cloning` (the changed files written, /app/.git the
 * branch's), `installing` (a changed lockfile is a new dependency volume, so the container is
 * recreated onto it, keeping the workspace volume, and the install runs; an unchanged one keeps
 * the volume, and install.ts skips what its marker says is installed), `starting` (the dev server
 * as a start runs it), `ready`. The container is restarted when the lockfile did not change, to
 * end the old dev server and what it started (a terminal open in it too). The watch is told
 * first (`expect`), so none of this reads as a crash, and takes the new dev server up at `ready`.
 *
 * The setup record (run-marker.ts) is written again right after the files are written (the
 * environment's commit is the new one from then on, whatever fails later, so the next redeploy
 * compares against what /app holds) and after a recreate (the image and dependencies moved).
 * The container is held in the operation lock from the request until `ready` or `error`.
 *
 * What it leaves out: another branch or repo (a new setup's), the main image (never built here).
 */
import type { z } from "zod";
import type { ContainerDetails, RedeployRequest } from "../api/contract.js";
import { AppError } from "../api/errors.js";
import { REDEPLOY_FILES_NAMED } from "../config.js";
import type { Release } from "../containers/operation-lock.js";
import { withTimeout } from "../lib/timeout.js";
import { dependencyVolume } from "./artifact-names.js";
import type { Workspace } from "./clone.js";
import { installDependencies } from "./install.js";
import { SetupProgress } from "../report/progress.js";
import { readRun, type RunFacts } from "./run-marker.js";
import type { SetupDeps } from "./runner.js";
import { launcherIn, rememberSetup, requestFor, runReported, startWatched, type Run } from "./workspace-launch.js";
import {
  allFiles,
  applyChanges,
  branchChanges,
  headOf,
  localChanges,
  uncheckable,
  type Change,
} from "./workspace-update.js";

export type Redeploy = z.output<typeof RedeployRequest>;

type Checked = { run: RunFacts; details: ContainerDetails; head: string; changes: Change[]; checkout: Checkout };
type Checkout = { dir: string; dispose: () => Promise<void> };

export class Redeployer {
  private readonly running = new Set<Promise<void>>();
  private readonly progress: SetupProgress;

  constructor(private readonly d: SetupDeps) {
    this.progress = new SetupProgress(d.config.dataDir, d.outbox, d.logger);
  }

  /** Waits for redeploys under way (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  /** Checks, then updates in the background; answers the container's details (202). */
  async redeploy(id: string, body: Redeploy): Promise<ContainerDetails> {
    const release = this.d.locks.claim(id, "being redeployed");
    let handedOver = false;
    try {
      const checked = await this.check(id, body);
      this.background(id, body, checked, release);
      handedOver = true;
      return checked.details;
    } finally {
      if (!handedOver) release();
    }
  }

  private background(id: string, body: Redeploy, checked: Checked, release: Release) {
    const work = this.update(id, body, checked)
      .catch((err: unknown) => this.d.logger.error({ id, err: String(err) }, "could not report a redeploy"))
      .finally(async () => {
        await checked.checkout.dispose().catch(() => undefined);
        release();
        this.running.delete(work);
      });
    this.running.add(work);
  }

  /** Everything that can refuse, before anything in the environment changes. */
  private async check(id: string, body: Redeploy): Promise<Checked> {
    const { config, repos } = this.d;
    const details = await this.d.containers.snapshot(id); // 404 first
    if (details.state !== "running")
      throw new AppError("conflict", `Container ${id} is ${details.state}; start it first`);
    const run = await readRun(config.dataDir, id);
    if (!run) throw new AppError("conflict", `Container ${id} has no finished setup to redeploy; set it up instead`);
    if (run.repo !== body.repo || run.branch !== body.branch)
      throw new AppError(
        "conflict",
        `Container ${id} was set up for ${run.repo} ${run.branch}; another repo or branch is a new setup, not a redeploy`,
      );
    try {
      await withTimeout(repos.refresh(body.repo, body.githubToken), config.setup.cloneTimeoutMs, "fetching the branch");
    } catch (err) {
      throw new AppError(
        "conflict",
        `Could not fetch ${body.repo}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const checkout = await repos.checkout(body.repo, body.branch);
    try {
      const g = { cwd: checkout.dir, timeoutMs: config.setup.cloneTimeoutMs };
      const head = await headOf(g);
      const between = await branchChanges(g, run.commit, head);
      if (!body.force) await this.refuseLocalChanges(id, details.dockerId, g, run.commit, between);
      // Forced past a rewritten branch: every file of the new commit is written.
      const changes = between ?? (await allFiles(g, head));
      return { run, details, head, changes, checkout };
    } catch (err) {
      await checkout.dispose();
      throw err;
    }
  }

  private async refuseLocalChanges(
    id: string,
    dockerId: string,
    g: { cwd: string; timeoutMs: number },
    base: string,
    changes: Change[] | null,
  ): Promise<void> {
    const force = "redeploy with force to take the branch as it is (local changes to those files are lost)";
    // Refusals that force overrides are `uncommitted_changes` (with the files when known); a
    // plain `conflict` is "busy, try again" to the control plane.
    if (changes === null)
      throw new AppError(
        "uncommitted_changes",
        `The branch was rewritten: the environment's commit ${base.slice(0, 12)} is no longer on it, so local changes cannot be told from the branch's; ${force}`,
      );
    const why = uncheckable(changes);
    if (why) throw new AppError("uncommitted_changes", `Cannot check for local changes: ${why}; ${force}`);
    const issues = await localChanges(this.d.io, dockerId, g, base, changes).catch((err: unknown) => {
      throw new AppError("uncommitted_changes", `Cannot check for local changes (${String(err)}); ${force}`);
    });
    if (issues.length === 0) return;
    const named = issues.slice(0, REDEPLOY_FILES_NAMED).map((i) => `${i.path} (${i.message})`);
    const more = issues.length > named.length ? ` and ${issues.length - named.length} more` : "";
    this.d.logger.info({ id, files: issues.length }, "redeploy refused: local changes");
    throw new AppError(
      "uncommitted_changes",
      `Redeploy refused: the branch's new commits change files this environment changed too: ${named.join(", ")}${more}. Commit and push them, discard them, or ${force}.`,
      issues,
    );
  }

  private update(id: string, body: Redeploy, c: Checked): Promise<void> {
    const { run } = c;
    const req = requestFor(run, body);
    let dockerId = c.details.dockerId;
    // The old dev server is ended on purpose below: not a crash.
    this.d.watch.expect(id);
    const o = { what: "Redeploying", token: body.githubToken, dockerId: () => dockerId };
    return runReported(this.d, this.progress, id, req, o, async (r) => {
      await r.report("cloning");
      await this.writeFiles(id, body, c, req, r);
      const deps = await this.d.repos.dependencies(run.repo, c.head);
      await r.report("installing");
      const lockChanged = deps.hash !== run.deps.hash;
      if (lockChanged) {
        // A new lockfile is a new dependency volume; the workspace volume goes along.
        dockerId = await this.d.containers.recreate(id, {
          image: c.details.image,
          volume: dependencyVolume(run.tenant, run.repo, deps.hash),
        });
      } else {
        await this.d.containers.restart(id);
      }
      const details = await this.d.containers.snapshot(id);
      const workspace: Workspace = {
        dockerId,
        commit: c.head,
        deps,
        launcher: await launcherIn(this.d, dockerId, deps, details.image, req),
        mainImage: null,
        baseImage: null,
        requestedBase: null,
        volumeName: details.volumeName ?? "",
      };
      // The container (and, with a new lockfile, its dependencies) changed: recorded before the install can fail.
      await rememberSetup(this.d, id, req, workspace);
      const installLine = lockChanged ? "[installing] the lockfile changed" : "[installing] the lockfile is unchanged";
      await this.d.io.writeLog(dockerId, [installLine]);
      await installDependencies(this.d, req, workspace, r.tag, r.tail);
      await r.report("starting");
      await startWatched(this.d, id, req, workspace, r);
    });
  }

  /**
   * Writes the branch's changed files into /app, then records the new commit at once: from here
   * on /app holds it, so a later redeploy compares against it even when this one fails after.
   * The launcher is the last setup's until the container is looked at again.
   */
  private async writeFiles(id: string, body: Redeploy, c: Checked, req: ReturnType<typeof requestFor>, r: Run) {
    const { run } = c;
    const forced = body.force ? " (forced: local changes to those files are replaced)" : "";
    const line = `[cloning] redeploy ${run.repo} ${run.branch}: ${run.commit.slice(0, 12)} -> ${c.head.slice(0, 12)}, ${c.changes.length} files changed${forced}`;
    await this.d.io.writeLog(c.details.dockerId, [line]);
    r.tail.push(`${line}\n`);
    await applyChanges(this.d.io, c.details.dockerId, c.checkout.dir, c.changes);
    await rememberSetup(this.d, id, req, { commit: c.head, deps: run.deps, launcher: { argv: run.launcherArgv } });
  }
}
