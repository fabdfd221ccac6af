/**
 * The `starting` phase: run the dev server and wait until the environment's published port
 * answers HTTP. The probe only ever connects to that port: it follows no redirect (any HTTP
 * answer, a 302 included, means the server answers), so a dev server cannot send the agent's
 * requests anywhere else. The agent reads the server's output only while it waits (for the
 * error tail); after that only the container log gets it, from the in-container prefixer
 * (container-io.ts).
 */
import { DEV_SERVER_POLL_MS, DEV_SERVER_PROBE_TIMEOUT_MS, WORKSPACE_DIR, type Config } from "../config.js";
import type { ContainerService } from "../containers/service.js";
import { tagEnv } from "../containers/exec-tag.js";
import type { ContainerIO, LineTail } from "./container-io.js";
import type { Workspace } from "./clone.js";
import { runScriptArgv } from "./package-managers.js";
import { envList, type Setup } from "./setup-request.js";
import { SetupError } from "./setup-error.js";

export type DevServerDeps = { config: Config; containers: ContainerService; io: ContainerIO };

/** Starts the dev server and answers its host port once it answers there. */
export async function startDevServer(
  d: DevServerDeps,
  id: string,
  req: Setup,
  w: Workspace,
  tag: string,
  tail: LineTail,
): Promise<number> {
  const { io, config } = d;
  const details = await d.containers.get(id);
  const { containerPort, hostPort } = details.ports[0]!;
  const argv = req.devCommand ?? runScriptArgv(w.launcher, w.deps.manager, "dev");
  const env = envList(req, [...w.launcher.env, `PORT=${containerPort}`, "HOST=0.0.0.0", tagEnv(tag)]);
  const { done, stop } = await io.startLogged(w.dockerId, "dev", argv, { env, workdir: WORKSPACE_DIR, tail });
  let exited: number | null | undefined;
  void done.then((code) => (exited = code));
  const host = config.publishAddress === "0.0.0.0" ? "127.0.0.1" : config.publishAddress;
  const deadline = Date.now() + config.setup.startTimeoutMs;
  try {
    while (Date.now() < deadline) {
      if (exited !== undefined)
        throw new SetupError(
          `The dev server (${argv.join(" ")}) exited with code ${exited} before it answered on port ${containerPort}.`,
        );
      if (await answers(`http://${host}:${hostPort}/`)) return hostPort;
      await new Promise((r) => setTimeout(r, DEV_SERVER_POLL_MS));
    }
  } finally {
    // Ready or failed, the agent has no more use for the output (the tail has the start of it;
    // the container log keeps the rest): stop reading it, so a dev server printing at full speed
    // for its whole life costs the agent nothing.
    stop();
  }
  throw new SetupError(
    `The dev server (${argv.join(" ")}) did not answer on port ${containerPort} within ${Math.round(config.setup.startTimeoutMs / 1000)} s. It must listen on 0.0.0.0 and the port in $PORT.`,
  );
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
