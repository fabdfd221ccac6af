// Covers src/containers/service.ts against an in-memory engine: reconcile from labels, idempotent create, ports, remove.
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { ContainerId, CreateContainerRequest } from "../../src/api/contract.js";
import { AppError } from "../../src/api/errors.js";
import { RECONCILE_RETRY_MS } from "../../src/config.js";
import { PortAllocator } from "../../src/containers/port-allocator.js";
import { ContainerService } from "../../src/containers/service.js";
import { containerName, toLabels } from "../../src/docker/labels.js";
import { createLogger } from "../../src/lib/logger.js";
import { dependencyVolume, mainImageTag } from "../../src/setup/artifact-names.js";
import { FakeDocker } from "./fake-docker.js";
import { exitedState, testConfig } from "./fixtures.js";

/** A service on the fake engine, not yet reconciled; no isolation (that needs a real engine). */
function newService(docker: FakeDocker) {
  const config = testConfig();
  const ports = new PortAllocator(config.portRange);
  return { ports, service: new ContainerService(docker, ports, config, createLogger("silent"), null) };
}

async function setup(prepare: (docker: FakeDocker) => void = () => {}) {
  const docker = new FakeDocker();
  prepare(docker);
  const { ports, service } = newService(docker);
  await service.reconcile();
  return { docker, ports, service };
}

const req = (body: Record<string, unknown> = {}) => CreateContainerRequest.parse({ name: "web", ...body });

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error("expected an AppError");
}

const seededLabels = (id: string, hostPorts: number[]) =>
  toLabels({
    id,
    name: id,
    ports: hostPorts.map((hostPort, i) => ({ containerPort: 3000 + i, hostPort })),
    pool: false,
    createdAt: "2025-01-01T00:00:00.000Z",
    volumeName: null,
    networkName: null,
  });

describe("ContainerService.reconcile", () => {
  it("refuses to create before it has read the held ports from Docker", async () => {
    const docker = new FakeDocker();
    const { service } = newService(docker);
    const err = await rejection(service.create(req()));
    expect(err.code).toBe("docker_unavailable");
    expect(docker.calls).toEqual([]);
  });

  it("marks every port in the labels of existing containers as held", async () => {
    const { ports, service } = await setup((d) => {
      d.seed(containerName("old-one"), seededLabels("old-one", [10000, 10002]));
      d.seed(containerName("old-two"), seededLabels("old-two", [10003]), exitedState(0));
    });
    expect([10000, 10002, 10003].every((p) => ports.isHeld(p))).toBe(true);
    expect((await service.create(req({ ports: [3000, 3001] }))).ports.map((p) => p.hostPort)).toEqual([10001, 10004]);
  });

  it("ignores containers with damaged labels and counts what Docker listed", async () => {
    const docker = new FakeDocker();
    docker.seed("artie-broken", { ...seededLabels("broken", [10000]), "artie.ports": "not json" });
    docker.seed("someone-else", { "com.example": "x" });
    const { ports, service } = newService(docker);
    expect(await service.reconcile()).toBe(1);
    expect(ports.heldCount).toBe(0);
  });

  it("retries until Docker answers, then allows creates", async () => {
    vi.useFakeTimers();
    onTestFinished(() => void vi.useRealTimers());
    const docker = new FakeDocker();
    docker.unreachable = true;
    const { service } = newService(docker);
    let ready = false;
    const done = service.reconcileUntilReady(new AbortController().signal).then(() => (ready = true));
    await vi.advanceTimersByTimeAsync(RECONCILE_RETRY_MS * 3);
    expect(ready).toBe(false);
    docker.unreachable = false;
    await vi.advanceTimersByTimeAsync(RECONCILE_RETRY_MS);
    await done;
    vi.useRealTimers();
    await expect(service.create(req())).resolves.toMatchObject({ created: true });
  });

  it("stops retrying once aborted", async () => {
    vi.useFakeTimers();
    onTestFinished(() => void vi.useRealTimers());
    const docker = new FakeDocker();
    docker.unreachable = true;
    const { service } = newService(docker);
    const stop = new AbortController();
    const done = service.reconcileUntilReady(stop.signal);
    stop.abort();
    await vi.advanceTimersByTimeAsync(RECONCILE_RETRY_MS);
    await done;
    expect((await rejection(service.create(req()))).code).toBe("docker_unavailable");
  });
});

