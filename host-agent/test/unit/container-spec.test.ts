// Covers src/docker/container-spec.ts: hardened create options, limit capping and the isolation policy.
import { describe, expect, it } from "vitest";
import { CreateContainerRequest, type PortMapping } from "../../src/api/contract.js";
import { CONTAINER_RESTART_MAX_RETRIES, loadConfig, type Config } from "../../src/config.js";
import {
  CA_BUNDLE_PATH,
  EXTRA_CA_PATH,
  KEEPALIVE_COMMAND,
  TRUST_MOUNT,
  buildCreateOptions,
  checkPolicy,
  effectiveLimits,
  type NetworkPlacement,
} from "../../src/docker/container-spec.js";
import { fromLabels, workspaceVolumeLabels, workspaceVolumeName } from "../../src/docker/labels.js";
import type { TrustBundle } from "../../src/trust/ca-bundle.js";
import { appError } from "./fixtures.js";

const MiB = 1024 * 1024;
/** The workspace volume of the environment `build` makes (id abc123). */
const WORKSPACE_MOUNT = { Type: "volume", Source: "artie-ws-abc123", Target: "/app" };

const config = (env: Record<string, string> = {}): Config =>
  loadConfig({
    API_SECRET: "x".repeat(40),
    PUBLISH_ADDRESS: "127.0.0.1",
    CONTAINER_MEMORY_MB: "1024",
    CONTAINER_CPUS: "1.5",
    CONTAINER_PIDS_LIMIT: "256",
    CONTAINER_USER: "1234:5678",
    TMP_TMPFS_MB: "128",
    CONTAINER_NETWORK: "artie-net",
    ...env,
  });

const request = (body: Record<string, unknown> = {}) => CreateContainerRequest.parse({ name: "web", ...body });

const PORTS: PortMapping[] = [
  { containerPort: 3000, hostPort: 10004 },
  { containerPort: 5173, hostPort: 10005 },
];

const build = (
  body: Record<string, unknown> = {},
  cfg = config(),
  network: NetworkPlacement | null = null,
  trust: TrustBundle | null = null,
) =>
  buildCreateOptions({
    id: "abc123",
    req: request(body),
    image: "node:24-slim",
    ports: PORTS,
    createdAt: "2025-01-02T03:04:05.000Z",
    config: cfg,
    network,
    trust,
  });

const TRUST: TrustBundle = {
  dir: "/var/lib/artie/ca-trust",
  extraFile: "/var/lib/artie/ca-trust/extra.pem",
  bundleFile: "/var/lib/artie/ca-trust/bundle.pem",
  extraCount: 1,
};

/** Every variable the agent sets so that tools trust the extra CAs. */
const TRUST_VARIABLES = [
  "NODE_EXTRA_CA_CERTS",
  "SSL_CERT_FILE",
  "CURL_CA_BUNDLE",
  "GIT_SSL_CAINFO",
  "npm_config_cafile",
];

const PLACEMENT: NetworkPlacement = {
  name: "artie-net-abc123",
  containerIp: "10.213.0.2",
  gateway: "10.213.0.1",
  proxyPort: 3128,
};

/** Runs `fn` expecting an AppError and returns it. */
describe("buildCreateOptions: identity", () => {
  it("names the container after the id and uses the given image", () => {
    const o = build();
    expect(o.name).toBe("artie-abc123");
    expect(o.Image).toBe("node:24-slim");
    expect(o.WorkingDir).toBe("/app");
  });

  it("labels the container so the agent finds it again", () => {
    const o = build({ pool: true, volumeName: "owner-repo-node_modules" });
    expect(o.Labels).toMatchObject({
      "artie.managed": "true",
      "artie.id": "abc123",
      "artie.name": "web",
      "artie.port": "10004",
      "artie.pool": "true",
      "artie.created-at": "2025-01-02T03:04:05.000Z",
      "artie.volume": "owner-repo-node_modules",
    });
    expect(JSON.parse(o.Labels!["artie.ports"]!)).toEqual(PORTS);
    expect(fromLabels(o.Labels)).toEqual({
      id: "abc123",
      name: "web",
      ports: PORTS,
      pool: true,
      createdAt: "2025-01-02T03:04:05.000Z",
      volumeName: "owner-repo-node_modules",
      networkName: null,
    });
    // An isolated environment also names its network, which a restarted agent reads back.
    expect(fromLabels(build({}, config(), PLACEMENT).Labels)?.networkName).toBe("artie-net-abc123");
  });

  it("labels a non-pool container pool=false", () => {
    expect(build().Labels?.["artie.pool"]).toBe("false");
  });
});

