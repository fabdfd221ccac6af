/**
 * `npm run dev` as a newcomer meets it: a clone with no `.env` and no `.env.local`, a fresh home
 * (no Convex backend downloaded before), and no route to where the Convex CLI downloads its local
 * backend. Each run happens in a network namespace of its own with only loopback, so the missing
 * route is real, nothing leaves the machine, and its ports (8080, 5173) meet nothing else.
 *
 * 1. Nothing configured: the agent answers /health, the dashboard serves its page, and one
 *    paragraph says why the control plane is not running and the two ways to get one.
 * 2. A configured self-hosted deployment, with a recorder in place of `npx convex`: the same
 *    command provisions its environment (the agent's secrets, its loopback URL) and starts
 *    `convex dev` against it.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseEnv, promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthResponse } from "../../host-agent/src/api/contract.js";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");
const RECORDER = path.join(root, "scripts/test/helpers/convex-env-recorder.mjs");
const UP_LINE = /Artie Docker Host is up: open http:\/\/127\.0\.0\.1:5173/;
const START_TIMEOUT_MS = 180_000;

type DevRun = {
  clone: string;
  dir: string;
  output: () => string;
  /** Runs a command inside the run's namespace, where its agent and dashboard listen. */
  inNetns: (cmd: string, args: string[]) => Promise<{ stdout: string }>;
  stop: () => Promise<void>;
};

/** A copy of the checkout as a fresh clone has it (tracked and new files, timestamps kept), sharing node_modules. */
async function makeClone(target: string) {
  const { stdout } = await run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: root });
  for (const file of new Set(stdout.split("\0").filter(Boolean))) {
    const from = path.join(root, file);
    if (!existsSync(from)) continue;
    await mkdir(path.dirname(path.join(target, file)), { recursive: true });
    // Timestamps kept: a lockfile newer than node_modules would make the clone reinstall.
    await cp(from, path.join(target, file), { preserveTimestamps: true });
  }
  for (const modules of ["node_modules", "host-agent/node_modules", "web/node_modules"]) {
    if (existsSync(path.join(root, modules))) await symlink(path.join(root, modules), path.join(target, modules));
  }
}

/** Starts `npm run dev` (scripts/dev.sh) on a fresh clone in a fresh namespace; resolves once it says it is up. */
async function startDev(prepare: (clone: string, dir: string) => Promise<Record<string, string>>): Promise<DevRun> {
  const dir = await mkdtemp(path.join(tmpdir(), "artie-dev-"));
  const clone = path.join(dir, "clone");
  await makeClone(clone);
  await mkdir(path.join(dir, "home"));
  const netns = `artie-dev-${randomBytes(3).toString("hex")}`;
  await run("ip", ["netns", "add", netns]);
  await run("ip", ["netns", "exec", netns, "ip", "link", "set", "lo", "up"]);

  // The environment of a newcomer's shell: none of this project's or Convex's settings.
  const shell = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(API_SECRET|STREAM_TOKEN_KEY|PORT|CONVEX_|VITE_|VITEST|NODE_ENV)/.test(k),
    ),
  );
  const extra = await prepare(clone, dir);
  const child: ChildProcess = spawn("ip", ["netns", "exec", netns, "bash", "scripts/dev.sh"], {
    cwd: clone,
    env: {
      ...shell,
      HOME: path.join(dir, "home"),
      DATA_DIR: path.join(dir, "agent-data"),
      LOG_LEVEL: "warn",
      ...extra,
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));

  const stop = async () => {
    if (child.pid && child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      process.kill(-child.pid, "SIGTERM");
      const timer = new Promise((r) => setTimeout(() => r("timeout"), 10_000));
      if ((await Promise.race([exited, timer])) === "timeout") process.kill(-child.pid, "SIGKILL");
    }
    await run("ip", ["netns", "del", netns]).catch(() => undefined);
    // The dev processes just stopped may still be writing their caches (web/node_modules/.vite): retry.
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!UP_LINE.test(output)) {
    const failure =
      child.exitCode !== null
        ? `npm run dev exited (${child.exitCode})`
        : Date.now() > deadline
          ? `npm run dev was not up within ${START_TIMEOUT_MS} ms`
          : null;
    if (failure) {
      await stop();
      throw new Error(`${failure}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    clone,
    dir,
    output: () => output,
    inNetns: (cmd, args) => run("ip", ["netns", "exec", netns, cmd, ...args], { timeout: 15_000 }),
    stop,
  };
}

describe("npm run dev with nothing configured and no route to the Convex backend download", () => {
  let dev: DevRun;
  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error("these tests make network namespaces (ip netns): run them as root");
    dev = await startDev(() => Promise.resolve({}));
  }, START_TIMEOUT_MS + 30_000);
  afterAll(async () => dev?.stop(), 30_000);

  it("ends with one line naming the dashboard's URL", () => {
    expect(dev.output().match(new RegExp(UP_LINE, "g"))).toHaveLength(1);
  });

  it("runs the agent: /health answers", async () => {
    const { stdout } = await dev.inNetns("curl", ["-sS", "http://127.0.0.1:8080/health"]);
    expect(HealthResponse.parse(JSON.parse(stdout)).status).toBe("ok");
  });

  it("serves the dashboard's page and its modules", async () => {
    const { stdout } = await dev.inNetns("curl", ["-sS", "http://127.0.0.1:5173/"]);
    expect(stdout).toMatch(/<div id="root"><\/div>/);
    expect(stdout).toMatch(/<title>Artie Docker Host<\/title>/);
    const entry = /<script type="module" src="([^"]+)"/.exec(stdout)?.[1];
    expect(entry).toBeDefined();
    const status = (url: string) =>
      dev.inNetns("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:5173${url}`]);
    expect((await status(entry!)).stdout).toBe("200");
    expect((await status("/@vite/client")).stdout).toBe("200");
  });

  it("says in one paragraph why the control plane is not running and names both ways to get one", () => {
    const output = dev.output();
    const paragraph = output.slice(output.indexOf("dev: the control plane is not running")).split("\n\n")[0]!;
    expect(paragraph).toMatch(/downloads on first use, and that download failed/);
    expect(paragraph).toMatch(/\(Failed to fetch latest backend version\)/);
    expect(paragraph).toMatch(/sign in to Convex \(run `npx convex dev` once/);
    expect(paragraph).toMatch(/CONVEX_SELF_HOSTED_URL and\s+CONVEX_SELF_HOSTED_ADMIN_KEY in \.env\.local/);
    expect(paragraph).toMatch(/npm run convex:env/);
  });

  it("wrote the agent's .env with fresh secrets (mode 0600), printed none, and made no deployment", async () => {
    const info = await stat(path.join(dev.clone, ".env"));
    expect(info.mode & 0o777).toBe(0o600);
    const { API_SECRET, STREAM_TOKEN_KEY } = parseEnv(await readFile(path.join(dev.clone, ".env"), "utf8"));
    expect(API_SECRET).toMatch(/^[0-9a-f]{64}$/);
    expect(STREAM_TOKEN_KEY).toMatch(/^[0-9a-f]{64}$/);
    expect(dev.output()).not.toContain(API_SECRET);
    expect(dev.output()).not.toContain(STREAM_TOKEN_KEY);
    expect(existsSync(path.join(dev.clone, ".env.local"))).toBe(false);
  });
});

