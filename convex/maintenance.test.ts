/**
 * The background jobs: the cron schedule itself, the watchdog failing a silent step, the idle
 * reaper stopping idle environments (pooled and busy ones exempt) and reaching every record
 * however many there are, reconcile marking vanished containers and naming orphans, and the
 * forgetting of old webhook ids, all of them.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, internal } from "./_generated/api";
import crons from "./crons";
import { CLEANUP_BATCH, CRON_BATCH, POOL_DEFAULTS, SEEN_WEBHOOK_RETENTION_MS, WATCHDOG_MS } from "./limits";
import { stubAgent } from "./test.agentStandIn";
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

/** A record as the reaper finds it: ready (unless said otherwise), created and last used at the given times. */
const record = (agentId: string, createdAt: number, lastActivityAt: number, status: "ready" | "pooled" = "ready") => ({
  ...base,
  agentId,
  status,
  pool: status === "pooled",
  createdAt,
  statusChangedAt: createdAt,
  lastActivityAt,
});

describe("reaper", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.unstubAllGlobals();
  });

  it("stops environments idle past the limit, never busy or pooled ones", async () => {
    const agent = stubAgent();
    const t = setupTest();
    const now = Date.now();
    const old = now - POOL_DEFAULTS.idleLimitMinutes * 60_000 - 1000;
    for (const id of ["env-idle", "env-busy", "env-pooled"]) agent.hold(id);
    const ids = await t.run(async (ctx) => ({
      idle: await ctx.db.insert("containers", record("env-idle", old, old)),
      busy: await ctx.db.insert("containers", record("env-busy", old, now)),
      pooled: await ctx.db.insert("containers", record("env-pooled", old, old, "pooled")),
    }));
    expect(await t.mutation(internal.maintenance.reapIdle, {})).toEqual({ stopping: 1, destroying: 0 });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const statuses = await t.run(async (ctx) => ({
      idle: (await ctx.db.get("containers", ids.idle))!.status,
      busy: (await ctx.db.get("containers", ids.busy))!.status,
      pooled: (await ctx.db.get("containers", ids.pooled))!.status,
    }));
    expect(statuses).toEqual({ idle: "stopped", busy: "ready", pooled: "pooled" });
    expect(agent.requests.filter((r) => r.method === "POST")).toEqual([
      // The idle deadline it judged by goes along: the agent keeps one used since (409 in_use).
      {
        method: "POST",
        path: "/api/containers/env-idle/stop",
        body: { unlessUsedAfter: now - POOL_DEFAULTS.idleLimitMinutes * 60_000 },
      },
    ]);
    expect(agent.containers.get("env-idle")?.state).toBe("exited");
  });

  it("reaches every record: with 250 busy older environments, the 5 idle newer ones are stopped", async () => {
    const agent = stubAgent();
    const t = setupTest();
    const now = Date.now();
    const old = now - POOL_DEFAULTS.idleLimitMinutes * 60_000 - 1000;
    await t.run(async (ctx) => {
      for (let i = 0; i < 250; i++) await ctx.db.insert("containers", record(`busy-${i}`, old - 10_000 + i, now));
      for (let i = 0; i < 5; i++) await ctx.db.insert("containers", record(`idle-${i}`, old + i, old));
    });
    for (let i = 0; i < 5; i++) agent.hold(`idle-${i}`);
    // One run reads one bounded page: the oldest CRON_BATCH, all busy.
    expect(await t.mutation(internal.maintenance.reapIdle, {})).toEqual({ stopping: 0, destroying: 0 });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const all = await t.run((ctx) => ctx.db.query("containers").collect());
    const byStatus = (prefix: string) => all.filter((c) => c.agentId.startsWith(prefix)).map((c) => c.status);
    expect(byStatus("idle-")).toEqual(Array(5).fill("stopped"));
    expect(new Set(byStatus("busy-"))).toEqual(new Set(["ready"]));
    expect(byStatus("busy-")).toHaveLength(250);
    expect(agent.calls("POST", "/stop")).toHaveLength(5);
    expect(CRON_BATCH).toBeLessThan(250);
  });
});

describe("reconcile", () => {
  it("marks records whose container vanished, and names containers no record knows", async () => {
    const t = setupTest();
    const now = Date.now();
    const ids = await t.run(async (ctx) => ({
      present: await ctx.db.insert("containers", record("on-host", now, now)),
      vanished: await ctx.db.insert("containers", record("gone", now, now, "pooled")),
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
    const orphans = await t.mutation(internal.maintenance.noteListed, {
      containers: [{ agentId: "on-host" }, { agentId: "stray" }],
    });
    expect(orphans).toEqual(["stray"]);
    vi.advanceTimersByTime(1000);
    await t.mutation(internal.maintenance.reconcileWithHost, { agentIds: ["on-host", "stray"], listedAt: Date.now() });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
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

  it("walks every record, and leaves alone one that changed after the list was taken", async () => {
    const t = setupTest();
    const now = Date.now();
    await t.run(async (ctx) => {
      for (let i = 0; i < 230; i++) await ctx.db.insert("containers", record(`r-${i}`, now - 1000 + i, now - 1000));
      await ctx.db.insert("containers", { ...record("moved-since", now, now), statusChangedAt: now + 5 });
    });
    const listed = Array.from({ length: 230 }, (_, i) => `r-${i}`).filter((id) => id !== "r-229");
    await t.mutation(internal.maintenance.reconcileWithHost, { agentIds: listed, listedAt: now });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const all = await t.run((ctx) => ctx.db.query("containers").collect());
    expect(all.filter((c) => c.status === "error").map((c) => c.agentId)).toEqual(["r-229"]);
    expect(all.find((c) => c.agentId === "moved-since")?.status).toBe("ready");
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

  it("forgets every old id, a bounded batch per run, however many there are", async () => {
    const t = setupTest();
    const old = Date.now() - SEEN_WEBHOOK_RETENTION_MS - 1;
    await t.run(async (ctx) => {
      for (let i = 0; i < 2 * CLEANUP_BATCH + 5; i++)
        await ctx.db.insert("seenWebhooks", { webhookId: `o${i}`, receivedAt: old });
      await ctx.db.insert("seenWebhooks", { webhookId: "new", receivedAt: Date.now() });
    });
    expect(await t.mutation(internal.maintenance.forgetOldWebhooks, {})).toBe(CLEANUP_BATCH);
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const left = await t.run(async (ctx) => (await ctx.db.query("seenWebhooks").collect()).map((w) => w.webhookId));
    expect(left).toEqual(["new"]);
  });
});
