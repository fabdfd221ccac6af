/**
 * Container lifecycle through the HTTP API against the real engine: create, get, list, restart,
 * delete, and idempotent creates (body id, Idempotency-Key, concurrent repeats); a failed create
 * of an id whose workspace exists keeps that workspace; the reaper's stop (`unlessUsedAfter`)
 * refused for a container an exec used after the reaper looked.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import {
  ContainerDetails,
  CreateContainerResponse,
  ErrorResponse,
  ExecResponse,
  ListContainersResponse,
} from "../src/api/contract.js";
import { workspaceVolumeName } from "../src/docker/labels.js";
import { cleanupAfter, createContainer, startTestAgent, uniqueName } from "./helpers/agent.js";
import { docker } from "./helpers/docker.js";

/** Never made: a create binding it to a relative path is refused by the engine itself. */
const BIND_SOURCE = "/artie-test-no-such-source";

let agent: Awaited<ReturnType<typeof startTestAgent>>;
beforeAll(async () => {
  // A bind source the policy allows, so a create can be made to fail at the engine (see below).
  agent = await startTestAgent({ ALLOWED_BIND_SOURCES: BIND_SOURCE });
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

describe("a workspace a create did not make", () => {
  it("is kept when a create of its id fails (its container gone, as after a recreate cut short)", async () => {
    const first = await createContainer(agent.api);
    const exec = async (command: string[]) => {
      const res = await agent.api.post(`/api/containers/${first.id}/exec`, { command });
      expect(res.status).toBe(200);
      return ExecResponse.parse(await res.json());
    };
    expect((await exec(["sh", "-c", "echo work-in-progress > /app/work.txt"])).exitCode).toBe(0);
    await docker.getContainer(`artie-${first.id}`).remove({ force: true });

    // Same id, a bind the engine refuses (its target is not absolute): the create fails at the
    // engine, after finding the workspace.
    const failed = await agent.api.post("/api/containers", {
      name: first.name,
      id: first.id,
      binds: [`${BIND_SOURCE}:not-absolute`],
    });
    expect(failed.status).toBeGreaterThanOrEqual(400);
    expect(await countNamed(first.id)).toBe(0);
    const volume = await docker.getVolume(workspaceVolumeName(first.id)).inspect();
    expect(volume.Labels).toMatchObject({ "artie.container-id": first.id });

    // A create that works mounts it again, the work still there.
    const again = await agent.api.post("/api/containers", { name: first.name, id: first.id });
    expect(again.status).toBe(201);
    expect((await exec(["cat", "/app/work.txt"])).stdout).toBe("work-in-progress\n");
  });
});

describe("the reaper's stop", () => {
  it("is refused (409 in_use) for a container an exec used after the reaper looked, which runs on", async () => {
    const c = await createContainer(agent.api);
    // What the reaper judged idleness by: a moment after the container's start (itself a use).
    await new Promise((r) => setTimeout(r, 50));
    const judgedBy = Date.now();
    await new Promise((r) => setTimeout(r, 50));
    const used = await agent.api.post(`/api/containers/${c.id}/exec`, { command: ["true"] });
    expect(used.status).toBe(200);

    const refused = await agent.api.post(`/api/containers/${c.id}/stop`, { unlessUsedAfter: judgedBy });
    expect(refused.status).toBe(409);
    expect(ErrorResponse.parse(await refused.json()).error.code).toBe("in_use");
    expect((await docker.getContainer(`artie-${c.id}`).inspect()).State.Running).toBe(true);

    // Judged after that use: stopped.
    const stopped = await agent.api.post(`/api/containers/${c.id}/stop`, { unlessUsedAfter: Date.now() });
    expect(stopped.status).toBe(200);
    expect(ContainerDetails.parse(await stopped.json()).state).toBe("exited");
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
