/**
 * Extra Docker engines for tests: the one way to start them (scripts/ensure-test-engine.sh), so
 * a test of a remote engine today and of many hosts later (issue 14) use the same engines. Each
 * is another host as far as the agent can tell (a network namespace of its own, joined to this
 * machine by a veth pair: its ports answer on its address, not on this machine's loopback), is
 * reached as a remote engine is, over TCP with mutual TLS, and carries the test images the main
 * engine has. `startTestEngine` answers an engine or why this machine cannot run one (the
 * script's exit code 3: not root, no dockerd, no network namespaces, dockerd would not start),
 * for a skip that says so; any other failure throws.
 *
 * `startPodmanEngine` is the other kind: Podman's Docker-compatible API (`podman system service`,
 * scripts/ensure-podman.sh) on a unix socket of this machine, with the test images loaded, for
 * running the agent and its tests against Podman (vitest project `podman`). It leaves out what
 * runs on either engine and its clean-up.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { z } from "zod";

const run = promisify(execFile);
const SCRIPT = path.resolve(import.meta.dirname, "../../../scripts/ensure-test-engine.sh");
const PODMAN_SCRIPT = path.resolve(import.meta.dirname, "../../../scripts/ensure-podman.sh");
/** Starting an engine takes seconds; loading the node test image into a new one up to a minute. */
const START_TIMEOUT_MS = 5 * 60_000;
const STOP_TIMEOUT_MS = 60_000;
/** The script's exit code for "this machine cannot run another engine". */
const CANNOT_RUN = 3;

const Started = z.object({ dockerHost: z.string(), certPath: z.string(), socket: z.string(), host: z.string() });

export type TestEngine = {
  /** DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH for an agent on this engine. */
  env: Record<string, string>;
  /** The engine's own client (its unix socket), for what a test checks and cleans up there. */
  docker: Docker;
  /** The engine's host as DOCKER_HOST names it: its namespace's address, where its ports answer. */
  host: string;
  /**
   * Restarts its dockerd alone, as `systemctl restart docker` would (the script's `restart`),
   * with or without live-restore from then on. Without it, the engine stops its containers first.
   */
  restart: (o?: { liveRestore?: boolean }) => Promise<void>;
  stop: () => Promise<void>;
};

export type EngineResult = { engine: TestEngine } | { unavailable: string };

/**
 * Engine `n` (1..9), running, with `images` loaded from the main engine; with `liveRestore`, its
 * dockerd runs with --live-restore.
 */
export async function startTestEngine(
  n: number,
  images: string[],
  o: { liveRestore?: boolean } = {},
): Promise<EngineResult> {
  const live = (liveRestore?: boolean) => (liveRestore ? ["--live-restore"] : []);
  try {
    const args = [SCRIPT, "start", String(n), ...live(o.liveRestore), ...images];
    const { stdout } = await run("bash", args, { timeout: START_TIMEOUT_MS });
    const s = Started.parse(JSON.parse(stdout.trim().split("\n").at(-1) ?? ""));
    const env = { DOCKER_HOST: s.dockerHost, DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: s.certPath };
    const stop = async () => void (await run("bash", [SCRIPT, "stop", String(n)], { timeout: STOP_TIMEOUT_MS }));
    const restart = async (r: { liveRestore?: boolean } = {}) =>
      void (await run("bash", [SCRIPT, "restart", String(n), ...live(r.liveRestore)], { timeout: START_TIMEOUT_MS }));
    return { engine: { env, docker: new Docker({ socketPath: s.socket }), host: s.host, restart, stop } };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    if (e.code === CANNOT_RUN) return { unavailable: e.stderr?.trim() || "ensure-test-engine.sh cannot run one" };
    throw err;
  }
}

/** DOCKER_HOST of the podman engine ensure-podman.sh runs (its socket path is fixed there). */
export const PODMAN_DOCKER_HOST = "unix:///run/artie-podman/podman.sock";
/** Installing podman (apt) and loading the node test image into it take up to minutes the first time. */
const PODMAN_START_TIMEOUT_MS = 10 * 60_000;

/** Podman's Docker API on this machine, running, with `images` (default: the test images) loaded. */
export async function startPodmanEngine(images: string[] = []): Promise<EngineResult> {
  try {
    const { stdout } = await run("bash", [PODMAN_SCRIPT, "start", ...images], { timeout: PODMAN_START_TIMEOUT_MS });
    const dockerHost = stdout.trim().split("\n").at(-1) ?? "";
    if (dockerHost !== PODMAN_DOCKER_HOST) throw new Error(`ensure-podman.sh answered ${dockerHost}`);
    const socketPath = dockerHost.slice("unix://".length);
    const stop = async () => void (await run("bash", [PODMAN_SCRIPT, "stop"], { timeout: STOP_TIMEOUT_MS }));
    // Podman's service has no daemon whose containers outlive it: no test restarts it.
    const restart = () => Promise.reject(new Error("restarting the podman engine is not supported by these helpers"));
    return {
      engine: {
        env: { DOCKER_HOST: dockerHost },
        docker: new Docker({ socketPath }),
        host: "127.0.0.1",
        restart,
        stop,
      },
    };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    if (e.code === CANNOT_RUN) return { unavailable: e.stderr?.trim() || "ensure-podman.sh cannot run podman" };
    throw err;
  }
}