describe("buildCreateOptions: hardening", () => {
  it("drops every capability and adds none", () => {
    const h = build().HostConfig!;
    expect(h.CapDrop).toEqual(["ALL"]);
    expect(h.CapAdd).toEqual([]);
  });

  it("sets no-new-privileges and is never privileged", () => {
    const h = build().HostConfig!;
    expect(h.SecurityOpt).toContain("no-new-privileges:true");
    expect(h.Privileged).toBe(false);
  });

  it("runs as the configured non-root user", () => {
    expect(build().User).toBe("1234:5678");
  });

  it("limits memory with swap equal to memory, CPUs in nanos and pids", () => {
    const h = build().HostConfig!;
    expect(h.Memory).toBe(1024 * MiB);
    expect(h.MemorySwap).toBe(h.Memory);
    expect(h.NanoCpus).toBe(1_500_000_000);
    expect(h.PidsLimit).toBe(256);
  });

  it("applies lower requested limits", () => {
    const h = build({ limits: { memoryMb: 256, cpus: 0.25, pidsLimit: 64 } }).HostConfig!;
    expect(h.Memory).toBe(256 * MiB);
    expect(h.MemorySwap).toBe(256 * MiB);
    expect(h.NanoCpus).toBe(250_000_000);
    expect(h.PidsLimit).toBe(64);
  });

  it("makes the root filesystem read-only unless the operator turns it off", () => {
    expect(build().HostConfig!.ReadonlyRootfs).toBe(true);
    expect(build({}, config({ CONTAINER_READ_ONLY_ROOTFS: "false" })).HostConfig!.ReadonlyRootfs).toBe(false);
  });

  it("mounts a tmpfs on /tmp only, with its size: /app is the workspace volume, kept when the container stops", () => {
    const tmpfs = build().HostConfig!.Tmpfs!;
    expect(Object.keys(tmpfs)).toEqual(["/tmp"]);
    expect(tmpfs["/tmp"]).toContain("size=128m");
    expect(tmpfs["/tmp"]).toContain("nosuid");
    // exec: yarn 2+ runs package binaries through wrappers it writes to TMPDIR.
    expect(tmpfs["/tmp"]).toMatch(/(^|,)exec(,|$)/);
  });

  it("is started again by the engine after a failure, a bounded number of times", () => {
    expect(build().HostConfig!.RestartPolicy).toEqual({
      Name: "on-failure",
      MaximumRetryCount: CONTAINER_RESTART_MAX_RETRIES,
    });
  });

  it("keeps HOME on a writable tmpfs", () => {
    expect(build().Env).toContain("HOME=/tmp");
  });

  it("uses a private IPC namespace, the configured network and docker-init as PID 1", () => {
    const h = build().HostConfig!;
    expect(h.IpcMode).toBe("private");
    expect(h.NetworkMode).toBe("artie-net");
    expect(h.Init).toBe(true);
    expect(h.PidMode).toBeUndefined();
  });

  it("rotates json-file logs", () => {
    expect(build().HostConfig!.LogConfig).toEqual({
      Type: "json-file",
      Config: { "max-size": "10m", "max-file": "3" },
    });
  });

  it("binds nothing from the host by default: the one mount is the workspace volume", () => {
    const h = build().HostConfig!;
    expect(h.Binds).toEqual([]);
    expect(h.Mounts).toEqual([WORKSPACE_MOUNT]);
  });
});

