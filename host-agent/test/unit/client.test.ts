// Covers src/api/client.ts against a real local HTTP server: the agent's error envelope becomes a
// typed AgentError (code, message, issues, request id), an answer over the byte cap is refused,
// a redirect is refused without ever reaching its target, a silent server is a timeout, a closed
// port is unreachable, an answer not in the contract's shape is a bad answer, /health is read
// on 503 too, and the log stream's Server-Sent Events are parsed, ended and bounded.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { AgentClient, AgentError } from "../../src/api/client.js";
import { ContainerDetails } from "../../src/api/contract.js";

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A server on an ephemeral loopback port; `seen` records every request it got. */
async function serve(handler: Handler) {
  const seen: Array<{ method: string; url: string; headers: IncomingMessage["headers"]; body: string }> = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      handler(req, res, body);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const json = (res: ServerResponse, status: number, value: unknown) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
};

const client = (url: string, o: Partial<{ timeoutMs: number; maxResponseBytes: number; secret: string }> = {}) =>
  new AgentClient({ url, secret: "s".repeat(40), timeoutMs: 5_000, maxResponseBytes: 64 * 1024, ...o });

/** The rejection of `p`, which must be an AgentError. */
async function failure(p: Promise<unknown>): Promise<AgentError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AgentError);
  return err as AgentError;
}

const DETAILS: ContainerDetails = {
  id: "c-one",
  name: "acme-shop",
  dockerId: "d".repeat(64),
  image: "node:24-slim",
  state: "running",
  exitCode: null,
  health: "answering",
  pool: false,
  hostPort: 10001,
  ports: [{ containerPort: 3000, hostPort: 10001 }],
  volumeName: null,
  createdAt: "2026-01-01T00:00:00.000Z",
  startedAt: "2026-01-01T00:00:01.000Z",
  uptimeSeconds: 12,
  repo: "acme/shop",
  branch: "main",
};

