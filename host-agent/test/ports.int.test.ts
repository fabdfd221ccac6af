/**
 * Host ports: one per container from the range, recycled on destroy, never handed out twice,
 * also across a killed and restarted agent (the allocator is rebuilt from labels); an exhausted
 * range is a 503 that leaves no container behind.
 */
import { describe, expect, it } from "vitest";
import { CreateContainerResponse, ListContainersResponse } from "../src/api/contract.js";
import { client, createContainer, freePort, spawnAgent, startTestAgent, testEnv, uniqueName } from "./helpers/agent.js";
import { docker } from "./helpers/docker.js";

/** Ranges per test, far from the default one, so tests never share ports. */
const RANGE_RECYCLE = "21000-21009";
const RANGE_EXHAUST = "21100-21101";
const RANGE_RESTART = "21200-21209";

describe("host ports", () => {
  it("hands out the lowest free port and recycles it after destroy", async () => {
    const agent = await startTestAgent({ PORT_RANGE: RANGE_RECYCLE });
    try {
      const a = await createContainer(agent.api);
      const b = await createContainer(agent.api);
      expect([a.hostPort, b.hostPort]).toEqual([21000, 21001]);
      expect((await agent.api.del(`/api/containers/${a.id}`)).status).toBe(200);
      const c = await createContainer(agent.api);
      expect(c.hostPort).toBe(21000);
    } finally {
      await agent.close();
    }
  });

  it("answers 503 when the range is exhausted and leaves nothing behind", async () => {
    const agent = await startTestAgent({ PORT_RANGE: RANGE_EXHAUST });
    try {
      await createContainer(agent.api);
      await createContainer(agent.api);
      const before = (await docker.listContainers({ all: true })).length;
      const { name, id } = uniqueName("full");
      const res = await agent.api.post("/api/containers", { name, id });
      expect(res.status).toBe(503);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("port_range_exhausted");
      expect(body.error.message).toMatch(/21100-21101/);
      expect((await docker.listContainers({ all: true })).length).toBe(before);
    } finally {
      await agent.close();
    }
  });

  it("skips a port something else on the host holds", async () => {
    const { createServer } = await import("node:net");
    const squatter = createServer().listen(21300, "127.0.0.1");
    await new Promise((r) => squatter.once("listening", r));
    const agent = await startTestAgent({ PORT_RANGE: "21300-21305" });
    try {
      const c = await createContainer(agent.api);
      expect(c.hostPort).toBe(21301);
    } finally {
      squatter.close();
      await agent.close();
    }
  });

  it("keeps containers and held ports across a kill -9 and restart of the agent", async () => {
    const port = await freePort();
    const env = testEnv({ PORT: String(port), PORT_RANGE: RANGE_RESTART });
    let agent = await spawnAgent(env);
    try {
      const api = client(agent.url);
      const a = await createContainer(api);
      const b = await createContainer(api);
      await agent.kill("SIGKILL");

      agent = await spawnAgent(env);
      const listed = ListContainersResponse.parse(await (await api.get("/api/containers")).json());
      const ours = listed.containers.filter((c) => [a.id, b.id].includes(c.id));
      expect(ours.map((c) => [c.id, c.hostPort, c.state]).sort()).toEqual(
        [
          [a.id, a.hostPort, "running"],
          [b.id, b.hostPort, "running"],
        ].sort(),
      );

      const { name, id } = uniqueName("after");
      const res = await api.post("/api/containers", { name, id });
      const c = CreateContainerResponse.parse(await res.json());
      await docker.getContainer(`artie-${id}`).remove({ force: true });
      expect([a.hostPort, b.hostPort]).not.toContain(c.hostPort);
      expect(c.hostPort).toBe(21202);
    } finally {
      await agent.kill("SIGKILL");
    }
  });
});
