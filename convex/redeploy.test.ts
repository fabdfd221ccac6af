/**
 * Redeploy and Restart in convex-test, the agent a stand-in (test.agentStandIn.ts) that parses
 * each body with the contract's own schema: a restart, a start and a redeploy send the repo's
 * run settings with its variables opened (the same ones a setup sends), a restart brings the dev
 * server back through `starting`, a redeploy goes through the setup's phases back to `ready`, a
 * refused one (local changes) leaves the record ready with the files on it, and a forced one
 * proceeds; only a ready environment is redeployed. A host that asks for a restart
 * (`needs-relaunch`: it no longer holds the repo's variables) gets the same restart, at most once
 * per HOST_RELAUNCH_MIN_INTERVAL_MINUTES.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { HOST_RELAUNCH_MIN_INTERVAL_MINUTES } from "./limits";
import { stubAgent, type AgentStandIn } from "./test.agentStandIn";
import { SETTINGS_KEY } from "./test.githubFixture";
import { agentCallbackBody, ALICE, aliceRepo, insertReady, setupTest } from "./test.setup";

let agent: AgentStandIn;
beforeEach(() => {
  vi.useFakeTimers();
  agent = stubAgent();
  vi.stubEnv("SETTINGS_ENCRYPTION_KEY", SETTINGS_KEY);
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

type T = ReturnType<typeof setupTest>;
const SECRET_VALUE = "postgres://u:hunter2@db/app";
const MINUTE = 60_000;

/** A ready environment of Alice's team whose repo has a saved dev command and one variable. */
async function readyWithSettings(t: T): Promise<Id<"containers">> {
  const repo = await aliceRepo(t);
  await t.withIdentity(ALICE).action(api.repoSettings.save, {
    repoId: repo.repoId,
    input: {
      runtime: "docker",
      defaultBranch: "main",
      devCommand: "npm run dev",
      envVars: [{ name: "DATABASE_URL", value: SECRET_VALUE }],
    },
  });
  agent.hold("env-work");
  return insertReady(t, repo, "env-work");
}

const get = async (t: T, id: Id<"containers">) => (await t.run((ctx) => ctx.db.get("containers", id)))!;
const settle = (t: T) => t.finishAllScheduledFunctions(() => vi.advanceTimersByTime(0));
let webhook = 0;
/** One of the agent's callbacks for env-work, as the agent signs and sends it (verified by http.ts). */
const callback = (t: T, phase: string, sequence: number, extra: Record<string, unknown> = {}) =>
  t.mutation(internal.callbacks.receive, {
    webhookId: `w${++webhook}`,
    body: agentCallbackBody("env-work", phase, sequence, extra),
  });

describe("Restart", () => {
  it("restarts with the start body, so the dev server comes back: starting, then ready", async () => {
    const t = setupTest();
    const id = await readyWithSettings(t);
    await t.withIdentity(ALICE).mutation(api.containers.restart, { containerId: id });
    expect((await get(t, id)).status).toBe("starting");
    await settle(t);
    const [sent] = agent.calls("POST", "/restart");
    expect(sent?.body).toEqual({
      callbackUrl: "http://site.test/docker-status",
      callbackSecret: "y".repeat(20),
      envVars: { DATABASE_URL: SECRET_VALUE },
      devCommand: ["npm", "run", "dev"],
    });
    expect(await callback(t, "starting", 5)).toBe("applied");
    expect(await callback(t, "ready", 6)).toBe("applied");
    expect((await get(t, id)).status).toBe("ready");
  });

  it("restarts when the host asks (needs-relaunch), with the body; once per window", async () => {
    const t = setupTest();
    const id = await readyWithSettings(t);
    const asks = (sequence: number) =>
      callback(t, "error", sequence, {
        error: "The container was restarted by the engine while the host agent was not running",
        reason: "needs-relaunch",
      });
    expect(await asks(5)).toBe("applied");
    expect((await get(t, id)).status).toBe("starting");
    await settle(t);
    expect(agent.calls("POST", "/restart").map((r) => r.body)).toEqual([
      {
        callbackUrl: "http://site.test/docker-status",
        callbackSecret: "y".repeat(20),
        envVars: { DATABASE_URL: SECRET_VALUE },
        devCommand: ["npm", "run", "dev"],
      },
    ]);
    expect(await callback(t, "starting", 6)).toBe("applied");
    expect(await callback(t, "ready", 7)).toBe("applied");
    // Asked again within the window (the host restarting in a loop): no second restart, and why.
    vi.advanceTimersByTime(MINUTE);
    expect(await asks(8)).toBe("applied");
    await settle(t);
    expect((await get(t, id)).status).toBe("error");
    expect(agent.calls("POST", "/restart")).toHaveLength(1);
    const events = await t.withIdentity(ALICE).query(api.containers.events, { containerId: id });
    expect(events.at(-1)?.message).toMatch(/^not restarted: the host asked for a restart/);
    // Past the window it is restarted again.
    vi.advanceTimersByTime(HOST_RELAUNCH_MIN_INTERVAL_MINUTES * MINUTE);
    expect(await asks(9)).toBe("applied");
    await settle(t);
    expect(agent.calls("POST", "/restart")).toHaveLength(2);
  });

  it("a start sends the same body", async () => {
    const t = setupTest();
    const id = await readyWithSettings(t);
    await t.run((ctx) => ctx.db.patch("containers", id, { status: "stopped" }));
    await t.withIdentity(ALICE).mutation(api.containers.start, { containerId: id });
    await settle(t);
    expect(agent.calls("POST", "/start")[0]?.body).toMatchObject({ envVars: { DATABASE_URL: SECRET_VALUE } });
  });
});

