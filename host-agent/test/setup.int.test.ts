/**
 * The setup pipeline on real Docker with local fixture repos: cold setup, warm setup from the
 * main image, branch switch, two branches at once, failures that end in `error` with a useful
 * message, and the callbacks' signatures and sequence.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestAgent } from "./helpers/agent.js";
import { startReceiver, type Receiver } from "./helpers/callback-receiver.js";
import { fixtureRoot, type FixtureRoot } from "./helpers/fixture-repo.js";
import { docker, removeRepoArtifacts } from "./helpers/docker.js";
import { NODE_IMAGE } from "./helpers/images.js";
import { TEST_SECRET, createContainer } from "./helpers/agent.js";
import { readSse } from "./helpers/sse.js";
import { LogEvent } from "../src/api/contract.js";
import { familiarImage } from "../src/docker/client.js";
import { mainImageTag } from "../src/setup/artifact-names.js";
import { git } from "../src/setup/git.js";

const SECRET = "callback-secret-0123456789";
let fixtures: FixtureRoot;
let receiver: Receiver;
let agent: Awaited<ReturnType<typeof startTestAgent>>;
const REPO = "acme/shop";
/** Setups here name no tenant: the agent's default. */
const MAIN_TAG = mainImageTag("default", REPO);

beforeAll(async () => {
  fixtures = await fixtureRoot();
  await fixtures.createRepo(REPO, {
    main: { message: "hello from main", greetVersion: "1.0.0" },
    feature: { message: "hello from feature", greetVersion: "2.0.0" },
    broken: { message: "broken deps", greetVersion: "1.0.0", brokenDependency: true },
    // Dev servers that ignore where the environment wants them.
    "loopback-8080": {
      message: "hello from loopback",
      // A version of its own: a branch made from main with main's version keeps main's lockfile entry.
      greetVersion: "1.0.1",
      devScript: "LISTEN_HOST=127.0.0.1 LISTEN_PORT=8080 node server.js",
    },
    "loopback-own-port": {
      message: "hello from own port",
      greetVersion: "1.0.2",
      devScript: "LISTEN_HOST=127.0.0.1 node server.js",
    },
  });
  receiver = await startReceiver(SECRET);
  agent = await startTestAgent({
    DEFAULT_IMAGE: NODE_IMAGE,
    GIT_REMOTE_TEMPLATE: fixtures.remoteTemplate,
    DATA_DIR: fixtures.root + "/agent-data",
    CONTAINER_MEMORY_MB: "512",
    SETUP_START_TIMEOUT_MS: "8000",
  });
});
afterAll(async () => {
  await agent?.close();
  await receiver?.close();
  await fixtures?.dispose();
  await removeRepoArtifacts(REPO);
});

async function setup(id: string, body: Record<string, unknown>) {
  return agent.api.post(`/api/containers/${id}/setup`, {
    callbackUrl: receiver.url,
    callbackSecret: SECRET,
    repo: REPO,
    ...body,
  });
}

const phasesOf = (id: string) => receiver.received.filter((r) => r.body.containerId === id).map((r) => r.body.phase);
const finished = (id: string) => (rs: typeof receiver.received) =>
  rs.some((r) => r.body.containerId === id && ["ready", "error"].includes(r.body.phase));

