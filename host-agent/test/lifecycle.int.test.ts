/**
 * Container lifecycle through the HTTP API against the real engine: create, get, list, restart,
 * delete, and idempotent creates (body id, Idempotency-Key, concurrent repeats).
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { ContainerDetails, CreateContainerResponse, ListContainersResponse } from "../src/api/contract.js";
import { cleanupAfter, createContainer, startTestAgent, uniqueName } from "./helpers/agent.js";
import { docker } from "./helpers/docker.js";

let agent: Awaited<ReturnType<typeof startTestAgent>>;
beforeAll(async () => {
  agent = await startTestAgent();
});
afterAll(async () => agent.close());

describe("container lifecycle", () => {
  it("creates, lists, gets, restarts and deletes a container", async () => {
    const { api } = agent;
    const { name, id } = uniqueName("life");
    cleanupAfter(id);

    const res = await api.post("/api/containers", { name, id, ports: [3000] });
    expect(res.status).toBe(201);
    const created = CreateContainerResponse.parse(await res.json());
    expect(created).toMatchObject({ id, name, created: true });
    expect(created.hostPort).toBeGreaterThanOrEqual(10000);

    const details = ContainerDetails.parse(await (await api.get(`/api/containers/${id}`)).json());
    expect(details).toMatchObject({
      id,
      name,
      state: "running",
      exitCode: null,
      hostPort: created.hostPort,
      pool: false,
    });
    expect(details.uptimeSeconds).toBeGreaterThanOrEqual(0);

    const list = ListContainersResponse.parse(await (await api.get("/api/containers")).json());
    expect(list.containers.map((c) => c.id)).toContain(id);

    const firstStart = details.startedAt;
    const restarted = await api.post(`/api/containers/${id}/restart`);
    expect(restarted.status).toBe(200);
    const afterRestart = ContainerDetails.parse(await restarted.json());
    expect(afterRestart.state).toBe("running");
    expect(afterRestart.health).toBe("none");
    expect(afterRestart.startedAt).not.toBe(firstStart);

    const removed = await api.del(`/api/containers/${id}`);
    expect(removed.status).toBe(200);
    expect(await removed.json()).toEqual({ id, removed: true });
    expect((await api.get(`/api/containers/${id}`)).status).toBe(404);
    await expect(docker.getContainer(`artie-${id}`).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it("lists only containers the agent manages", async () => {
    const { name } = uniqueName("foreign");
    const foreign = await docker.createContainer({ name, Image: agent.config.defaultImage, Cmd: ["true"] });
    cleanupAfterForeign(foreign.id);
    const list = ListContainersResponse.parse(await (await agent.api.get("/api/containers")).json());
    expect(list.containers.map((c) => c.dockerId)).not.toContain(foreign.id);
  });

  it("returns the same container when a create with the same id is repeated", async () => {
    const first = await createContainer(agent.api);
    const again = await agent.api.post("/api/containers", { name: first.name, id: first.id });
    expect(again.status).toBe(200);
    expect(CreateContainerResponse.parse(await again.json())).toMatchObject({
      id: first.id,
      hostPort: first.hostPort,
      created: false,
    });
    expect(await countNamed(first.id)).toBe(1);
  });

  it("makes exactly one container for concurrent creates with one Idempotency-Key", async () => {
    const { name, id } = uniqueName("idem");
    cleanupAfter(id);
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => agent.api.post("/api/containers", { name }, { "idempotency-key": id })),
    );
    const bodies = await Promise.all(responses.map(async (r) => CreateContainerResponse.parse(await r.json())));
    expect(responses.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 201]);
    expect(new Set(bodies.map((b) => b.id))).toEqual(new Set([id]));
    expect(new Set(bodies.map((b) => b.hostPort)).size).toBe(1);
    expect(await countNamed(id)).toBe(1);
  });
});

async function countNamed(id: string) {
  const all = await docker.listContainers({ all: true, filters: { name: [`^/?artie-${id}$`] } });
  return all.length;
}

function cleanupAfterForeign(dockerId: string) {
  onTestFinished(async () => {
    await docker
      .getContainer(dockerId)
      .remove({ force: true })
      .catch(() => undefined);
  });
}
