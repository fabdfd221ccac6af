// Covers src/api/request-log.ts and the request context of src/lib/logger.ts from captured pino
// output: every line logged while a request is handled carries its id (from the root logger deep
// in a service as from the handler's), concurrent requests never swap ids, nothing after the
// response borrows one, and neither the bearer secret nor a ?token= reaches a log line.
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { describe, expect, it } from "vitest";
import { requestLog, type HttpObservation } from "../../src/api/request-log.js";
import { REQUEST_ID_MAX_CHARS } from "../../src/config.js";
import { createLogger } from "../../src/lib/logger.js";
import { TEST_SECRET } from "./fixtures.js";
import { testApp } from "./test-app.js";

type Line = Record<string, unknown> & { msg: string };

/** A logger whose lines are kept: raw (to count keys) and parsed. */
function capture() {
  const raw: string[] = [];
  const logger = createLogger("info", { write: (s: string) => void raw.push(...s.split("\n").filter(Boolean)) });
  const lines = () => raw.map((l) => JSON.parse(l) as Line);
  return { logger, raw, lines };
}

const idsIn = (rawLine: string) => rawLine.match(/"requestId":/g)?.length ?? 0;
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("request ids on log lines", () => {
  it("puts each request's id on every line logged while handling it, and none after", async () => {
    const { logger, raw, lines } = capture();
    const seen: HttpObservation[] = [];
    let finishBackground!: () => void;
    const background = new Promise<void>((r) => (finishBackground = r));
    const app = new Hono();
    app.use(requestId({ limitLength: REQUEST_ID_MAX_CHARS }));
    app.use(requestLog(logger, (o) => seen.push(o)));
    app.get("/work/:n", async (c) => {
      const n = c.req.param("n");
      // The root logger, as the Docker client and the services hold it: no id passed to them.
      logger.info({ n }, "deep before");
      await tick(n === "a" ? 20 : 5);
      logger.child({ component: "docker" }).info({ n }, "deep child");
      await Promise.resolve().then(() => logger.warn({ n }, "deep after a promise"));
      c.var.logger.info({ n }, "handler");
      // Work the request started that goes on after its response (a setup after its 202).
      void background.then(() => logger.info({ n }, "background"));
      return c.json({ n });
    });

    // Two at once, interleaved by their timers: each line must still carry its own request's id.
    const [a, b] = await Promise.all([app.request("/work/a"), app.request("/work/b")]);
    finishBackground();
    await tick(5);

    const idOf = { a: a.headers.get("x-request-id"), b: b.headers.get("x-request-id") };
    expect(idOf.a).toBeTruthy();
    expect(idOf.a).not.toBe(idOf.b);
    const byMessage = (msg: string) => lines().filter((l) => l.msg === msg);
    for (const msg of ["deep before", "deep child", "deep after a promise", "handler"]) {
      const found = byMessage(msg);
      expect(found).toHaveLength(2);
      for (const l of found) expect(l.requestId).toBe(idOf[l.n as "a" | "b"]);
    }
    const access = byMessage("request");
    expect(access.map((l) => l.requestId).sort()).toEqual([idOf.a, idOf.b].sort());
    expect(access.every((l) => l.path === "/work/a" || l.path === "/work/b")).toBe(true);
    for (const l of byMessage("background")) expect(l.requestId).toBeUndefined();
    // Never twice on one line (the request's own logger is bound to it, the mixin skips it).
    expect(raw.every((l) => idsIn(l) <= 1)).toBe(true);
    // The metrics see the route pattern, never the raw path.
    expect(seen.map((o) => o.route)).toEqual(["/work/:n", "/work/:n"]);
  });

  it("keeps a well-formed incoming X-Request-Id, replaces a long or malformed one", async () => {
    const { logger, lines } = capture();
    const app = new Hono();
    app.use(requestId({ limitLength: REQUEST_ID_MAX_CHARS }));
    app.use(requestLog(logger));
    app.get("/", (c) => c.text("ok"));
    const ask = async (id: string) =>
      (await app.request("/", { headers: { "x-request-id": id } })).headers.get("x-request-id");

    expect(await ask("trace-42_abc=")).toBe("trace-42_abc=");
    const long = "x".repeat(REQUEST_ID_MAX_CHARS + 1);
    const replaced = [await ask(long), await ask("two words"), await ask('quote"s')];
    for (const id of replaced) expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines().map((l) => l.requestId)).toEqual(["trace-42_abc=", ...replaced]);
  });

  it("logs with the id deep in the agent's own layers, and never the secret or a query token", async () => {
    const { logger, raw, lines } = capture();
    const { docker, call } = await testApp({ logger });
    // A host port held outside the agent: the container service logs its retry mid-request.
    docker.foreignPorts.add(10000);
    const created = await call("POST", "/api/containers", { name: "obs", id: "obs-1" });
    expect(created.status).toBe(201);
    const id = created.headers.get("x-request-id");
    const retry = lines().find((l) => l.msg.includes("host port held outside the agent"));
    expect(retry?.requestId).toBe(id);

    // A query token on a stream route and the bearer secret: neither may reach a line.
    const streamToken = "stream-token-that-must-not-be-logged-0123456789";
    await call("GET", `/api/containers/obs-1/logs?token=${streamToken}`);
    await call("GET", `/api/containers/nope?token=${streamToken}`, undefined, { authorization: "Bearer wrong" });
    docker.unreachable = true;
    const failed = await call("GET", "/api/containers");
    expect(failed.status).toBe(503);
    const failure = lines().find((l) => l.msg === "request failed");
    expect(failure?.requestId).toBe(failed.headers.get("x-request-id"));

    const output = raw.join("\n");
    expect(output).not.toContain(TEST_SECRET);
    expect(output).not.toContain(streamToken);
    expect(output).not.toContain("token=");
    // Every access line has its request's id, once.
    const access = lines().filter((l) => l.msg === "request");
    expect(access.length).toBe(4);
    expect(access.every((l) => typeof l.requestId === "string")).toBe(true);
    expect(raw.every((l) => idsIn(l) <= 1)).toBe(true);
  });

  it("censors secret-bearing fields should a caller ever log them", () => {
    const { logger, raw } = capture();
    logger.info({ callbackSecret: "cb-secret-1", req: { headers: { authorization: "Bearer s3" } } }, "oops");
    expect(raw.join("")).not.toMatch(/cb-secret-1|Bearer s3/);
  });
});
