/**
 * Stopped, then destroyed (convex-test, the agent a stand-in: test.agentStandIn.ts): the reaper
 * stops an idle environment through the agent's stop endpoint and destroys it only once it has
 * been stopped for the second limit; Stop and Start for a team's members (Start is a use, and
 * the agent's callbacks bring it back to ready); the deadlines each environment shows; a stop
 * the agent cannot make, and a start of a container the host lost.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { DESTROY_RETRY, POOL_DEFAULTS } from "./limits";
import { stubAgent, type AgentStandIn } from "./test.agentStandIn";
import { agentCallbackBody, ALICE, aliceRepo, insertReady, setupTest } from "./test.setup";

const MINUTE = 60_000;
const IDLE_MS = POOL_DEFAULTS.idleLimitMinutes * MINUTE;
const STOPPED_MS = POOL_DEFAULTS.stoppedLimitMinutes * MINUTE;

let agent: AgentStandIn;
beforeEach(() => {
  vi.useFakeTimers();
  agent = stubAgent();
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

type T = ReturnType<typeof setupTest>;

/** A ready environment of Alice's team, used last now; held by the agent unless said otherwise. */
async function readyEnvironment(t: T, agentId = "env-work", onHost = true): Promise<Id<"containers">> {
  const repo = await aliceRepo(t);
  if (onHost) agent.hold(agentId);
  return insertReady(t, repo, agentId);
}

const get = async (t: T, id: Id<"containers">) => (await t.run((ctx) => ctx.db.get("containers", id)))!;
/**
 * Runs what is due now (agent calls, the reaper's next pages) and what that schedules, leaving
 * the watchdogs' later deadlines alone: those would fail a start waiting for its callbacks.
 */
const settle = (t: T) => t.finishAllScheduledFunctions(() => vi.advanceTimersByTime(0));
/** One reaper walk; answers what its first page (the ready ones) asked for. */
async function reap(t: T) {
  const result = await t.mutation(internal.maintenance.reapIdle, {});
  await settle(t);
  return result;
}

