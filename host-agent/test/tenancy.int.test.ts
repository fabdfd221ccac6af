/**
 * Tenant-scoped artifacts on real Docker: two tenants setting up one repo get their own
 * dependency volume and main image (a file one writes into /app/node_modules never reaches the
 * other), a second environment of the same tenant shares as before, and repos whose owner/name
 * differ only in where the '-' is (`acme-x/y`, `acme/x-y`) never share a volume. Another
 * tenant's main image cannot be asked for as a setup's or a create's image, by name or retagged.
 */
import { cp } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { ExecResponse } from "../src/api/contract.js";
import { ARTIFACT_LABEL, mainImageTag } from "../src/setup/artifact-names.js";
import { createContainer, startTestAgent } from "./helpers/agent.js";
import { startReceiver, type Receiver } from "./helpers/callback-receiver.js";
import { docker, removeRepoArtifacts } from "./helpers/docker.js";
import { fixtureRoot, type FixtureRoot } from "./helpers/fixture-repo.js";
import { NODE_IMAGE } from "./helpers/images.js";

const SECRET = "callback-secret-0123456789";
const REPO = "acme/tenancy";
const LOOKALIKES = ["acme-x/y", "acme/x-y"];
const [A, B] = ["test-team-a", "test-team-b"];

let fixtures: FixtureRoot;
let receiver: Receiver;
let agent: Awaited<ReturnType<typeof startTestAgent>>;

beforeAll(async () => {
  fixtures = await fixtureRoot();
  await fixtures.createRepo(REPO, { main: { message: "shared", greetVersion: "1.0.0" } });
  // Copies of one repo, so the lockfile hashes are equal: only tenant and repo differ.
  for (const repo of LOOKALIKES) await cp(bare(REPO), bare(repo), { recursive: true });
  receiver = await startReceiver(SECRET);
  agent = await startTestAgent({
    DEFAULT_IMAGE: NODE_IMAGE,
    GIT_REMOTE_TEMPLATE: fixtures.remoteTemplate,
    DATA_DIR: fixtures.root + "/agent-data",
    CONTAINER_MEMORY_MB: "512",
  });
});
afterAll(async () => {
  await agent?.close();
  await receiver?.close();
  await fixtures?.dispose();
  for (const repo of [REPO, ...LOOKALIKES]) await removeRepoArtifacts(repo);
});

const bare = (repo: string) => path.join(fixtures.root, `${repo}.git`);
const mine = (id: string) => receiver.received.filter((r) => r.body.containerId === id);

/** Sets up a new environment and waits for `ready` (and, when building, the main image). */
async function environment(body: { repo?: string; tenant?: string; buildMainImage?: boolean; hasMainImage?: boolean }) {
  const c = await createContainer(agent.api, { image: NODE_IMAGE });
  const res = await agent.api.post(`/api/containers/${c.id}/setup`, {
    repo: REPO,
    branch: "main",
    callbackUrl: receiver.url,
    callbackSecret: SECRET,
    ...body,
  });
  expect(res.status).toBe(202);
  const done = () =>
    mine(c.id).some((r) => r.body.phase === "error") ||
    (body.buildMainImage ? mine(c.id).some((r) => r.body.mainImage) : mine(c.id).some((r) => r.body.phase === "ready"));
  await receiver.waitFor(done, 120_000);
  expect(mine(c.id).find((r) => r.body.phase === "error")?.body.error).toBeUndefined();
  return c;
}

/** Sets up a new environment and answers its error message, or undefined when it got ready. */
async function setupError(body: Record<string, unknown>): Promise<string | undefined> {
  const c = await createContainer(agent.api, { image: NODE_IMAGE });
  const res = await agent.api.post(`/api/containers/${c.id}/setup`, {
    repo: REPO,
    branch: "main",
    callbackUrl: receiver.url,
    callbackSecret: SECRET,
    ...body,
  });
  expect(res.status).toBe(202);
  await receiver.waitFor(() => mine(c.id).some((r) => ["ready", "error"].includes(r.body.phase)), 120_000);
  return mine(c.id).find((r) => r.body.phase === "error")?.body.error;
}

async function exec(id: string, command: string[]) {
  const res = await agent.api.post(`/api/containers/${id}/exec`, { command });
  return ExecResponse.parse(await res.json());
}

async function volumeOf(id: string) {
  const info = await docker.getContainer(`artie-${id}`).inspect();
  const mount = info.Mounts.find((m) => m.Destination === "/app/node_modules");
  if (!mount?.Name) throw new Error(`no dependency volume on ${id}`);
  return { name: mount.Name, labels: (await docker.getVolume(mount.Name).inspect()).Labels ?? {} };
}

