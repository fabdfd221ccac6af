// Covers the workspace volume's life in src/containers/service.ts and workspaces.ts: made with the container, kept by
// recreate, stop and start, removed with it and by the start-up sweep, handed to the user; stop and start themselves.
import { describe, expect, it } from "vitest";
import { CreateContainerRequest } from "../../src/api/contract.js";
import { AppError } from "../../src/api/errors.js";
import { PortAllocator } from "../../src/containers/port-allocator.js";
import { ContainerService } from "../../src/containers/service.js";
import { toLabels, workspaceVolumeLabels } from "../../src/docker/labels.js";
import { createLogger } from "../../src/lib/logger.js";
import { dependencyVolume } from "../../src/setup/artifact-names.js";
import { FakeDocker } from "./fake-docker.js";
import { testConfig } from "./fixtures.js";

async function setup(prepare: (docker: FakeDocker) => void = () => {}, reconcile = true) {
  const docker = new FakeDocker();
  prepare(docker);
  const config = testConfig();
  const service = new ContainerService(
    docker,
    new PortAllocator(config.portRange),
    config,
    createLogger("silent"),
    null,
  );
  if (reconcile) await service.reconcile();
  return { docker, service };
}

const req = (body: Record<string, unknown> = {}) => CreateContainerRequest.parse({ name: "web", ...body });
const dockerIdOf = (docker: FakeDocker, id: string) =>
  [...docker.containers.values()].find((c) => c.Name === `/artie-${id}`)!.Id;

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error("expected an AppError");
}

describe("workspace volume", () => {
  it("is made with its labels before the container, the tenant among them when the create names one", async () => {
    const { docker, service } = await setup();
    await service.create(req({ id: "env1", tenant: "team-a" }));
    expect(docker.volumes.get("artie-ws-env1")).toEqual(workspaceVolumeLabels("env1", "team-a"));
    const order = docker.calls.map((c) => c.split(" ").slice(0, 2).join(" "));
    expect(order.indexOf("volume artie-ws-env1")).toBeLessThan(order.indexOf("create artie-env1"));
    const details = await service.get("env1");
    expect(details.workspaceVolume).toBe("artie-ws-env1");
  });

  it("is mounted again, not made again, by a recreate; the container user owns it throughout", async () => {
    const { docker, service } = await setup();
    await service.create(req({ id: "env1" }));
    const volume = dependencyVolume("team-a", "acme/shop", "a".repeat(64));
    await service.recreate("env1", { image: "node:24-slim", volume });
    const mounts = docker.createdOptions.at(-1)!.HostConfig!.Mounts!;
    expect(mounts.map((m) => [m.Source, m.Target])).toEqual([
      ["artie-ws-env1", "/app"],
      [volume.name, "/app/node_modules"],
    ]);
    expect(docker.oneShots).toEqual([]);
  });

  it("is handed to the user after create and before start when the image left it root's", async () => {
    const { docker, service } = await setup();
    // Every path of every container the fake makes is root's, as on an image without /app.
    const archive = docker.archive.bind(docker);
    docker.archive = (id, path) => {
      docker.owners.set(`${id}:${path}`, { uid: 0, gid: 0 });
      return archive(id, path);
    };
    await service.create(req({ id: "env1", volumeName: "deps-1" }));
    expect(docker.oneShots.map((o) => o.Cmd)).toEqual([["chown", "1000:1000", "/artie-volume-0", "/artie-volume-1"]]);
    const order = docker.calls.map((c) => c.split(" ")[0]);
    expect(order.indexOf("run")).toBeGreaterThan(order.indexOf("create"));
    expect(order.indexOf("run")).toBeLessThan(order.indexOf("start"));
  });

  it("goes with the container on remove", async () => {
    const { docker, service } = await setup();
    await service.create(req({ id: "env1" }));
    await service.remove("env1");
    expect(docker.volumes.has("artie-ws-env1")).toBe(false);
  });

  it("goes when the create fails, so nothing of the environment stays", async () => {
    const { docker, service } = await setup();
    docker.start = () => Promise.reject(Object.assign(new Error("boom"), { statusCode: 500 }));
    await expect(service.create(req({ id: "env1" }))).rejects.toThrow("boom");
    expect(docker.volumes.has("artie-ws-env1")).toBe(false);
  });

  it("it found (the environment's work) is kept when the create fails", async () => {
    const { docker, service } = await setup();
    // After the start-up sweep: a container of env1 went, its workspace stayed (a recreate cut short).
    docker.volumes.set("artie-ws-env1", workspaceVolumeLabels("env1"));
    docker.start = () => Promise.reject(Object.assign(new Error("boom"), { statusCode: 500 }));
    await expect(service.create(req({ id: "env1" }))).rejects.toThrow("boom");
    expect(docker.volumes.get("artie-ws-env1")).toEqual(workspaceVolumeLabels("env1"));
    expect(docker.calls).not.toContain("volume rm artie-ws-env1");
  });

  it("of another environment's name is never mounted", async () => {
    const { service } = await setup((d) => d.volumes.set("artie-ws-env1", workspaceVolumeLabels("env2")));
    await expect(service.create(req({ id: "env1" }))).rejects.toThrow(/not the workspace of env1/);
  });

  it("of an environment that is gone is swept at start-up; the others, and foreign volumes, stay", async () => {
    const { docker } = await setup((d) => {
      d.seed(
        "artie-live",
        toLabels({
          id: "live",
          name: "live",
          ports: [{ containerPort: 3000, hostPort: 10001 }],
          pool: false,
          createdAt: "",
          volumeName: null,
          networkName: null,
        }),
      );
      d.volumes.set("artie-ws-live", workspaceVolumeLabels("live"));
      d.volumes.set("artie-ws-gone", workspaceVolumeLabels("gone"));
      d.volumes.set("someone-elses", { "artie.container-id": "gone" });
      d.volumes.set("artie-ws-misnamed", workspaceVolumeLabels("gone"));
      d.seed("helper", { "artie.helper": "volume-owner" });
    });
    expect([...docker.volumes.keys()].sort()).toEqual(["artie-ws-live", "artie-ws-misnamed", "someone-elses"]);
    expect([...docker.containers.values()].map((c) => c.Name)).toEqual(["/artie-live"]);
  });

  it("blocks a recreate until the start-up sweep is done", async () => {
    const { service } = await setup(() => {}, false);
    const err = await rejection(
      service.recreate("env1", { image: "node:24-slim", volume: dependencyVolume("t", "a/b", "c") }),
    );
    expect(err.code).toBe("docker_unavailable");
  });

  it("reports its size as last known in lists and fresh in a get", async () => {
    const { docker, service } = await setup();
    docker.volumeBytes.set("artie-ws-env1", 4096);
    await service.create(req({ id: "env1" }));
    expect((await service.get("env1")).workspaceBytes).toBe(4096);
    expect((await service.list())[0]!.workspaceBytes).toBe(4096);
  });
});

