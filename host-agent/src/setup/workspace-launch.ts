/**
 * Launching the dev server in a workspace that is ready for it, the steps a start, a restart
 * with a body and a redeploy share (a setup shares the first two): what the agents around it
 * are given (`LaunchDeps`), how this container runs the repo's package manager (`launcherIn`),
 * the record a later start brings the dev server back from (`rememberSetup`), starting the dev
 * server and handing it to the watch (`startWatched`), and one reported run of all that
 * (`runReported`: the callbacks, the error callback's words, ending what the run started).
 *
 * What it leaves out: cloning and installing (clone.ts, install.ts), the order of phases (the
 * callers').
 */
import { SetupRequest } from "../api/contract.js";
import { ERROR_TAIL_LINES, type Config } from "../config.js";
import { killTagged, newExecTag } from "../containers/exec-tag.js";
import type { OperationLock } from "../containers/operation-lock.js";
import type { ContainerService } from "../containers/service.js";
import type { DockerClient } from "../docker/client.js";
import type { Logger } from "../lib/logger.js";
import type { DevServerWatch } from "../watch/dev-server-watch.js";
import type { CallbackOutbox } from "../report/callbacks.js";
import type { Workspace } from "./clone.js";
import { LineTail, type ContainerIO } from "./container-io.js";
import { startDevServer, type DevServerDeps, type DevServerStarted } from "./dev-server.js";
import { redact } from "./git.js";
import { resolveLauncher } from "./launcher.js";
import type { Report, SetupProgress } from "../report/progress.js";
import { recordRun, type RunFacts } from "./run-marker.js";
import { saveComebackRecord, saveKeptSettings, type RunSecrets } from "./run-settings.js";
import { envList, type Setup } from "./setup-request.js";
import { SetupError } from "./setup-error.js";

/** What setup, start/restart and redeploy are each built from (server.ts wires one of each). */
export type LaunchDeps = {
  config: Config;
  docker: DockerClient;
  containers: ContainerService;
  io: ContainerIO;
  outbox: CallbackOutbox;
  logger: Logger;
  /** One operation at a time per container, shared by all of them and by stop and delete. */
  locks: OperationLock;
  /** Watches the dev server after `ready`; told of every intentional end of it. */
  watch: DevServerWatch;
  /** The repo's variables of each container's last `ready`, in memory only (run-settings.ts). */
  secrets: RunSecrets;
};

/** The URL a ready environment is reported at. */
export const readyUrl = (config: Config, hostPort: number) => `http://${config.publicHost}:${hostPort}`;

/**
 * A setup request for the repo and branch last set up (`run`) with the settings sent now (the
 * agent stores no environment value): what a start's and a redeploy's callbacks and dev server
 * are made from.
 */
export function requestFor(
  run: RunFacts,
  body: Pick<Setup, "callbackUrl" | "callbackSecret" | "envVars" | "devCommand"> & { installCommand?: string[] },
): Setup {
  return SetupRequest.parse({
    repo: run.repo,
    branch: run.branch,
    tenant: run.tenant,
    callbackUrl: body.callbackUrl,
    callbackSecret: body.callbackSecret,
    envVars: body.envVars,
    devCommand: body.devCommand,
    installCommand: body.installCommand,
  });
}

/**
 * Records what a successful setup or redeploy leaves for a later start or redeploy. A failure
 * to record is logged, not thrown: the environment works all the same, and a start then answers
 * that it has no setup to bring back.
 */
export async function rememberSetup(
  d: { config: Config; containers: ContainerService; logger: Logger },
  id: string,
  req: Setup,
  w: { commit: string; deps: RunFacts["deps"]; launcher: { argv: string[] } },
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
 * remembers how to bring it back without a request (run-settings.ts), and hands it to the watch,
 * which reports it stopping from then on.
 */
export async function startWatched(
  d: DevServerDeps & { watch: DevServerWatch; logger: Logger; secrets: RunSecrets },
  id: string,
  req: Setup,
  w: Workspace,
  run: Run,
): Promise<void> {
  let started: DevServerStarted | undefined;
  const hostPort = await startDevServer(d, id, req, w, run.tag, run.tail, (s) => (started = s));
  // Before `ready`: the environment is the user's from then on, and a restart may come at once.
  const startedAt = await rememberSettings(d, id, req, w.dockerId);
  await run.report("ready", { hostPort, url: readyUrl(d.config, hostPort) });
  if (started) {
    const { callbackUrl, callbackSecret, repo, branch } = req;
    const target = { dockerId: w.dockerId, ...started, callbackUrl, callbackSecret, repo, branch };
    await d.watch.track(id, startedAt ? { ...target, startedAt } : target);
  }
}

/**
 * Keeps what a come-back needs (run-settings.ts): the variables in memory, the dev command and
 * the variables' names in the container, where to report and the container's start time on the
 * host. Answers that start time, or null when it could not be kept (logged: the environment works
 * all the same, only it does not come back by itself).
 */
export async function rememberSettings(
  d: { config: Config; docker: DockerClient; logger: Logger; secrets: RunSecrets },
  id: string,
  req: Setup,
  dockerId: string,
): Promise<string | null> {
  try {
    const info = await d.docker.inspect(dockerId);
    if (!info?.State.Running) return null;
    d.secrets.set(id, req.envVars);
    await saveKeptSettings(d.docker, d.config.container.user, dockerId, {
      envVarNames: Object.keys(req.envVars),
      devCommand: req.devCommand,
    });
    const { callbackUrl, callbackSecret } = req;
    await saveComebackRecord(d.config.dataDir, id, { callbackUrl, callbackSecret, startedAt: info.State.StartedAt });
    return info.State.StartedAt;
  } catch (err) {
    d.logger.warn(
      { id, err: String(err) },
      "could not keep the run settings: the dev server will not come back by itself",
    );
    return null;
  }
}

/** An error callback's message: what went wrong (`what` failed, unless it says), then the last lines of output; never the token. */
export function failureMessage(err: unknown, tail: LineTail, what: string, token?: string): string {
  const base =
    err instanceof SetupError ? err.message : `${what} failed: ${err instanceof Error ? err.message : String(err)}`;
  const last = tail.lines.slice(-ERROR_TAIL_LINES).join("\n");
  return redact(last ? `${base}\nLast output:\n${last}` : base, token);
}

/** One reported run: its callbacks, the output kept for an error, the tag on every process it starts. */
export type Run = { tag: string; tail: LineTail; report: Report };

/**
 * Runs `steps` as one reported run of `id`: any failure ends every process the run started
 * (they carry its tag), is written to the container's log and reported as `error` in words from
 * failureMessage (`what` failed; `token` never shown). `dockerId()` is asked at the failure, as
 * the steps may have replaced the container.
 */
export async function runReported(
  d: LaunchDeps,
  progress: SetupProgress,
  id: string,
  req: Setup,
  o: { what: string; token?: string; dockerId: () => string },
  steps: (run: Run) => Promise<void>,
): Promise<void> {
  const run: Run = { tag: newExecTag(), tail: new LineTail(ERROR_TAIL_LINES), report: progress.reporter(id, req) };
  try {
    await steps(run);
  } catch (err) {
    const message = failureMessage(err, run.tail, o.what, o.token);
    d.logger.warn({ id, err: redact(String(err), o.token) }, `${o.what} failed`);
    const dockerId = o.dockerId();
    await killTagged(d.docker, dockerId, d.config.container.user, run.tag).catch(() => undefined);
    await d.io.writeLog(dockerId, [`[error] ${message}`]).catch(() => undefined);
    await run.report("error", { error: message });
  }
}
