// Covers src/app.ts and src/routes/* over app.request() with an in-memory engine: auth, envelopes, status codes, SSE logs.
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  ContainerDetails,
  CreateContainerResponse,
  ErrorResponse,
  HealthResponse,
  ListContainersResponse,
  LogEvent,
} from "../../src/api/contract.js";
import { createApp } from "../../src/app.js";
import { ExecRunner } from "../../src/containers/exec-runner.js";
import { PortAllocator } from "../../src/containers/port-allocator.js";
import { ContainerService } from "../../src/containers/service.js";
import { KeyedLock } from "../../src/lib/keyed-lock.js";
import { createLogger } from "../../src/lib/logger.js";
import { CallbackOutbox } from "../../src/report/callbacks.js";
import { ContainerIO } from "../../src/setup/container-io.js";
import { RepoCache } from "../../src/setup/repo-cache.js";
import { OperationLock } from "../../src/containers/operation-lock.js";
import { Redeployer } from "../../src/setup/redeploy.js";
import { Relauncher } from "../../src/setup/relaunch.js";
import { SetupRunner } from "../../src/setup/runner.js";
import { ActivityLog } from "../../src/containers/activity.js";
import { EngineEvents } from "../../src/docker/engine-events.js";
import { DevServerWatch } from "../../src/watch/dev-server-watch.js";
import { RunSecrets } from "../../src/setup/run-settings.js";
import { FakeDocker } from "./fake-docker.js";
import { TEST_SECRET, testConfig } from "./fixtures.js";