describe("the reaper: stopped, then destroyed", () => {
  it("asks the host first and keeps an environment used there since the idle limit, taking in that use", async () => {
    const t = setupTest();
    const id = await readyEnvironment(t);
    vi.advanceTimersByTime(IDLE_MS + MINUTE);
    // Used on the host a minute ago; the reconcile has not brought that here yet.
    const usedAt = Date.now() - MINUTE;
    agent.containers.get("env-work")!.lastActivityAt = new Date(usedAt).toISOString();
    await reap(t);
    expect(agent.calls("POST", "/stop")).toHaveLength(0);
    expect(await get(t, id)).toMatchObject({ status: "ready", lastActivityAt: usedAt });
    const events = await t.withIdentity(ALICE).query(api.containers.events, { containerId: id });
    expect(events.map((e) => e.message)).toContain("not stopped: in use on the host since the idle limit was reached");
    // Unused since: the next reap past the limit stops it.
    vi.advanceTimersByTime(IDLE_MS + MINUTE);
    await reap(t);
    expect((await get(t, id)).status).toBe("stopped");
  });

  it("keeps an environment used between the reaper's look and its stop: the agent refuses (409 in_use)", async () => {
    const t = setupTest();
    const id = await readyEnvironment(t);
    vi.advanceTimersByTime(IDLE_MS + MINUTE);
    const judgedBy = Date.now() - IDLE_MS;
    // Idle when the reaper looks; a keystroke lands right after, before the stop reaches the agent.
    agent.afterLook = (_id, held) => (held.lastActivityAt = new Date(Date.now()).toISOString());
    await reap(t);
    expect(agent.calls("POST", "/stop").map((r) => r.body)).toEqual([{ unlessUsedAfter: judgedBy }]);
    expect(agent.containers.get("env-work")?.state).toBe("running");
    expect(await get(t, id)).toMatchObject({ status: "ready", lastActivityAt: Date.now() });
    const events = await t.withIdentity(ALICE).query(api.containers.events, { containerId: id });
    expect(events.map((e) => e.message)).toContain("not stopped: in use on the host since the idle limit was reached");
    // Unused since: the next reap past the limit stops it.
    agent.afterLook = null;
    vi.advanceTimersByTime(IDLE_MS + MINUTE);
    await reap(t);
    expect((await get(t, id)).status).toBe("stopped");
  });

  it("stops an idle environment, and destroys it only after the second, longer limit", async () => {
    const t = setupTest();
    const id = await readyEnvironment(t);
    const alice = t.withIdentity(ALICE);
    const usedAt = Date.now();
    expect(await alice.query(api.containers.detail, { containerId: id })).toMatchObject({
      idleLimitMinutes: POOL_DEFAULTS.idleLimitMinutes,
      stoppedLimitMinutes: POOL_DEFAULTS.stoppedLimitMinutes,
      stopsAt: usedAt + IDLE_MS,
      destroysAt: usedAt + IDLE_MS + STOPPED_MS,
    });

    vi.advanceTimersByTime(IDLE_MS);
    expect(await reap(t)).toEqual({ stopping: 0, destroying: 0 }); // at the limit, not past it
    vi.advanceTimersByTime(MINUTE);
    expect(await reap(t)).toEqual({ stopping: 1, destroying: 0 });
    const stoppedAt = Date.now();
    expect(await get(t, id)).toMatchObject({ status: "stopped", hostPort: 21000 });
    expect(agent.containers.get("env-work")?.state).toBe("exited");
    const listed = await alice.query(api.containers.list, {});
    expect(listed.find((c) => c._id === id)).toMatchObject({ stopsAt: null, destroysAt: stoppedAt + STOPPED_MS });

    vi.advanceTimersByTime(STOPPED_MS - MINUTE);
    await reap(t);
    expect((await get(t, id)).status).toBe("stopped");
    vi.advanceTimersByTime(2 * MINUTE);
    await reap(t);
    expect((await get(t, id)).status).toBe("destroyed");
    expect(agent.containers.has("env-work")).toBe(false);
    expect(agent.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /api/containers/env-work",
      "POST /api/containers/env-work/stop",
      "DELETE /api/containers/env-work",
    ]);
    const events = await alice.query(api.containers.events, { containerId: id });
    expect(events.map((e) => e.message)).toEqual([
      `idle for ${POOL_DEFAULTS.idleLimitMinutes} min: stopping`,
      "stopped on the host: memory and CPU freed, workspace kept",
      `unused for ${POOL_DEFAULTS.stoppedLimitMinutes} min while stopped`,
      "removed from the host",
    ]);
  });

  it("follows the pool config's limits", async () => {
    const t = setupTest();
    await t.run((ctx) =>
      ctx.db.insert("poolConfig", { ...POOL_DEFAULTS, idleLimitMinutes: 40, stoppedLimitMinutes: 80 }),
    );
    const id = await readyEnvironment(t);
    vi.advanceTimersByTime(41 * MINUTE);
    await reap(t);
    expect((await get(t, id)).status).toBe("stopped");
    vi.advanceTimersByTime(81 * MINUTE);
    await reap(t);
    expect((await get(t, id)).status).toBe("destroyed");
  });
});

