/**
 * Stream tokens: minted for one container and one stream, accepted by the agent's auth only for
 * exactly that container and scope, before expiry, untampered; the API secret still works.
 */
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { requireApiSecret } from "../../src/api/auth.js";
import { makeOnError } from "../../src/api/errors.js";
import { mintStreamToken, verifyStreamToken } from "../../src/api/stream-token.js";
import { createLogger } from "../../src/lib/logger.js";

const KEY = "stream-token-key-".padEnd(40, "k");
const SECRET = "api-secret-".padEnd(40, "s");
const STREAM_PATHS = /^\/api\/containers\/([^/]+)\/(logs|terminal)$/;
const inMinutes = (m: number) => Date.now() + m * 60_000;

function app() {
  const a = new Hono();
  a.use("/api/*", requireApiSecret([SECRET], STREAM_PATHS, KEY));
  a.get("/api/containers/:id/:stream", (c) => c.text("ok"));
  a.onError(makeOnError(createLogger("silent")));
  return a;
}

describe("verifyStreamToken", () => {
  it("accepts exactly the container, scope and time it was minted for", async () => {
    const token = await mintStreamToken(KEY, { containerId: "env-1", scope: "logs", expiresAt: inMinutes(5) });
    expect(await verifyStreamToken(KEY, token, { containerId: "env-1", scope: "logs" })).toBe(true);
    expect(await verifyStreamToken(KEY, token, { containerId: "env-2", scope: "logs" })).toBe(false);
    expect(await verifyStreamToken(KEY, token, { containerId: "env-1", scope: "terminal" })).toBe(false);
    expect(await verifyStreamToken(KEY, token, { containerId: "env-1", scope: "logs", now: inMinutes(6) })).toBe(false);
    expect(await verifyStreamToken("another-key".padEnd(40, "x"), token, { containerId: "env-1", scope: "logs" })).toBe(
      false,
    );
  });

  it("refuses tampered and malformed tokens", async () => {
    const token = await mintStreamToken(KEY, { containerId: "env-1", scope: "logs", expiresAt: inMinutes(5) });
    const [v, body, mac] = token.split(".");
    const forged = Buffer.from(JSON.stringify({ c: "env-1", s: "terminal", e: 9_999_999_999 })).toString("base64url");
    for (const bad of [
      `${v}.${forged}.${mac}`,
      // Always a different MAC: one that already ends in AA would otherwise stay valid.
      `${v}.${body}.${mac!.slice(0, -2)}${mac!.endsWith("AA") ? "BB" : "AA"}`,
      `v2.${body}.${mac}`,
      "",
      "a.b",
      "v1.!!.??",
    ]) {
      expect(await verifyStreamToken(KEY, bad, { containerId: "env-1", scope: "logs" }), bad).toBe(false);
    }
  });
});

describe("?token= on the streaming routes", () => {
  const get = (path: string) => app().request(path);

  it("opens a stream with a valid token, and only that stream", async () => {
    const logs = await mintStreamToken(KEY, { containerId: "env-1", scope: "logs", expiresAt: inMinutes(5) });
    expect((await get(`/api/containers/env-1/logs?token=${logs}`)).status).toBe(200);
    expect((await get(`/api/containers/env-2/logs?token=${logs}`)).status).toBe(401);
    expect((await get(`/api/containers/env-1/terminal?token=${logs}`)).status).toBe(401);
    expect((await get(`/api/containers/env-1/exec?token=${logs}`)).status).toBe(401);
  });

  it("refuses expired tokens and still takes the API secret", async () => {
    const expired = await mintStreamToken(KEY, { containerId: "env-1", scope: "logs", expiresAt: Date.now() - 1000 });
    expect((await get(`/api/containers/env-1/logs?token=${expired}`)).status).toBe(401);
    expect((await get(`/api/containers/env-1/logs?token=${SECRET}`)).status).toBe(200);
  });

  it("never takes a stream token as a bearer header", async () => {
    const token = await mintStreamToken(KEY, { containerId: "env-1", scope: "logs", expiresAt: inMinutes(5) });
    const res = await app().request("/api/containers/env-1/logs", { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
  });
});