async function setup({ reconcile = true, env = {} }: { reconcile?: boolean; env?: Record<string, string> } = {}) {
  const docker = new FakeDocker();
  const config = testConfig(env);
  const logger = createLogger("silent");
  const containers = new ContainerService(docker, new PortAllocator(config.portRange), config, logger, null);
  if (reconcile) await containers.reconcile();
  const exec = new ExecRunner(docker, config.container.user, config.container.execOutputLimitBytes);
  // Wired like server.ts; no test here starts a setup, so none of these touches disk or git.
  const io = new ContainerIO(docker, config.container.user);
  const outbox = new CallbackOutbox(config.dataDir, logger);
  // Never started: no event stream, no health checks.
  const watch = new DevServerWatch({ config, docker, outbox, events: new EngineEvents(docker, logger), logger });
  const activity = new ActivityLog();
  containers.observe = (id) => ({ health: watch.health(id), lastActivityMs: activity.lastAt(id) });
  const repos = new RepoCache(path.join(config.dataDir, "repo-cache"), config.setup.gitRemoteTemplate, 1_000);
  const launch = {
    config,
    docker,
    containers,
    io,
    outbox,
    logger,
    watch,
    locks: new OperationLock(),
    secrets: new RunSecrets(),
  };
  const deps = { ...launch, repos, installLocks: new KeyedLock() };
  const setup = new SetupRunner(deps);
  const relaunch = new Relauncher(launch);
  const redeploy = new Redeployer(deps);
  const { app } = createApp({
    config,
    docker,
    containers,
    exec,
    setup,
    relaunch,
    redeploy,
    activity,
    logger,
    startedAt: Date.now() - 5_000,
  });
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    app.request(path, {
      method,
      headers: { authorization: `Bearer ${TEST_SECRET}`, "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
  return { app, docker, call };
}

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = ErrorResponse.parse(await res.json());
  expect(body.error.code).toBe(code);
  expect(body.error.requestId).toBeTruthy();
  return body.error;
}

describe("GET /health", () => {
  it("answers without a token: status, container count, uptime, Docker version", async () => {
    const { app, call } = await setup();
    await call("POST", "/api/containers", { name: "web" });
    const res = await app.request("/health");
    expect(res.status).toBe(200);
    const body = HealthResponse.parse(await res.json());
    expect(body).toMatchObject({ status: "ok", containerCount: 1, docker: { reachable: true, version: "27.0.0" } });
    expect(body.uptime).toBeGreaterThanOrEqual(5);
  });

  it("answers 503 degraded when Docker is unreachable", async () => {
    const { app, docker } = await setup();
    docker.unreachable = true;
    const res = await app.request("/health");
    expect(res.status).toBe(503);
    const body = HealthResponse.parse(await res.json());
    expect(body.status).toBe("degraded");
    expect(body.docker.reachable).toBe(false);
    expect(body.docker.error).toMatch(/ECONNREFUSED/);
  });
});

describe("authentication and routing", () => {
  it("answers 401 on /api/* without a token", async () => {
    const { app } = await setup();
    await expectError(await app.request("/api/containers"), 401, "unauthorized");
    await expectError(await app.request("/api/containers", { method: "POST", body: "{}" }), 401, "unauthorized");
  });

  it("answers 401, not 404, for an unknown /api route without a token", async () => {
    const { app } = await setup();
    await expectError(await app.request("/api/secrets"), 401, "unauthorized");
  });

  it("answers unknown routes with a 404 not_found envelope", async () => {
    const { app, call } = await setup();
    await expectError(await call("GET", "/api/nothing-here"), 404, "not_found");
    await expectError(await app.request("/nowhere"), 404, "not_found");
  });

  it("does not accept ?token= on ordinary routes", async () => {
    const { app } = await setup();
    await expectError(await app.request(`/api/containers?token=${TEST_SECRET}`), 401, "unauthorized");
  });
});

describe("POST /api/containers", () => {
  it("creates: 201 with id, name and host port", async () => {
    const { call } = await setup();
    const res = await call("POST", "/api/containers", { id: "web-1", name: "web", ports: [3000, 5173] });
    expect(res.status).toBe(201);
    const body = CreateContainerResponse.parse(await res.json());
    expect(body).toEqual({
      id: "web-1",
      name: "web",
      hostPort: 10000,
      ports: [
        { containerPort: 3000, hostPort: 10000 },
        { containerPort: 5173, hostPort: 10001 },
      ],
      created: true,
    });
  });

  it("answers a repeated create with 200 and the same container", async () => {
    const { call } = await setup();
    await call("POST", "/api/containers", { id: "web-1", name: "web" });
    const res = await call("POST", "/api/containers", { id: "web-1", name: "web" });
    expect(res.status).toBe(200);
    expect(CreateContainerResponse.parse(await res.json())).toMatchObject({
      id: "web-1",
      hostPort: 10000,
      created: false,
    });
  });

  it("takes the id from the Idempotency-Key header", async () => {
    const { call } = await setup();
    const res = await call("POST", "/api/containers", { name: "web" }, { "idempotency-key": "from-header" });
    expect(CreateContainerResponse.parse(await res.json()).id).toBe("from-header");
  });

  it("answers 400 for an invalid Idempotency-Key", async () => {
    const { call, docker } = await setup();
    const err = await expectError(
      await call("POST", "/api/containers", { name: "web" }, { "idempotency-key": "-bad key" }),
      400,
      "invalid_request",
    );
    expect(err.issues?.[0]?.path).toBe("Idempotency-Key header");
    expect(docker.calls).toEqual([]);
  });

  it("answers 400 with field issues for an invalid body", async () => {
    const { call } = await setup();
    const err = await expectError(
      await call("POST", "/api/containers", { name: "web", ports: [], surprise: true }),
      400,
      "invalid_request",
    );
    expect(err.issues?.map((i) => i.path)).toEqual(expect.arrayContaining(["ports"]));
    expect(err.issues?.length).toBeGreaterThanOrEqual(2);
  });

  it("answers 400 for malformed JSON and for a missing body", async () => {
    const { call } = await setup();
    await expectError(await call("POST", "/api/containers", "{nope"), 400, "invalid_request");
    const err = await expectError(await call("POST", "/api/containers"), 400, "invalid_request");
    expect(err.issues?.[0]?.path).toBe("name");
  });

  it("answers 413 for a body over the limit", async () => {
    const { call } = await setup();
    const huge = JSON.stringify({ name: "web", command: ["x".repeat(1024 * 1024 + 1)] });
    await expectError(await call("POST", "/api/containers", huge), 413, "payload_too_large");
  });

  it("answers 403 policy_violation for privileged mode", async () => {
    const { call, docker } = await setup();
    const err = await expectError(
      await call("POST", "/api/containers", { name: "web", privileged: true }),
      403,
      "policy_violation",
    );
    expect(err.message).toContain("ALLOW_PRIVILEGED");
    expect(docker.calls).toEqual([]);
  });

  it("answers 422 image_not_found for an image the host lacks", async () => {
    const { call } = await setup();
    await expectError(await call("POST", "/api/containers", { name: "web", image: "ghost:1" }), 422, "image_not_found");
  });

  it("answers 503 port_range_exhausted when the range is full", async () => {
    const { call } = await setup();
    for (let i = 0; i < 5; i++) {
      expect((await call("POST", "/api/containers", { name: "web", ports: [3000, 3001] })).status).toBe(201);
    }
    await expectError(await call("POST", "/api/containers", { name: "web" }), 503, "port_range_exhausted");
  });

  it("answers 503 docker_unavailable before the first reconcile", async () => {
    const { call } = await setup({ reconcile: false });
    await expectError(await call("POST", "/api/containers", { name: "web" }), 503, "docker_unavailable");
  });

  it("answers 503 docker_unavailable, not 500, when the engine goes away", async () => {
    const { call, docker } = await setup();
    docker.unreachable = true;
    const err = await expectError(await call("POST", "/api/containers", { name: "web" }), 503, "docker_unavailable");
    expect(err.message).not.toContain("/var/run/docker.sock");
  });
});

describe("GET, DELETE and restart of /api/containers/:id", () => {
  it("lists managed containers and gets one by id", async () => {
    const { call } = await setup();
    await call("POST", "/api/containers", { id: "one", name: "one" });
    await call("POST", "/api/containers", { id: "two", name: "two", pool: true });
    const list = ListContainersResponse.parse(await (await call("GET", "/api/containers")).json());
    expect(list.containers.map((c) => c.id).sort()).toEqual(["one", "two"]);
    const two = ContainerDetails.parse(await (await call("GET", "/api/containers/two")).json());
    expect(two).toMatchObject({ id: "two", pool: true, state: "running", hostPort: 10001, exitCode: null });
  });

  it("answers 404 container_not_found for an unknown id", async () => {
    const { call } = await setup();
    await expectError(await call("GET", "/api/containers/unknown-id"), 404, "container_not_found");
    await expectError(await call("DELETE", "/api/containers/unknown-id"), 404, "container_not_found");
    await expectError(await call("POST", "/api/containers/unknown-id/restart"), 404, "container_not_found");
  });

  it("answers 400 for a malformed id, naming it", async () => {
    const { call } = await setup();
    const err = await expectError(await call("GET", "/api/containers/NOT_AN_ID"), 400, "invalid_request");
    expect(err.issues?.[0]?.path).toBe("container id");
  });

  it("deletes, then the id is gone and its host port is handed out again", async () => {
    const { call } = await setup();
    await call("POST", "/api/containers", { id: "doomed", name: "web" });
    const res = await call("DELETE", "/api/containers/doomed");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: "doomed", removed: true });
    await expectError(await call("GET", "/api/containers/doomed"), 404, "container_not_found");
    const again = CreateContainerResponse.parse(await (await call("POST", "/api/containers", { name: "web" })).json());
    expect(again.hostPort).toBe(10000);
  });

  it("restarts and answers the container's details", async () => {
    const { call } = await setup();
    await call("POST", "/api/containers", { id: "bouncy", name: "web" });
    const res = await call("POST", "/api/containers/bouncy/restart");
    expect(res.status).toBe(200);
    expect(ContainerDetails.parse(await res.json())).toMatchObject({ id: "bouncy", state: "running" });
  });
});

