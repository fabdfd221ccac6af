/**
 * The auth matrix: every `/api` route × no token / wrong token / right token, SSE and WebSocket
 * included. `?token=` works only on the streaming routes; an older secret still works during a
 * rotation. A refused WebSocket gets 401 and no upgrade.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_SECRET, client, createContainer, startTestAgent } from "./helpers/agent.js";
import { mintStreamToken } from "../src/api/stream-token.js";
import { upgradeStatus } from "./helpers/terminal.js";

const OLD_SECRET = "old-secret-".padEnd(40, "y");
const STREAM_KEY = "stream-token-key-".padEnd(40, "k");
let agent: Awaited<ReturnType<typeof startTestAgent>>;
let id: string;

beforeAll(async () => {
  agent = await startTestAgent({ API_SECRET_PREVIOUS: OLD_SECRET, STREAM_TOKEN_KEY: STREAM_KEY });
});
afterAll(async () => agent.close());

type Route = { method: string; path: () => string; body?: unknown; okStatus: number };
const routes: Route[] = [
  { method: "GET", path: () => "/api/containers", okStatus: 200 },
  { method: "GET", path: () => `/api/containers/${id}`, okStatus: 200 },
  {
    method: "POST",
    path: () => "/api/containers",
    body: { name: "test-auth-never", image: "no-such/image:x" },
    okStatus: 422,
  },
  { method: "POST", path: () => `/api/containers/${id}/exec`, body: { command: ["true"] }, okStatus: 200 },
  { method: "POST", path: () => `/api/containers/${id}/restart`, okStatus: 200 },
  { method: "DELETE", path: () => "/api/containers/no-such-container", okStatus: 404 },
  { method: "GET", path: () => `/api/containers/${id}/logs?tail=0`, okStatus: 200 },
];

async function call(route: Route, headers: Record<string, string>, query = "") {
  const url = `${agent.url}${route.path()}${route.path().includes("?") ? query.replace("?", "&") : query}`;
  const res = await fetch(url, {
    method: route.method,
    headers: { ...headers, ...(route.body ? { "content-type": "application/json" } : {}) },
    body: route.body ? JSON.stringify(route.body) : undefined,
  });
  await res.body?.cancel();
  return res.status;
}

describe("authentication", () => {
  beforeAll(async () => {
    const res = await client(agent.url).post("/api/containers", { name: "test-auth-target" });
    id = ((await res.json()) as { id: string }).id;
  });
  afterAll(async () => void (await agent.api.del(`/api/containers/${id}`)));

  it.each(routes.map((r) => [`${r.method} ${r.path.toString().match(/"(.*)"|`(.*)`/)?.[0] ?? ""}`, r] as const))(
    "%s: 401 without or with a wrong token, served with the right or previous one",
    async (_name, route) => {
      expect(await call(route, {})).toBe(401);
      expect(await call(route, { authorization: "Bearer wrong-token" })).toBe(401);
      expect(await call(route, { authorization: `Basic ${TEST_SECRET}` })).toBe(401);
      expect(await call(route, { authorization: `Bearer ${TEST_SECRET}` })).toBe(route.okStatus);
      expect(await call(route, { authorization: `Bearer ${OLD_SECRET}` })).toBe(route.okStatus);
    },
  );

  it("answers 401 with the error envelope", async () => {
    const res = await fetch(`${agent.url}/api/containers`);
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { code: string; requestId: string } };
    expect(body.error.code).toBe("unauthorized");
    expect(body.error.requestId).toBe(res.headers.get("x-request-id"));
  });

  it("accepts ?token= only on the streaming routes", async () => {
    const logs = routes.find((r) => r.path().includes("/logs"))!;
    expect(await call(logs, {}, `?token=${TEST_SECRET}`)).toBe(200);
    expect(await call(logs, {}, "?token=wrong")).toBe(401);
    const list = routes[0]!;
    expect(await call(list, {}, `?token=${TEST_SECRET}`)).toBe(401);
  });

  it("refuses a WebSocket upgrade without a valid token, with 401 and no upgrade", async () => {
    const c = await createContainer(agent.api);
    const base = `${agent.url.replace("http", "ws")}/api/containers/${c.id}/terminal`;
    expect(await upgradeStatus(base)).toBe(401);
    expect(await upgradeStatus(`${base}?token=wrong`)).toBe(401);
    expect(await upgradeStatus(base, { authorization: "Bearer wrong" })).toBe(401);
    expect(await upgradeStatus(`${base}?token=${TEST_SECRET}`)).toBe(101);
    expect(await upgradeStatus(base, { authorization: `Bearer ${OLD_SECRET}` })).toBe(101);
  });

  it("serves /health without a token", async () => {
    const res = await fetch(`${agent.url}/health`);
    expect(res.status).toBe(200);
  });
});

describe("stream tokens (what a browser holds instead of the API secret)", () => {
  it("open the logs and the terminal of exactly one container", async () => {
    const c = await createContainer(agent.api);
    const other = await createContainer(agent.api);
    const soon = Date.now() + 60_000;
    const logs = await mintStreamToken(STREAM_KEY, { containerId: c.id, scope: "logs", expiresAt: soon });
    const terminal = await mintStreamToken(STREAM_KEY, { containerId: c.id, scope: "terminal", expiresAt: soon });
    const expired = await mintStreamToken(STREAM_KEY, {
      containerId: c.id,
      scope: "logs",
      expiresAt: Date.now() - 1000,
    });
    const logsUrl = (cid: string, token: string) => `${agent.url}/api/containers/${cid}/logs?tail=0&token=${token}`;
    const termUrl = (cid: string, token: string) =>
      `${agent.url.replace("http", "ws")}/api/containers/${cid}/terminal?token=${token}`;

    const ok = await fetch(logsUrl(c.id, logs));
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
    for (const [url, what] of [
      [logsUrl(other.id, logs), "other container"],
      [logsUrl(c.id, terminal), "other scope"],
      [logsUrl(c.id, expired), "expired"],
      [logsUrl(c.id, `${logs.slice(0, -3)}xyz`), "tampered"],
    ] as const) {
      const res = await fetch(url);
      expect(res.status, what).toBe(401);
      await res.body?.cancel();
    }
    expect(await upgradeStatus(termUrl(c.id, terminal))).toBe(101);
    expect(await upgradeStatus(termUrl(other.id, terminal))).toBe(401);
    expect(await upgradeStatus(termUrl(c.id, logs))).toBe(401);
  });
});
