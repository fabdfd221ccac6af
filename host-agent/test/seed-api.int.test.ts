/**
 * Every example call of the seed's "Management API" (shared/reference/001, "Endpoints"), sent as
 * the seed writes it against the real agent on the real engine. Only what cannot be used here is
 * changed, and each change is named where it is made: the host (the test agent's address), the
 * image (no registry here, so the local test image stands in for node:24-slim), the callback URL
 * (a local receiver instead of a Convex site) and the callback secret, whose seed value is too
 * short to sign anything and is refused with a message that says so.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContainerDetails, ExecResponse, LogEvent } from "../src/api/contract.js";
import { mainImageTag } from "../src/setup/artifact-names.js";
import { startTestAgent, TEST_SECRET } from "./helpers/agent.js";
import { startReceiver, type Receiver } from "./helpers/callback-receiver.js";
import { docker, removeRepoArtifacts } from "./helpers/docker.js";
import { fixtureRoot, type FixtureRoot } from "./helpers/fixture-repo.js";
import { NODE_IMAGE } from "./helpers/images.js";
import { readSse } from "./helpers/sse.js";
import { openTerminal } from "./helpers/terminal.js";

const CALLBACK_SECRET = "a-callback-secret-of-32-characters";
let fixtures: FixtureRoot;
let agent: Awaited<ReturnType<typeof startTestAgent>>;
let receiver: Receiver;
/** The container the seed's create example makes; the later examples use it, as the seed does. */
let id: string;

/** curl -H "Authorization: Bearer $API_SECRET" [-H "Content-Type: application/json" -d body] */
const curl = (method: string, path: string, body?: string) =>
  fetch(`${agent.url}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${TEST_SECRET}`,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body,
  });

beforeAll(async () => {
  fixtures = await fixtureRoot();
  // The seed's repo, "owner/repo", as a local fixture served through GIT_REMOTE_TEMPLATE.
  await fixtures.createRepo("owner/repo", { main: { message: "seed example", greetVersion: "1.0.0" } });
  receiver = await startReceiver(CALLBACK_SECRET);
  agent = await startTestAgent({
    GIT_REMOTE_TEMPLATE: fixtures.remoteTemplate,
    DATA_DIR: `${fixtures.root}/data`,
    CONTAINER_MEMORY_MB: "512",
  });
});

afterAll(async () => {
  if (id)
    await docker
      .getContainer(`artie-${id}`)
      .remove({ force: true })
      .catch(() => undefined);
  await agent?.close();
  await receiver?.close();
  await fixtures?.dispose();
  await removeRepoArtifacts("owner/repo");
  // The seed's create example names its volume itself.
  await docker
    .getVolume("owner-repo-node_modules")
    .remove()
    .catch(() => undefined);
});