describe("two tenants, one repo", () => {
  it("never share dependencies or main images; one tenant's environments still share", async () => {
    const a = await environment({ tenant: A, buildMainImage: true });
    const planted = await exec(a.id, ["sh", "-c", "echo planted > /app/node_modules/planted-by-a && echo ok"]);
    expect(planted.stdout.trim()).toBe("ok");

    const b = await environment({ tenant: B, buildMainImage: true });
    const listing = await exec(b.id, ["ls", "-A", "/app/node_modules"]);
    expect(listing.stdout).toContain("greet");
    expect(listing.stdout).not.toContain("planted-by-a");

    const [va, vb] = [await volumeOf(a.id), await volumeOf(b.id)];
    expect(va.name).not.toBe(vb.name);
    expect(va.name).toMatch(/^artie-deps-[0-9a-f]{24}$/);
    expect(va.labels).toMatchObject({
      [ARTIFACT_LABEL.tenant]: A,
      [ARTIFACT_LABEL.repo]: REPO,
      "artie.managed": "true",
    });
    expect(vb.labels).toMatchObject({ [ARTIFACT_LABEL.tenant]: B, [ARTIFACT_LABEL.repo]: REPO });
    expect(va.labels[ARTIFACT_LABEL.lockHash]).toMatch(/^[0-9a-f]{64}$/);
    expect(va.labels[ARTIFACT_LABEL.lockHash]).toBe(vb.labels[ARTIFACT_LABEL.lockHash]);

    const [tagA, tagB] = [mainImageTag(A, REPO), mainImageTag(B, REPO)];
    expect(tagA).not.toBe(tagB);
    expect(mine(a.id).find((r) => r.body.mainImage)!.body.mainImage!.tag).toBe(tagA);
    expect(mine(b.id).find((r) => r.body.mainImage)!.body.mainImage!.tag).toBe(tagB);
    const [imageA, imageB] = [await docker.getImage(tagA).inspect(), await docker.getImage(tagB).inspect()];
    expect(imageA.Id).not.toBe(imageB.Id);
    expect(imageA.Config.Labels).toMatchObject({ [ARTIFACT_LABEL.tenant]: A, [ARTIFACT_LABEL.repo]: REPO });
    expect(imageB.Config.Labels).toMatchObject({ [ARTIFACT_LABEL.tenant]: B, [ARTIFACT_LABEL.repo]: REPO });

    // Tenant B warm from its own main image: still nothing of A's.
    const b2 = await environment({ tenant: B, hasMainImage: true });
    expect((await docker.getContainer(`artie-${b2.id}`).inspect()).Config.Image).toBe(tagB);
    expect((await exec(b2.id, ["ls", "-A", "/app/node_modules"])).stdout).not.toContain("planted-by-a");

    // Within tenant A sharing is as before: same volume, install skipped, A's own file there.
    const a2 = await environment({ tenant: A, hasMainImage: true });
    expect((await volumeOf(a2.id)).name).toBe(va.name);
    expect((await exec(a2.id, ["ls", "-A", "/app/node_modules"])).stdout).toContain("planted-by-a");
  });

  it("refuses another tenant's main image as a requested image, by name, by retag, and at create", async () => {
    const tagA = mainImageTag(A, REPO);
    expect(await docker.getImage(tagA).inspect()).toBeTruthy();
    const retag = `test-innocent-${process.pid}`;
    await docker.getImage(tagA).tag({ repo: retag, tag: "latest" });
    onTestFinished(() =>
      docker
        .getImage(`${retag}:latest`)
        .remove()
        .then(
          () => undefined,
          () => undefined,
        ),
    );
    for (const image of [tagA, `${retag}:latest`]) {
      const error = await setupError({ tenant: B, image });
      expect(error, image).toContain(`The image ${image} belongs to another team`);
    }
    // Tenant A's own main image is A's to ask for.
    expect(await setupError({ tenant: A, image: tagA })).toBeUndefined();

    const name = `test-from-main-${process.pid}`;
    const res = await agent.api.post("/api/containers", { name, id: `t-from-main-${process.pid}`, image: tagA });
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status).toBe(403);
    expect(body.error.code).toBe("policy_violation");
    expect(body.error.message).toContain("main image the agent built");
  });

  it("a setup without a tenant uses the default tenant's artifacts, apart from both", async () => {
    const d = await environment({});
    const v = await volumeOf(d.id);
    expect(v.labels[ARTIFACT_LABEL.tenant]).toBe("default");
    expect((await exec(d.id, ["ls", "-A", "/app/node_modules"])).stdout).not.toContain("planted-by-a");
  });
});

describe("look-alike repositories", () => {
  it("acme-x/y and acme/x-y never share a volume", async () => {
    const [x, y] = [await environment({ repo: LOOKALIKES[0] }), await environment({ repo: LOOKALIKES[1] })];
    const [vx, vy] = [await volumeOf(x.id), await volumeOf(y.id)];
    expect(vx.name).not.toBe(vy.name);
    expect(vx.labels[ARTIFACT_LABEL.repo]).toBe("acme-x/y");
    expect(vy.labels[ARTIFACT_LABEL.repo]).toBe("acme/x-y");
    expect(vx.labels[ARTIFACT_LABEL.lockHash]).toBe(vy.labels[ARTIFACT_LABEL.lockHash]);
    expect(mainImageTag("default", LOOKALIKES[0]!)).not.toBe(mainImageTag("default", LOOKALIKES[1]!));
  });
});
