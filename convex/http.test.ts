/**
 * The callback route (`POST /docker-status`) as the agent calls it: a Standard Webhooks
 * signature over id.timestamp.body; wrong signatures, stale timestamps and missing headers are
 * refused, a replayed id is acknowledged without being applied again. Delivered in any order,
 * one setup's callbacks leave the record at the newest phase.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api } from "./_generated/api";
import { ALICE, setupTest } from "./test.setup";

const SECRET = "callback-secret-0123456789";

async function sign(secret: string, id: string, timestamp: number, body: string) {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestamp}.${body}`)),
  );
  return `v1,${btoa(String.fromCharCode(...mac))}`;
}

async function post(
  t: ReturnType<typeof setupTest>,
  body: string,
  o: { id?: string; timestamp?: number; secret?: string; headers?: Record<string, string> } = {},
) {
  const id = o.id ?? `msg_${Math.random()}`;
  const timestamp = o.timestamp ?? Math.floor(Date.now() / 1000);
  const headers = {
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": await sign(o.secret ?? SECRET, id, timestamp, body),
    ...o.headers,
  };
  return t.fetch("/docker-status", { method: "POST", headers, body });
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "setInterval"] });
  vi.stubEnv("DOCKER_CALLBACK_SECRET", SECRET);
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
});

async function withAssignedContainer(t: ReturnType<typeof setupTest>) {
  const repoId = await t
    .withIdentity(ALICE)
    .mutation(api.repos.setRuntime, { owner: "acme", name: "shop", runtime: "docker" });
  const id = await t.withIdentity(ALICE).mutation(api.containers.request, { repoId, branch: "main" });
  const agentId = (await t.run((ctx) => ctx.db.get("containers", id)))!.agentId;
  await t.run((ctx) => ctx.db.patch("containers", id, { status: "assigned" }));
  return { id, agentId };
}

const body = (agentId: string, phase: string, sequence: number) =>
  JSON.stringify({
    containerId: agentId,
    phase,
    sequence,
    at: Date.now(),
    previousPhaseMs: null,
    repo: "acme/shop",
    branch: "main",
  });

describe("POST /docker-status", () => {
  it("applies a correctly signed callback", async () => {
    const t = setupTest();
    const { id, agentId } = await withAssignedContainer(t);
    const res = await post(t, body(agentId, "cloning", 1));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ result: "applied" });
    expect((await t.run((ctx) => ctx.db.get("containers", id)))!.status).toBe("cloning");
  });

  it("refuses a wrong signature, a tampered body and a foreign secret", async () => {
    const t = setupTest();
    const { id, agentId } = await withAssignedContainer(t);
    expect((await post(t, body(agentId, "cloning", 1), { secret: "another-secret-0123456789" })).status).toBe(401);
    expect((await post(t, body(agentId, "cloning", 1), { headers: { "webhook-signature": "v1,AAAA" } })).status).toBe(
      401,
    );
    const signedFor = body(agentId, "cloning", 1);
    const ts = Math.floor(Date.now() / 1000);
    const res = await t.fetch("/docker-status", {
      method: "POST",
      headers: {
        "webhook-id": "x1",
        "webhook-timestamp": String(ts),
        "webhook-signature": await sign(SECRET, "x1", ts, signedFor),
      },
      body: body(agentId, "error", 1),
    });
    expect(res.status).toBe(401);
    expect((await t.run((ctx) => ctx.db.get("containers", id)))!.status).toBe("assigned");
  });

  it("refuses timestamps outside five minutes, and missing headers", async () => {
    const t = setupTest();
    const { agentId } = await withAssignedContainer(t);
    const old = Math.floor(Date.now() / 1000) - 301;
    expect((await post(t, body(agentId, "cloning", 1), { timestamp: old })).status).toBe(401);
    const res = await t.fetch("/docker-status", { method: "POST", body: body(agentId, "cloning", 1) });
    expect(res.status).toBe(400);
  });

  it("acknowledges a replayed webhook id without applying it twice", async () => {
    const t = setupTest();
    const { agentId } = await withAssignedContainer(t);
    expect(await (await post(t, body(agentId, "cloning", 1), { id: "msg_same" })).json()).toEqual({
      result: "applied",
    });
    const again = await post(t, body(agentId, "cloning", 1), { id: "msg_same" });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ result: "duplicate" });
  });
});

/** Every order of `items`. */
function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

