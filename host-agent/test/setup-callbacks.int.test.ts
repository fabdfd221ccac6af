/**
 * Setup callbacks under failure, and secrets: retries until the receiver accepts (in order, a
 * newer phase replacing one that waits for its retry), delivery after
 * an agent killed with -9 (same webhook-id, from disk), an interrupted setup reported as error
 * after the restart, and a scan for a known fake GitHub token in every place it must not reach.
 */
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, createContainer, freePort, spawnAgent, startTestAgent, testEnv } from "./helpers/agent.js";
import { startReceiver } from "./helpers/callback-receiver.js";
import { docker, removeRepoArtifacts } from "./helpers/docker.js";
import { fixtureRoot, type FixtureRoot } from "./helpers/fixture-repo.js";
import { NODE_IMAGE } from "./helpers/images.js";
import { mainImageTag } from "../src/setup/artifact-names.js";
import { SetupCallback } from "../src/api/contract.js";

const SECRET = "callback-secret-0123456789";
const REPO = "acme/tools";
const MAIN_TAG = mainImageTag("default", REPO);
const FAKE_TOKEN = "ghp_FAKEtoken0123456789abcdefLEAKCHECK";
let fixtures: FixtureRoot;

beforeAll(async () => {
  fixtures = await fixtureRoot();
  await fixtures.createRepo(REPO, { main: { message: "tools main", greetVersion: "1.0.0" } });
});
afterAll(async () => {
  await fixtures?.dispose();
  await removeRepoArtifacts(REPO);
});

const agentEnv = (extra: Record<string, string> = {}) => ({
  DEFAULT_IMAGE: NODE_IMAGE,
  GIT_REMOTE_TEMPLATE: fixtures.remoteTemplate,
  DATA_DIR: path.join(fixtures.root, `data-${Math.random().toString(36).slice(2)}`),
  CONTAINER_MEMORY_MB: "512",
  ...extra,
});

const setupBody = (url: string, extra: Record<string, unknown> = {}) => ({
  repo: REPO,
  branch: "main",
  callbackUrl: url,
  callbackSecret: SECRET,
  ...extra,
});

describe("callback delivery", () => {
  it("retries a refused callback with the same webhook-id until it is accepted", async () => {
    const receiver = await startReceiver(SECRET);
    const agent = await startTestAgent(agentEnv());
    try {
      receiver.refuse(3);
      const c = await createContainer(agent.api, { image: NODE_IMAGE });
      await agent.api.post(`/api/containers/${c.id}/setup`, setupBody(receiver.url));
      // A refused callback is retried after a backoff; the ones after it wait (one container's
      // arrive in order), and a newer phase replaces one still waiting for its retry.
      const got = await receiver.waitFor((rs) => rs.some((r) => r.body.phase === "ready"));
      await agent.idle();
      const phases: string[] = got.map((r) => r.body.phase);
      expect(phases.at(-1)).toBe("ready");
      expect(phases).toEqual(["cloning", "installing", "starting", "ready"].filter((p) => phases.includes(p)));
      expect(got.every((r) => r.validSignature)).toBe(true);
      expect(receiver.refused).toHaveLength(3);
      expect(got.map((r) => r.body.sequence)).toEqual(got.map((r) => r.body.sequence).sort((a, b) => a - b));
    } finally {
      await agent.close();
      await receiver.close();
    }
  });

  it("delivers callbacks after the agent is killed with -9 and restarted", async () => {
    const receiverPort = await freePort();
    const port = await freePort();
    const env = testEnv({ ...agentEnv(), PORT: String(port) });
    let agent = await spawnAgent(env);
    try {
      const api = client(agent.url);
      const c = await createContainer(api, { image: NODE_IMAGE });
      // Nobody listens on the callback URL yet: every attempt fails and is kept on disk.
      await api.post(`/api/containers/${c.id}/setup`, setupBody(`http://127.0.0.1:${receiverPort}/cb`));
      await waitUntil(
        async () =>
          await fetch(`http://127.0.0.1:${c.hostPort}/`).then(
            (r) => r.ok,
            () => false,
          ),
        60_000,
      );
      // Each phase replaced the one before it while that one waited for a retry: `ready` (written
      // just after the port answered) waits on disk.
      const pendingFiles = async () =>
        (await readdir(path.join(env.DATA_DIR!, "callbacks"))).filter((f) => f.endsWith(".json"));
      const pendingPhases = async () => {
        const phases: string[] = [];
        for (const f of await pendingFiles()) {
          const text = await readFile(path.join(env.DATA_DIR!, "callbacks", f), "utf8").catch(() => null);
          if (text) phases.push(SetupCallback.parse(JSON.parse((JSON.parse(text) as { body: string }).body)).phase);
        }
        return phases;
      };
      await waitUntil(async () => (await pendingPhases()).includes("ready"), 10_000);
      await agent.kill("SIGKILL");
      const pending = await pendingFiles();
      expect(await pendingPhases()).toContain("ready");

      const receiver = await startReceiver(SECRET, receiverPort);
      try {
        agent = await spawnAgent(env);
        const got = await receiver.waitFor((rs) => rs.some((r) => r.body.phase === "ready"));
        expect(got.map((r) => r.body.phase).at(-1)).toBe("ready");
        expect(got.every((r) => r.validSignature)).toBe(true);
        expect(new Set(got.map((r) => r.webhookId))).toEqual(new Set(pending.map((f) => f.replace(/\.json$/, ""))));
      } finally {
        await receiver.close();
      }
    } finally {
      await agent.kill("SIGKILL");
    }
  });

  it("reports a setup interrupted by an agent restart as error", async () => {
    const receiver = await startReceiver(SECRET);
    const port = await freePort();
    const env = testEnv({ ...agentEnv({ SETUP_START_TIMEOUT_MS: "600000" }), PORT: String(port) });
    let agent = await spawnAgent(env);
    try {
      const api = client(agent.url);
      const c = await createContainer(api, { image: NODE_IMAGE });
      await api.post(`/api/containers/${c.id}/setup`, setupBody(receiver.url, { devCommand: ["sleep", "600"] }));
      await receiver.waitFor((rs) => rs.some((r) => r.body.phase === "starting"));
      await agent.kill("SIGKILL");
      agent = await spawnAgent(env);
      const got = await receiver.waitFor((rs) => rs.some((r) => r.body.phase === "error"));
      const error = got.find((r) => r.body.phase === "error")!.body;
      expect(error.containerId).toBe(c.id);
      expect(error.error).toMatch(/interrupted during "starting"/);
      const starting = got.find((r) => r.body.phase === "starting")!.body;
      expect(error.sequence).toBeGreaterThan(starting.sequence);
    } finally {
      await agent.kill("SIGKILL");
      await receiver.close();
    }
  });
});