describe("Stop and Start", () => {
  it("stops at a member's word, and a start brings it back to ready as a use", async () => {
    const t = setupTest();
    const id = await readyEnvironment(t);
    const alice = t.withIdentity(ALICE);
    await alice.mutation(api.containers.stop, { containerId: id });
    expect((await get(t, id)).status).toBe("ready"); // until the agent has stopped it
    await settle(t);
    expect((await get(t, id)).status).toBe("stopped");
    await alice.mutation(api.containers.stop, { containerId: id }); // already stopped: nothing to do
    await settle(t);
    expect(agent.calls("POST", "/stop")).toHaveLength(1);

    // Almost at the second limit: a start is a use, so the idle time starts over.
    vi.advanceTimersByTime(STOPPED_MS - MINUTE);
    await alice.mutation(api.containers.start, { containerId: id });
    const startedAt = Date.now();
    expect(await get(t, id)).toMatchObject({ status: "starting", lastActivityAt: startedAt });
    await settle(t);
    expect(agent.calls("POST", "/start")).toHaveLength(1);
    expect(agent.containers.get("env-work")?.state).toBe("running");

    // The agent reports the dev server back, as it does for a setup.
    const callback = (phase: string, sequence: number) => agentCallbackBody("env-work", phase, sequence);
    expect(await t.mutation(internal.callbacks.receive, { webhookId: "s1", body: callback("starting", 5) })).toBe(
      "applied",
    );
    expect(await t.mutation(internal.callbacks.receive, { webhookId: "s2", body: callback("ready", 6) })).toBe(
      "applied",
    );
    expect((await get(t, id)).status).toBe("ready");
    vi.advanceTimersByTime(2 * MINUTE);
    expect(await reap(t)).toEqual({ stopping: 0, destroying: 0 });
    expect((await get(t, id)).status).toBe("ready");
    const events = (await alice.query(api.containers.events, { containerId: id })).map((e) => e.message ?? e.status);
    expect(events).toContain("started on the host; the dev server is coming back");
  });

  it("refuses a stop or start where it makes no sense, and ignores a start of one already up", async () => {
    const t = setupTest();
    const id = await readyEnvironment(t);
    const alice = t.withIdentity(ALICE);
    await alice.mutation(api.containers.start, { containerId: id });
    expect((await get(t, id)).status).toBe("ready");
    await t.run((ctx) => ctx.db.patch("containers", id, { status: "installing" }));
    await expect(alice.mutation(api.containers.stop, { containerId: id })).rejects.toThrow(/conflict.*installing/);
    await expect(alice.mutation(api.containers.start, { containerId: id })).rejects.toThrow(/conflict.*installing/);
    await settle(t);
    expect(agent.requests).toEqual([]);
  });

  it("leaves a running environment as it is when the agent cannot stop it, and says why", async () => {
    const t = setupTest();
    const id = await readyEnvironment(t);
    vi.stubEnv("DOCKER_HOST_URL", "http://127.0.0.1:9");
    await t.withIdentity(ALICE).mutation(api.containers.stop, { containerId: id });
    await settle(t);
    expect((await get(t, id)).status).toBe("ready");
    const events = await t.withIdentity(ALICE).query(api.containers.events, { containerId: id });
    expect(events.at(-1)?.message).toMatch(
      /^could not stop: The Docker host agent at http:\/\/127\.0\.0\.1:9 is not reachable/,
    );
  });

  it("destroys an environment whose container the host lost, when it is started", async () => {
    const t = setupTest();
    const id = await readyEnvironment(t, "env-lost", false);
    await t.run((ctx) => ctx.db.patch("containers", id, { status: "stopped" }));
    await t.withIdentity(ALICE).mutation(api.containers.start, { containerId: id });
    await settle(t);
    expect((await get(t, id)).status).toBe("destroyed");
    expect(agent.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "POST /api/containers/env-lost/start",
      "DELETE /api/containers/env-lost",
    ]);
  });
});

describe("a restart after a late death report", () => {
  const receive = (t: T, phase: string, sequence: number, extra: Record<string, unknown> = {}) =>
    t.mutation(internal.callbacks.receive, {
      webhookId: `cb-${sequence}`,
      body: agentCallbackBody("env-work", phase, sequence, extra),
    });
  const up = { hostPort: 21000, url: "http://127.0.0.1:21000" };

  it("ends ready: the restart's own starting and ready (newer sequences) move it out of error", async () => {
    const t = setupTest();
    const id = await readyEnvironment(t);
    // The dev server dies (S1, reported by the watch), the user restarts before S1 arrives.
    await t.withIdentity(ALICE).mutation(api.containers.restart, { containerId: id });
    await settle(t);
    expect((await get(t, id)).status).toBe("starting");
    expect(await receive(t, "error", 5, { error: "The dev server exited with code 1", reason: "exited" })).toBe(
      "applied",
    );
    expect((await get(t, id)).status).toBe("error");
    expect(await receive(t, "starting", 6)).toBe("applied");
    const restarting = await get(t, id);
    expect(restarting).toMatchObject({ status: "starting", lastSequence: 6 });
    expect(restarting.error).toBeUndefined();
    expect(await receive(t, "ready", 7, up)).toBe("applied");
    const back = await get(t, id);
    expect(back).toMatchObject({ status: "ready", health: "answering", lastSequence: 7 });
    expect([back.error, back.downReason]).toEqual([undefined, undefined]);
  });

  it("ends ready when the engine started the crashed container again and the agent brought it back unasked", async () => {
    const t = setupTest();
    const id = await readyEnvironment(t);
    // The container's main process dies: the watch reports it, the engine starts the container
    // again (restart policy) and the agent brings the dev server back on its own (come-back.ts).
    const died = {
      error: "The environment's container stopped (killed by SIGKILL, exit code 137)",
      reason: "container-died",
    };
    expect(await receive(t, "error", 5, died)).toBe("applied");
    expect((await get(t, id)).status).toBe("error");
    expect(await receive(t, "starting", 6)).toBe("applied");
    expect(await receive(t, "ready", 7, up)).toBe("applied");
    const back = await get(t, id);
    expect(back).toMatchObject({ status: "ready", health: "answering", lastSequence: 7 });
    expect([back.error, back.downReason]).toEqual([undefined, undefined]);
  });

  it("ends ready when the outbox replaced the restart's starting with its ready", async () => {
    const t = setupTest();
    const id = await readyEnvironment(t);
    await receive(t, "error", 5, { error: "The dev server was killed: out of memory", reason: "oom" });
    expect(await receive(t, "ready", 7, up)).toBe("applied");
    expect((await get(t, id)).status).toBe("ready");
  });

  it("stays in error for a main image build's late ready, and for an older sequence", async () => {
    const t = setupTest();
    const id = await readyEnvironment(t);
    await receive(t, "error", 5, { error: "The dev server exited with code 1", reason: "exited" });
    const build = { ...up, mainImage: { tag: "acme-shop:main", commit: "a".repeat(40), buildMs: 900 } };
    expect(await receive(t, "ready", 6, build)).toBe("stale");
    expect(await receive(t, "starting", 4)).toBe("stale");
    expect((await get(t, id)).status).toBe("error");
  });
});

