/**
 * The persistent workspace on the real engine: uncommitted work in /app survives restart,
 * stop/start and an agent restart; start and restart with a body bring the dev server back with
 * the settings sent (reported by signed callbacks); stop frees the container's memory; the
 * workspace volume goes with DELETE and with the start-up sweep when its container is gone; an
 * image without /app still gives the container user a workspace it owns.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { ContainerDetails, ErrorResponse, ExecResponse } from "../src/api/contract.js";
import { workspaceVolumeName } from "../src/docker/labels.js";
import { readRun } from "../src/setup/run-marker.js";
import { createContainer, startTestAgent } from "./helpers/agent.js";
import { startReceiver, type Receiver } from "./helpers/callback-receiver.js";
import { docker, removeRepoArtifacts } from "./helpers/docker.js";
import { fixtureRoot, type FixtureRoot } from "./helpers/fixture-repo.js";
import { BUSYBOX_IMAGE, NODE_IMAGE } from "./helpers/images.js";

const SECRET = "callback-secret-workspace-0123";
const REPO = "acme/notes";
/** An image like node:24-slim in the one way that matters here: it has no /app. */
const NO_APP_IMAGE = "artie-test/no-app:latest";

let fixtures: FixtureRoot;
let receiver: Receiver;
let agent: Awaited<ReturnType<typeof startTestAgent>>;
let env: Record<string, string>;

beforeAll(async () => {
  fixtures = await fixtureRoot();
  await fixtures.createRepo(REPO, { main: { message: "hello from notes", greetVersion: "1.0.0" } });
  receiver = await startReceiver(SECRET);
  env = {
    DEFAULT_IMAGE: NODE_IMAGE,
    GIT_REMOTE_TEMPLATE: fixtures.remoteTemplate,
    DATA_DIR: `${fixtures.root}/agent-data`,
    CONTAINER_MEMORY_MB: "512",
    SETUP_START_TIMEOUT_MS: "15000",
  };
  agent = await startTestAgent(env);
});
afterAll(async () => {
  await agent?.close();
  await receiver?.close();
  await fixtures?.dispose();
  await removeRepoArtifacts(REPO);
});

const mine = (id: string) => receiver.received.filter((r) => r.body.containerId === id);
const readyCount = (id: string) => mine(id).filter((r) => r.body.phase === "ready").length;
const ended = (id: string) => mine(id).filter((r) => r.body.phase === "ready" || r.body.phase === "error");

/** Waits for the `n`-th ready or error of `id`, and answers it; an error fails the test with its message. */
async function nthEnd(id: string, n: number) {
  await receiver.waitFor(() => ended(id).length >= n, 90_000);
  const last = ended(id)[n - 1]!.body;
  if (last.phase === "error") throw new Error(`expected ready, got error: ${last.error}`);
  return last;
}

async function setUp(env: Record<string, string> = {}) {
  const c = await createContainer(agent.api, { image: NODE_IMAGE });
  const res = await agent.api.post(`/api/containers/${c.id}/setup`, {
    repo: REPO,
    branch: "main",
    callbackUrl: receiver.url,
    callbackSecret: SECRET,
    envVars: env,
  });
  expect(res.status).toBe(202);
  await nthEnd(c.id, 1);
  return c;
}

const startBody = (envVars: Record<string, string> = {}) => ({
  callbackUrl: receiver.url,
  callbackSecret: SECRET,
  envVars,
});

async function exec(id: string, command: string[]) {
  const res = await agent.api.post(`/api/containers/${id}/exec`, { command });
  expect(res.status).toBe(200);
  return ExecResponse.parse(await res.json());
}

async function page(hostPort: number): Promise<Record<string, unknown>> {
  return (await (await fetch(`http://127.0.0.1:${hostPort}/`)).json()) as Record<string, unknown>;
}

const answers = (hostPort: number) =>
  fetch(`http://127.0.0.1:${hostPort}/`, { signal: AbortSignal.timeout(2_000) }).then(
    () => true,
    () => false,
  );

async function details(id: string) {
  const res = await agent.api.get(`/api/containers/${id}`);
  expect(res.status).toBe(200);
  return ContainerDetails.parse(await res.json());
}

/** The workspace's size once the agent knows one (a fresh agent asks the engine at the first look). */
async function workspaceBytes(id: string): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const bytes = (await details(id)).workspaceBytes;
    if (bytes || Date.now() > deadline) return bytes ?? 0;
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