describe("setup", () => {
  it("cold setup reaches ready and the dev server answers on its host port", async () => {
    const c = await createContainer(agent.api, { image: NODE_IMAGE });
    const res = await setup(c.id, { branch: "main", envVars: { FIXTURE_ENV: "from-env" } });
    expect(res.status).toBe(202);
    await receiver.waitFor(finished(c.id));
    const mine = receiver.received.filter((r) => r.body.containerId === c.id);
    expect(mine.map((r) => r.body.phase)).toEqual(["cloning", "installing", "starting", "ready"]);
    expect(mine.every((r) => r.validSignature)).toBe(true);
    const seqs = mine.map((r) => r.body.sequence);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    const ready = mine.at(-1)!.body;
    expect(ready.hostPort).toBe(c.hostPort);
    const page = (await (await fetch(`http://127.0.0.1:${c.hostPort}/`)).json()) as Record<string, unknown>;
    expect(page).toEqual({ message: "hello from main", greet: "1.0.0", env: "from-env" });
    // Every phase's output is in the container's log stream, prefixed, and the dev server's too.
    const { events } = await readSse(`${agent.url}/api/containers/${c.id}/logs`, {
      headers: { authorization: `Bearer ${TEST_SECRET}` },
      timeoutMs: 1500,
    });
    const lines = events.filter((e) => !e.event).map((e) => LogEvent.parse(JSON.parse(e.data)).line);
    expect(lines.some((l) => l.startsWith("[cloning] acme/shop main at"))).toBe(true);
    expect(lines.some((l) => /^\[installing\] (added|up to date)/.test(l))).toBe(true);
    expect(lines).toContain(`[dev] dev server listening on 0.0.0.0:3000`);
    console.log("cold timeline", mine.map((r) => `${r.body.phase}:${r.body.previousPhaseMs}`).join(" "));
  });

  it("builds the main image, and a warm setup from it skips the install", async () => {
    const first = await createContainer(agent.api, { image: NODE_IMAGE });
    await setup(first.id, { branch: "main", buildMainImage: true });
    // `ready` comes first (the environment is usable), then a second `ready` with the image.
    const withImage = (rs: typeof receiver.received) =>
      rs.find((r) => r.body.containerId === first.id && r.body.mainImage);
    const announced = withImage(await receiver.waitFor((rs) => withImage(rs) !== undefined))!;
    expect(phasesOf(first.id)).toEqual(["cloning", "installing", "starting", "ready", "ready"]);
    expect(announced.body).toMatchObject({ phase: "ready", mainImage: { tag: MAIN_TAG } });
    expect(announced.body.mainImage?.buildMs).toBeGreaterThan(0);
    const image = await docker.getImage(MAIN_TAG).inspect();
    expect(image.Config.Labels["artie.main-commit"]).toMatch(/^[0-9a-f]{40}$/);

    const warm = await createContainer(agent.api, { image: NODE_IMAGE });
    await setup(warm.id, { branch: "main", hasMainImage: true });
    await receiver.waitFor(finished(warm.id));
    expect(phasesOf(warm.id)).toEqual(["cloning", "installing", "starting", "ready"]);
    const info = await docker.getContainer(`artie-${warm.id}`).inspect();
    expect(familiarImage(info.Config.Image)).toBe(MAIN_TAG);
    const logs = (await docker.getContainer(`artie-${warm.id}`).logs({ stdout: true, stderr: true })).toString();
    expect(logs).toMatch(/already installed/);
    const page = (await (await fetch(`http://127.0.0.1:${warm.hostPort}/`)).json()) as Record<string, unknown>;
    expect(page).toMatchObject({ message: "hello from main", greet: "1.0.0" });
  });

  it("keeps the main image while the lockfile stays, and rebuilds it when the lockfile moves", async () => {
    const repo = "acme/moving";
    await fixtures.createRepo(repo, {
      main: { message: "before", greetVersion: "1.0.0" },
      next: { message: "after", greetVersion: "2.0.0" },
    });
    const tag = mainImageTag("default", repo);
    const built = (id: string) => (rs: typeof receiver.received) =>
      rs.find((r) => r.body.containerId === id && r.body.mainImage?.buildMs !== undefined);
    const main = { repo, branch: "main", hasMainImage: true, buildMainImage: true };
    try {
      const first = await createContainer(agent.api, { image: NODE_IMAGE });
      await setup(first.id, main);
      await receiver.waitFor((rs) => built(first.id)(rs) !== undefined);
      const before = await docker.getImage(tag).inspect();

      // Same lockfile: the image is current, nothing is built, nothing is announced.
      const same = await createContainer(agent.api, { image: NODE_IMAGE });
      await setup(same.id, main);
      await receiver.waitFor(finished(same.id));
      const sameLog = async () =>
        (await docker.getContainer(`artie-${same.id}`).logs({ stdout: true, stderr: true })).toString();
      await expect.poll(sameLog, { timeout: 10_000 }).toMatch(/main image .* is current for this lockfile/);
      expect(built(same.id)(receiver.received)).toBeUndefined();

      // main moves to a commit with another lockfile (a push): the setup starts warm from the old
      // image, and after ready the image is rebuilt at the new commit under the same tag.
      await git(["update-ref", "refs/heads/main", "refs/heads/next"], {
        cwd: `${fixtures.root}/acme/moving.git`,
        timeoutMs: 10_000,
      });
      const moved = await createContainer(agent.api, { image: NODE_IMAGE });
      await setup(moved.id, main);
      const announced = built(moved.id)(await receiver.waitFor((rs) => built(moved.id)(rs) !== undefined))!;
      expect(phasesOf(moved.id)).toEqual(["cloning", "installing", "starting", "ready", "ready"]);
      const info = await docker.getContainer(`artie-${moved.id}`).inspect();
      expect(familiarImage(info.Config.Image)).toBe(tag);
      const after = await docker.getImage(tag).inspect();
      expect(after.Id).not.toBe(before.Id);
      expect(after.Config.Labels["artie.lock-hash"]).not.toBe(before.Config.Labels["artie.lock-hash"]);
      expect(after.Config.Labels["artie.main-commit"]).toBe(announced.body.mainImage!.commit);
      expect(after.Config.Labels["artie.base-image"]).toBe(NODE_IMAGE);
      const page = (await (await fetch(`http://127.0.0.1:${moved.hostPort}/`)).json()) as Record<string, unknown>;
      expect(page).toMatchObject({ message: "after", greet: "2.0.0" });
    } finally {
      await removeRepoArtifacts(repo);
    }
  });

  it("a new base image in the settings: the old main image is not used, and is rebuilt on the new base", async () => {
    const repo = "acme/rebase";
    await fixtures.createRepo(repo, { main: { message: "rebased", greetVersion: "1.0.0" } });
    // Another name for the test's node image: a second base that works.
    const altRepo = `artie-test/node-alt-${process.pid}`;
    const alt = `${altRepo}:20`;
    await docker.getImage(NODE_IMAGE).tag({ repo: altRepo, tag: "20" });
    const tag = mainImageTag("default", repo);
    const built = (id: string) => (rs: typeof receiver.received) =>
      rs.find((r) => r.body.containerId === id && r.body.mainImage?.buildMs !== undefined);
    const body = { repo, branch: "main", hasMainImage: true, buildMainImage: true };
    try {
      const first = await createContainer(agent.api, { image: NODE_IMAGE });
      await setup(first.id, { ...body, image: NODE_IMAGE });
      await receiver.waitFor((rs) => built(first.id)(rs) !== undefined);
      expect((await docker.getImage(tag).inspect()).Config.Labels["artie.base-image"]).toBe(NODE_IMAGE);

      const second = await createContainer(agent.api, { image: NODE_IMAGE });
      await setup(second.id, { ...body, image: alt });
      await receiver.waitFor((rs) => built(second.id)(rs) !== undefined);
      expect(phasesOf(second.id)).toEqual(["cloning", "installing", "starting", "ready", "ready"]);
      expect(familiarImage((await docker.getContainer(`artie-${second.id}`).inspect()).Config.Image)).toBe(alt);
      const logs = (await docker.getContainer(`artie-${second.id}`).logs({ stdout: true, stderr: true })).toString();
      expect(logs).toMatch(/was built on .*: not using it/);
      expect(logs).toMatch(/its base image is now/);
      expect((await docker.getImage(tag).inspect()).Config.Labels["artie.base-image"]).toBe(alt);
    } finally {
      await removeRepoArtifacts(repo);
      await docker
        .getImage(alt)
        .remove()
        .catch(() => undefined);
    }
  });

  it("switches an environment to another branch, which gets its own dependencies", async () => {
    const c = await createContainer(agent.api, { image: NODE_IMAGE });
    await setup(c.id, { branch: "main", hasMainImage: true });
    await receiver.waitFor(finished(c.id));
    const before = receiver.received.length;
    await setup(c.id, { branch: "feature", hasMainImage: true });
    await receiver.waitFor((rs) =>
      rs.slice(before).some((r) => r.body.containerId === c.id && r.body.phase === "ready"),
    );
    expect(phasesOf(c.id)).toEqual([
      "cloning",
      "installing",
      "starting",
      "ready",
      "cloning",
      "installing",
      "starting",
      "ready",
    ]);
    const page = (await (await fetch(`http://127.0.0.1:${c.hostPort}/`)).json()) as Record<string, unknown>;
    expect(page).toMatchObject({ message: "hello from feature", greet: "2.0.0" });
  });

  it("sets up two branches of one repo at the same time, each with its own dependencies", async () => {
    const a = await createContainer(agent.api, { image: NODE_IMAGE });
    const b = await createContainer(agent.api, { image: NODE_IMAGE });
    await Promise.all([setup(a.id, { branch: "main" }), setup(b.id, { branch: "feature" })]);
    await receiver.waitFor((rs) => finished(a.id)(rs) && finished(b.id)(rs));
    expect(phasesOf(a.id).at(-1)).toBe("ready");
    expect(phasesOf(b.id).at(-1)).toBe("ready");
    const pageA = (await (await fetch(`http://127.0.0.1:${a.hostPort}/`)).json()) as Record<string, unknown>;
    const pageB = (await (await fetch(`http://127.0.0.1:${b.hostPort}/`)).json()) as Record<string, unknown>;
    expect(pageA).toMatchObject({ message: "hello from main", greet: "1.0.0" });
    expect(pageB).toMatchObject({ message: "hello from feature", greet: "2.0.0" });
  });

  it("refuses a second setup of a busy container with 409, and bad input with 400", async () => {
    const c = await createContainer(agent.api, { image: NODE_IMAGE });
    expect((await setup(c.id, { branch: "main" })).status).toBe(202);
    expect((await setup(c.id, { branch: "main" })).status).toBe(409);
    for (const branch of ["-x", "a..b", "x.lock", "refs/../../etc", "with space"]) {
      expect((await setup(c.id, { branch })).status, branch).toBe(400);
    }
    expect((await agent.api.post(`/api/containers/${c.id}/setup`, { repo: "a/b", branch: "main" })).status).toBe(400);
    await receiver.waitFor(finished(c.id));
  });
});