describe("AgentClient", () => {
  it("sends the bearer secret, JSON only with a body, and parses the answer with the contract", async () => {
    const agent = await serve((req, res) => json(res, 200, req.method === "GET" ? DETAILS : { ...DETAILS }));
    const c = client(agent.url + "/");
    expect(await c.get("c-one")).toEqual(DETAILS);
    await c.restart("c-one");
    expect(agent.seen.map((r) => `${r.method} ${r.url}`)).toEqual([
      "GET /api/containers/c-one",
      "POST /api/containers/c-one/restart",
    ]);
    expect(agent.seen[0]!.headers.authorization).toBe(`Bearer ${"s".repeat(40)}`);
    expect(agent.seen[0]!.headers["content-type"]).toBeUndefined();
    // A restart without a body is the agent's container-only restart: nothing is sent.
    expect(agent.seen[1]!.body).toBe("");
  });

  it("turns the agent's error envelope into a typed error with code, message, issues and request id", async () => {
    const agent = await serve((_req, res) =>
      json(res, 409, {
        error: {
          code: "uncommitted_changes",
          message: "2 files changed locally",
          requestId: "req-1",
          issues: [{ path: "src/a.ts", message: "modified" }],
        },
      }),
    );
    const err = await failure(client(agent.url).call("POST", "/api/containers/c-one/redeploy", ContainerDetails, {}));
    expect(err.reason).toBe("agent_error");
    expect(err.code).toBe("uncommitted_changes");
    expect(err.status).toBe(409);
    expect(err.message).toBe("uncommitted_changes: 2 files changed locally");
    expect(err.details.agentMessage).toBe("2 files changed locally");
    expect(err.details.requestId).toBe("req-1");
    expect(err.issues).toEqual([{ path: "src/a.ts", message: "modified" }]);
    expect(JSON.parse(agent.seen[0]!.body)).toEqual({});
    expect(agent.seen[0]!.headers["content-type"]).toBe("application/json");
  });

  it("says only the status of an error answer that is not the envelope", async () => {
    const agent = await serve((_req, res) => {
      res.writeHead(502, { "content-type": "text/html" });
      res.end("<h1>Bad Gateway</h1>");
    });
    const err = await failure(client(agent.url).list());
    expect(err).toMatchObject({ reason: "bad_answer", message: "agent answered 502", code: null, status: 502 });
  });

  it("refuses a 2xx answer that is not the contract's shape, naming the field", async () => {
    const agent = await serve((_req, res) => json(res, 200, { containers: [{ ...DETAILS, state: "sleeping" }] }));
    const err = await failure(client(agent.url).list());
    expect(err.reason).toBe("bad_answer");
    expect(err.message).toMatch(/GET \/api\/containers is not the contract's \(containers\.0\.state: /);
  });

  it("refuses an answer over the byte cap, 2xx or not", async () => {
    const big = "x".repeat(200 * 1024);
    const agent = await serve((req, res) =>
      json(res, req.url === "/api/containers" ? 200 : 500, { containers: [], padding: big }),
    );
    const c = client(agent.url, { maxResponseBytes: 64 * 1024 });
    expect(await failure(c.list())).toMatchObject({ reason: "too_large", status: 200 });
    const err = await failure(c.get("c-one"));
    expect(err).toMatchObject({ reason: "too_large", status: 500 });
    expect(err.message).toMatch(/larger than 65536 bytes/);
  });

  it("refuses a redirect: its target never hears of the request, nor of the secret", async () => {
    const target = await serve((_req, res) => json(res, 200, { containers: [] }));
    const agent = await serve((_req, res) => {
      res.writeHead(307, { location: `${target.url}/api/containers` });
      res.end();
    });
    const err = await failure(client(agent.url).list());
    expect(err.reason).toBe("redirect");
    expect(err.message).toMatch(/with a redirect, which it never sends: refused/);
    expect(agent.seen).toHaveLength(1);
    expect(target.seen).toHaveLength(0);
  });

  it("gives up on a server that never answers at the deadline", async () => {
    const agent = await serve(() => undefined);
    const started = Date.now();
    const err = await failure(client(agent.url, { timeoutMs: 300 }).list());
    expect(err.reason).toBe("timeout");
    expect(err.message).toMatch(/did not answer GET \/api\/containers in time \(0\.3 s\)/);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("says an agent whose port is closed is not reachable, with fetch's reason as the cause", async () => {
    const agent = await serve(() => undefined);
    const { url } = agent;
    const s = servers.pop()!;
    await new Promise((r) => s.close(r));
    const err = await failure(client(url).list());
    expect(err.reason).toBe("unreachable");
    expect(err.message).toBe(`The Docker host agent at ${url} is not reachable (TypeError: fetch failed)`);
    expect(String((err.cause as Error).cause)).toMatch(/ECONNREFUSED/);
  });

  it("reads /health on 503 as on 200 (Docker down is an answer), without a secret", async () => {
    const body = {
      status: "degraded",
      containerCount: 0,
      uptime: 5,
      docker: { reachable: false, error: "connect ENOENT /var/run/docker.sock" },
    };
    const agent = await serve((_req, res) => json(res, 503, body));
    const h = await new AgentClient({ url: agent.url, timeoutMs: 5_000, maxResponseBytes: 4096 }).health();
    expect(h).toEqual(body);
    expect(agent.seen[0]!.headers.authorization).toBeUndefined();
  });

  it("says what answered /health when it is not the agent", async () => {
    const agent = await serve((_req, res) => json(res, 200, { hello: "world" }));
    const err = await failure(client(agent.url).health());
    expect(err).toMatchObject({ reason: "bad_answer", message: `${agent.url}/health answered 200` });
  });
});

describe("AgentClient.logs", () => {
  const sse = (res: ServerResponse) => res.writeHead(200, { "content-type": "text/event-stream" });
  const event = (line: string, stream = "stdout") =>
    `id: 1\ndata: ${JSON.stringify({ line, timestamp: 1, stream })}\n\n`;

  it("yields each event's log line until `end`, skipping keepalives, and asks for follow and tail", async () => {
    const agent = await serve((_req, res) => {
      sse(res);
      res.write(": keepalive\n\n");
      res.write(event("one"));
      // An event split across chunks, with CRLF line ends, is one event.
      const two = event("two", "stderr").replace(/\n/g, "\r\n");
      res.write(two.slice(0, 10));
      setTimeout(() => {
        res.write(two.slice(10));
        res.end("event: end\ndata: {}\n\n");
      }, 20);
    });
    const lines = [];
    for await (const e of client(agent.url).logs("c-one", { tail: 5, follow: false, idleTimeoutMs: 5_000 })) {
      lines.push(`${e.stream}:${e.line}`);
    }
    expect(lines).toEqual(["stdout:one", "stderr:two"]);
    expect(agent.seen[0]!.url).toBe("/api/containers/c-one/logs?follow=false&tail=5");
    expect(agent.seen[0]!.headers.authorization).toBe(`Bearer ${"s".repeat(40)}`);
  });

  it("turns an error answer into the typed error, and a stream gone silent into a timeout", async () => {
    const missing = await serve((_req, res) =>
      json(res, 404, { error: { code: "container_not_found", message: "No container c-one", requestId: "r" } }),
    );
    const logs = (url: string, idleTimeoutMs = 5_000) =>
      (async () => {
        for await (const _ of client(url).logs("c-one", { follow: true, idleTimeoutMs })) void _;
      })();
    expect((await failure(logs(missing.url))).code).toBe("container_not_found");
    const silent = await serve((_req, res) => {
      sse(res);
      res.write(event("only"));
    });
    expect((await failure(logs(silent.url, 300))).reason).toBe("timeout");
  });

  it("refuses an event longer than the byte cap, and stops quietly when the caller aborts", async () => {
    const agent = await serve((req, res) => {
      sse(res);
      if (req.url!.includes("tail=1")) res.write(`data: ${"x".repeat(100 * 1024)}`);
      else res.write(event("first"));
    });
    const c = client(agent.url, { maxResponseBytes: 64 * 1024 });
    const long = (async () => {
      for await (const _ of c.logs("c-one", { tail: 1, follow: true, idleTimeoutMs: 5_000 })) void _;
    })();
    expect((await failure(long)).reason).toBe("too_large");
    const stop = new AbortController();
    const seen = [];
    for await (const e of c.logs("c-one", { follow: true, idleTimeoutMs: 5_000, signal: stop.signal })) {
      seen.push(e.line);
      stop.abort();
    }
    expect(seen).toEqual(["first"]);
  });
});