describe("callbacks delivered out of order", () => {
  const PHASES = ["cloning", "installing", "starting", "ready"] as const;
  const READY = { hostPort: 21001, url: "http://127.0.0.1:21001" };
  const setupBody = (agentId: string, phase: string, sequence: number, extra: object = {}) =>
    JSON.stringify({ ...JSON.parse(body(agentId, phase, sequence)), at: 1000 * sequence, ...extra });
  const orders = permutations([1, 2, 3, 4]);

  it("has 24 orders of the four phases to try", () => {
    expect(orders).toHaveLength(24);
    expect(new Set(orders.map((o) => o.join(""))).size).toBe(24);
  });

  for (const order of orders) {
    it(`ends at ready with the host port and URL when delivered ${order.join("-")}`, async () => {
      const t = setupTest();
      const { id, agentId } = await withAssignedContainer(t);
      const results: string[] = [];
      for (const sequence of order) {
        const phase = PHASES[sequence - 1];
        const res = await post(t, setupBody(agentId, phase, sequence, phase === "ready" ? READY : {}));
        expect(res.status).toBe(200);
        results.push(((await res.json()) as { result: string }).result);
      }
      // A callback applies exactly when it is newer than every one before it.
      const applied = order.map((s, i) => order.slice(0, i).every((earlier) => earlier < s));
      expect(results).toEqual(applied.map((a) => (a ? "applied" : "stale")));
      const c = (await t.run((ctx) => ctx.db.get("containers", id)))!;
      expect(c).toMatchObject({ status: "ready", ...READY, lastSequence: 4 });
      const appliedPhases = order.filter((_, i) => applied[i]).map((s) => PHASES[s - 1]);
      expect(Object.keys(c.phaseStartedAt).sort()).toEqual([...appliedPhases].sort());
      expect(c.skippedPhases ?? []).toEqual(PHASES.filter((p) => !appliedPhases.includes(p)));
    });
  }

  it("applies a newer error at any point, and drops the older callbacks that come after it", async () => {
    const t = setupTest();
    const { id, agentId } = await withAssignedContainer(t);
    const res = async (b: string) => ((await (await post(t, b)).json()) as { result: string }).result;
    expect(await res(setupBody(agentId, "installing", 2))).toBe("applied");
    expect(await res(setupBody(agentId, "error", 3, { error: "npm install failed" }))).toBe("applied");
    expect(await res(setupBody(agentId, "cloning", 1))).toBe("stale");
    expect(await res(setupBody(agentId, "error", 4, { error: "and then some" }))).toBe("applied");
    const c = (await t.run((ctx) => ctx.db.get("containers", id)))!;
    expect(c).toMatchObject({ status: "error", error: "and then some", lastSequence: 4, skippedPhases: ["cloning"] });
  });

  it("lets a newer ready add its fields to a ready record, and a stopped record take none", async () => {
    const t = setupTest();
    const { id, agentId } = await withAssignedContainer(t);
    await post(t, setupBody(agentId, "ready", 4, READY));
    await post(t, setupBody(agentId, "ready", 5, { url: "http://127.0.0.1:21001/main" }));
    expect((await t.run((ctx) => ctx.db.get("containers", id)))!).toMatchObject({
      status: "ready",
      url: "http://127.0.0.1:21001/main",
      lastSequence: 5,
    });
    await t.run((ctx) => ctx.db.patch("containers", id, { status: "stopped" }));
    const late = await post(t, setupBody(agentId, "error", 6, { error: "The dev server exited with code 143" }));
    expect(await late.json()).toEqual({ result: "stale" });
    expect((await t.run((ctx) => ctx.db.get("containers", id)))!.status).toBe("stopped");
  });
});
