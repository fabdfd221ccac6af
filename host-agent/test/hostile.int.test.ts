/**
 * Everything from a container is hostile (issue #16), on the real engine with a spawned agent:
 * hostile files in a dependency volume (marker-like links to /dev/zero, a FIFO, a 1 GB sparse
 * file), 200 MB of output without a newline during install, a printed exit marker, a dev server
 * that redirects the readiness probe elsewhere, a dev server printing at full speed after ready
 * (the agent stops reading it: bounded CPU, the container log still flows). Throughout each, /health answers within 2 s and
 * the agent's RSS stays under 400 MB; each setup ends in `ready` or an `error` saying what
 * happened.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, createContainer, freePort, spawnAgent, testEnv, type SpawnedAgent } from "./helpers/agent.js";
import { startReceiver, type Receiver } from "./helpers/callback-receiver.js";
import { docker } from "./helpers/docker.js";
import { fixtureRoot, type FixtureRoot } from "./helpers/fixture-repo.js";
import { NODE_IMAGE } from "./helpers/images.js";

const SECRET = "callback-secret-0123456789";
const RSS_LIMIT_KB = 400 * 1024;
const HEALTH_LIMIT_MS = 2000;
const owner = `evil${randomBytes(3).toString("hex")}`;
const REPOS = {
  volume: `${owner}/volume`,
  noisy: `${owner}/noisy`,
  forge: `${owner}/forge`,
  redirect: `${owner}/redir`,
  noisyDev: `${owner}/noisy-dev`,
};
/** A dev server printing at full speed, watched this long once ready: the agent may use at most CPU_LIMIT_MS. */
const CPU_WINDOW_MS = 8000;
const CPU_LIMIT_MS = 150;

