/**
 * The background jobs: the cron schedule itself, the watchdog failing a silent step, the idle
 * reaper (pooled exempt), reconcile marking vanished containers and naming orphans, and the
 * forgetting of old webhook ids.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, internal } from "./_generated/api";
import crons from "./crons";
import { POOL_DEFAULTS, SEEN_WEBHOOK_RETENTION_MS, WATCHDOG_MS } from "./limits";
import { ALICE, setupTest } from "./test.setup";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

const base = { phaseStartedAt: {}, phaseDurations: {}, lastSequence: 0 };

describe("crons", () => {
  it("schedules replenish, reconcile, reaper and webhook cleanup", () => {
    const jobs = (
      crons as unknown as {
        crons: Record<string, { name: string; schedule: { type: string; minutes?: number; hours?: number } }>;
      }
    ).crons;
    const byName = Object.fromEntries(
      Object.entries(jobs).map(([key, job]) => [key, { name: job.name, schedule: job.schedule }]),
    );
    expect(byName).toMatchObject({
      "replenish pool": { name: "pool:replenish", schedule: { type: "interval", minutes: 1 } },
      "reconcile with host": { name: "hostAgent:reconcile", schedule: { type: "interval", minutes: 5 } },
      "reap idle environments": { name: "maintenance:reapIdle", schedule: { type: "interval", minutes: 5 } },
      "forget old webhook ids": { name: "maintenance:forgetOldWebhooks", schedule: { type: "interval", hours: 1 } },
    });
  });
});

describe("watchdog", () => {
  it("fails a record whose step never reported back, and leaves one that moved on", async () => {
    const t = setupTest();
    const repoId = await t
      .withIdentity(ALICE)
      .mutation(api.repos.setRuntime, { owner: "acme", name: "shop", runtime: "docker" });
    const now = Date.now();
    const [stuck, moved] = await t.run(async (ctx) => [
      await ctx.db.insert("containers", {
        ...base,
        agentId: "a1",
        status: "cloning",
        pool: false,
        repoId,
        createdAt: now,
        statusChangedAt: now,
        lastActivityAt: now,
      }),
      await ctx.db.insert("containers", {
        ...base,
        agentId: "a2",
        status: "installing",
        pool: false,
        repoId,
        createdAt: now,
        statusChangedAt: now + 1,
        lastActivityAt: now,
      }),
    ]);
    await t.mutation(internal.maintenance.watchdog, { containerId: stuck, status: "cloning", since: now });
    await t.mutation(internal.maintenance.watchdog, { containerId: moved, status: "cloning", since: now });
    const [a, b] = await t.run(async (ctx) => [
      await ctx.db.get("containers", stuck),
      await ctx.db.get("containers", moved),
    ]);
    expect(a).toMatchObject({ status: "error" });
    expect(a?.error).toMatch(/No progress from the host/);
    expect(b?.status).toBe("installing");
    expect(WATCHDOG_MS.cloning).toBeGreaterThan(0);
  });
});

describe("reaper", () => {
  it("destroys environments idle past the limit, never pooled ones", async () => {
    const t = setupTest();
    const now = Date.now();
    const old = now - POOL_DEFAULTS.idleLimitMinutes * 60_000 - 1000;
    const ids = await t.run(async (ctx) => ({
      idle: await ctx.db.insert("containers", {
        ...base,
        agentId: "i1",
        status: "ready",
        pool: false,
        createdAt: old,
        statusChangedAt: old,
        lastActivityAt: old,
      }),
      busy: await ctx.db.insert("containers", {
        ...base,
        agentId: "i2",
        status: "ready",
        pool: false,
        createdAt: old,
        statusChangedAt: old,
        lastActivityAt: now,
      }),
      pooled: await ctx.db.insert("containers", {
        ...base,
        agentId: "i3",
        status: "pooled",
        pool: true,
        createdAt: old,
        statusChangedAt: old,
        lastActivityAt: old,
      }),
    }));
    expect(await t.mutation(internal.maintenance.reapIdle, {})).toBe(1);
    const statuses = await t.run(async (ctx) => ({
      idle: (await ctx.db.get("containers", ids.idle))!.status,
      busy: (await ctx.db.get("containers", ids.busy))!.status,
      pooled: (await ctx.db.get("containers", ids.pooled))!.status,
    }));
    expect(statuses).toEqual({ idle: "destroying", busy: "ready", pooled: "pooled" });
  });
});

describe("reconcile", () => {
  it("marks records whose container vanished and names containers no record knows", async () => {
    const t = setupTest();
    const now = Date.now();
    const ids = await t.run(async (ctx) => ({
      present: await ctx.db.insert("containers", {
        ...base,
        agentId: "on-host",
        status: "ready",
        pool: false,
        createdAt: now,
        statusChangedAt: now,
        lastActivityAt: now,
      }),
      vanished: await ctx.db.insert("containers", {
        ...base,
        agentId: "gone",
        status: "pooled",
        pool: true,
        createdAt: now,
        statusChangedAt: now,
        lastActivityAt: now,
      }),
      creating: await ctx.db.insert("containers", {
        ...base,
        agentId: "not-yet",
        status: "creating",
        pool: true,
        createdAt: now,
        statusChangedAt: now,
        lastActivityAt: now,
      }),
    }));
    const orphans = await t.mutation(internal.maintenance.reconcileWithHost, { agentIds: ["on-host", "stray"] });
    expect(orphans).toEqual(["stray"]);
    const after = await t.run(async (ctx) => ({
      present: (await ctx.db.get("containers", ids.present))!,
      vanished: (await ctx.db.get("containers", ids.vanished))!,
      creating: (await ctx.db.get("containers", ids.creating))!,
    }));
    expect(after.present.status).toBe("ready");
    expect(after.vanished.status).toBe("error");
    expect(after.vanished.error).toMatch(/gone from the host/);
    expect(after.creating.status).toBe("creating");
  });
});

describe("webhook id retention", () => {
  it("forgets ids older than the retention, keeps recent ones", async () => {
    const t = setupTest();
    const now = Date.now();
    await t.run(async (ctx) => {
      await ctx.db.insert("seenWebhooks", { webhookId: "old", receivedAt: now - SEEN_WEBHOOK_RETENTION_MS - 1 });
      await ctx.db.insert("seenWebhooks", { webhookId: "new", receivedAt: now });
    });
    await t.mutation(internal.maintenance.forgetOldWebhooks, {});
    const left = await t.run(async (ctx) => (await ctx.db.query("seenWebhooks").collect()).map((w) => w.webhookId));
    expect(left).toEqual(["new"]);
  });
});