describe("stop, start, and restart with a start body", () => {
  const body = { callbackUrl: "http://127.0.0.1:9/cb", callbackSecret: "a-callback-secret-of-16+" };

  it("stops and answers the details of the stopped container", async () => {
    const { call } = await setup();
    await call("POST", "/api/containers", { id: "sleepy", name: "web" });
    const res = await call("POST", "/api/containers/sleepy/stop");
    expect(res.status).toBe(200);
    expect(ContainerDetails.parse(await res.json())).toMatchObject({ id: "sleepy", state: "exited" });
    await expectError(await call("POST", "/api/containers/ghost/stop"), 404, "container_not_found");
  });

  it("answers 400 for a start body that is missing, wrong or carries unknown fields, before touching Docker", async () => {
    const { call, docker } = await setup();
    await call("POST", "/api/containers", { id: "sleepy", name: "web" });
    await call("POST", "/api/containers/sleepy/stop");
    const before = docker.calls.length;
    for (const bad of [
      undefined,
      {},
      { callbackUrl: "ftp://x/cb", callbackSecret: body.callbackSecret },
      { ...body, callbackSecret: "short" },
      { ...body, devCommand: [] },
      { ...body, envVars: { "not a name": "x" } },
      { ...body, repo: "acme/other" },
    ])
      await expectError(await call("POST", "/api/containers/sleepy/start", bad), 400, "invalid_request");
    await expectError(await call("POST", "/api/containers/sleepy/restart", {}), 400, "invalid_request");
    expect(docker.calls.length).toBe(before);
  });

  it("answers 409 for a container never set up, and leaves it as it was", async () => {
    const { call, docker } = await setup();
    await call("POST", "/api/containers", { id: "fresh", name: "web" });
    await call("POST", "/api/containers/fresh/stop");
    const before = docker.calls.length;
    const err = await expectError(await call("POST", "/api/containers/fresh/start", body), 409, "conflict");
    expect(err.message).toMatch(/no finished setup/);
    await expectError(await call("POST", "/api/containers/fresh/restart", body), 409, "conflict");
    expect(docker.calls.length).toBe(before);
    await expectError(await call("POST", "/api/containers/ghost/start", body), 404, "container_not_found");
  });
});

