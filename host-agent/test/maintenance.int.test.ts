/**
 * Maintenance against the real engine: a host the test fills with old main images (their age the
 * engine's Created, set by loading them with an old `created`), a dangling image the agent made,
 * dependency volumes idle and in use (their last use the agent's record, DATA_DIR/volume-use),
 * repo caches (their last fetch), an orphaned container, and a running container whose image is
 * old. A dry run reports and removes nothing; the prune then removes exactly what the dry run
 * said, and /health shows it. The disk guard answers 507 with the threshold above the free space.
 * Everything the test makes carries its own label value, and the agent is told to prune only
 * that (PRUNE_ONLY_LABEL), with a DATA_DIR of its own: other tests share the engine.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthResponse, PruneReport } from "../src/api/contract.js";
import { LABEL, containerName, toLabels } from "../src/docker/labels.js";
import { summarize } from "../src/maintenance/maintenance.js";
import { mainImageTag } from "../src/setup/artifact-names.js";
import { startTestAgent, uniqueName } from "./helpers/agent.js";
import { docker } from "./helpers/docker.js";
import { loadImage, removeImages } from "./helpers/image-fixtures.js";
import { BUSYBOX_IMAGE } from "./helpers/images.js";

const RUN = randomBytes(4).toString("hex");
const RUN_LABEL = "artie.test-run";
const OURS = { [RUN_LABEL]: RUN };
const TENANT = `t${RUN}`;
const OLD = new Date(Date.UTC(2020, 0, 1));
const HOUR = 3600_000;
/** The orphan rule's age, short enough for the test to wait it out: 1.8 s. */
const ORPHAN_MAX_AGE_HOURS = "0.0005";

const mainLabels = (repo: string) => ({
  ...OURS,
  [LABEL.managed]: "true",
  "artie.tenant": TENANT,
  "artie.repo": repo,
  "artie.main-commit": "0".repeat(40),
  "artie.lock-hash": "1".repeat(64),
  "artie.base-image": BUSYBOX_IMAGE,
});

const made = { images: [] as string[], volumes: [] as string[], containers: [] as string[] };
let dataDir: string;

async function volume(name: string, lastUsed: Date | null) {
  await docker.createVolume({ Name: name, Labels: { ...OURS, [LABEL.managed]: "true", [LABEL.volume]: name } });
  made.volumes.push(name);
  if (!lastUsed) return;
  const file = path.join(dataDir, "volume-use", name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, "");
  await utimes(file, lastUsed, lastUsed);
}

async function repoCache(repo: string, fetchedAt: Date) {
  const dir = path.join(dataDir, "repo-cache", `${repo}.git`);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "HEAD"), "ref: refs/heads/main\n");
  await writeFile(path.join(dir, "artie-fetched-with"), "anonymous");
  await utimes(path.join(dir, "artie-fetched-with"), fetchedAt, fetchedAt);
  return dir;
}

const exists = {
  image: (ref: string) =>
    docker
      .getImage(ref)
      .inspect()
      .then(
        () => true,
        () => false,
      ),
  volume: (name: string) =>
    docker
      .getVolume(name)
      .inspect()
      .then(
        () => true,
        () => false,
      ),
  container: (ref: string) =>
    docker
      .getContainer(ref)
      .inspect()
      .then(
        () => true,
        () => false,
      ),
};

