/**
 * The `starting` phase: run the dev server and wait until the environment's published port
 * answers HTTP.
 *
 * What runs: the repo's dev command from its settings, else its own `dev` (or `start`) script
 * through its package manager, with the flags and variables the framework table gives
 * (frameworks.ts) so it listens on 0.0.0.0 and the environment's port and accepts the names the
 * environment is reached by (dev-origins.ts).
 *
 * When it listens somewhere else all the same (a port its config fixes, loopback only), the
 * container's own socket table says where (listeners.ts, only sockets of this setup's processes),
 * and a forward inside the container carries the environment's port there; one log line says what
 * was found and which setting would make the forward unnecessary.
 *
 * The probe only ever connects to the environment's port: it follows no redirect (any HTTP answer,
 * a 302 included, means the server answers), so a dev server cannot send the agent's requests
 * anywhere else. The agent reads the server's output only while it waits (for the error tail);
 * after that only the container log gets it, from the in-container prefixer (container-io.ts).
 */
import {
  DEV_SERVER_LISTENERS_EVERY_MS,
  DEV_SERVER_LISTENERS_FIRST_MS,
  DEV_SERVER_OTHER_PORT_AFTER_MS,
  DEV_SERVER_POLL_MS,
  DEV_SERVER_PROBE_TIMEOUT_MS,
  WORKSPACE_DIR,
  type Config,
} from "../config.js";
import type { ContainerService } from "../containers/service.js";
import { tagEnv } from "../containers/exec-tag.js";
import type { DockerClient } from "../docker/client.js";
import { publishedPortHost, urlHost } from "../docker/engine-address.js";
import type { ContainerIO, LineTail } from "./container-io.js";
import type { Workspace } from "./clone.js";
import { allowedHosts, nextHookEnv } from "./dev-origins.js";
import { detectDevServer, frameworkEnv, type DevLaunch } from "./frameworks.js";
import { startForward } from "./in-container-forward.js";
import { connectAddress, describeListener, findListeners, isLoopback, type Listener } from "./listeners.js";
import { runScriptArgv } from "./package-managers.js";
import { envList, type Setup } from "./setup-request.js";
import { SetupError } from "./setup-error.js";

export type DevServerDeps = { config: Config; docker: DockerClient; containers: ContainerService; io: ContainerIO };

type Plan = { argv: string[]; env: string[]; launch: DevLaunch | null };

/** What the dev server watch needs of a server that answered: its exec, and where it answered. */
export type DevServerStarted = { execId: string; probeUrl: string };

/**
 * Starts the dev server and answers its host port once it answers there; `onReady` is
 * told its exec and the URL it answered on, for the watch after `ready` (watch/dev-server-watch.ts).
 */
export async function startDevServer(
  d: DevServerDeps,
  id: string,
  req: Setup,
  w: Workspace,
  tag: string,
  tail: LineTail,
  onReady?: (started: DevServerStarted) => void,
): Promise<number> {
  const { io, config } = d;
  const details = await d.containers.get(id);
  const { containerPort, hostPort } = details.ports[0]!;
  const plan = planDevServer(config, req, w, containerPort);
  const shown = plan.argv.join(" ");
  await io.writeLog(w.dockerId, [describePlan(plan, shown)]);
  const env = [...plan.env, tagEnv(tag)];
  const { execId, done, stop } = await io.startLogged(w.dockerId, "dev", plan.argv, {
    env,
    workdir: WORKSPACE_DIR,
    tail,
  });
  let exited: number | null | undefined;
  void done.then((code) => (exited = code));
  const host = urlHost(publishedPortHost(config));
  const started = Date.now();
  const deadline = started + config.setup.startTimeoutMs;
  let nextLook = started + DEV_SERVER_LISTENERS_FIRST_MS;
  let seen: Listener[] = [];
  let forwarded: Listener | null = null;
  // Every server is told its port (a flag or $PORT), so it gets time to bind it before another of
  // its ports is taken for the main one: forwarding the port to a helper port it opened first (a
  // hot reload socket, an inspector) would take the port from under it.
  const otherPortsAfter = started + DEV_SERVER_OTHER_PORT_AFTER_MS;
  try {
    while (Date.now() < deadline) {
      if (exited !== undefined)
        throw new SetupError(
          `The dev server (${shown}) exited with code ${exited} before it answered on port ${containerPort}.${forwarded ? ` Port ${containerPort} had been forwarded to ${describeListener(forwarded)}.` : ""}${detected(plan)}`,
        );
      if (await answers(`http://${host}:${hostPort}/`)) {
        onReady?.({ execId, probeUrl: `http://${host}:${hostPort}/` });
        return hostPort;
      }
      if (!forwarded && Date.now() >= nextLook) {
        nextLook = Date.now() + DEV_SERVER_LISTENERS_EVERY_MS;
        // A failed look costs one round: the next one tries again, the deadline still holds.
        seen = await findListeners(d.docker, w.dockerId, config.container.user, tag).catch(() => seen);
        const to = forwardTarget(seen, containerPort, Date.now() >= otherPortsAfter);
        if (to) {
          // Where the dev server holds loopback on this very port, the forward listens on the
          // container's other addresses (in-container-forward.ts).
          const target = { address: connectAddress(to), port: to.port };
          try {
            await startForward(d.docker, w.dockerId, config.container.user, tag, containerPort, target);
            forwarded = to;
            await io.writeLog(w.dockerId, [forwardLine(plan, to, containerPort)]);
          } catch (err) {
            // Most often the server bound the port between the scan and the forward: the next
            // probe finds it. Anything else is said in the log and, if it lasts, in the error.
            const why = err instanceof Error ? err.message : String(err);
            await io.writeLog(w.dockerId, [`[starting] ${why}`]).catch(() => undefined);
          }
        }
      }
      await new Promise((r) => setTimeout(r, DEV_SERVER_POLL_MS));
    }
  } finally {
    // Ready or failed, the agent has no more use for the output (the tail has the start of it;
    // the container log keeps the rest): stop reading it, so a dev server printing at full speed
    // for its whole life costs the agent nothing.
    stop();
  }
  const where = seen.length
    ? `Its processes listen on ${seen.map(describeListener).join(", ")}${forwarded ? `; port ${containerPort} was forwarded to ${describeListener(forwarded)}, which did not answer HTTP either` : ""}.`
    : "None of its processes listens on any TCP port.";
  throw new SetupError(
    `The dev server (${shown}) did not answer on port ${containerPort} within ${Math.round(config.setup.startTimeoutMs / 1000)} s. ${where}${detected(plan)} It must listen on 0.0.0.0 and the port in $PORT, or set the dev command in the repo's settings.`,
  );
}