describe("a start of a container already running", () => {
  it("falls back to a restart, which brings the dev server back: not busy for ever", async () => {
    const t = setupTest();
    const id = await readyEnvironment(t);
    // The record says stopped, the host still runs the container (a start that got there).
    await t.run((ctx) => ctx.db.patch("containers", id, { status: "stopped" }));
    await t.withIdentity(ALICE).mutation(api.containers.start, { containerId: id });
    await settle(t);
    expect(agent.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "POST /api/containers/env-work/start",
      "POST /api/containers/env-work/restart",
    ]);
    const c = await get(t, id);
    expect(c.status).toBe("starting");
    const events = await t.withIdentity(ALICE).query(api.containers.events, { containerId: id });
    expect(events.at(-1)).toMatchObject({ status: "starting", message: "container restarted" });
    expect(events.some((e) => e.message?.includes("refused"))).toBe(false);
  });
});

describe("a destroy during a long setup", () => {
  /** Shorter than the shortest retry delay (DESTROY_RETRY.baseMs), so each runs in its own step. */
  const STEP_MS = 15_000;
  /** Lets `ms` pass in small steps, running what falls due in each (as a deployment would). */
  async function pass(t: T, ms: number) {
    for (let left = ms; left > 0; left -= STEP_MS) {
      vi.advanceTimersByTime(Math.min(STEP_MS, left));
      await settle(t);
    }
  }

  it("stays destroying while the host is busy, asks again with backoff, and removes the container", async () => {
    const t = setupTest();
    const id = await readyEnvironment(t);
    agent.busy.add("env-work"); // a setup (or redeploy) under way there outlasts DELETE's wait
    await t.withIdentity(ALICE).mutation(api.containers.destroy, { containerId: id });
    await settle(t);
    expect((await get(t, id)).status).toBe("destroying");
    // Well past the destroying watchdog's own deadline: still not marked destroyed, still asking.
    for (let i = 0; i < 3; i++) {
      await pass(t, 5 * MINUTE);
      expect((await get(t, id)).status).toBe("destroying");
    }
    expect(agent.containers.has("env-work")).toBe(true);
    // Backoff, not a tight loop: asked at 0, then 30, 60, 120, 240 and 300 s apart in 15 min.
    expect(agent.requests.filter((r) => r.method === "DELETE")).toHaveLength(6);
    agent.busy.clear();
    await pass(t, 5 * MINUTE);
    expect((await get(t, id)).status).toBe("destroyed");
    expect(agent.containers.has("env-work")).toBe(false);
  });

  it("gives up after its last attempt, as the watchdog did before", { timeout: 30_000 }, async () => {
    const t = setupTest();
    const id = await readyEnvironment(t);
    agent.busy.add("env-work");
    await t.withIdentity(ALICE).mutation(api.containers.destroy, { containerId: id });
    await settle(t);
    for (let i = 0; i < 12 && (await get(t, id)).status === "destroying"; i++) await pass(t, 5 * MINUTE);
    expect((await get(t, id)).status).toBe("destroyed");
    expect(agent.requests.filter((r) => r.method === "DELETE")).toHaveLength(DESTROY_RETRY.attempts);
  });
});