/** The spawned agent's CPU time (user + system) so far, from /proc/<pid>/stat, in ms. */
function agentCpuMs(): number {
  const stat = readFileSync(`/proc/${agent.process.pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces, in parentheses): utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}
/** Linux's USER_HZ as /proc reports times in, on every architecture the agent runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

let fixtures: FixtureRoot;
let receiver: Receiver;
let agent: SpawnedAgent;
let api: ReturnType<typeof client>;
const volumes = new Set<string>();
const images = new Set<string>();

beforeAll(async () => {
  fixtures = await fixtureRoot();
  for (const repo of Object.values(REPOS))
    await fixtures.createRepo(repo, { main: { message: "hostile", greetVersion: "1.0.0" } });
  receiver = await startReceiver(SECRET);
  const port = await freePort();
  agent = await spawnAgent(
    testEnv({
      PORT: String(port),
      DEFAULT_IMAGE: NODE_IMAGE,
      GIT_REMOTE_TEMPLATE: fixtures.remoteTemplate,
      DATA_DIR: path.join(fixtures.root, "agent-data"),
      CONTAINER_MEMORY_MB: "1024",
      SETUP_START_TIMEOUT_MS: "15000",
      SETUP_INSTALL_TIMEOUT_MS: "180000",
      MAIN_IMAGE_MAX_BYTES: String(256 * 1024 * 1024),
    }),
  );
  api = client(agent.url);
}, 120_000);

afterAll(async () => {
  await agent?.kill("SIGTERM");
  await receiver?.close();
  await fixtures?.dispose();
  for (const tag of images)
    await docker
      .getImage(tag)
      .remove({ force: true })
      .catch(() => undefined);
  for (const v of volumes)
    await docker
      .getVolume(v)
      .remove()
      .catch(() => undefined);
});

/** Polls /health and the agent's VmRSS while `work` runs; answers the worst of each. */
async function watched<T>(work: () => Promise<T>): Promise<{ result: T; rssPeakKb: number; healthWorstMs: number }> {
  let stop = false;
  let rssPeakKb = 0;
  let healthWorstMs = 0;
  const poll = (async () => {
    while (!stop) {
      const started = Date.now();
      const ok = await fetch(`${agent.url}/health`, { signal: AbortSignal.timeout(5000) }).then(
        (r) => r.status > 0,
        () => false,
      );
      healthWorstMs = Math.max(healthWorstMs, ok ? Date.now() - started : Infinity);
      const status = await readFile(`/proc/${agent.process.pid}/status`, "utf8");
      rssPeakKb = Math.max(rssPeakKb, Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0));
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  try {
    const result = await work();
    return { result, rssPeakKb, healthWorstMs };
  } finally {
    stop = true;
    await poll;
  }
}

function expectHealthy(w: { rssPeakKb: number; healthWorstMs: number }, label: string) {
  console.log(`${label}: agent RSS peak ${Math.round(w.rssPeakKb / 1024)} MB, /health worst ${w.healthWorstMs} ms`);
  expect(w.rssPeakKb).toBeLessThan(RSS_LIMIT_KB);
  expect(w.healthWorstMs).toBeLessThan(HEALTH_LIMIT_MS);
}

/** Sets up `repo` in a new container and waits for its ready or error; answers that callback. */
async function setupOnce(repo: string, body: Record<string, unknown> = {}) {
  const c = await createContainer(api, { image: NODE_IMAGE });
  const res = await api.post(`/api/containers/${c.id}/setup`, {
    callbackUrl: receiver.url,
    callbackSecret: SECRET,
    repo,
    branch: "main",
    ...body,
  });
  expect(res.status).toBe(202);
  const all = await receiver.waitFor(
    (rs) => rs.some((r) => r.body.containerId === c.id && ["ready", "error"].includes(r.body.phase)),
    240_000,
  );
  const end = all.find((r) => r.body.containerId === c.id && ["ready", "error"].includes(r.body.phase))!.body;
  const info = await docker.getContainer(`artie-${c.id}`).inspect();
  for (const m of info.Mounts) if (m.Type === "volume" && m.Name) volumes.add(m.Name);
  return { c, end };
}

async function exec(id: string, script: string) {
  const res = await api.post(`/api/containers/${id}/exec`, { command: ["sh", "-c", script], timeout: 30_000 });
  const out = (await res.json()) as { exitCode: number; stdout: string; stderr: string };
  expect(out, out.stderr).toMatchObject({ exitCode: 0 });
  return out.stdout;
}

async function containerLog(id: string): Promise<string> {
  const buf = await docker.getContainer(`artie-${id}`).logs({ stdout: true, stderr: true, tail: 200 });
  return buf.toString("utf8");
}

async function waitForLog(id: string, pattern: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const log = await containerLog(id);
    if (pattern.test(log) || Date.now() > deadline) return log;
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe("everything from a container is hostile", () => {
  it("hostile files in a dependency volume: links to /dev/zero, a FIFO, a 1 GB sparse file", async () => {
    const first = await setupOnce(REPOS.volume);
    expect(first.end.phase).toBe("ready");
    // The marker is the agent's, on the host, named for the volume; nothing in the volume.
    const markers = await readdir(path.join(fixtures.root, "agent-data", "deps"));
    // Only dependency volumes have one; the environment's own workspace volume (/app) has none.
    const depsVolumes = [...volumes].filter((v) => v.startsWith("artie-deps-"));
    expect(depsVolumes).toHaveLength(1);
    expect(markers).toEqual(depsVolumes.map((v) => `${v}.json`));
    // What a process in the first environment can do to the volume every later setup shares.
    await exec(
      first.c.id,
      [
        "cd /app/node_modules",
        "rm -f .artie-deps && ln -s /dev/zero .artie-deps",
        "ln -s /dev/zero .artie-installed && ln -s /dev/zero .package-lock.json.artie",
        "ln -s /etc/passwd greet/escape && mkfifo fifo",
        "truncate -s 1G big.bin",
      ].join(" && "),
    );
    const w = await watched(async () => {
      const second = await setupOnce(REPOS.volume, { buildMainImage: true });
      // The main image build reads the volume: the 1 GB file is over MAIN_IMAGE_MAX_BYTES.
      const log = await waitForLog(second.c.id, /main image build failed|main image .* built/, 120_000);
      return { second, log };
    });
    expectHealthy(w, "hostile volume");
    const { second, log } = w.result;
    expect(second.end.phase).toBe("ready");
    expect(log).toContain("dependencies for this lockfile are already installed");
    expect(log).toMatch(/main image build failed: .*larger than the limit of 256 MiB/);

    // Without the big file, the build succeeds and keeps none of the hostile entries.
    await exec(second.c.id, "rm /app/node_modules/big.bin");
    const w2 = await watched(async () => {
      const third = await setupOnce(REPOS.volume, { buildMainImage: true });
      const built = await receiver.waitFor(
        (rs) =>
          rs.some((r) => r.body.containerId === third.c.id && r.body.phase === "ready" && r.body.mainImage?.buildMs),
        120_000,
      );
      return built.find((r) => r.body.containerId === third.c.id && r.body.mainImage?.buildMs)!.body.mainImage!.tag;
    });
    expectHealthy(w2, "main image from a hostile volume");
    images.add(w2.result);
    const probe = await docker.createContainer({
      Image: w2.result,
      Cmd: ["sh", "-c", "cd /opt/artie/seed/node_modules && ls -A . greet"],
    });
    await probe.start();
    await probe.wait();
    const out = (await probe.logs({ stdout: true, stderr: true })).toString("utf8");
    await probe.remove({ force: true });
    expect(out).toContain("greet");
    for (const hostile of [".artie-deps", ".artie-installed", ".json.artie", "fifo", "escape", "big.bin"])
      expect(out).not.toContain(hostile);
  });

  it("200 MB of output without a newline during install", async () => {
    const noisy = "head -c 200000000 /dev/zero | tr '\\0' x; npm install --no-audit --no-fund --prefer-offline";
    const w = await watched(() => setupOnce(REPOS.noisy, { installCommand: ["sh", "-c", noisy] }));
    expectHealthy(w, "200 MB without a newline");
    expect(w.result.end.phase).toBe("ready");
    const log = await containerLog(w.result.c.id);
    expect(log).toContain("[line cut at 16 KiB]");
  });

  it("a process that prints the exit marker cannot make a failing install look successful", async () => {
    const forge = "echo __artie_exit=0; printf '__artie_exit=0'; exit 7";
    const w = await watched(() => setupOnce(REPOS.forge, { installCommand: ["sh", "-c", forge] }));
    expectHealthy(w, "forged exit marker");
    expect(w.result.end.phase).toBe("error");
    expect(w.result.end.error).toMatch(/failed with exit code 7/);
  });

  it("a dev server printing at full speed after ready costs the agent no CPU, and its log still flows", async () => {
    const server = `require("http").createServer((q, s) => s.end("ok")).listen(Number(process.env.PORT), "0.0.0.0")`;
    // Long lines: the in-container prefixer writes per line, so these carry the most bytes to the agent.
    const line = `printing at full speed $(printf %8000s | tr " " x)`;
    const devCommand = ["sh", "-c", `node -e '${server}' & exec yes "${line}"`];
    const w = await watched(() => setupOnce(REPOS.noisyDev, { devCommand }));
    expectHealthy(w, "dev server printing at full speed");
    expect(w.result.end.phase, w.result.end.error).toBe("ready");
    await new Promise((r) => setTimeout(r, 1000));
    const cpu0 = agentCpuMs();
    const since = Math.floor(Date.now() / 1000);
    await new Promise((r) => setTimeout(r, CPU_WINDOW_MS));
    const used = agentCpuMs() - cpu0;
    console.log(`agent CPU over ${CPU_WINDOW_MS} ms with a dev server printing at full speed: ${used} ms`);
    expect(used).toBeLessThan(CPU_LIMIT_MS);
    // The in-container prefixer still writes the container log after the agent stopped reading.
    const log = await docker.getContainer(`artie-${w.result.c.id}`).logs({ stdout: true, since, tail: 5 });
    expect(log.toString("utf8")).toContain("[dev] printing at full speed");
  });

  it("a dev server redirecting the probe elsewhere: the probe never connects there", async () => {
    let connections = 0;
    const elsewhere: Server = createServer((s) => {
      connections++;
      s.destroy();
    });
    const port = await new Promise<number>((resolve) =>
      elsewhere.listen(0, "127.0.0.1", () => resolve((elsewhere.address() as { port: number }).port)),
    );
    try {
      const server = `require("http").createServer((q, s) => { s.writeHead(302, { location: "http://127.0.0.1:${port}/" }); s.end(); }).listen(Number(process.env.PORT), "0.0.0.0")`;
      const w = await watched(() => setupOnce(REPOS.redirect, { devCommand: ["node", "-e", server] }));
      expectHealthy(w, "redirecting dev server");
      expect(w.result.end.phase).toBe("ready");
      expect(connections).toBe(0);
    } finally {
      await new Promise((r) => elsewhere.close(r));
    }
  });
});
