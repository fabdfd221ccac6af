/**
 * `POST /api/containers/:id/setup`: turns a container into a running dev environment for one
 * repo and branch, in the background, reporting each phase by signed callback:
 * cloning -> installing -> starting -> ready, or error with a message a person can act on.
 *
 * cloning:    fetch the host-side repo cache, resolve the branch, read the lockfile; replace the
 *             container with one from the right image (main image when there is one) and the
 *             right dependency volume; stream a checkout of the branch into /app.
 * installing: under a per-volume lock, skip when the volume already holds this lockfile's
 *             dependencies, else seed an empty volume from the main image and install.
 * starting:   run the dev server (output continues in the container log after ready) and wait
 *             until its published port answers HTTP.
 *
 * Dependency volumes are keyed by lockfile hash (`<owner>-<repo>-node_modules-<hash12>`): two
 * branches with different lockfiles never share one, so neither can change the other's
 * dependencies underneath a running dev server; branches with the same lockfile share it, and
 * the lock makes the second wait and then find it installed. An in-progress marker under
 * DATA_DIR lets an agent restarted mid-setup report the setup as interrupted instead of leaving
 * it silently in a middle phase.
 */
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { SetupPhase, type SetupCallback, type SetupRequest } from "../api/contract.js";
import { AppError } from "../api/errors.js";
import { DEV_SERVER_POLL_MS, ERROR_TAIL_LINES, NODE_MODULES_DIR, WORKSPACE_DIR, type Config } from "../config.js";
import type { ContainerService } from "../containers/service.js";
import { killTagged, newExecTag, tagEnv } from "../containers/exec-tag.js";
import type { DockerClient } from "../docker/client.js";
import type { KeyedLock } from "../lib/keyed-lock.js";
import type { Logger } from "../lib/logger.js";
import type { CallbackOutbox } from "./callbacks.js";
import { LineTail, type ContainerIO } from "./container-io.js";
import { buildMainImage, findMainImage, SEED_DIR, type MainImage } from "./main-image.js";
import { redact } from "./git.js";
import type { Dependencies, RepoCache } from "./repo-cache.js";

type Setup = z.output<typeof SetupRequest>;
type Phase = z.infer<typeof SetupPhase>;

const DEPS_MARKER = `${NODE_MODULES_DIR}/.artie-deps`;

const INSTALL_COMMAND: Record<Dependencies["manager"], string[]> = {
  // `npm ci` would try to delete node_modules, which is a volume mount point: install instead.
  npm: ["npm", "install", "--no-audit", "--no-fund", "--prefer-offline"],
  pnpm: ["pnpm", "install", "--frozen-lockfile", "--prefer-offline"],
  yarn: ["yarn", "install", "--frozen-lockfile", "--prefer-offline"],
};

/** A failure a person can act on; anything else is reported with a generic message. */
export class SetupError extends Error {}

const Marker = z.object({
  callbackUrl: z.string(),
  callbackSecret: z.string(),
  repo: z.string(),
  branch: z.string(),
  phase: SetupPhase,
});

export type SetupDeps = {
  config: Config;
  docker: DockerClient;
  containers: ContainerService;
  repos: RepoCache;
  io: ContainerIO;
  outbox: CallbackOutbox;
  installLocks: KeyedLock;
  logger: Logger;
};

let lastSequence = 0;
/** Strictly increasing across setups and agent restarts (wall clock in µs, bumped on ties). */
export function nextSequence(): number {
  lastSequence = Math.max(lastSequence + 1, Date.now() * 1000);
  return lastSequence;
}

export class SetupRunner {
  private readonly active = new Map<string, Promise<void>>();
  private readonly markers: string;

  constructor(private readonly d: SetupDeps) {
    this.markers = path.join(d.config.dataDir, "setups");
  }

  /** Validates and starts a setup in the background; 404 unknown container, 409 busy. */
  async start(id: string, req: Setup): Promise<void> {
    if (this.active.has(id)) throw new AppError("conflict", `Container ${id} is already being set up`);
    await this.d.containers.get(id);
    if (this.active.has(id)) throw new AppError("conflict", `Container ${id} is already being set up`);
    const work = this.run(id, req).finally(() => this.active.delete(id));
    this.active.set(id, work);
  }

  /** Waits for running setups (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.active.values()]);
  }

  /** Reports setups a previous run of the agent left unfinished as errors. */
  async reportInterrupted(): Promise<number> {
    await mkdir(this.markers, { recursive: true, mode: 0o700 });
    const files = (await readdir(this.markers)).filter((f) => f.endsWith(".json"));
    for (const file of files) {
      const id = file.replace(/\.json$/, "");
      try {
        const m = Marker.parse(JSON.parse(await readFile(path.join(this.markers, file), "utf8")));
        await this.d.outbox.send(m.callbackUrl, m.callbackSecret, {
          containerId: id,
          phase: "error",
          sequence: nextSequence(),
          at: Date.now(),
          previousPhaseMs: null,
          repo: m.repo,
          branch: m.branch,
          error: `Setup was interrupted during "${m.phase}" because the host agent restarted. Request the environment again.`,
        });
      } catch (err) {
        this.d.logger.warn({ err, file }, "unreadable setup marker");
      }
      await rm(path.join(this.markers, file), { force: true });
    }
    return files.length;
  }