describe("the GitHub token", () => {
  it("never reaches a container, image, label, log line, callback or the repo cache", async () => {
    const receiver = await startReceiver(SECRET);
    const port = await freePort();
    const env = testEnv({ ...agentEnv(), PORT: String(port), LOG_LEVEL: "debug" });
    const agent = await spawnAgent(env);
    let agentOutput = "";
    agent.process.stdout?.on("data", (d: Buffer) => (agentOutput += d.toString()));
    agent.process.stderr?.on("data", (d: Buffer) => (agentOutput += d.toString()));
    try {
      const api = client(agent.url);
      const c = await createContainer(api, { image: NODE_IMAGE });
      await api.post(
        `/api/containers/${c.id}/setup`,
        setupBody(receiver.url, { githubToken: FAKE_TOKEN, buildMainImage: true }),
      );
      const got = await receiver.waitFor((rs) =>
        rs.some((r) => r.body.mainImage !== undefined || r.body.phase === "error"),
      );
      expect(got.at(-1)!.body.phase).toBe("ready");
      const name = `artie-${c.id}`;

      const places: Record<string, string> = {
        callbacks: JSON.stringify(got.map((r) => r.body)),
        agentOutput,
        inspect: JSON.stringify(await docker.getContainer(name).inspect()),
        dockerLogs: (await docker.getContainer(name).logs({ stdout: true, stderr: true })).toString(),
        workspace: await execOut([
          "docker",
          "exec",
          name,
          "sh",
          "-c",
          "cat /app/.git/config; grep -r -l ghp_ /app /tmp 2>/dev/null; env",
        ]),
        cacheConfig: await readFile(path.join(env.DATA_DIR!, "repo-cache", "acme", "tools.git", "config"), "utf8"),
        image: await execOut([
          "sh",
          "-c",
          `docker save ${MAIN_TAG} | tar -xO 2>/dev/null | grep -a -c ghp_FAKE || true`,
        ]),
        imageInspect: JSON.stringify(await docker.getImage(MAIN_TAG).inspect()),
      };
      for (const [where, text] of Object.entries(places)) expect(text, where).not.toContain(FAKE_TOKEN);
      expect(places.image!.trim()).toBe("0");
      expect(places.workspace).toMatch(/url = file:\/\//);
      // The scan itself can fail: a token planted in the container is found by the same command.
      await execOut(["docker", "exec", name, "sh", "-c", `echo ${FAKE_TOKEN} > /tmp/planted`]);
      expect(await execOut(["docker", "exec", name, "sh", "-c", "grep -r -l ghp_ /app /tmp 2>/dev/null"])).toContain(
        "/tmp/planted",
      );
    } finally {
      await agent.kill("SIGKILL");
      await receiver.close();
    }
  });
});

async function execOut(argv: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(argv[0]!, argv.slice(1), { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 200));
  }
}