describe("buildCreateOptions: workspace volume", () => {
  it("mounts the environment's own named volume at /app, named for its id", () => {
    expect(build().HostConfig!.Mounts![0]).toEqual({ Type: "volume", Source: "artie-ws-abc123", Target: "/app" });
    expect(workspaceVolumeName("abc123")).toBe("artie-ws-abc123");
    expect(build().WorkingDir).toBe("/app");
  });

  it("mounts the same volume whatever else changes, so a recreate keeps the workspace", () => {
    const again = build(
      { volumeName: "artie-deps-x", image: "node:22-slim", ports: [5173] },
      config(),
      PLACEMENT,
      TRUST,
    );
    expect(again.HostConfig!.Mounts![0]).toEqual(WORKSPACE_MOUNT);
  });

  it("puts the workspace before the dependency volume, which Docker then mounts on top of it", () => {
    const mounts = build({ volumeName: "deps" }).HostConfig!.Mounts!;
    expect(mounts.map((m) => m.Target)).toEqual(["/app", "/app/node_modules"]);
  });

  it("labels the volume as the agent's and as this environment's, with the team only when known", () => {
    expect(workspaceVolumeLabels("abc123")).toEqual({ "artie.managed": "true", "artie.container-id": "abc123" });
    expect(workspaceVolumeLabels("abc123", "team-a")).toEqual({
      "artie.managed": "true",
      "artie.container-id": "abc123",
      "artie.tenant": "team-a",
    });
  });
});

describe("buildCreateOptions: dependency volume", () => {
  it("mounts the named volume at /app/node_modules when one is given", () => {
    expect(build({ volumeName: "owner-repo-node_modules" }).HostConfig!.Mounts).toEqual([
      WORKSPACE_MOUNT,
      { Type: "volume", Source: "owner-repo-node_modules", Target: "/app/node_modules" },
    ]);
  });

  it("leaves the artie.volume label out without a volume", () => {
    expect(build().Labels).not.toHaveProperty("artie.volume");
  });
});

describe("buildCreateOptions: ports", () => {
  it("exposes each container port and publishes it on the configured address only", () => {
    const o = build();
    expect(o.ExposedPorts).toEqual({ "3000/tcp": {}, "5173/tcp": {} });
    expect(o.HostConfig!.PortBindings).toEqual({
      "3000/tcp": [{ HostIp: "127.0.0.1", HostPort: "10004" }],
      "5173/tcp": [{ HostIp: "127.0.0.1", HostPort: "10005" }],
    });
  });

  it("never publishes all ports at random", () => {
    expect(build().HostConfig!.PublishAllPorts).toBeFalsy();
  });
});

describe("buildCreateOptions: command and environment", () => {
  it("runs an idle keep-alive when no command is given", () => {
    expect(build().Cmd).toEqual(KEEPALIVE_COMMAND);
    expect(KEEPALIVE_COMMAND[0]).toBe("sleep");
  });

  it("runs the given argv as is", () => {
    expect(build({ command: ["node", "server.js", "--port", "3000"] }).Cmd).toEqual([
      "node",
      "server.js",
      "--port",
      "3000",
    ]);
  });

  it("sets no proxy variables on a shared network", () => {
    expect(build().Env!.some((e) => /^(https?_proxy|HTTPS?_PROXY)=/.test(e))).toBe(false);
  });
});

describe("buildCreateOptions: an isolated environment", () => {
  it("joins only its own network, at its fixed address, and publishes nothing through Docker", () => {
    const o = build({}, config(), PLACEMENT);
    expect(o.HostConfig!.NetworkMode).toBe("artie-net-abc123");
    expect(o.NetworkingConfig).toEqual({
      EndpointsConfig: { "artie-net-abc123": { IPAMConfig: { IPv4Address: "10.213.0.2" } } },
    });
    expect(o.HostConfig!.PortBindings).toEqual({});
    expect(o.ExposedPorts).toEqual({ "3000/tcp": {}, "5173/tcp": {} });
  });

  it("gives it its gateway as DNS server, which answers nothing: no outside name resolves", () => {
    expect(build({}, config(), PLACEMENT).HostConfig!.Dns).toEqual(["10.213.0.1"]);
    expect(build().HostConfig!.Dns).toBeUndefined();
  });

  it("points HTTP(S)_PROXY (both cases) and Node's fetch at the proxy on its gateway, loopback exempt", () => {
    const env = build({}, config(), PLACEMENT).Env!;
    for (const name of ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"]) {
      expect(env).toContain(`${name}=http://10.213.0.1:3128`);
    }
    expect(env).toContain("NODE_USE_ENV_PROXY=1");
    expect(env.find((e) => e.startsWith("NO_PROXY="))).toContain("127.0.0.1");
    expect(env.some((e) => e.startsWith("NODE_EXTRA_CA_CERTS="))).toBe(false);
  });

  it("runs under the configured runtime", () => {
    expect(build().HostConfig!.Runtime).toBe("runc");
    expect(build({}, config({ CONTAINER_RUNTIME: "runsc" })).HostConfig!.Runtime).toBe("runsc");
  });
});

