/**
 * The callback route (`POST /docker-status`) as the agent calls it: a Standard Webhooks
 * signature over id.timestamp.body; wrong signatures, stale timestamps and missing headers are
 * refused, a replayed id is acknowledged without being applied again.
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
