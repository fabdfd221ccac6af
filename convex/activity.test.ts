/**
 * Use is activity (convex-test): the last use the agent reports for a container (taken by the
 * reconcile action from the agent's list, the stand-in of test.agentStandIn.ts) and a browser
 * opening an environment's terminal or logs each keep it past its idle limit; an environment
 * nobody used beside them is stopped. A reported time ahead of the control plane's clock counts
 * as now, an unreadable one as nothing.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { POOL_DEFAULTS } from "./limits";
import { stubAgent, type AgentStandIn } from "./test.agentStandIn";
import { ALICE, aliceRepo, insertReady, setupTest } from "./test.setup";

const LIMIT_MS = POOL_DEFAULTS.idleLimitMinutes * 60_000;
const MINUTE = 60_000;

let agent: AgentStandIn;
beforeEach(() => {
  vi.useFakeTimers();
  agent = stubAgent();
  vi.stubEnv("DOCKER_STREAM_TOKEN_KEY", "k".repeat(40));
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

type T = ReturnType<typeof setupTest>;

/** Ready environments of Alice's team, used last now, each held by the agent. */
async function readyEnvironments(t: T, agentIds: string[]): Promise<Record<string, Id<"containers">>> {
  const repo = await aliceRepo(t);
  const ids: Record<string, Id<"containers">> = {};
  for (const agentId of agentIds) {
    agent.hold(agentId);
    ids[agentId] = await insertReady(t, repo, agentId);
  }
  return ids;
}

async function reap(t: T) {
  const result = await t.mutation(internal.maintenance.reapIdle, {});
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  return result;
}

const statusOf = async (t: T, id: Id<"containers">) => (await t.run((ctx) => ctx.db.get("containers", id)))!;

describe("use is activity", () => {
  it("keeps an environment the agent saw used past its idle limit, taken in by reconcile", async () => {
    const t = setupTest();
    const ids = await readyEnvironments(t, ["env-iso", "env-ms", "env-unused", "env-ahead", "env-garbled"]);
    vi.advanceTimersByTime(LIMIT_MS - MINUTE);
    const usedAt = Date.now();
    agent.containers.get("env-iso")!.lastActivityAt = new Date(usedAt).toISOString();
    agent.containers.get("env-ms")!.lastActivityAt = usedAt;
    agent.containers.get("env-garbled")!.lastActivityAt = "yesterday-ish";
    agent.containers.get("env-ahead")!.lastActivityAt = usedAt + 24 * 60 * MINUTE;
    vi.advanceTimersByTime(2 * MINUTE); // now past the limit counted from the records' own times

    await t.action(internal.hostAgent.reconcile, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect((await statusOf(t, ids["env-iso"])).lastActivityAt).toBe(usedAt);
    expect((await statusOf(t, ids["env-ms"])).lastActivityAt).toBe(usedAt);
    // A host clock a day ahead counts as now, not as a day of protection.
    expect((await statusOf(t, ids["env-ahead"])).lastActivityAt).toBe(Date.now());

    expect(await reap(t)).toEqual({ stopping: 2, destroying: 0 });
    const after = Object.fromEntries(
      await Promise.all(
        Object.entries(ids).map(async ([name, id]): Promise<[string, string]> => [
          name,
          (await statusOf(t, id)).status,
        ]),
      ),
    );
    expect(after).toEqual({
      "env-iso": "ready",
      "env-ms": "ready",
      "env-ahead": "ready",
      "env-unused": "stopped",
      "env-garbled": "stopped",
    });
    // Unused for the whole limit after the reported use: stopped then.
    vi.advanceTimersByTime(LIMIT_MS);
    await reap(t);
    expect((await statusOf(t, ids["env-iso"])).status).toBe("stopped");
  });

  it("keeps an environment whose terminal or logs were opened past its idle limit", async () => {
    const t = setupTest();
    const ids = await readyEnvironments(t, ["env-terminal", "env-logs", "env-unused"]);
    vi.advanceTimersByTime(LIMIT_MS - MINUTE);
    const alice = t.withIdentity(ALICE);
    await alice.action(api.streams.open, { containerId: ids["env-terminal"], scope: "terminal" });
    await alice.action(api.streams.open, { containerId: ids["env-logs"], scope: "logs" });
    const openedAt = Date.now();
    vi.advanceTimersByTime(2 * MINUTE);

    expect(await reap(t)).toEqual({ stopping: 1, destroying: 0 });
    expect(await statusOf(t, ids["env-terminal"])).toMatchObject({ status: "ready", lastActivityAt: openedAt });
    expect(await statusOf(t, ids["env-logs"])).toMatchObject({ status: "ready", lastActivityAt: openedAt });
    expect((await statusOf(t, ids["env-unused"])).status).toBe("stopped");
    // The dashboard sees when it will stop: the limit counted from the last use.
    expect(await alice.query(api.containers.detail, { containerId: ids["env-terminal"] })).toMatchObject({
      idleLimitMinutes: POOL_DEFAULTS.idleLimitMinutes,
      stopsAt: openedAt + LIMIT_MS,
    });

    // A stopped environment has no terminal to open.
    await expect(alice.action(api.streams.open, { containerId: ids["env-unused"], scope: "terminal" })).rejects.toThrow(
      /stopped; start it to open a terminal/,
    );
  });

  it("destroys a stopped environment after the stopped limit however often its logs are opened", async () => {
    const t = setupTest();
    const ids = await readyEnvironments(t, ["env-stopped"]);
    const id = ids["env-stopped"];
    vi.advanceTimersByTime(LIMIT_MS + MINUTE);
    expect(await reap(t)).toEqual({ stopping: 1, destroying: 0 });
    const stopped = await statusOf(t, id);
    expect(stopped.status).toBe("stopped");
    const alice = t.withIdentity(ALICE);
    // An open page: Docker ends a stopped container's log stream at once, the page opens it again,
    // and the agent counts each attach as use, which reconcile takes in.
    const stoppedMs = POOL_DEFAULTS.stoppedLimitMinutes * MINUTE;
    const STEP_MS = 90 * MINUTE; // a page open all along: Docker ends its stream, it reopens
    for (let elapsed = 0; elapsed <= stoppedMs; elapsed += STEP_MS) {
      await alice.action(api.streams.open, { containerId: id, scope: "logs" });
      agent.containers.get("env-stopped")!.lastActivityAt = Date.now();
      await t.action(internal.hostAgent.reconcile, {});
      await t.finishAllScheduledFunctions(vi.runAllTimers);
      expect(await statusOf(t, id)).toMatchObject({ status: "stopped", lastActivityAt: stopped.lastActivityAt });
      vi.advanceTimersByTime(STEP_MS);
    }
    await reap(t); // the stopped page comes after the ready one, in a run of its own
    expect((await statusOf(t, id)).status).toBe("destroyed");
  });
});