describe("persistent workspace", () => {
  it(
    "keeps uncommitted work through restart and stop/start, and brings the dev server back each time",
    { timeout: 240_000 },
    async () => {
      const c = await setUp({ FIXTURE_ENV: "at-setup" });
      expect(await page(c.hostPort)).toMatchObject({ message: "hello from notes", env: "at-setup" });
      expect((await exec(c.id, ["sh", "-c", "echo uncommitted-work > /app/notes.txt"])).exitCode).toBe(0);
      const before = await details(c.id);
      expect(before.workspaceVolume).toBe(workspaceVolumeName(c.id));

      // Restart with the run settings: the container restarts, the dev server comes back with them.
      const restarted = await agent.api.post(
        `/api/containers/${c.id}/restart`,
        startBody({ FIXTURE_ENV: "after-restart" }),
      );
      expect(restarted.status).toBe(202);
      expect(ContainerDetails.parse(await restarted.json()).state).toBe("running");
      const ready = await nthEnd(c.id, 2);
      expect(ready.hostPort).toBe(c.hostPort);
      expect(mine(c.id).map((r) => r.body.phase)).toEqual([
        "cloning",
        "installing",
        "starting",
        "ready",
        "starting",
        "ready",
      ]);
      expect(mine(c.id).every((r) => r.validSignature)).toBe(true);
      const seqs = mine(c.id).map((r) => r.body.sequence);
      expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
      expect(await page(c.hostPort)).toMatchObject({ message: "hello from notes", env: "after-restart" });
      expect((await exec(c.id, ["cat", "/app/notes.txt"])).stdout).toBe("uncommitted-work\n");

      // Stop: nothing runs, the memory is free, the URL is dead; the record stays.
      const stopped = await agent.api.post(`/api/containers/${c.id}/stop`);
      expect(stopped.status).toBe(200);
      expect(ContainerDetails.parse(await stopped.json())).toMatchObject({
        id: c.id,
        state: "exited",
        uptimeSeconds: null,
      });
      const info = await docker.getContainer(`artie-${c.id}`).inspect();
      expect(info.State.Running).toBe(false);
      const stats = (await docker.getContainer(`artie-${c.id}`).stats({ stream: false })) as {
        memory_stats?: { usage?: number };
      };
      expect(stats.memory_stats?.usage ?? 0).toBe(0);
      expect(await answers(c.hostPort)).toBe(false);

      // A start with a bad body is a 400 and changes nothing.
      for (const bad of [
        { callbackUrl: receiver.url },
        { ...startBody(), extra: 1 },
        { ...startBody(), envVars: { "1X": "y" } },
      ]) {
        const res = await agent.api.post(`/api/containers/${c.id}/start`, bad);
        expect(res.status).toBe(400);
        expect(ErrorResponse.parse(await res.json()).error.code).toBe("invalid_request");
      }
      expect((await details(c.id)).state).toBe("exited");
      expect(readyCount(c.id)).toBe(2);

      // Start: the same workspace and port, the dev server back.
      const started = await agent.api.post(`/api/containers/${c.id}/start`, startBody({ FIXTURE_ENV: "after-start" }));
      expect(started.status).toBe(202);
      expect(ContainerDetails.parse(await started.json()).state).toBe("running");
      await nthEnd(c.id, 3);
      expect(await page(c.hostPort)).toMatchObject({ message: "hello from notes", env: "after-start" });
      expect((await exec(c.id, ["cat", "/app/notes.txt"])).stdout).toBe("uncommitted-work\n");
      expect((await exec(c.id, ["cat", "/app/message.txt"])).stdout).toBe("hello from notes\n");

      // Starting what runs is a 409; the running dev server is left alone.
      const again = await agent.api.post(`/api/containers/${c.id}/start`, startBody());
      expect(again.status).toBe(409);
      expect(await answers(c.hostPort)).toBe(true);

      // DELETE takes the workspace volume and the setup's record with it.
      expect((await agent.api.del(`/api/containers/${c.id}`)).status).toBe(200);
      await expect(docker.getVolume(workspaceVolumeName(c.id)).inspect()).rejects.toMatchObject({ statusCode: 404 });
      expect(await readRun(env.DATA_DIR!, c.id)).toBeNull();
    },
  );

  it("keeps the workspace through an agent restart, and a restart after it brings the dev server back", async () => {
    const c = await setUp();
    await exec(c.id, ["sh", "-c", "echo survives-the-agent > /app/notes.txt"]);
    await agent.close();
    agent = await startTestAgent(env);
    expect((await exec(c.id, ["cat", "/app/notes.txt"])).stdout).toBe("survives-the-agent\n");
    expect(await readRun(env.DATA_DIR!, c.id)).toMatchObject({ repo: REPO, branch: "main" });
    // A new agent knows no sizes yet: its first look at the details asks the engine.
    expect(await workspaceBytes(c.id)).toBeGreaterThan("survives-the-agent\n".length);
    const res = await agent.api.post(`/api/containers/${c.id}/restart`, startBody({ FIXTURE_ENV: "new-agent" }));
    expect(res.status).toBe(202);
    await nthEnd(c.id, 2);
    expect(await page(c.hostPort)).toMatchObject({ env: "new-agent" });
    expect((await exec(c.id, ["cat", "/app/notes.txt"])).stdout).toBe("survives-the-agent\n");
  });

  it("restarts without a body: the workspace stays, and the dev server comes back with its setup's settings", async () => {
    const c = await setUp({ FIXTURE_ENV: "from-setup" });
    await exec(c.id, ["sh", "-c", "echo kept > /app/notes.txt"]);
    const res = await agent.api.post(`/api/containers/${c.id}/restart`);
    expect(res.status).toBe(200);
    expect(ContainerDetails.parse(await res.json()).state).toBe("running");
    await nthEnd(c.id, 2);
    expect(
      mine(c.id)
        .slice(-2)
        .map((r) => r.body.phase),
    ).toEqual(["starting", "ready"]);
    // The variables came from the agent's memory: neither its DATA_DIR nor the workspace holds them.
    expect(await page(c.hostPort)).toMatchObject({ message: "hello from notes", env: "from-setup" });
    expect((await exec(c.id, ["grep", "-rlF", "--", "from-setup", "/app"])).exitCode).toBe(1);
    const files = await readdir(env.DATA_DIR!, { recursive: true, withFileTypes: true });
    for (const f of files.filter((e) => e.isFile() && !e.parentPath.includes("repo-cache")))
      expect(await readFile(path.join(f.parentPath, f.name), "utf8"), f.name).not.toContain("from-setup");
    expect((await exec(c.id, ["cat", "/app/notes.txt"])).stdout).toBe("kept\n");
  });

  it("restarts without a body a container never set up, and starts nothing in it", async () => {
    const c = await createContainer(agent.api, { image: NODE_IMAGE });
    const res = await agent.api.post(`/api/containers/${c.id}/restart`);
    expect(res.status).toBe(200);
    expect(ContainerDetails.parse(await res.json()).state).toBe("running");
    await agent.idle();
    expect(mine(c.id)).toEqual([]);
  });

  it("refuses to start what was never set up, and leaves it stopped", async () => {
    const c = await createContainer(agent.api, { image: NODE_IMAGE });
    expect((await agent.api.post(`/api/containers/${c.id}/stop`)).status).toBe(200);
    const res = await agent.api.post(`/api/containers/${c.id}/start`, startBody());
    expect(res.status).toBe(409);
    expect(ErrorResponse.parse(await res.json()).error.message).toMatch(/no finished setup/);
    expect((await details(c.id)).state).toBe("exited");
    expect((await agent.api.post(`/api/containers/no-such-one/start`, startBody())).status).toBe(404);
  });

  it("sweeps at start-up the workspace volumes of containers that are gone, and keeps the others", async () => {
    const gone = await createContainer(agent.api);
    const kept = await createContainer(agent.api);
    await agent.close();
    await docker.getContainer(`artie-${gone.id}`).remove({ force: true });
    agent = await startTestAgent(env);
    await expect(docker.getVolume(workspaceVolumeName(gone.id)).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect((await docker.getVolume(workspaceVolumeName(kept.id)).inspect()).Labels).toMatchObject({
      "artie.managed": "true",
      "artie.container-id": kept.id,
    });
  });
});

describe("workspace ownership", () => {
  beforeAll(async () => {
    // busybox without /app: a fresh volume there would be root's, as on node:24-slim. Through the
    // API, not the docker CLI: the CLI's commit fails against Podman (README "Podman").
    const maker = await docker.createContainer({ Image: BUSYBOX_IMAGE, User: "0", Cmd: ["rm", "-rf", "/app"] });
    await maker.start();
    await maker.wait();
    const [repo, tag] = NO_APP_IMAGE.split(":");
    await maker.commit({ repo, tag });
    await maker.remove();
  });
  afterAll(async () => {
    await docker
      .getImage(NO_APP_IMAGE)
      .remove({ force: true })
      .catch(() => undefined);
  });

  it("gives the container user /app and /app/node_modules on an image that has neither", async () => {
    const deps = `test-deps-noapp-${Date.now()}`;
    onTestFinished(() =>
      docker
        .getVolume(deps)
        .remove()
        .catch(() => undefined),
    );
    const c = await createContainer(agent.api, { image: NO_APP_IMAGE, volumeName: deps });
    const owners = await exec(c.id, ["stat", "-c", "%u:%g", "/app", "/app/node_modules"]);
    expect(owners.stdout.split("\n").filter(Boolean)).toEqual(["1000:1000", "1000:1000"]);
    expect((await exec(c.id, ["sh", "-c", "echo a > /app/a && echo b > /app/node_modules/b"])).exitCode).toBe(0);
    // The helper that did it is gone, and never counted as an environment.
    expect(await docker.listContainers({ all: true, filters: { label: ["artie.helper"] } })).toEqual([]);
    // A restart keeps it so (Docker copies an image's ownership only into an empty volume at create).
    await agent.api.post(`/api/containers/${c.id}/restart`);
    expect((await exec(c.id, ["stat", "-c", "%u", "/app"])).stdout).toBe("1000\n");
  });
});