describe("ContainerService stop and start", () => {
  it("stops the container and keeps it, its ports and its workspace", async () => {
    const { docker, service } = await setup();
    const created = await service.create(req({ id: "env1" }));
    const stopped = await service.stop("env1");
    expect(stopped).toMatchObject({ id: "env1", state: "exited", hostPort: created.hostPort, uptimeSeconds: null });
    expect(docker.calls).toContain(`stop ${dockerIdOf(docker, "env1")}`);
    expect(docker.volumes.has("artie-ws-env1")).toBe(true);
  });

  it("starts a stopped container again, and refuses one that runs with its own code", async () => {
    const { service } = await setup();
    await service.create(req({ id: "env1" }));
    // Not `conflict`: the control plane reads that as busy and would ask again for ever.
    expect((await rejection(service.start("env1"))).code).toBe("already_running");
    await service.stop("env1");
    expect((await service.start("env1")).state).toBe("running");
  });

  it("answers 404 for a container it does not have", async () => {
    const { service } = await setup();
    expect((await rejection(service.stop("nope"))).code).toBe("container_not_found");
    expect((await rejection(service.start("nope"))).code).toBe("container_not_found");
  });

  it("turns a port taken while stopped into a conflict that says so", async () => {
    const { docker, service } = await setup();
    const created = await service.create(req({ id: "env1" }));
    await service.stop("env1");
    docker.foreignPorts.add(created.hostPort);
    const err = await rejection(service.start("env1"));
    expect(err.code).toBe("conflict");
    expect(err.message).toMatch(/cannot start: .*port is already allocated/);
  });
});