  private async run(id: string, req: Setup): Promise<void> {
    const report = this.reporter(id, req);
    const tail = new LineTail(ERROR_TAIL_LINES);
    // Every process this setup starts carries this tag, so a failed setup can end them all
    // (an install past its deadline, a dev server that never answered).
    const tag = newExecTag();
    let dockerId: string | undefined;
    try {
      await report("cloning");
      const prepared = await this.clone(id, req, tail);
      dockerId = prepared.dockerId;
      await report("installing");
      await this.install(dockerId, req, prepared, tag, tail);
      await report("starting");
      const hostPort = await this.startDevServer(id, dockerId, req, prepared, tag, tail);
      const ready = { hostPort, url: `http://${this.d.config.publicHost}:${hostPort}` };
      const used = prepared.mainImage;
      await report("ready", { ...ready, ...(used ? { mainImage: { tag: used.tag, commit: used.commit } } : {}) });
      if (req.buildMainImage) {
        await this.buildMainAfterReady(id, dockerId, req, prepared, (extra) => report("ready", { ...ready, ...extra }));
      }
    } catch (err) {
      const message = this.describe(err, req, tail);
      this.d.logger.warn({ id, err: redact(String(err), req.githubToken) }, "setup failed");
      if (dockerId) {
        await killTagged(this.d.docker, dockerId, this.d.config.container.user, tag).catch(() => undefined);
        await this.d.io.writeLog(dockerId, [`[error] ${message}`]).catch(() => undefined);
      }
      await report("error", { error: message });
    }
  }

  /** Sends phase callbacks with sequence and durations, and keeps the restart marker current. */
  private reporter(id: string, req: Setup) {
    let phaseStarted: number | null = null;
    const marker = path.join(this.markers, `${id}.json`);
    return async (phase: Phase, extra: Partial<SetupCallback> = {}) => {
      const now = Date.now();
      const payload: SetupCallback = {
        containerId: id,
        phase,
        sequence: nextSequence(),
        at: now,
        previousPhaseMs: phaseStarted === null ? null : now - phaseStarted,
        repo: req.repo,
        branch: req.branch,
        ...extra,
      };
      phaseStarted = now;
      if (phase === "ready" || phase === "error") {
        await rm(marker, { force: true });
      } else {
        const m = {
          callbackUrl: req.callbackUrl,
          callbackSecret: req.callbackSecret,
          repo: req.repo,
          branch: req.branch,
          phase,
        };
        await mkdir(this.markers, { recursive: true, mode: 0o700 });
        await writeFile(marker, JSON.stringify(m), { mode: 0o600 });
      }
      this.d.logger.info({ id, phase, previousPhaseMs: payload.previousPhaseMs }, "setup phase");
      await this.d.outbox.send(req.callbackUrl, req.callbackSecret, payload);
    };
  }

  private async clone(id: string, req: Setup, tail: LineTail) {
    const { repos, containers, io, config } = this.d;
    await withTimeout(repos.refresh(req.repo, req.githubToken), config.setup.cloneTimeoutMs, "fetching the repository");
    const commit = await repos.resolveBranch(req.repo, req.branch);
    if (!commit)
      throw new SetupError(`Branch "${req.branch}" does not exist in ${req.repo}. Push it or pick another branch.`);
    const deps = await repos.dependencies(req.repo, commit);
    const mainImage = req.hasMainImage ? await findMainImage(this.d.docker, req.repo) : null;
    const current = await containers.get(id);
    const image = mainImage?.tag ?? (current.image.endsWith(":main") ? config.defaultImage : current.image);
    const volumeName = `${req.repo.replace("/", "-")}-node_modules-${deps.hash.slice(0, 12)}`;
    // The host-side checkout and the container swap are independent: do them at once.
    const [swapped, checkedOut] = await Promise.allSettled([
      containers.recreate(id, { image, volumeName }),
      repos.checkout(req.repo, req.branch),
    ]);
    if (checkedOut.status === "rejected") throw checkedOut.reason;
    const checkout = checkedOut.value;
    if (swapped.status === "rejected") {
      await checkout.dispose();
      throw swapped.reason;
    }
    const dockerId = swapped.value;
    try {
      const from = mainImage ? `, from main image ${mainImage.tag}` : "";
      await io.writeLog(dockerId, [`[cloning] ${req.repo} ${req.branch} at ${commit.slice(0, 12)}${from}`]);
      await withTimeout(
        io.putDirectory(dockerId, checkout.dir, WORKSPACE_DIR),
        config.setup.cloneTimeoutMs,
        "copying the checkout",
      );
    } finally {
      await checkout.dispose();
    }
    tail.push(`[cloning] checked out ${req.branch}\n`);
    return { dockerId, commit, deps, mainImage, baseImage: mainImage ? null : image, volumeName };
  }

