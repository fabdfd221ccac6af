/**
 * Container lifecycle in the control plane (convex-test): requesting environments claims pooled
 * containers atomically or creates records, refuses repos not on docker, keeps teams apart, and
 * applies callbacks through the transition table so stale ones never move a record backwards.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { ALICE, BOB, setupTest } from "./test.setup";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

async function dockerRepo(t: ReturnType<typeof setupTest>, runtime: "docker" | "firecracker" = "docker") {
  return t.withIdentity(ALICE).mutation(api.repos.setRuntime, { owner: "acme", name: "shop", runtime });
}

async function insertPooled(t: ReturnType<typeof setupTest>, n: number) {
  return t.run(async (ctx) => {
    const ids: Id<"containers">[] = [];
    for (let i = 0; i < n; i++) {
      ids.push(
        await ctx.db.insert("containers", {
          agentId: `pool-${i}`,
          status: "pooled",
          pool: true,
          phaseStartedAt: {},
          phaseDurations: {},
          lastSequence: 0,
          createdAt: 1000 + i,
          statusChangedAt: 1000 + i,
          lastActivityAt: 1000 + i,
        }),
      );
    }
    return ids;
  });
}

describe("request", () => {
  it("refuses a repo that is not on docker", async () => {
    const t = setupTest();
    const repoId = await dockerRepo(t, "firecracker");
    await expect(t.withIdentity(ALICE).mutation(api.containers.request, { repoId, branch: "main" })).rejects.toThrow(
      /switch its runtime to docker/,
    );
  });

  it("refuses anonymous callers and other users' repos", async () => {
    const t = setupTest();
    const repoId = await dockerRepo(t);
    await expect(t.mutation(api.containers.request, { repoId, branch: "main" })).rejects.toThrow(/Sign in/);
    await expect(t.withIdentity(BOB).mutation(api.containers.request, { repoId, branch: "main" })).rejects.toThrow(
      /No such repo/,
    );
  });

  it("refuses a branch or default branch git would not take, with the agent's own rule", async () => {
    const t = setupTest();
    const repoId = await dockerRepo(t);
    for (const branch of ["-x", "a..b", "feature/", ".hidden", "x.lock", "a b"])
      await expect(t.withIdentity(ALICE).mutation(api.containers.request, { repoId, branch })).rejects.toThrow(
        /is not a branch name/,
      );
    await expect(
      t
        .withIdentity(ALICE)
        .mutation(api.repos.setRuntime, { owner: "acme", name: "x", defaultBranch: "--all", runtime: "docker" }),
    ).rejects.toThrow(/--all.* is not a branch name/);
  });

  it("claims the oldest pooled container", async () => {
    const t = setupTest();
    const repoId = await dockerRepo(t);
    const [oldest] = await insertPooled(t, 3);
    const id = await t.withIdentity(ALICE).mutation(api.containers.request, { repoId, branch: "main" });
    expect(id).toBe(oldest);
    const c = await t.run((ctx) => ctx.db.get("containers", id));
    expect(c).toMatchObject({
      status: "assigned",
      pool: false,
      branch: "main",
      requestedBy: ALICE.tokenIdentifier,
    });
    const repo = await t.run((ctx) => ctx.db.get("repos", repoId));
    expect(c?.teamId).toBe(repo?.teamId);
  });

  it("creates a record when the pool is empty, and replenishes the pool", async () => {
    const t = setupTest();
    const repoId = await dockerRepo(t);
    const id = await t.withIdentity(ALICE).mutation(api.containers.request, { repoId, branch: "main" });
    const all = await t.run((ctx) => ctx.db.query("containers").collect());
    expect(all.find((c) => c._id === id)).toMatchObject({ status: "creating", pool: false });
    // Pool below minSize (1): replenished at once, but the request's own creation counts
    // against maxCreating (2), so one pool container is created now, the rest by the cron.
    expect(all.filter((c) => c.pool && c.status === "creating")).toHaveLength(1);
    expect(all.filter((c) => c.status === "creating")).toHaveLength(2);
  });

  it("never gives one pooled container to two concurrent requests", async () => {
    const t = setupTest();
    const repoId = await dockerRepo(t);
    const pooled = await insertPooled(t, 4);
    // Five: the most one user may have (quota) and ask for at once (rate limit).
    const ids = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        t.withIdentity(ALICE).mutation(api.containers.request, { repoId, branch: `b${i}` }),
      ),
    );
    expect(new Set(ids).size).toBe(5);
    expect(ids.filter((id) => pooled.includes(id)).sort()).toEqual([...pooled].sort());
    const branches = await t.run(async (ctx) =>
      Promise.all(ids.map(async (id) => (await ctx.db.get("containers", id))!.branch)),
    );
    expect(new Set(branches).size).toBe(5);
  });

  it("shows users only their own environments", async () => {
    const t = setupTest();
    const repoId = await dockerRepo(t);
    const id = await t.withIdentity(ALICE).mutation(api.containers.request, { repoId, branch: "main" });
    expect((await t.withIdentity(ALICE).query(api.containers.list, {})).map((c) => c._id)).toContain(id);
    expect(await t.withIdentity(BOB).query(api.containers.list, {})).toEqual([]);
    await expect(t.withIdentity(BOB).mutation(api.containers.destroy, { containerId: id })).rejects.toThrow(
      /No such environment/,
    );
  });
});

describe("callbacks through the transition table", () => {
  const callback = (agentId: string, phase: string, sequence: number, extra: object = {}) =>
    JSON.stringify({
      containerId: agentId,
      phase,
      sequence,
      at: 1,
      previousPhaseMs: 10,
      repo: "acme/shop",
      branch: "main",
      ...extra,
    });

  it("moves forward, records durations, and drops stale or backwards callbacks", async () => {
    const t = setupTest();
    const repoId = await dockerRepo(t);
    await insertPooled(t, 1);
    const id = await t.withIdentity(ALICE).mutation(api.containers.request, { repoId, branch: "main" });
    const receive = (body: string, webhookId: string) => t.mutation(internal.callbacks.receive, { webhookId, body });

    expect(await receive(callback("pool-0", "cloning", 10), "w1")).toBe("applied");
    expect(await receive(callback("pool-0", "installing", 20), "w2")).toBe("applied");
    expect(await receive(callback("pool-0", "cloning", 15), "w3")).toBe("stale"); // older sequence
    expect(await receive(callback("pool-0", "starting", 30), "w4")).toBe("applied");
    expect(await receive(callback("pool-0", "ready", 40, { hostPort: 10001, url: "http://h:10001" }), "w5")).toBe(
      "applied",
    );
    expect(await receive(callback("pool-0", "installing", 50), "w6")).toBe("stale"); // backwards
    expect(await receive(callback("pool-0", "ready", 40), "w5")).toBe("duplicate");

    const c = (await t.run((ctx) => ctx.db.get("containers", id)))!;
    expect(c).toMatchObject({ status: "ready", hostPort: 10001, url: "http://h:10001", lastSequence: 40 });
    expect(c.phaseDurations).toMatchObject({ cloning: 10, installing: 10, starting: 10 });
  });

  it("records a main image on the repo from a ready callback", async () => {
    const t = setupTest();
    const repoId = await dockerRepo(t);
    await insertPooled(t, 1);
    await t.withIdentity(ALICE).mutation(api.containers.request, { repoId, branch: "main" });
    for (const [i, phase] of ["cloning", "installing", "starting", "ready"].entries()) {
      await t.mutation(internal.callbacks.receive, { webhookId: `m${i}`, body: callback("pool-0", phase, i + 1) });
    }
    await t.mutation(internal.callbacks.receive, {
      webhookId: "m9",
      body: callback("pool-0", "ready", 9, {
        mainImage: { tag: "acme-shop:main", commit: "a".repeat(40), buildMs: 4200 },
      }),
    });
    const repo = await t.run((ctx) => ctx.db.get("repos", repoId));
    expect(repo?.mainImage).toMatchObject({ tag: "acme-shop:main", commit: "a".repeat(40), buildMs: 4200 });
    // A later setup that only used the image (no build, no duration) leaves the record alone.
    await t.mutation(internal.callbacks.receive, {
      webhookId: "m10",
      body: callback("pool-0", "ready", 10, { mainImage: { tag: "acme-shop:main", commit: "b".repeat(40) } }),
    });
    const after = await t.run((ctx) => ctx.db.get("repos", repoId));
    expect(after?.mainImage).toEqual(repo?.mainImage);
  });

  it("shows an environment's detail to its owner only", async () => {
    const t = setupTest();
    const repoId = await dockerRepo(t);
    const id = await t.withIdentity(ALICE).mutation(api.containers.request, { repoId, branch: "main" });
    expect(await t.withIdentity(ALICE).query(api.containers.detail, { containerId: id })).toMatchObject({
      _id: id,
      branch: "main",
      status: "creating",
    });
    expect(await t.withIdentity(BOB).query(api.containers.detail, { containerId: id })).toBeNull();
    expect(await t.withIdentity(ALICE).query(api.containers.detail, { containerId: "not-an-id" })).toBeNull();
    await expect(t.query(api.containers.detail, { containerId: id })).rejects.toThrow(/Sign in first/);
  });

  it("puts a restart on the timeline and counts it as activity, unless the record is gone", async () => {
    const t = setupTest();
    const repoId = await dockerRepo(t);
    const id = await t.withIdentity(ALICE).mutation(api.containers.request, { repoId, branch: "main" });
    const before = (await t.run((ctx) => ctx.db.get("containers", id)))!.lastActivityAt;
    vi.advanceTimersByTime(60_000);
    await t.mutation(internal.hostReports.markRestarted, { containerId: id });
    const after = await t.run((ctx) => ctx.db.get("containers", id));
    expect(after!.lastActivityAt).toBe(before + 60_000);
    const events = await t.withIdentity(ALICE).query(api.containers.events, { containerId: id });
    expect(events.at(-1)).toMatchObject({ status: "creating", message: "container restarted" });

    await t.run((ctx) => ctx.db.patch("containers", id, { status: "destroyed" }));
    await t.mutation(internal.hostReports.markRestarted, { containerId: id });
    expect(await t.withIdentity(ALICE).query(api.containers.events, { containerId: id })).toHaveLength(events.length);
  });
});