describe("a dev server that listens somewhere else is found and forwarded to", () => {
  const logsOf = async (id: string) =>
    (await docker.getContainer(`artie-${id}`).logs({ stdout: true, stderr: true })).toString();

  it.each([
    [
      "loopback-8080",
      "hello from loopback",
      /listens on 127\.0\.0\.1:8080, not on 0\.0\.0\.0:3000: forwarding port 3000 there/,
    ],
    ["loopback-own-port", "hello from own port", /listens on 127\.0\.0\.1:3000, not on 0\.0\.0\.0:3000: forwarding/],
  ])("%s: ready, answering on the environment's port, and one log line says so", async (branch, message, line) => {
    const c = await createContainer(agent.api, { image: NODE_IMAGE });
    expect((await setup(c.id, { branch })).status).toBe(202);
    await receiver.waitFor(finished(c.id));
    const last = receiver.received.filter((r) => r.body.containerId === c.id).at(-1)!.body;
    expect(`${last.phase} ${last.error ?? ""}`).toBe("ready ");
    const page = (await (await fetch(`http://127.0.0.1:${c.hostPort}/`)).json()) as Record<string, unknown>;
    expect(page.message).toBe(message);
    const logs = await logsOf(c.id);
    expect(logs).toMatch(/\[starting\] a Node server \(dev script "LISTEN_HOST=127\.0\.0\.1 /);
    expect(logs).toMatch(line);
    expect(logs).toMatch(/To avoid the forward, make the dev script listen on 0\.0\.0\.0 and \$PORT/);
    expect(logs.match(/forwarding port 3000/g)).toHaveLength(1);
  });
});

describe("setup failures end in error with a message a person can act on", () => {
  async function failWith(body: Record<string, unknown>) {
    const c = await createContainer(agent.api, { image: NODE_IMAGE });
    expect((await setup(c.id, body)).status).toBe(202);
    await receiver.waitFor(finished(c.id));
    const last = receiver.received.filter((r) => r.body.containerId === c.id).at(-1)!.body;
    expect(last.phase).toBe("error");
    return last.error ?? "";
  }

  it("an unknown repository", async () => {
    expect(await failWith({ repo: "acme/nope", branch: "main" })).toMatch(/Could not fetch acme\/nope/);
  });

  it("a missing branch", async () => {
    expect(await failWith({ branch: "no-such-branch" })).toMatch(
      /Branch "no-such-branch" does not exist in acme\/shop/,
    );
  });

  it("a failing install, with the install's last lines", async () => {
    const message = await failWith({ branch: "broken" });
    expect(message).toMatch(/Dependency install \(npm\) failed/);
    expect(message).toMatch(/\[installing\]/);
  });

  it("a dev server that never listens", async () => {
    const message = await failWith({ branch: "main", devCommand: ["sleep", "600"] });
    expect(message).toMatch(/did not answer on port 3000 within 8 s/);
    expect(message).toMatch(/None of its processes listens on any TCP port/);
    // The dev server that never answered does not linger.
    const id = receiver.received.at(-1)!.body.containerId;
    const ps = await agent.api.post(`/api/containers/${id}/exec`, {
      command: ["sh", "-c", "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done"],
    });
    const processes = ((await ps.json()) as { stdout: string }).stdout;
    expect(processes).toMatch(/sleep 2147483647/); // the listing works: it shows the keep-alive
    expect(processes).not.toMatch(/sleep 600/);
  });

  it("a dev server that exits", async () => {
    const message = await failWith({ branch: "main", devCommand: ["sh", "-c", "echo boom; exit 3"] });
    expect(message).toMatch(/exited with code 3/);
    expect(message).toMatch(/boom/);
  });
});
