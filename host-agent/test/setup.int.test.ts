/**
 * The setup pipeline on real Docker with local fixture repos: cold setup, warm setup from the
 * main image, branch switch, two branches at once, failures that end in `error` with a useful
 * message, and the callbacks' signatures and sequence.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestAgent } from "./helpers/agent.js";
import { startReceiver, type Receiver } from "./helpers/callback-receiver.js";
import { fixtureRoot, type FixtureRoot } from "./helpers/fixture-repo.js";
import { docker } from "./helpers/docker.js";
import { NODE_IMAGE } from "./helpers/images.js";
import { createContainer } from "./helpers/agent.js";

const SECRET = "callback-secret-0123456789";
let fixtures: FixtureRoot;
let receiver: Receiver;
let agent: Awaited<ReturnType<typeof startTestAgent>>;
const REPO = "acme/shop";

beforeAll(async () => {
  fixtures = await fixtureRoot();
  await fixtures.createRepo(REPO, {
    main: { message: "hello from main", greetVersion: "1.0.0" },
    feature: { message: "hello from feature", greetVersion: "2.0.0" },
    broken: { message: "broken deps", greetVersion: "1.0.0", brokenDependency: true },
  });
  receiver = await startReceiver(SECRET);
  agent = await startTestAgent({
    DEFAULT_IMAGE: NODE_IMAGE,
    GIT_REMOTE_TEMPLATE: fixtures.remoteTemplate,
    DATA_DIR: fixtures.root + "/agent-data",
    CONTAINER_MEMORY_MB: "512",
    SETUP_START_TIMEOUT_MS: "20000",
  });
});
afterAll(async () => {
  await agent?.close();
  await receiver?.close();
  await fixtures?.dispose();
  await docker.getImage("acme-shop:main").remove({ force: true }).catch(() => undefined);
});

async function setup(id: string, body: Record<string, unknown>) {
  return agent.api.post(`/api/containers/${id}/setup`, { callbackUrl: receiver.url, callbackSecret: SECRET, repo: REPO, ...body });
}

const phasesOf = (id: string) => receiver.received.filter((r) => r.body.containerId === id).map((r) => r.body.phase);
const finished = (id: string) => (rs: typeof receiver.received) => rs.some((r) => r.body.containerId === id && ["ready", "error"].includes(r.body.phase));

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
    console.log("cold timeline", mine.map((r) => `${r.body.phase}:${r.body.previousPhaseMs}`).join(" "));
  });
});