describe("npm run dev with a configured self-hosted deployment", () => {
  let dev: DevRun;
  let stateFile: string;
  beforeAll(async () => {
    dev = await startDev(async (clone, dir) => {
      stateFile = path.join(dir, "recorder.json");
      await writeFile(stateFile, JSON.stringify({ env: { SITE_URL: "https://dash.example.com" }, calls: [] }));
      await writeFile(
        path.join(clone, ".env.local"),
        // A self-hosted backend is told where the agent is (it may run in a container).
        "CONVEX_SELF_HOSTED_URL=http://127.0.0.1:3210\nCONVEX_SELF_HOSTED_ADMIN_KEY=self-hosted|admin\n" +
          "DOCKER_HOST_URL=http://127.0.0.1:8080\n",
      );
      return { CONVEX_CLI: `${process.execPath} ${RECORDER}`, RECORDER_STATE: stateFile };
    });
  }, START_TIMEOUT_MS + 30_000);
  afterAll(async () => dev?.stop(), 30_000);

  it("provisions what is missing, from the agent's own .env, and keeps what is set", async () => {
    const state = JSON.parse(await readFile(stateFile, "utf8")) as {
      env: Record<string, string>;
      calls: Array<{ argv: string[] }>;
    };
    const agentEnv = parseEnv(await readFile(path.join(dev.clone, ".env"), "utf8"));
    expect(state.env).toMatchObject({
      DOCKER_HOST_URL: "http://127.0.0.1:8080",
      DOCKER_API_SECRET: agentEnv.API_SECRET,
      DOCKER_STREAM_TOKEN_KEY: agentEnv.STREAM_TOKEN_KEY,
      SITE_URL: "https://dash.example.com",
    });
    expect(Object.keys(state.env).sort()).toEqual([
      "DOCKER_API_SECRET",
      "DOCKER_CALLBACK_SECRET",
      "DOCKER_HOST_URL",
      "DOCKER_STREAM_TOKEN_KEY",
      "JWKS",
      "JWT_PRIVATE_KEY",
      "SETTINGS_ENCRYPTION_KEY",
      "SITE_URL",
    ]);
    // No local deployment is made for a configured one: no `init`.
    expect(state.calls.some((c) => c.argv[0] === "init")).toBe(false);
  });

  it("starts `convex dev` against it, after provisioning, and says so", async () => {
    const verbsSoFar = async () =>
      (JSON.parse(await readFile(stateFile, "utf8")) as { calls: Array<{ argv: string[] }> }).calls.map((c) =>
        c.argv.slice(0, 2).join(" "),
      );
    // `convex dev` starts alongside the dashboard; give its recorder a moment to write.
    const deadline = Date.now() + 10_000;
    while (!(await verbsSoFar()).includes("dev") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const verbs = await verbsSoFar();
    expect(verbs.at(-1)).toBe("dev");
    expect(verbs.filter((v) => v === "env set")).toHaveLength(1);
    expect(verbs.indexOf("env list")).toBeLessThan(verbs.indexOf("env set"));
    expect(verbs.indexOf("env set")).toBeLessThan(verbs.indexOf("dev"));
    expect(dev.output()).toMatch(/control plane npx convex dev/);
    expect(dev.output()).not.toMatch(/control plane is not running/);
  });
});