describe("Redeploy", () => {
  it("sends the repo, branch and run settings, and the setup's phases bring it back to ready", async () => {
    const t = setupTest();
    const id = await readyWithSettings(t);
    await t.withIdentity(ALICE).mutation(api.containers.redeploy, { containerId: id });
    await settle(t);
    expect(agent.calls("POST", "/redeploy")[0]?.body).toEqual({
      repo: "acme/shop",
      branch: "main",
      callbackUrl: "http://site.test/docker-status",
      callbackSecret: "y".repeat(20),
      envVars: { DATABASE_URL: SECRET_VALUE },
      devCommand: ["npm", "run", "dev"],
      force: false,
    });
    for (const [phase, seq] of [
      ["cloning", 5],
      ["installing", 6],
      ["starting", 7],
    ] as const) {
      expect(await callback(t, phase, seq)).toBe("applied");
      expect((await get(t, id)).status).toBe(phase);
    }
    expect(await callback(t, "ready", 8)).toBe("applied");
    expect(await get(t, id)).toMatchObject({ status: "ready", skippedPhases: [] });
    const events = await t.withIdentity(ALICE).query(api.containers.events, { containerId: id });
    expect(events.map((e) => e.message)).toContain("redeploy accepted");
  });

  it("a refusal keeps the environment ready with the files on it; force proceeds and clears it", async () => {
    const t = setupTest();
    const id = await readyWithSettings(t);
    agent.localChanges.set("env-work", ["src/app.js", "notes.txt"]);
    const alice = t.withIdentity(ALICE);
    await alice.mutation(api.containers.redeploy, { containerId: id });
    await settle(t);
    const refused = await get(t, id);
    expect(refused.status).toBe("ready");
    expect(refused.redeployRefused).toMatchObject({ files: ["src/app.js", "notes.txt"] });
    expect(refused.redeployRefused?.message).toMatch(
      /uncommitted_changes: Redeploy refused: .*src\/app\.js, notes\.txt/,
    );
    await alice.mutation(api.containers.redeploy, { containerId: id, force: true });
    await settle(t);
    expect(agent.calls("POST", "/redeploy").map((r) => (r.body as { force: boolean }).force)).toEqual([false, true]);
    expect((await get(t, id)).redeployRefused).toBeUndefined();
  });

  it("redeploys only a ready environment", async () => {
    const t = setupTest();
    const id = await readyWithSettings(t);
    await t.run((ctx) => ctx.db.patch("containers", id, { status: "stopped" }));
    await expect(t.withIdentity(ALICE).mutation(api.containers.redeploy, { containerId: id })).rejects.toThrow(
      /conflict.*stopped/,
    );
    await settle(t);
    expect(agent.calls("POST", "/redeploy")).toEqual([]);
  });
});