describe("the seed's Management API examples, as written", () => {
  it("Health Check: {status: ok, containerCount, uptime}, no auth", async () => {
    const res = await fetch(`${agent.url}/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.status).toBe("ok");
    expect(typeof body.containerCount).toBe("number");
    expect(typeof body.uptime).toBe("number");
  });

  it("Create Container: the seed's body answers {id, name, hostPort}", async () => {
    // Seed: "image": "node:24-slim". No registry here: the local node test image stands in.
    const body = `{
    "name": "my-project",
    "image": "${NODE_IMAGE}",
    "ports": [3000],
    "volumeName": "owner-repo-node_modules"
  }`;
    const res = await curl("POST", "/api/containers", body);
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string; name: string; hostPort: number };
    id = created.id;
    expect(typeof created.id).toBe("string");
    expect(created.name).toBe("my-project");
    expect(created.hostPort).toBeGreaterThanOrEqual(10000);
    expect(created.hostPort).toBeLessThanOrEqual(20000);
  });

  it("List All Containers and Get Container Details find it", async () => {
    const list = (await (await curl("GET", "/api/containers")).json()) as { containers: ContainerDetails[] };
    expect(list.containers.map((c) => c.id)).toContain(id);
    const res = await curl("GET", `/api/containers/${id}`);
    expect(res.status).toBe(200);
    expect(ContainerDetails.parse(await res.json())).toMatchObject({ id, name: "my-project", state: "running" });
  });

  it("Execute Command: a string command runs through sh -c", async () => {
    const res = await curl("POST", `/api/containers/${id}/exec`, '{"command": "ls -la /app", "timeout": 60000}');
    expect(res.status).toBe(200);
    const r = ExecResponse.parse(await res.json());
    expect(r).toMatchObject({ exitCode: 0, timedOut: false });
    expect(r.stdout).toMatch(/^total /m);
    expect(r.stdout).toMatch(/ node_modules$/m);
  });

  it("Execute Command: pipes, && and exit codes behave as in a shell", async () => {
    const piped = ExecResponse.parse(
      await (
        await curl("POST", `/api/containers/${id}/exec`, '{"command": "echo artie | tr a-z A-Z && echo second"}')
      ).json(),
    );
    expect(piped).toMatchObject({ exitCode: 0, stdout: "ARTIE\nsecond\n" });
    const failed = ExecResponse.parse(
      await (await curl("POST", `/api/containers/${id}/exec`, '{"command": "false && echo never; exit 7"}')).json(),
    );
    expect(failed).toMatchObject({ exitCode: 7, stdout: "" });
  });

  it("Setup Container: the seed's callbackSecret is refused, and the answer says why", async () => {
    const body = seedSetupBody({ callbackSecret: "secret123" });
    const res = await curl("POST", `/api/containers/${id}/setup`, body);
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("invalid_request");
    expect(error.message).toMatch(/callbackSecret/);
    expect(error.message).toMatch(/at least 16 characters/);
    expect(error.message).toMatch(/signs the callbacks/);
  });

  it("Setup Container: the seed's body with a long enough secret clones, installs, starts and builds the main image", async () => {
    const res = await curl("POST", `/api/containers/${id}/setup`, seedSetupBody({ callbackSecret: CALLBACK_SECRET }));
    expect(res.status).toBe(202);
    const withImage = (rs: Receiver["received"]) => rs.find((r) => r.body.phase === "ready" && r.body.mainImage);
    const errored = (rs: Receiver["received"]) => rs.find((r) => r.body.phase === "error");
    await receiver.waitFor((rs) => withImage(rs) !== undefined || errored(rs) !== undefined, 90_000);
    expect(errored(receiver.received)?.body.error).toBeUndefined();
    expect(receiver.received.every((r) => r.validSignature)).toBe(true);
    expect(receiver.received.map((r) => r.body.phase)).toEqual(["cloning", "installing", "starting", "ready", "ready"]);
    expect(withImage(receiver.received)!.body.mainImage).toMatchObject({ tag: mainImageTag("default", "owner/repo") });
    // envVars reach the dev server's environment (an exec gets only what it asks for).
    const devEnv = ExecResponse.parse(
      await (
        await agent.api.post(`/api/containers/${id}/exec`, {
          command: [
            "sh",
            "-c",
            "cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | grep -c '^NODE_ENV=development$'",
          ],
        })
      ).json(),
    );
    expect(Number(devEnv.stdout.trim())).toBeGreaterThan(0);
  }, 120_000);

  it("Logs SSE: ?token=<API_SECRET> streams data: {line, timestamp}", async () => {
    const { status, events } = await readSse(`${agent.url}/api/containers/${id}/logs?token=${TEST_SECRET}`, {
      maxEvents: 3,
      timeoutMs: 10_000,
    });
    expect(status).toBe(200);
    expect(events.length).toBe(3);
    // LogEvent is the contract: {line: string, timestamp: number, ...}; parse throws otherwise.
    for (const e of events) LogEvent.parse(JSON.parse(e.data));
    expect(events.map((e) => (JSON.parse(e.data) as { line: string }).line).join("\n")).toMatch(/\[cloning\]/);
  });

  it("Terminal WebSocket: ?token=<API_SECRET> gives an interactive shell", async () => {
    const term = await openTerminal(
      `${agent.url.replace(/^http/, "ws")}/api/containers/${id}/terminal?token=${TEST_SECRET}`,
    );
    term.send("echo seed-$((6*7))\r");
    await term.waitFor(/seed-42/);
    term.ws.close();
    await term.closed;
  });

  it("Destroy Container: removed, and its host port is free again", async () => {
    const before = (await (await curl("GET", `/api/containers/${id}`)).json()) as { hostPort: number };
    const res = await curl("DELETE", `/api/containers/${id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id, removed: true });
    expect((await curl("GET", `/api/containers/${id}`)).status).toBe(404);
    const again = await curl("POST", "/api/containers", `{"name": "my-project-2", "image": "${NODE_IMAGE}"}`);
    const next = (await again.json()) as { id: string; hostPort: number };
    await curl("DELETE", `/api/containers/${next.id}`);
    expect(next.hostPort).toBe(before.hostPort);
    id = "";
  });
});

/** The seed's setup body; only the callback URL (a local receiver) and the secret change. */
function seedSetupBody(over: { callbackSecret: string }) {
  return `{
    "repo": "owner/repo",
    "branch": "main",
    "githubToken": "gho_...",
    "callbackUrl": "${receiver.url}",
    "callbackSecret": "${over.callbackSecret}",
    "hasMainImage": false,
    "buildMainImage": true,
    "envVars": {"NODE_ENV": "development"}
  }`;
}
