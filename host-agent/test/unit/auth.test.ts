// Covers src/api/auth.ts: constant-time secret matching and the bearer / `?token=` middleware.
import { createHash } from "node:crypto";
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { describe, expect, it } from "vitest";
import { ErrorResponse } from "../../src/api/contract.js";
import { requireApiSecret, secretMatches } from "../../src/api/auth.js";
import { makeOnError } from "../../src/api/errors.js";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/lib/logger.js";

const digest = (s: string) => createHash("sha256").update(s).digest();

const CURRENT = "c".repeat(48);
const PREVIOUS = "p".repeat(64);
const STREAM_PATHS = /^\/api\/containers\/([^/]+)\/(logs|terminal)$/;

describe("secretMatches", () => {
  const secrets = [digest(CURRENT), digest(PREVIOUS), digest("third-secret")];

  it.each([CURRENT, PREVIOUS, "third-secret"])("accepts each configured secret (%#)", (candidate) => {
    expect(secretMatches(candidate, secrets)).toBe(true);
  });

  it.each([
    ["empty", ""],
    ["a prefix", CURRENT.slice(0, 47)],
    ["longer", `${CURRENT}c`],
    ["different case", CURRENT.toUpperCase()],
    ["unrelated", "nope"],
    ["two secrets joined", `${CURRENT}${PREVIOUS}`],
  ])("refuses a candidate that is %s", (_what, candidate) => {
    expect(secretMatches(candidate, secrets)).toBe(false);
  });

  it("refuses everything when no secret is configured", () => {
    expect(secretMatches(CURRENT, [])).toBe(false);
  });
});

/** A minimal app wired like app.ts: request id, auth on /api/*, one onError. */
function authApp() {
  const app = new Hono();
  app.use(requestId());
  app.use("/api/*", requireApiSecret([CURRENT, PREVIOUS], STREAM_PATHS, undefined));
  app.get("/health", (c) => c.text("up"));
  app.get("/api/containers", (c) => c.text("list"));
  app.get("/api/containers/:id/logs", (c) => c.text("logs"));
  app.get("/api/containers/:id/terminal", (c) => c.text("terminal"));
  app.get("/api/containers/:id/logs/extra", (c) => c.text("extra"));
  app.onError(makeOnError(createLogger("silent")));
  return app;
}

const get = (path: string, headers: Record<string, string> = {}) => authApp().request(path, { headers });

async function expectUnauthorized(res: Response) {
  expect(res.status).toBe(401);
  const body = ErrorResponse.parse(await res.json());
  expect(body.error.code).toBe("unauthorized");
  expect(body.error.message).not.toBe("");
  expect(body.error.requestId).not.toBe("");
  expect(res.headers.get("x-request-id")).toBe(body.error.requestId);
}

describe("requireApiSecret", () => {
  it("lets unauthenticated routes outside /api through", async () => {
    expect((await get("/health")).status).toBe(200);
  });

  it("accepts the current and the previous secret as a bearer token", async () => {
    for (const secret of [CURRENT, PREVIOUS]) {
      const res = await get("/api/containers", { authorization: `Bearer ${secret}` });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("list");
    }
  });

  it("accepts the scheme in any case and extra spaces around the token", async () => {
    expect((await get("/api/containers", { authorization: `bearer ${CURRENT}` })).status).toBe(200);
    expect((await get("/api/containers", { authorization: `BEARER   ${CURRENT}  ` })).status).toBe(200);
  });

  it("answers 401 with the error envelope when the header is missing", async () => {
    await expectUnauthorized(await get("/api/containers"));
  });

  it("answers 401 for a wrong token", async () => {
    await expectUnauthorized(await get("/api/containers", { authorization: `Bearer ${CURRENT}x` }));
  });

  it("answers 401 for another scheme or a bare token", async () => {
    await expectUnauthorized(await get("/api/containers", { authorization: `Basic ${CURRENT}` }));
    await expectUnauthorized(await get("/api/containers", { authorization: CURRENT }));
    await expectUnauthorized(await get("/api/containers", { authorization: "Bearer " }));
  });

  it("accepts ?token= on the streaming paths the regexp names", async () => {
    expect((await get(`/api/containers/abc/logs?token=${CURRENT}`)).status).toBe(200);
    expect((await get(`/api/containers/abc/terminal?token=${PREVIOUS}`)).status).toBe(200);
  });

  it("ignores ?token= everywhere else", async () => {
    await expectUnauthorized(await get(`/api/containers?token=${CURRENT}`));
    await expectUnauthorized(await get(`/api/containers/abc/logs/extra?token=${CURRENT}`));
  });

  it("refuses a wrong ?token= on a streaming path", async () => {
    await expectUnauthorized(await get("/api/containers/abc/logs?token=wrong"));
  });

  it("does not fall back to a good ?token= when the header carries a wrong one", async () => {
    await expectUnauthorized(await get(`/api/containers/abc/logs?token=${CURRENT}`, { authorization: "Bearer wrong" }));
  });

  it("never runs the handler of a refused request", async () => {
    let ran = false;
    const app = new Hono();
    app.use(requestId());
    app.use("/api/*", requireApiSecret([CURRENT], STREAM_PATHS, undefined));
    app.post("/api/containers", (c) => {
      ran = true;
      return c.text("created");
    });
    app.onError(makeOnError(createLogger("silent")));
    expect((await app.request("/api/containers", { method: "POST" })).status).toBe(401);
    expect(ran).toBe(false);
  });
});

describe("a rotation, as scripts/rotate-secret.sh does it", () => {
  /** The app as configured by an .env's API_SECRET and API_SECRET_PREVIOUS. */
  function configured(env: Record<string, string>) {
    const app = new Hono();
    app.use(requestId());
    app.use("/api/*", requireApiSecret(loadConfig(env).apiSecrets, STREAM_PATHS, undefined));
    app.get("/api/containers", (c) => c.text("list"));
    app.get("/api/containers/:id/logs", (c) => c.text("logs"));
    app.onError(makeOnError(createLogger("silent")));
    return async (path: string, token?: string) =>
      (await app.request(path, { headers: token ? { authorization: `Bearer ${token}` } : {} })).status;
  }

  it("accepts the new and the old secret during the switch, and only the new one after --finish", async () => {
    const during = configured({ API_SECRET: CURRENT, API_SECRET_PREVIOUS: PREVIOUS });
    expect(await during("/api/containers", CURRENT)).toBe(200);
    expect(await during("/api/containers", PREVIOUS)).toBe(200);
    expect(await during(`/api/containers/abc/logs?token=${PREVIOUS}`)).toBe(200);
    expect(await during("/api/containers", "w".repeat(48))).toBe(401);

    // --finish leaves API_SECRET_PREVIOUS empty, which the config reads as unset.
    const after = configured({ API_SECRET: CURRENT, API_SECRET_PREVIOUS: "" });
    expect(await after("/api/containers", CURRENT)).toBe(200);
    expect(await after("/api/containers", PREVIOUS)).toBe(401);
    expect(await after(`/api/containers/abc/logs?token=${PREVIOUS}`)).toBe(401);
  });
});