describe("maintenance", () => {
  const names = {
    legacyOld: `test-${RUN}-acme-legacy:main`,
    current: mainImageTag(TENANT, "acme/app"),
    liveOld: `test-${RUN}-acme-live:main`,
    young: `test-${RUN}-acme-young:main`,
    idleVolume: `test-${RUN}-deps-idle`,
    freshVolume: `test-${RUN}-deps-fresh`,
    unrecordedVolume: `test-${RUN}-deps-unrecorded`,
    mountedVolume: `test-${RUN}-deps-mounted`,
  };
  let dangling: string;
  let orphanId: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "artie-maint-"));
    await loadImage({ tag: names.legacyOld, labels: mainLabels("acme/legacy"), created: OLD });
    await loadImage({ tag: names.current, labels: mainLabels("acme/app"), created: OLD });
    await loadImage({ tag: names.liveOld, labels: mainLabels("acme/live"), created: OLD });
    await loadImage({ tag: names.young, labels: mainLabels("acme/young"), created: new Date() });
    dangling = await loadImage({ tag: null, labels: mainLabels("acme/app"), created: new Date() });
    made.images.push(names.legacyOld, names.current, names.liveOld, names.young, dangling);

    await volume(names.idleVolume, new Date(Date.now() - 200 * HOUR));
    await volume(names.freshVolume, new Date());
    await volume(names.unrecordedVolume, null);
    await volume(names.mountedVolume, new Date(Date.now() - 200 * HOUR));
    await repoCache("acme/old", new Date(Date.now() - 200 * HOUR));
    await repoCache("acme/fresh", new Date());

    // The live container: running, not the agent's, from an old main image, mounting a volume.
    const live = await docker.createContainer({
      name: `test-${RUN}-live`,
      Image: names.liveOld,
      Cmd: ["sleep", "300"],
      Labels: OURS,
      HostConfig: { Binds: [`${names.mountedVolume}:/deps`] },
    });
    made.containers.push(live.id);
    await live.start();

    // The orphan: a managed container (the agent's labels) that exited and was never touched again.
    orphanId = uniqueName("orphan").id;
    const labels = toLabels({
      id: orphanId,
      name: `test-${RUN}-orphan`,
      ports: [{ containerPort: 3000, hostPort: 19999 }],
      pool: false,
      createdAt: new Date().toISOString(),
      volumeName: null,
      networkName: null,
    });
    const orphan = await docker.createContainer({
      name: containerName(orphanId),
      Image: BUSYBOX_IMAGE,
      Cmd: ["true"],
      Labels: { ...labels, ...OURS },
    });
    made.containers.push(orphan.id);
    await orphan.start();
    await orphan.wait();
    // Past ORPHAN_MAX_AGE_HOURS since it finished.
    await new Promise((r) => setTimeout(r, 2_500));
  }, 120_000);

  afterAll(async () => {
    for (const id of made.containers)
      await docker
        .getContainer(id)
        .remove({ force: true })
        .catch(() => undefined);
    await removeImages(made.images);
    for (const v of made.volumes)
      await docker
        .getVolume(v)
        .remove()
        .catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  it("a dry run reports exactly what goes and removes nothing; the prune then removes just that", async () => {
    const agent = await startTestAgent({
      DATA_DIR: dataDir,
      PRUNE_ONLY_LABEL: `${RUN_LABEL}=${RUN}`,
      ORPHAN_MAX_AGE_HOURS,
      CONTAINER_NETWORK: "bridge",
    });
    try {
      const dry = PruneReport.parse(await (await agent.api.post("/api/maintenance/prune", { dryRun: true })).json());
      const expected = [
        ["main-image", names.legacyOld],
        ["dangling-image", dangling],
        ["dependency-volume", names.idleVolume],
        ["repo-cache", "acme/old"],
        ["orphan-container", orphanId],
      ].sort();
      expect(dry.dryRun).toBe(true);
      expect(dry.removed.map((i) => [i.kind, i.name]).sort()).toEqual(expected);
      expect(dry.errors).toEqual([]);
      // Nothing went.
      expect(await exists.image(names.legacyOld)).toBe(true);
      expect(await exists.image(dangling)).toBe(true);
      expect(await exists.volume(names.idleVolume)).toBe(true);
      expect(await exists.container(containerName(orphanId))).toBe(true);

      const res = await agent.api.post("/api/maintenance/prune", {});
      expect(res.status).toBe(200);
      const report = PruneReport.parse(await res.json());
      expect(report.dryRun).toBe(false);
      expect(report.errors).toEqual([]);
      expect(report.removed.map((i) => [i.kind, i.name]).sort()).toEqual(expected);
      expect(report.bytesFreed).toBeGreaterThan(0);

      // Gone: exactly those.
      expect(await exists.image(names.legacyOld)).toBe(false);
      expect(await exists.image(dangling)).toBe(false);
      expect(await exists.volume(names.idleVolume)).toBe(false);
      expect(await exists.container(containerName(orphanId))).toBe(false);
      await expect(
        import("node:fs/promises").then((fs) => fs.stat(path.join(dataDir, "repo-cache/acme/old.git"))),
      ).rejects.toThrow();
      // Kept: the newest good main image of its repo (old as it is), the live container's old
      // image and its volume, a young main image, volumes used lately or never recorded.
      for (const image of [names.current, names.liveOld, names.young]) expect(await exists.image(image)).toBe(true);
      for (const v of [names.freshVolume, names.unrecordedVolume, names.mountedVolume])
        expect(await exists.volume(v)).toBe(true);
      expect(await exists.container(`test-${RUN}-live`)).toBe(true);

      const health = HealthResponse.parse(await (await fetch(`${agent.url}/health`)).json());
      // In counts only: the names (private repos' caches among them) need the API secret.
      expect(health.maintenance?.lastRun).toEqual(summarize(report));
      expect(JSON.stringify(health)).not.toContain("acme/old");
      expect(health.maintenance?.intervalMinutes).toBe(0);
      expect(health.maintenance?.running).toBe(false);
      expect(health.capacity?.containers.total).toBeGreaterThanOrEqual(0);
      expect(health.capacity?.images).toBeGreaterThan(0);
      expect(health.capacity?.disk.freeBytes).toBeGreaterThan(0);
      expect(health.capacity?.source).toBe("os");
      expect(health.images?.find((i) => i.image === BUSYBOX_IMAGE)).toMatchObject({ state: "present", attempts: 0 });

      // A second prune finds nothing more of the test's: the unrecorded volume's clock started now.
      const again = PruneReport.parse(await (await agent.api.post("/api/maintenance/prune", {})).json());
      expect(again.removed).toEqual([]);
    } finally {
      await agent.close();
    }
  }, 120_000);

  it("only orphans with scope orphans, and the prune needs the API secret", async () => {
    const agent = await startTestAgent({
      DATA_DIR: dataDir,
      PRUNE_ONLY_LABEL: `${RUN_LABEL}=${RUN}`,
      CONTAINER_NETWORK: "bridge",
    });
    try {
      const unauthorized = await fetch(`${agent.url}/api/maintenance/prune`, { method: "POST" });
      expect(unauthorized.status).toBe(401);
      const report = PruneReport.parse(
        await (await agent.api.post("/api/maintenance/prune", { dryRun: true, scope: "orphans" })).json(),
      );
      expect(report.scope).toBe("orphans");
      expect(report.removed).toEqual([]);
      // One sweep at a time: a second request like the running one joins it (the same report),
      // one unlike it waits for it and runs after.
      const prune = async (body: object) =>
        PruneReport.parse(await (await agent.api.post("/api/maintenance/prune", body)).json());
      const [a, b, c] = await Promise.all([
        prune({ dryRun: true }),
        prune({ dryRun: true }),
        prune({ dryRun: true, scope: "orphans" }),
      ]);
      expect(b).toEqual(a);
      expect(Date.parse(c.startedAt)).toBeGreaterThanOrEqual(Date.parse(a.finishedAt));
    } finally {
      await agent.close();
    }
  }, 60_000);
});

describe("disk guard", () => {
  it("answers 507 to creates and setups below MIN_FREE_DISK_GB, and /health says degraded", async () => {
    const agent = await startTestAgent({ MIN_FREE_DISK_GB: "1000000", CONTAINER_NETWORK: "bridge" });
    try {
      const { name, id } = uniqueName("disk");
      const create = await agent.api.post("/api/containers", { name, id });
      expect(create.status).toBe(507);
      const body = (await create.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("insufficient_storage");
      expect(body.error.message).toMatch(/free on .*npx artie-host prune/s);
      const setup = await agent.api.post(`/api/containers/${id}/setup`, {});
      expect(setup.status).toBe(507);

      const res = await fetch(`${agent.url}/health`);
      expect(res.status).toBe(200);
      const health = HealthResponse.parse(await res.json());
      expect(health.status).toBe("degraded");
      expect(health.problems?.[0]).toMatch(/MIN_FREE_DISK_GB/);
      expect(health.capacity?.disk.low).toBe(true);
    } finally {
      await agent.close();
    }
  }, 60_000);
});