describe("ContainerService.create", () => {
  it("creates and starts a container on the lowest free host port", async () => {
    const { docker, service } = await setup();
    const res = await service.create(req({ id: "first", ports: [3000, 5173] }));
    expect(res).toEqual({
      id: "first",
      name: "web",
      hostPort: 10000,
      ports: [
        { containerPort: 3000, hostPort: 10000 },
        { containerPort: 5173, hostPort: 10001 },
      ],
      created: true,
    });
    const info = await docker.inspect(containerName("first"));
    expect(info?.State.Running).toBe(true);
    expect(docker.createdOptions[0]?.HostConfig?.CapDrop).toEqual(["ALL"]);
  });

  it("uses the configured default image when the request names none", async () => {
    const { docker, service } = await setup();
    await service.create(req());
    expect(docker.createdOptions[0]?.Image).toBe("node:24-slim");
  });

  it("makes a random valid id when neither body nor Idempotency-Key gives one", async () => {
    const { service } = await setup();
    const a = await service.create(req());
    const b = await service.create(req());
    expect(ContainerId.safeParse(a.id).success).toBe(true);
    expect(a.id).not.toBe(b.id);
  });

  it("uses the idempotency key as the id, and the body's id over the key", async () => {
    const { service } = await setup();
    expect((await service.create(req(), "from-key")).id).toBe("from-key");
    expect((await service.create(req({ id: "from-body" }), "other-key")).id).toBe("from-body");
  });

  it("returns the existing container for a repeated id, without a second Docker create", async () => {
    const { docker, service } = await setup();
    const first = await service.create(req({ id: "same" }));
    const again = await service.create(req({ id: "same", name: "renamed", ports: [8080] }));
    expect(again).toEqual({ ...first, created: false });
    expect(docker.calls.filter((c) => c.startsWith("create"))).toHaveLength(1);
  });

  it("creates one container for concurrent creates with one id", async () => {
    const { docker, service } = await setup();
    const results = await Promise.all([1, 2, 3].map(() => service.create(req({ id: "racy" }))));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.hostPort)).size).toBe(1);
    expect(docker.containers.size).toBe(1);
  });

  it("gives concurrent creates with different ids different ports", async () => {
    const { service } = await setup();
    const results = await Promise.all(["a-1", "a-2", "a-3", "a-4"].map((id) => service.create(req({ id }))));
    expect(results.map((r) => r.hostPort).sort()).toEqual([10000, 10001, 10002, 10003]);
  });

  it("ensures the dependency volume, labelled, before creating", async () => {
    const { docker, service } = await setup();
    await service.create(req({ volumeName: "owner-repo-node_modules" }));
    expect(docker.volumes.get("owner-repo-node_modules")).toMatchObject({ "artie.managed": "true" });
  });

  it("refuses a policy violation before touching Docker or a port", async () => {
    const { docker, ports, service } = await setup();
    expect((await rejection(service.create(req({ privileged: true })))).code).toBe("policy_violation");
    expect(docker.calls).toEqual([]);
    expect(ports.heldCount).toBe(0);
  });

  it("answers image_not_found for an image the host lacks, holding no port", async () => {
    const { docker, ports, service } = await setup();
    const err = await rejection(service.create(req({ image: "missing:latest" })));
    expect(err.code).toBe("image_not_found");
    expect(err.message).toContain("missing:latest");
    expect(ports.heldCount).toBe(0);
    expect(docker.calls).toEqual([]);
  });

  it("refuses an image the agent built (by its labels or its name) with policy_violation, holding no port", async () => {
    const main = mainImageTag("team-a", "acme/app");
    const { docker, ports, service } = await setup((d) => {
      d.images.add(main).add("retagged:latest").add("acme-app:main").add("node:22");
      d.imageLabelsOf.set(main, { "artie.managed": "true", "artie.tenant": "team-a", "artie.repo": "acme/app" });
      d.imageLabelsOf.set("retagged:latest", { "artie.main-commit": "abc" });
      d.imageLabelsOf.set("node:22", { maintainer: "someone" });
    });
    for (const image of [main, "retagged:latest", "acme-app:main", "artie-main-0123:latest"]) {
      const err = await rejection(service.create(req({ image })));
      expect(err.code, image).toBe("policy_violation");
      expect(err.message).toContain("main image the agent built");
    }
    expect(ports.heldCount).toBe(0);
    expect(docker.containers.size).toBe(0);
    expect((await service.create(req({ image: "node:22" }))).created).toBe(true);
  });

  it("moves on to another port when something outside the agent holds one, and never offers it again", async () => {
    const { docker, ports, service } = await setup((d) => d.foreignPorts.add(10000));
    const res = await service.create(req({ id: "dodger" }));
    expect(res.hostPort).toBe(10001);
    expect(docker.containers.size).toBe(1);
    expect(ports.isHeld(10000)).toBe(false);
    docker.foreignPorts.clear();
    expect((await service.create(req())).hostPort).toBe(10002);
  });

  it("gives up after repeated port conflicts, leaving no container and no held port", async () => {
    const { docker, ports, service } = await setup((d) =>
      [10000, 10001, 10002, 10003].forEach((p) => d.foreignPorts.add(p)),
    );
    await expect(service.create(req())).rejects.toThrow(/port is already allocated/);
    expect(docker.containers.size).toBe(0);
    expect(ports.heldCount).toBe(0);
  });

  it("removes a container that fails to start and releases its port", async () => {
    const { docker, ports, service } = await setup();
    docker.start = () => Promise.reject(Object.assign(new Error("OCI runtime create failed"), { statusCode: 500 }));
    await expect(service.create(req())).rejects.toThrow(/OCI runtime/);
    expect(docker.containers.size).toBe(0);
    expect(ports.heldCount).toBe(0);
  });

  it("answers port_range_exhausted when every port of the range is held", async () => {
    const { service } = await setup();
    for (let i = 0; i < 10; i++) await service.create(req());
    const err = await rejection(service.create(req()));
    expect(err.code).toBe("port_range_exhausted");
    expect(err.message).toContain("10000-10009");
  });
});

