/**
 * Runs the agent's image the way docker-compose.deploy.yml's socket mode does: the host's network
 * namespace, the host socket with its group added, tini as PID 1, NET_ADMIN and NET_RAW, and
 * DATA_DIR on a named volume. Only the healthcheck's interval is shortened (its command is the
 * image's), so a test sees `healthy` in seconds rather than after 30 s.
 */
import { execFile } from "node:child_process";
import { stat } from "node:fs/promises";
import { promisify } from "node:util";
import { docker } from "../helpers/docker.js";

const run = promisify(execFile);
export const SOCKET = "/var/run/docker.sock";
export const AGENT_DATA_DIR = "/var/lib/artie-host-agent";
/** How long a fresh agent container may take to answer /health (tsx compiles on first import). */
const AGENT_READY_TIMEOUT_MS = 30_000;

/** Why the deploy tests cannot run here, or null: they need the engine on this host's socket. */
export function socketProblem(): string | null {
  const host = process.env.DOCKER_HOST;
  return host && !host.startsWith("unix://") ? `DOCKER_HOST=${host} is not this host's socket` : null;
}

export const socketGid = async () => (await stat(SOCKET)).gid;

export type AgentContainer = { id: string; url: string; logs: () => Promise<string> };

export async function runAgentContainer(o: {
  image: string;
  name: string;
  volume: string;
  port: number;
  env: Record<string, string>;
  /** Extra `host:container[:ro]` binds (a CA file). */
  binds?: string[];
}): Promise<AgentContainer> {
  const container = await docker.createContainer({
    name: o.name,
    Image: o.image,
    Env: Object.entries({ ...o.env, PORT: String(o.port) }).map(([k, v]) => `${k}=${v}`),
    Healthcheck: { Interval: 1e9, Timeout: 5e9, Retries: 3, StartPeriod: 0 },
    HostConfig: {
      NetworkMode: "host",
      Init: true,
      GroupAdd: [String(await socketGid())],
      CapAdd: ["NET_ADMIN", "NET_RAW"],
      Binds: [`${SOCKET}:${SOCKET}`, `${o.volume}:${AGENT_DATA_DIR}`, ...(o.binds ?? [])],
    },
  });
  await container.start();
  const url = `http://127.0.0.1:${o.port}`;
  const logs = async () => (await run("docker", ["logs", container.id], { maxBuffer: 16 << 20 })).stdout;
  const deadline = Date.now() + AGENT_READY_TIMEOUT_MS;
  for (;;) {
    const answered = await fetch(`${url}/health`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (answered) return { id: container.id, url, logs };
    const state = (await container.inspect()).State;
    if (!state.Running || Date.now() > deadline) {
      throw new Error(`agent container did not answer /health (${state.Status}): ${await logs()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** `docker stop`: SIGTERM, then SIGKILL after `graceSeconds`. Answers the exit code. */
export async function stopAgentContainer(id: string, graceSeconds: number): Promise<number> {
  await docker.getContainer(id).stop({ t: graceSeconds });
  return (await docker.getContainer(id).inspect()).State.ExitCode;
}

/** Names of the files in a directory of a volume, read by a throwaway container as root. */
export async function listVolumeDir(image: string, volume: string, dir: string): Promise<string[]> {
  const { stdout } = await run(
    "docker",
    ["run", "--rm", "--user", "0", "-v", `${volume}:/v:ro`, image, "ls", `/v/${dir}`],
    {
      timeout: 30_000,
    },
  );
  return stdout.split("\n").filter(Boolean);
}