describe("one operation at a time per container", () => {
  const start = { callbackUrl: "http://127.0.0.1:9/cb", callbackSecret: "a-callback-secret-of-16+" };
  const setupBody = { ...start, repo: "acme/shop", branch: "main" };

  it("answers 409 conflict to every other operation while a stop runs, and a delete waits for it", async () => {
    const { call, docker } = await setup();
    await call("POST", "/api/containers", { id: "busy", name: "web" });
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const stop = docker.stop.bind(docker);
    docker.stop = async (dockerId: string) => {
      await gate;
      return stop(dockerId);
    };
    const stopping = Promise.resolve(call("POST", "/api/containers/busy/stop"));
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (const [path, body] of [
      ["/api/containers/busy/stop", undefined],
      ["/api/containers/busy/restart", undefined],
      ["/api/containers/busy/restart", start],
      ["/api/containers/busy/start", start],
      ["/api/containers/busy/setup", setupBody],
      ["/api/containers/busy/redeploy", setupBody],
    ] as const) {
      const err = await expectError(await call("POST", path, body), 409, "conflict");
      expect(err.message).toMatch(/busy is being stopped/);
    }
    let deleted = false;
    const deleting = Promise.resolve(call("DELETE", "/api/containers/busy")).then((res) => {
      deleted = true;
      return res;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(deleted).toBe(false);
    open();
    expect((await stopping).status).toBe(200);
    expect((await deleting).status).toBe(200);
    await expectError(await call("GET", "/api/containers/busy"), 404, "container_not_found");
  });
});

describe("POST /api/containers/:id/redeploy", () => {
  const body = {
    repo: "acme/shop",
    branch: "main",
    callbackUrl: "http://127.0.0.1:9/cb",
    callbackSecret: "a-callback-secret-of-16+",
  };

  it("answers 400 for a bad body, 404 for an unknown container, 409 for one never set up or stopped, touching nothing", async () => {
    const { call, docker } = await setup();
    await call("POST", "/api/containers", { id: "fresh", name: "web" });
    const before = docker.calls.length;
    for (const bad of [
      undefined,
      {},
      { ...body, branch: "--upload-pack=x" },
      { ...body, force: "yes" },
      { ...body, image: "x" },
    ])
      await expectError(await call("POST", "/api/containers/fresh/redeploy", bad), 400, "invalid_request");
    expect(docker.calls.length).toBe(before);
    await expectError(await call("POST", "/api/containers/ghost/redeploy", body), 404, "container_not_found");
    const err = await expectError(await call("POST", "/api/containers/fresh/redeploy", body), 409, "conflict");
    expect(err.message).toMatch(/no finished setup to redeploy/);
    await call("POST", "/api/containers/fresh/stop");
    const stopped = await expectError(await call("POST", "/api/containers/fresh/redeploy", body), 409, "conflict");
    expect(stopped.message).toMatch(/start it first/);
  });
});

describe("POST /api/containers/:id/exec validation", () => {
  it("answers 400 for an empty command, string or argv, before touching Docker", async () => {
    const { call, docker } = await setup();
    await call("POST", "/api/containers", { id: "box", name: "web" });
    const before = docker.calls.length;
    await expectError(await call("POST", "/api/containers/box/exec", { command: "" }), 400, "invalid_request");
    await expectError(await call("POST", "/api/containers/box/exec", { command: [] }), 400, "invalid_request");
    expect(docker.calls.length).toBe(before);
  });

  it("answers 404 for exec in an unknown container", async () => {
    const { call } = await setup();
    await expectError(
      await call("POST", "/api/containers/ghost/exec", { command: ["true"] }),
      404,
      "container_not_found",
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Logs over SSE
// ---------------------------------------------------------------------------------------------

const frame = (stream: 1 | 2, payload: string) => {
  const body = Buffer.from(payload);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
};

type SseEvent = { id?: string; event?: string; data: string };

function parseSse(text: string): SseEvent[] {
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "" && !block.startsWith(":"))
    .map((block) => {
      const event: SseEvent = { data: "" };
      for (const line of block.split("\n")) {
        const [field, ...rest] = line.split(": ");
        const value = rest.join(": ");
        if (field === "id") event.id = value;
        if (field === "event") event.event = value;
        if (field === "data") event.data = value;
      }
      return event;
    });
}

async function logsSetup() {
  const s = await setup();
  await s.call("POST", "/api/containers", { id: "talker", name: "web" });
  const info = await s.docker.inspect("artie-talker");
  const dockerId = info!.Id;
  const frames = [
    frame(1, "2025-01-02T03:04:05.100000000Z hello\n"),
    frame(2, "2025-01-02T03:04:05.200000000Z oops\n"),
    frame(1, "2025-01-02T03:04:05.300000000Z bye\n"),
  ];
  // Cut across frame boundaries, as a socket would.
  const all = Buffer.concat(frames);
  s.docker.logs.set(dockerId, [all.subarray(0, 5), all.subarray(5, 50), all.subarray(50)]);
  return { ...s, dockerId, frames };
}

describe("GET /api/containers/:id/logs", () => {
  it("streams each line as an event with a cursor id, then `end`", async () => {
    const { app, docker } = await logsSetup();
    const res = await app.request(`/api/containers/talker/logs?token=${TEST_SECRET}&tail=50`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
    const events = parseSse(await res.text());
    const lines = events.filter((e) => !e.event);
    expect(lines.map((e) => LogEvent.parse(JSON.parse(e.data)))).toEqual([
      { line: "hello", stream: "stdout", timestamp: Date.parse("2025-01-02T03:04:05.100Z") },
      { line: "oops", stream: "stderr", timestamp: Date.parse("2025-01-02T03:04:05.200Z") },
      { line: "bye", stream: "stdout", timestamp: Date.parse("2025-01-02T03:04:05.300Z") },
    ]);
    expect(lines.every((e) => e.id)).toBe(true);
    expect(events.at(-1)?.event).toBe("end");
    expect(docker.logRequests).toEqual([{ tail: 50 }]);
  });

  it("resumes after Last-Event-ID with exactly the lines that follow, asking Docker for `since`", async () => {
    const { app, docker } = await logsSetup();
    const first = parseSse(await (await app.request(`/api/containers/talker/logs?token=${TEST_SECRET}`)).text());
    const cursor = first[0]!.id!;
    const res = await app.request(`/api/containers/talker/logs?token=${TEST_SECRET}`, {
      headers: { "last-event-id": cursor },
    });
    const rest = parseSse(await res.text()).filter((e) => !e.event);
    expect(rest.map((e) => LogEvent.parse(JSON.parse(e.data)).line)).toEqual(["oops", "bye"]);
    expect(rest.at(-1)?.id).toBe(first.filter((e) => !e.event).at(-1)?.id);
    expect(docker.logRequests.at(-1)?.since).toMatch(/^\d+\.\d{9}$/);
  });

  it("accepts the cursor as ?lastEventId= too", async () => {
    const { app } = await logsSetup();
    const first = parseSse(await (await app.request(`/api/containers/talker/logs?token=${TEST_SECRET}`)).text());
    const cursor = encodeURIComponent(first[1]!.id!);
    const res = await app.request(`/api/containers/talker/logs?token=${TEST_SECRET}&lastEventId=${cursor}`);
    const lines = parseSse(await res.text()).filter((e) => !e.event);
    expect(lines.map((e) => LogEvent.parse(JSON.parse(e.data)).line)).toEqual(["bye"]);
  });

  it("answers 400 for a Last-Event-ID it did not issue", async () => {
    const { call } = await logsSetup();
    await expectError(
      await call("GET", "/api/containers/talker/logs", undefined, { "last-event-id": "garbage" }),
      400,
      "invalid_request",
    );
  });

  it("answers 401 for a wrong ?token= and 404 for an unknown container", async () => {
    const { app } = await logsSetup();
    await expectError(await app.request("/api/containers/talker/logs?token=wrong"), 401, "unauthorized");
    await expectError(await app.request(`/api/containers/ghost/logs?token=${TEST_SECRET}`), 404, "container_not_found");
  });

  it("lets a dashboard on another origin read the stream (and its 401), and nothing else", async () => {
    const { app } = await logsSetup();
    const origin = { origin: "http://dash.example" };
    const ok = await app.request(`/api/containers/talker/logs?token=${TEST_SECRET}`, { headers: origin });
    expect(ok.headers.get("access-control-allow-origin")).toBe("*");
    const denied = await app.request("/api/containers/talker/logs?token=wrong", { headers: origin });
    expect(denied.status).toBe(401);
    expect(denied.headers.get("access-control-allow-origin")).toBe("*");
    const other = await app.request("/api/containers", {
      headers: { ...origin, authorization: `Bearer ${TEST_SECRET}` },
    });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("names the allowed dashboard origins when DASHBOARD_ORIGINS is set", async () => {
    const { app } = await setup({ env: { DASHBOARD_ORIGINS: "http://dash.example" } });
    const res = (origin: string) => app.request("/api/containers/talker/logs?token=wrong", { headers: { origin } });
    expect((await res("http://dash.example")).headers.get("access-control-allow-origin")).toBe("http://dash.example");
    expect((await res("http://evil.example")).headers.get("access-control-allow-origin")).toBeNull();
  });
});
