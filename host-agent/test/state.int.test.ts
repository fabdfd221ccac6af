/**
 * Honest state: a process that exits shows `exited` with its code, an OOM kill shows
 * `oom_killed`, and /health reports Docker's reachability and the managed container count.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContainerDetails, HealthResponse } from "../src/api/contract.js";
import { client, createContainer, freePort, spawnAgent, startTestAgent, testEnv } from "./helpers/agent.js";
import { NODE_IMAGE } from "./helpers/images.js";

let agent: Awaited<ReturnType<typeof startTestAgent>>;
beforeAll(async () => {
  agent = await startTestAgent();
});
afterAll(async () => agent.close());

async function waitForState(id: string, states: string[]) {
  for (let i = 0; i < 150; i++) {
    const d = ContainerDetails.parse(await (await agent.api.get(`/api/containers/${id}`)).json());
    if (states.includes(d.state)) return d;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`container ${id} never reached ${states.join("/")}`);
}

describe("container state", () => {
  it("reports an exit with its code", async () => {
    const c = await createContainer(agent.api, { command: ["sh", "-c", "exit 7"] });
    const d = await waitForState(c.id, ["exited", "oom_killed"]);
    expect(d).toMatchObject({ state: "exited", exitCode: 7, uptimeSeconds: null });
  });

  it("reports an OOM kill as oom_killed", async () => {
    const hog = "const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1));";
    const c = await createContainer(agent.api, {
      image: NODE_IMAGE,
      limits: { memoryMb: 64 },
      command: ["node", "-e", hog],
    });
    const d = await waitForState(c.id, ["exited", "oom_killed"]);
    expect(d.state).toBe("oom_killed");
    expect(d.exitCode).toBe(137);
  });
});

describe("health", () => {
  it("reports ok, Docker's version and the managed container count", async () => {
    await createContainer(agent.api);
    const res = await fetch(`${agent.url}/health`);
    expect(res.status).toBe(200);
    const body = HealthResponse.parse(await res.json());
    expect(body.status).toBe("ok");
    expect(body.docker.reachable).toBe(true);
    expect(body.docker.apiVersion).toMatch(/^1\.\d+$/);
    expect(body.containerCount).toBeGreaterThanOrEqual(1);
    expect(body.uptime).toBeGreaterThanOrEqual(0);
  });

  it("is degraded (503) while Docker cannot be reached, and refuses creates clearly", async () => {
    const port = await freePort();
    const env = testEnv({ PORT: String(port), DOCKER_HOST: "unix:///nonexistent/docker.sock" });
    const spawned = await spawnAgent(env);
    try {
      const res = await fetch(`${spawned.url}/health`);
      expect(res.status).toBe(503);
      const body = HealthResponse.parse(await res.json());
      expect(body).toMatchObject({ status: "degraded", docker: { reachable: false } });
      const create = await client(spawned.url).post("/api/containers", { name: "test-nodocker" });
      expect(create.status).toBe(503);
      expect(await create.json()).toMatchObject({ error: { code: "docker_unavailable" } });
    } finally {
      await spawned.kill();
    }
  });
});
