/**
 * Hardened defaults, checked where they matter: in `docker inspect` of a container the agent
 * made, and from inside it. Also the policy: fields that weaken isolation are refused with 403
 * and leave nothing behind, unless the operator's config allows them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecResponse } from "../src/api/contract.js";
import { cleanupAfter, createContainer, startTestAgent, uniqueName } from "./helpers/agent.js";
import { inspectById } from "./helpers/docker.js";

let agent: Awaited<ReturnType<typeof startTestAgent>>;
let closed = false;
beforeAll(async () => {
  agent = await startTestAgent({ CONTAINER_MEMORY_MB: "256", CONTAINER_CPUS: "1", CONTAINER_PIDS_LIMIT: "128" });
});
afterAll(async () => {
  if (!closed) await agent.close();
});

const sh = async (id: string, script: string) => {
  const res = await agent.api.post(`/api/containers/${id}/exec`, { command: ["sh", "-c", script] });
  expect(res.status).toBe(200);
  return ExecResponse.parse(await res.json());
};

describe("hardened container defaults", () => {
  it("shows every hardened default in docker inspect", async () => {
    const volumeName = uniqueName("vol").name;
    const { id, hostPort } = await createContainer(agent.api, { volumeName });
    const info = await inspectById(id);
    const h = info.HostConfig;

    expect(h.CapDrop).toEqual(["ALL"]);
    expect(h.CapAdd ?? []).toEqual([]);
    expect(h.SecurityOpt).toContain("no-new-privileges:true");
    expect(h.Privileged).toBe(false);
    expect(info.Config.User).toBe("1000:1000");
    expect(h.Memory).toBe(256 * 1024 * 1024);
    expect(h.MemorySwap).toBe(h.Memory);
    expect(h.NanoCpus).toBe(1e9);
    expect(h.PidsLimit).toBe(128);
    expect(h.ReadonlyRootfs).toBe(true);
    expect(h.Binds ?? []).toEqual([]);
    expect(info.Mounts.map((m) => m.Source ?? "")).not.toContain("/var/run/docker.sock");
    expect(info.Mounts.filter((m) => m.Type === "bind")).toEqual([]);
    expect(info.Mounts).toContainEqual(
      expect.objectContaining({ Type: "volume", Name: volumeName, Destination: "/app/node_modules" }),
    );
    // The workspace is the environment's own volume, not a tmpfs (which a stop would empty).
    expect(info.Mounts).toContainEqual(
      expect.objectContaining({ Type: "volume", Name: `artie-ws-${id}`, Destination: "/app" }),
    );
    expect(Object.keys(h.Tmpfs ?? {})).toEqual(["/tmp"]);
    expect(h.PidMode ?? "").not.toBe("host");
    expect(h.IpcMode).toBe("private");
    // Its own internal network, at its fixed address; the agent forwards the port, not Docker.
    expect(h.NetworkMode).toMatch(/^artie-net-[0-9a-f]{12}$/);
    expect(info.Config.Labels["artie.network"]).toBe(h.NetworkMode);
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([h.NetworkMode]);
    expect(h.UsernsMode ?? "").not.toBe("host");
    expect(h.LogConfig).toEqual({ Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } });
    expect(h.PortBindings).toEqual({});
    expect(h.Runtime).toBe("runc");
    expect(info.Config.Labels).toMatchObject({
      "artie.managed": "true",
      "artie.id": id,
      "artie.port": String(hostPort),
      "artie.pool": "false",
    });
    expect(Date.parse(info.Config.Labels["artie.created-at"]!)).toBeGreaterThan(0);
  });

  it("runs as a non-root user that can write only the workspace, dependencies and tmp", async () => {
    const { id } = await createContainer(agent.api, { volumeName: uniqueName("vol2").name });
    const r = await sh(
      id,
      [
        "id -u",
        "touch /app/ok && echo app-writable",
        "touch /app/node_modules/ok && echo deps-writable",
        "touch /tmp/ok && echo tmp-writable",
        "touch /etc/nope 2>/dev/null || echo root-readonly",
        "grep CapEff /proc/self/status",
        "grep NoNewPrivs /proc/self/status",
      ].join("; "),
    );
    expect(r.stdout.split("\n")).toEqual(
      expect.arrayContaining([
        "1000",
        "app-writable",
        "deps-writable",
        "tmp-writable",
        "root-readonly",
        "CapEff:\t0000000000000000",
        "NoNewPrivs:\t1",
      ]),
    );
  });

  it.each([
    ["privileged", { privileged: true }],
    ["capAdd", { capAdd: ["SYS_ADMIN"] }],
    ["binds", { binds: ["/var/run/docker.sock:/var/run/docker.sock"] }],
    ["networkMode", { networkMode: "host" }],
  ])("refuses %s with 403 and creates nothing", async (_field, extra) => {
    const { name, id } = uniqueName("pol");
    cleanupAfter(id);
    const res = await agent.api.post("/api/containers", { name, id, ...extra });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: "policy_violation" } });
    await expect(inspectById(id)).rejects.toMatchObject({ statusCode: 404 });
  });

  it("refuses limits above the host's maximum", async () => {
    const { name, id } = uniqueName("lim");
    const res = await agent.api.post("/api/containers", { name, id, limits: { memoryMb: 100_000 } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: "invalid_request" } });
    await expect(inspectById(id)).rejects.toMatchObject({ statusCode: 404 });
  });
});

describe("operator-allowed escape hatches", () => {
  it("adds a capability only when ALLOWED_CAP_ADD names it", async () => {
    // One agent per engine: while the file's agent runs, its egress proxy keeps listening on the
    // gateway addresses of the networks it made, and its forwards on host ports, so a second
    // agent picking the same subnet failed its create with EADDRINUSE on :3128 (a 500).
    await agent.close();
    closed = true;
    const permissive = await startTestAgent({ ALLOWED_CAP_ADD: "NET_BIND_SERVICE" });
    try {
      const { id } = await createContainer(permissive.api, { capAdd: ["NET_BIND_SERVICE"] });
      const info = await inspectById(id);
      expect(info.HostConfig.CapAdd).toEqual(["NET_BIND_SERVICE"]);
      expect(info.HostConfig.CapDrop).toEqual(["ALL"]);
    } finally {
      await permissive.close();
    }
  });
});