/** The command and environment: the repo's settings, else the framework table's launch. */
export function planDevServer(config: Config, req: Setup, w: Workspace, port: number): Plan {
  const hosts = allowedHosts(config);
  const target = { port, allowedHosts: hosts };
  if (req.devCommand) {
    // The repo's own command, as written: only variables (its framework's, by its dependencies),
    // which any server may read or ignore.
    const env = frameworkEnv(w.deps.pkg, target);
    const hook = env.preload === "next-dev-origins" ? nextHookEnv(hosts, req.envVars.NODE_OPTIONS) : [];
    return { argv: req.devCommand, env: envList(req, [...w.launcher.env, ...env.env, ...hook]), launch: null };
  }
  const launch = detectDevServer(w.deps.pkg, target);
  if (!launch)
    throw new SetupError(
      `package.json has no "dev" or "start" script, so there is no dev server to start. Add one, or set the dev command in the repo's settings.`,
    );
  const hook = launch.preload === "next-dev-origins" ? nextHookEnv(hosts, req.envVars.NODE_OPTIONS) : [];
  const argv = runScriptArgv(w.launcher, w.deps.manager, launch.script, launch.args);
  return { argv, env: envList(req, [...w.launcher.env, ...launch.env, ...hook]), launch };
}

function describePlan(plan: Plan, shown: string): string {
  if (!plan.launch) return `[starting] ${shown} (the repo's dev command)`;
  const { framework, evidence, kept } = plan.launch;
  const note = kept.length ? `; the script sets ${kept.join(", ")} itself, so those are not added` : "";
  return `[starting] ${framework} (${evidence}): ${shown}${note}`;
}

const detected = (plan: Plan) =>
  plan.launch
    ? ` Detected ${plan.launch.framework} from the ${plan.launch.evidence}${plan.launch.args.length ? ` and added ${plan.launch.args.join(" ")}` : ""}.`
    : "";

/**
 * Where to forward the environment's port, from this setup's listening sockets: nowhere while a
 * socket already takes the port on every address (the server is still booting); a socket on the
 * port but loopback only; else the lowest other port (a dev server's main port comes before its
 * helpers', like Nuxt's hot reload port).
 */
export function forwardTarget(listeners: Listener[], port: number, otherPorts: boolean): Listener | null {
  const onPort = listeners.filter((l) => l.port === port);
  if (onPort.some((l) => !isLoopback(l))) return null;
  if (onPort.length) return onPort[0]!;
  if (!otherPorts) return null;
  const others = [...listeners].sort((a, b) => a.port - b.port);
  return others[0] ?? null;
}

const isWildcard = (l: Listener) => l.address === "0.0.0.0" || l.address === "::" || l.address === "::ffff:0.0.0.0";

function forwardLine(plan: Plan, to: Listener, port: number): string {
  const where = isWildcard(to) ? `port ${to.port}` : describeListener(to);
  const avoid = plan.launch
    ? `make the ${plan.launch.script} script listen on 0.0.0.0 and $PORT, or set the dev command in the repo's settings`
    : `make the dev command listen on 0.0.0.0 and $PORT`;
  return `[starting] the dev server listens on ${where}, not on 0.0.0.0:${port}: forwarding port ${port} there inside the container. To avoid the forward, ${avoid}.`;
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(DEV_SERVER_PROBE_TIMEOUT_MS) });
    await res.body?.cancel();
    return true;
  } catch {
    return false;
  }
}
