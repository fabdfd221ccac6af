/**
 * Test agents: `startTestAgent` runs one in-process on an ephemeral port with its own config;
 * `spawnAgent` runs the real entry point as a child process (for kill -9 and restart tests).
 * Both talk to the real Docker engine. `client` wraps fetch with the bearer token.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { onTestFinished } from "vitest";
import { loadConfig, type Config } from "../../src/config.js";
import { workspaceVolumeName } from "../../src/docker/labels.js";
import { createLogger } from "../../src/lib/logger.js";
import { startAgent } from "../../src/server.js";
import { BUSYBOX_IMAGE, TEST_NAME_PREFIX } from "./images.js";
import { docker } from "./docker.js";

export const TEST_SECRET = "test-secret-".padEnd(48, "x");

export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    API_SECRET: TEST_SECRET,
    PORT: "0",
    BIND_ADDRESS: "127.0.0.1",
    PUBLISH_ADDRESS: "127.0.0.1",
    DEFAULT_IMAGE: BUSYBOX_IMAGE,
    DATA_DIR: "/tmp/artie-test-data",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    CONTAINER_MEMORY_MB: "256",
    CONTAINER_CPUS: "1",
    CONTAINER_PIDS_LIMIT: "128",
    TMP_TMPFS_MB: "64",
    // Tests share one engine: no agent sweeps it by itself (maintenance.int.test.ts asks for a
    // sweep limited to its own label), and a test machine's small disk does not refuse creates.
    MAINTENANCE_INTERVAL_MINUTES: "0",
    MIN_FREE_DISK_GB: "1",
    // The engine the tests' own Docker client uses (ensure-docker.sh honours DOCKER_HOST), unless a
    // test names another (remote-engine.int.test.ts).
    ...dockerEnv(),
    ...overrides,
  };
}

function dockerEnv(): Record<string, string> {
  const names = ["DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"] as const;
  return Object.fromEntries(names.flatMap((n) => (process.env[n] ? [[n, process.env[n]]] : [])));
}

export type TestClient = ReturnType<typeof client>;

export function client(url: string, token: string = TEST_SECRET) {
  const request = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
  return {
    url,
    request,
    get: (path: string) => request("GET", path),
    post: (path: string, body?: unknown, headers?: Record<string, string>) => request("POST", path, body, headers),
    del: (path: string) => request("DELETE", path),
  };
}

/** A unique container name and id for one test. */
export function uniqueName(label: string) {
  const suffix = randomBytes(4).toString("hex");
  return { name: `${TEST_NAME_PREFIX}${label}-${suffix}`, id: `t-${label}-${suffix}`.slice(0, 63) };
}

export async function startTestAgent(overrides: Record<string, string> = {}) {
  const config: Config = loadConfig(testEnv(overrides));
  const agent = await startAgent(config, createLogger(config.logLevel));
  return { ...agent, config, api: client(agent.url) };
}

/** Removes an agent-made container, its network and its workspace volume after the current test, whatever happens. */
export function cleanupAfter(agentId: string) {
  onTestFinished(async () => {
    const container = docker.getContainer(`artie-${agentId}`);
    const network = await container.inspect().then(
      (info) => info.Config.Labels["artie.network"],
      () => undefined,
    );
    await container.remove({ force: true }).catch(() => undefined);
    await docker
      .getVolume(workspaceVolumeName(agentId))
      .remove()
      .catch(() => undefined);
    if (network)
      await docker
        .getNetwork(network)
        .remove()
        .catch(() => undefined);
  });
}

/** Creates a container through the agent, asserting success, and schedules its cleanup. */
export async function createContainer(api: TestClient, body: Record<string, unknown> = {}) {
  const { name, id } = uniqueName("c");
  const res = await api.post("/api/containers", { name, id, ...body });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`);
  const created = (await res.json()) as { id: string; hostPort: number; name: string };
  cleanupAfter(created.id);
  return created;
}

export type SpawnedAgent = { url: string; process: ChildProcess; kill: (signal?: NodeJS.Signals) => Promise<void> };

/**
 * Runs `src/main.ts` as a child process and waits for /health. `wrap` is an argv the node command
 * is appended to (e.g. setpriv with the systemd unit's user and capabilities).
 */
export async function spawnAgent(env: Record<string, string>, wrap: string[] = []): Promise<SpawnedAgent> {
  const argv = [...wrap, process.execPath, "--import", "tsx", "host-agent/src/main.ts"];
  const child = spawn(argv[0]!, argv.slice(1), {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${env.PORT}`;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`agent exited early: ${output}`);
    // Any answer counts: a degraded agent (Docker down) answers /health with 503.
    const ok = await fetch(`${url}/health`).then(
      (r) => r.status > 0,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`agent did not answer /health within 20 s: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    process: child,
    kill: async (signal = "SIGKILL") => {
      if (child.exitCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Finds a free TCP port on 127.0.0.1 for a spawned agent. */
export async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