  private async install(
    dockerId: string,
    req: Setup,
    p: { deps: Dependencies; mainImage: MainImage | null; volumeName: string },
    tag: string,
    tail: LineTail,
  ) {
    const { io, config } = this.d;
    await this.d.installLocks.run(p.volumeName, async () => {
      const installed = await io.capture(dockerId, ["cat", DEPS_MARKER]);
      if (installed === p.deps.hash) {
        await io.writeLog(dockerId, [`[installing] dependencies for this lockfile are already installed`]);
        return;
      }
      if (p.mainImage && installed === null) {
        // An empty volume starts from the main image's dependencies: the install does the rest.
        await io.run(dockerId, "installing", ["cp", "-a", `${SEED_DIR}/.`, `${NODE_MODULES_DIR}/`], { tail });
      }
      const env = this.envList(req, [tagEnv(tag)]);
      const code = await withTimeout(
        io.run(dockerId, "installing", INSTALL_COMMAND[p.deps.manager], { env, workdir: WORKSPACE_DIR, tail }),
        config.setup.installTimeoutMs,
        "installing dependencies",
      ).catch(async (err: unknown) => {
        // End an overrunning install before the volume's lock is released to the next setup.
        await killTagged(this.d.docker, dockerId, config.container.user, tag).catch(() => undefined);
        throw err;
      });
      if (code !== 0) throw new SetupError(`Dependency install (${p.deps.manager}) failed with exit code ${code}.`);
      await io.capture(dockerId, ["sh", "-c", 'printf %s "$0" > "$1"', p.deps.hash, DEPS_MARKER]);
    });
  }

  private async startDevServer(
    id: string,
    dockerId: string,
    req: Setup,
    p: { deps: Dependencies },
    tag: string,
    tail: LineTail,
  ) {
    const { io, config } = this.d;
    const details = await this.d.containers.get(id);
    const { containerPort, hostPort } = details.ports[0]!;
    const argv = req.devCommand ?? [p.deps.manager, "run", "dev"];
    const env = this.envList(req, [`PORT=${containerPort}`, "HOST=0.0.0.0", tagEnv(tag)]);
    const { done } = await io.startLogged(dockerId, "dev", argv, { env, workdir: WORKSPACE_DIR, tail });
    let exited: number | null | undefined;
    void done.then((code) => (exited = code));
    const host = config.publishAddress === "0.0.0.0" ? "127.0.0.1" : config.publishAddress;
    const deadline = Date.now() + config.setup.startTimeoutMs;
    while (Date.now() < deadline) {
      if (exited !== undefined)
        throw new SetupError(
          `The dev server (${argv.join(" ")}) exited with code ${exited} before it answered on port ${containerPort}.`,
        );
      if (await answers(`http://${host}:${hostPort}/`)) return hostPort;
      await new Promise((r) => setTimeout(r, DEV_SERVER_POLL_MS));
    }
    throw new SetupError(
      `The dev server (${argv.join(" ")}) did not answer on port ${containerPort} within ${Math.round(config.setup.startTimeoutMs / 1000)} s. It must listen on 0.0.0.0 and the port in $PORT.`,
    );
  }

  /**
   * The environment is usable before its main image exists, so the image is built after `ready`
   * and announced by a second `ready` (newer sequence) carrying it. A failed build leaves the
   * environment ready; it is logged, and the next setup with buildMainImage tries again.
   */
  private async buildMainAfterReady(
    id: string,
    dockerId: string,
    req: Setup,
    p: { commit: string; deps: Dependencies; baseImage: string | null },
    announce: (extra: Partial<SetupCallback>) => Promise<void>,
  ) {
    const { io, docker, config, logger } = this.d;
    try {
      await io.writeLog(dockerId, [`[ready] building main image for ${req.repo}`]);
      const started = Date.now();
      const built = await buildMainImage(docker, io, {
        dockerId,
        repo: req.repo,
        baseImage: p.baseImage ?? config.defaultImage,
        commit: p.commit,
        lockHash: p.deps.hash,
        user: config.container.user,
      });
      await io.writeLog(dockerId, [`[ready] main image ${built.tag} built`]);
      await announce({ mainImage: { tag: built.tag, commit: built.commit, buildMs: Date.now() - started } });
    } catch (err) {
      logger.error({ id, err }, "main image build failed");
      await io.writeLog(dockerId, [`[ready] main image build failed: ${String(err)}`]).catch(() => undefined);
    }
  }

  private envList(req: Setup, extra: string[]): string[] {
    return [...Object.entries(req.envVars).map(([k, v]) => `${k}=${v}`), ...extra];
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

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${Math.round(ms / 1000)} s ${what}`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
