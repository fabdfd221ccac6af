// Covers src/api/errors.ts: AppError statuses, zod failures as 400s, JSON bodies, and the one onError.
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ERROR_CODES, ErrorResponse, type ErrorCode } from "../../src/api/contract.js";
import { AppError, errorBody, makeOnError, parseOr400, readJson, toAppError } from "../../src/api/errors.js";
import { createLogger } from "../../src/lib/logger.js";
import { appError } from "./fixtures.js";

/** Runs `fn` expecting an AppError and returns it. */
describe("AppError.status", () => {
  it.each([
    ["invalid_request", 400],
    ["unauthorized", 401],
    ["policy_violation", 403],
    ["not_found", 404],
    ["container_not_found", 404],
    ["conflict", 409],
    ["payload_too_large", 413],
    ["image_not_found", 422],
    ["port_range_exhausted", 503],
    ["docker_unavailable", 503],
    ["internal", 500],
  ] satisfies [ErrorCode, number][])("maps %s to %i", (code, status) => {
    expect(new AppError(code, "m").status).toBe(status);
  });

  it("has a status for every code in the contract", () => {
    for (const code of ERROR_CODES) expect(new AppError(code, "m").status).toBeGreaterThanOrEqual(400);
  });
});

describe("parseOr400", () => {
  const Body = z.strictObject({ name: z.string().min(1), nested: z.object({ n: z.number() }) });

  it("returns the parsed value", () => {
    expect(parseOr400(Body, { name: "a", nested: { n: 1 } }, "body")).toEqual({ name: "a", nested: { n: 1 } });
  });

  it("applies the schema's transforms and defaults", () => {
    expect(parseOr400(z.object({ n: z.coerce.number().default(5) }), {}, "query")).toEqual({ n: 5 });
  });

  it("throws invalid_request with one issue per problem, each with its dotted path", () => {
    const err = appError(() => parseOr400(Body, { name: "", nested: { n: "x" }, extra: 1 }, "body"));
    expect(err.code).toBe("invalid_request");
    expect(err.status).toBe(400);
    expect(err.issues?.map((i) => i.path).sort()).toEqual(["body", "name", "nested.n"]);
    expect(err.issues?.every((i) => i.message.length > 0)).toBe(true);
    expect(err.message).toMatch(/^Invalid body: /);
    expect(err.message).toContain("nested.n");
  });

  it("names the input itself as the path of a top-level problem", () => {
    const err = appError(() => parseOr400(z.string().regex(/^[a-z]+$/), "BAD", "container id"));
    expect(err.issues?.map((i) => i.path)).toEqual(["container id"]);
    expect(err.issues?.[0]?.message).toMatch(/\S/);
  });
});

/** An app that answers with whatever readJson made of the body. */
function echoApp() {
  const app = new Hono();
  app.use(requestId());
  app.post("/echo", async (c) => c.json({ body: await readJson(c) }));
  app.onError(makeOnError(createLogger("silent")));
  return app;
}

const post = (body: string) =>
  echoApp().request("/echo", { method: "POST", body, headers: { "content-type": "application/json" } });

describe("readJson", () => {
  it("parses a JSON body", async () => {
    expect(await (await post('{"a":[1,2]}')).json()).toEqual({ body: { a: [1, 2] } });
  });

  it("treats an empty or blank body as {}", async () => {
    expect(await (await post("")).json()).toEqual({ body: {} });
    expect(await (await post("  \n")).json()).toEqual({ body: {} });
  });

  it("answers malformed JSON with a 400 invalid_request envelope", async () => {
    const res = await post('{"a":');
    expect(res.status).toBe(400);
    const { error } = ErrorResponse.parse(await res.json());
    expect(error.code).toBe("invalid_request");
    expect(error.message).toMatch(/JSON/);
  });
});

describe("toAppError", () => {
  it("returns an AppError unchanged", () => {
    const err = new AppError("conflict", "taken");
    expect(toAppError(err)).toBe(err);
  });

  it("turns a ZodError into invalid_request with issues", () => {
    const result = z.object({ a: z.number() }).safeParse({ a: "x" });
    expect(result.success).toBe(false);
    const err = toAppError(result.error);
    expect(err.code).toBe("invalid_request");
    expect(err.issues?.[0]?.path).toBe("a");
  });

  it.each(["ECONNREFUSED", "ENOENT", "EACCES", "ECONNRESET"])(
    "maps a connection error %s to docker_unavailable",
    (code) => {
      const err = toAppError(Object.assign(new Error(`connect ${code} /var/run/docker.sock`), { code }));
      expect(err.code).toBe("docker_unavailable");
      expect(err.status).toBe(503);
      expect(err.message).not.toContain("/var/run/docker.sock");
    },
  );

  it("maps a plain object carrying ECONNREFUSED too", () => {
    expect(toAppError({ code: "ECONNREFUSED" }).code).toBe("docker_unavailable");
  });

  it.each([
    ["an Error", new Error("password=hunter2 at /srv/secret")],
    ["a string", "password=hunter2"],
    ["null", null],
    ["an unrelated code", Object.assign(new Error("password=hunter2"), { code: "ETIMEDOUT" })],
  ])("turns %s into a generic internal error that leaks nothing", (_what, thrown) => {
    const err = toAppError(thrown);
    expect(err.code).toBe("internal");
    expect(err.status).toBe(500);
    expect(err.message).toBe("Internal error");
    expect(err.message).not.toContain("hunter2");
  });
});

describe("errorBody", () => {
  it("is the contract's envelope, with issues only when there are some", () => {
    const plain = errorBody(new AppError("conflict", "taken"), "req-1");
    expect(plain).toEqual({ error: { code: "conflict", message: "taken", requestId: "req-1" } });
    expect(plain.error).not.toHaveProperty("issues");
    const issues = [{ path: "name", message: "required" }];
    expect(errorBody(new AppError("invalid_request", "bad", issues), "req-2").error.issues).toEqual(issues);
  });
});

describe("makeOnError", () => {
  const throwingApp = (thrown: unknown) => {
    const app = new Hono();
    app.use(requestId());
    app.get("/boom", () => {
      throw thrown;
    });
    app.onError(makeOnError(createLogger("silent")));
    return app;
  };

  it.each([
    [new AppError("policy_violation", "no"), 403, "policy_violation"],
    [new AppError("payload_too_large", "big"), 413, "payload_too_large"],
    [Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }), 503, "docker_unavailable"],
    [new TypeError("x is undefined, secret=abc"), 500, "internal"],
  ])("answers %s with status %i and code %s in the envelope", async (thrown, status, code) => {
    const res = await throwingApp(thrown).request("/boom");
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    const body = ErrorResponse.parse(await res.json());
    expect(body.error.code).toBe(code);
    expect(body.error.requestId).toBe(res.headers.get("x-request-id"));
    expect(JSON.stringify(body)).not.toContain("secret=abc");
  });

  it("echoes a client-supplied request id", async () => {
    const res = await throwingApp(new AppError("conflict", "c")).request("/boom", {
      headers: { "x-request-id": "client-chosen-42" },
    });
    expect(ErrorResponse.parse(await res.json()).error.requestId).toBe("client-chosen-42");
  });
});