describe("ContainerService get, list, restart, remove", () => {
  it("finds a created container by id with its details", async () => {
    const { service } = await setup();
    await service.create(req({ id: "findme", pool: true }));
    expect(await service.get("findme")).toMatchObject({ id: "findme", state: "running", pool: true, hostPort: 10000 });
  });

  it("answers container_not_found for an unknown id", async () => {
    const { service } = await setup();
    expect((await rejection(service.get("nope"))).code).toBe("container_not_found");
    expect((await rejection(service.remove("nope"))).code).toBe("container_not_found");
    expect((await rejection(service.withDockerId("nope", (d) => Promise.resolve(d)))).code).toBe("container_not_found");
  });

  it("runs work with the Docker id of a managed container", async () => {
    const { docker, service } = await setup();
    await service.create(req({ id: "worker" }));
    const expected = (await docker.inspect(containerName("worker")))!.Id;
    expect(await service.withDockerId("worker", (d) => Promise.resolve(d))).toBe(expected);
  });

  it("answers container_not_found when Docker lost a container the agent had seen", async () => {
    const { docker, service } = await setup();
    await service.create(req({ id: "vanisher" }));
    const dockerId = await service.withDockerId("vanisher", (d) => Promise.resolve(d));
    docker.containers.delete(dockerId);
    const err = await rejection(service.withDockerId("vanisher", (d) => docker.followLogs(d, { tail: 1 })));
    expect(err.code).toBe("container_not_found");
    expect((await rejection(service.withDockerId("vanisher", (d) => Promise.resolve(d)))).code).toBe(
      "container_not_found",
    );
  });

  it("does not hand out a container whose name matches but whose id label differs", async () => {
    const { service } = await setup((d) => d.seed(containerName("mine"), seededLabels("theirs", [10005])));
    expect((await rejection(service.get("mine"))).code).toBe("container_not_found");
  });

  it("does not hand out a container whose name matches but that is not managed", async () => {
    const { service } = await setup((d) => d.seed(containerName("plain"), { "com.example": "x" }));
    expect((await rejection(service.get("plain"))).code).toBe("container_not_found");
  });

  it("lists only managed containers with readable labels", async () => {
    const { service } = await setup((d) => {
      d.seed(containerName("kept"), seededLabels("kept", [10005]));
      d.seed("artie-damaged", { ...seededLabels("damaged", [10006]), "artie.ports": "[]" });
      d.seed("other", {});
    });
    await service.create(req({ id: "fresh" }));
    expect((await service.list()).map((c) => c.id).sort()).toEqual(["fresh", "kept"]);
    expect(await service.count()).toBe(3);
  });

  it("restarts and answers the details after", async () => {
    const { docker, service } = await setup();
    await service.create(req({ id: "bouncy" }));
    const details = await service.restart("bouncy");
    expect(details.state).toBe("running");
    expect(docker.calls.some((c) => c.startsWith("restart"))).toBe(true);
  });

  it("removes the container and recycles its host ports", async () => {
    const { docker, service } = await setup();
    await service.create(req({ id: "one", ports: [3000, 3001] }));
    await service.create(req({ id: "two" }));
    await service.remove("one");
    expect(await docker.inspect(containerName("one"))).toBeNull();
    expect((await service.create(req({ ports: [3000, 3001] }))).ports.map((p) => p.hostPort)).toEqual([10000, 10001]);
  });
});

describe("ContainerService.recreate", () => {
  const volume = dependencyVolume("team-a", "acme/shop", "a".repeat(64));

  it("makes the dependency volume with its labels before the container that mounts it", async () => {
    const { docker, service } = await setup();
    await service.create(req({ id: "env1" }));
    docker.calls.length = 0;
    await service.recreate("env1", { image: testConfig().defaultImage, volume });
    expect(docker.volumes.get(volume.name)).toEqual(volume.labels);
    const order = docker.calls.map((c) => c.split(" ")[0]);
    expect(order.indexOf("volume")).toBeGreaterThan(-1);
    expect(order.indexOf("volume")).toBeLessThan(order.indexOf("create"));
    // Idempotent: a second recreate finds the same volume and mounts it again.
    await service.recreate("env1", { image: testConfig().defaultImage, volume });
    expect([...docker.volumes.keys()].sort()).toEqual(["artie-ws-env1", volume.name].sort());
  });

  it("never mounts a volume of that name whose labels name another tenant, and keeps the container", async () => {
    const { docker, service } = await setup((d) =>
      d.volumes.set(volume.name, { ...volume.labels, "artie.tenant": "team-b" }),
    );
    await service.create(req({ id: "env2" }));
    docker.calls.length = 0;
    await expect(service.recreate("env2", { image: testConfig().defaultImage, volume })).rejects.toThrow(
      /exists with another artie.tenant label/,
    );
    expect(docker.calls.filter((c) => !c.startsWith("volume"))).toEqual([]);
    expect((await service.get("env2")).id).toBe("env2");
  });
});