describe("buildCreateOptions: extra CA certificates", () => {
  const trustMount = {
    Type: "bind",
    Source: "/var/lib/artie/ca-trust",
    Target: TRUST_MOUNT,
    ReadOnly: true,
  };

  it("sets nothing and mounts nothing when there is nothing extra to trust", () => {
    for (const o of [build(), build({}, config(), PLACEMENT)]) {
      const names = o.Env!.map((e) => e.split("=")[0]);
      for (const name of TRUST_VARIABLES) expect(names).not.toContain(name);
      expect(o.HostConfig!.Mounts).toEqual([WORKSPACE_MOUNT]);
    }
  });

  it("mounts the bundles' directory read-only in every environment, isolated or on a shared network", () => {
    expect(build({}, config(), null, TRUST).HostConfig!.Mounts).toEqual([WORKSPACE_MOUNT, trustMount]);
    expect(build({}, config(), PLACEMENT, TRUST).HostConfig!.Mounts).toEqual([WORKSPACE_MOUNT, trustMount]);
    expect(build({ volumeName: "deps" }, config(), null, TRUST).HostConfig!.Mounts).toContainEqual(trustMount);
  });

  it("adds extra.pem where a tool adds to its roots and bundle.pem where a setting replaces them", () => {
    const env = build({}, config(), null, TRUST).Env!;
    expect(EXTRA_CA_PATH).toBe(`${TRUST_MOUNT}/extra.pem`);
    expect(CA_BUNDLE_PATH).toBe(`${TRUST_MOUNT}/bundle.pem`);
    expect(env).toContain(`NODE_EXTRA_CA_CERTS=${EXTRA_CA_PATH}`);
    for (const name of ["SSL_CERT_FILE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO", "npm_config_cafile"]) {
      expect(env).toContain(`${name}=${CA_BUNDLE_PATH}`);
    }
    // Yarn berry stops on a YARN_* setting its version does not know: none is set.
    expect(env.some((e) => e.startsWith("YARN_"))).toBe(false);
  });

  it("sets the same variables next to the proxy's on an isolated network", () => {
    const env = build({}, config(), PLACEMENT, TRUST).Env!;
    expect(env).toContain(`NODE_EXTRA_CA_CERTS=${EXTRA_CA_PATH}`);
    expect(env).toContain("HTTPS_PROXY=http://10.213.0.1:3128");
    expect(env.filter((e) => e.startsWith("NODE_EXTRA_CA_CERTS="))).toHaveLength(1);
  });
});

describe("effectiveLimits", () => {
  const max = config().container;

  it("uses the host's maximum when the request asks for nothing", () => {
    expect(effectiveLimits(request(), max)).toEqual({ memoryMb: 1024, cpus: 1.5, pidsLimit: 256 });
  });

  it("accepts limits lower than or equal to the maximum", () => {
    expect(effectiveLimits(request({ limits: { memoryMb: 1024, cpus: 0.5 } }), max)).toEqual({
      memoryMb: 1024,
      cpus: 0.5,
      pidsLimit: 256,
    });
  });

  it.each([
    ["memoryMb", 1025, "1024"],
    ["cpus", 2, "1.5"],
    ["pidsLimit", 257, "256"],
  ])("refuses %s above the maximum with invalid_request", (key, value, maximum) => {
    const err = appError(() => effectiveLimits(request({ limits: { [key]: value } }), max));
    expect(err.code).toBe("invalid_request");
    expect(err.status).toBe(400);
    expect(err.message).toContain(maximum);
    expect(err.issues?.map((i) => i.path)).toEqual([`limits.${key}`]);
    expect(err.issues?.[0]?.message).toContain(maximum);
  });

  it("refuses too-high limits when building the create options too", () => {
    expect(appError(() => build({ limits: { memoryMb: 4096 } })).code).toBe("invalid_request");
  });
});