describe("the dev server after ready", () => {
  it("records the watch's report (error, with why) and the health the agent lists", async () => {
    const t = setupTest();
    const id = await readyWithSettings(t);
    const body = JSON.stringify({
      containerId: "env-work",
      phase: "error",
      sequence: 9,
      at: Date.now(),
      previousPhaseMs: null,
      repo: "acme/shop",
      branch: "main",
      error: "The dev server was killed: out of memory (limit 256 MB).",
      reason: "oom",
    });
    expect(await t.mutation(internal.callbacks.receive, { webhookId: "down", body })).toBe("applied");
    const down = await get(t, id);
    expect(down).toMatchObject({ status: "error", downReason: "oom" });
    expect(down.error).toMatch(/out of memory/);
    await t.mutation(internal.maintenance.noteListed, {
      containers: [{ agentId: "env-work", health: "not answering" }],
    });
    expect((await get(t, id)).health).toBe("not answering");
    // A restart brings it back, and the reason goes with the new run.
    await t.withIdentity(ALICE).mutation(api.containers.restart, { containerId: id });
    expect((await get(t, id)).downReason).toBeUndefined();
  });

  it("forgets the last health check once the dev server is brought back, and takes ready as answering", async () => {
    const t = setupTest();
    const id = await readyWithSettings(t);
    await t.mutation(internal.maintenance.noteListed, {
      containers: [{ agentId: "env-work", health: "not answering" }],
    });
    expect((await get(t, id)).health).toBe("not answering");
    await t.withIdentity(ALICE).mutation(api.containers.restart, { containerId: id });
    await settle(t);
    expect(await callback(t, "starting", 20)).toBe("applied");
    expect((await get(t, id)).health).toBeUndefined();
    expect(await callback(t, "ready", 21)).toBe("applied");
    expect((await get(t, id)).health).toBe("answering");
  });
});

describe("an agent busy with another operation on the container", () => {
  const timeline = async (t: T, id: Id<"containers">) =>
    (await t.withIdentity(ALICE).query(api.containers.events, { containerId: id })).map((e) => e.message ?? "");

  it("refuses a restart: the record goes back to ready with the reason, never error", async () => {
    const t = setupTest();
    const id = await readyWithSettings(t);
    agent.busy.add("env-work");
    await t.withIdentity(ALICE).mutation(api.containers.restart, { containerId: id });
    await settle(t);
    const c = await get(t, id);
    expect(c.status).toBe("ready");
    expect(c.error).toBeUndefined();
    expect(await timeline(t, id)).toContainEqual(
      expect.stringMatching(/^restart refused by the host, try again: conflict/),
    );
    agent.busy.clear();
    await t.withIdentity(ALICE).mutation(api.containers.restart, { containerId: id });
    await settle(t);
    expect(agent.calls("POST", "/restart")).toHaveLength(2);
  });

  it("refuses a start: the record goes back to stopped", async () => {
    const t = setupTest();
    const id = await readyWithSettings(t);
    const alice = t.withIdentity(ALICE);
    await alice.mutation(api.containers.stop, { containerId: id });
    await settle(t);
    expect((await get(t, id)).status).toBe("stopped");
    agent.busy.add("env-work");
    await alice.mutation(api.containers.start, { containerId: id });
    await settle(t);
    expect((await get(t, id)).status).toBe("stopped");
    expect(await timeline(t, id)).toContainEqual(expect.stringMatching(/^start refused by the host, try again/));
  });

  it("refuses a stop: the record stays ready, the reason on the timeline", async () => {
    const t = setupTest();
    const id = await readyWithSettings(t);
    agent.busy.add("env-work");
    await t.withIdentity(ALICE).mutation(api.containers.stop, { containerId: id });
    await settle(t);
    expect((await get(t, id)).status).toBe("ready");
    expect(await timeline(t, id)).toContainEqual(expect.stringMatching(/^could not stop: conflict/));
  });

  it("refuses a redeploy: a line on the timeline, not a refusal to force past", async () => {
    const t = setupTest();
    const id = await readyWithSettings(t);
    agent.busy.add("env-work");
    await t.withIdentity(ALICE).mutation(api.containers.redeploy, { containerId: id });
    await settle(t);
    const c = await get(t, id);
    expect(c.status).toBe("ready");
    expect(c.redeployRefused).toBeUndefined();
    expect(await timeline(t, id)).toContainEqual(expect.stringMatching(/^redeploy refused, try again: conflict/));
  });

  it("a stop asked of a record that moved on meanwhile is not sent", async () => {
    const t = setupTest();
    const id = await readyWithSettings(t);
    await t.withIdentity(ALICE).mutation(api.containers.stop, { containerId: id });
    await t.run((ctx) => ctx.db.patch("containers", id, { status: "cloning" }));
    await settle(t);
    expect(agent.calls("POST", "/stop")).toHaveLength(0);
    expect((await get(t, id)).status).toBe("cloning");
  });
});

describe("a refused redeploy's note", () => {
  it("is cleared when a redeploy or setup begins (cloning), however it was asked", async () => {
    const t = setupTest();
    const id = await readyWithSettings(t);
    agent.localChanges.set("env-work", ["notes.txt"]);
    await t.withIdentity(ALICE).mutation(api.containers.redeploy, { containerId: id });
    await settle(t);
    expect((await get(t, id)).redeployRefused).toBeDefined();
    expect(await callback(t, "cloning", 5)).toBe("applied");
    expect((await get(t, id)).redeployRefused).toBeUndefined();
  });
});