describe("checkPolicy", () => {
  const closed = config().policy;
  const violation = (body: Record<string, unknown>, policy = closed) =>
    appError(() => checkPolicy(request(body), policy));

  it("accepts a request that asks for nothing special", () => {
    expect(() => checkPolicy(request({ ports: [3000, 4000], volumeName: "v1" }), closed)).not.toThrow();
  });

  it("accepts privileged: false and empty lists", () => {
    expect(() => checkPolicy(request({ privileged: false, capAdd: [], binds: [] }), closed)).not.toThrow();
  });

  it.each([
    ["privileged mode", { privileged: true }, "ALLOW_PRIVILEGED"],
    ["an added capability", { capAdd: ["NET_ADMIN"] }, "ALLOWED_CAP_ADD"],
    ["a bind mount", { binds: ["/srv/data:/data"] }, "ALLOWED_BIND_SOURCES"],
    ["host networking", { networkMode: "host" }, "ALLOWED_NETWORK_MODES"],
    ["another container's network", { networkMode: "container:other" }, "ALLOWED_NETWORK_MODES"],
  ])("refuses %s by default with policy_violation (403) naming the setting", (_what, body, setting) => {
    const err = violation(body);
    expect(err.code).toBe("policy_violation");
    expect(err.status).toBe(403);
    expect(err.message).toContain(setting);
  });

  it("allows privileged mode when ALLOW_PRIVILEGED is set", () => {
    expect(() => checkPolicy(request({ privileged: true }), config({ ALLOW_PRIVILEGED: "true" }).policy)).not.toThrow();
  });

  it("allows only the capabilities ALLOWED_CAP_ADD names", () => {
    const policy = config({ ALLOWED_CAP_ADD: "NET_BIND_SERVICE" }).policy;
    expect(() => checkPolicy(request({ capAdd: ["NET_BIND_SERVICE"] }), policy)).not.toThrow();
    expect(violation({ capAdd: ["NET_BIND_SERVICE", "SYS_ADMIN"] }, policy).message).toContain("SYS_ADMIN");
  });

  it("allows only the network modes ALLOWED_NETWORK_MODES names", () => {
    const policy = config({ ALLOWED_NETWORK_MODES: "none" }).policy;
    expect(() => checkPolicy(request({ networkMode: "none" }), policy)).not.toThrow();
    expect(violation({ networkMode: "host" }, policy).code).toBe("policy_violation");
  });

  describe("bind mounts", () => {
    const policy = config({ ALLOWED_BIND_SOURCES: "/srv/data,/var/run" }).policy;
    const allowed = (bind: string) => () => checkPolicy(request({ binds: [bind] }), policy);

    it("allows an allowed source and what lies below it", () => {
      expect(allowed("/srv/data:/data")).not.toThrow();
      expect(allowed("/srv/data/cache:/cache:ro")).not.toThrow();
    });

    it("refuses a sibling that merely shares the prefix's spelling", () => {
      expect(violation({ binds: ["/srv/database:/db"] }, policy).code).toBe("policy_violation");
    });

    it.each(["/var/run/docker.sock:/var/run/docker.sock", "/run/docker.sock:/sock", "/:/host"])(
      "refuses %s even when its parent is allowed",
      (bind) => {
        expect(violation({ binds: [bind] }, config({ ALLOWED_BIND_SOURCES: "/var/run,/run,/" }).policy).code).toBe(
          "policy_violation",
        );
      },
    );

    it("refuses a relative source or a named volume", () => {
      expect(violation({ binds: ["srv/data:/data"] }, policy).code).toBe("policy_violation");
      expect(violation({ binds: ["myvolume:/data"] }, policy).code).toBe("policy_violation");
    });

    it.each([
      "/srv/data/../../var/run/docker.sock:/sock",
      "/srv/data/..:/up",
      "/var/run/./docker.sock:/sock",
      "/var/run//docker.sock:/sock",
    ])("refuses %s, which Docker resolves outside the allowed sources or onto the socket", (bind) => {
      expect(violation({ binds: [bind] }, policy).code).toBe("policy_violation");
    });

    it("refuses the whole request when one of several binds is not allowed", () => {
      expect(violation({ binds: ["/srv/data:/data", "/etc:/etc-host"] }, policy).message).toContain("/etc");
    });
  });
});
