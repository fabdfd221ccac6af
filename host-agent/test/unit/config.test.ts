// Covers loadConfig (src/config.ts): defaults, required and malformed variables, lists, rotation.
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

const SECRET = "s".repeat(40);
const load = (env: Record<string, string | undefined> = {}) => loadConfig({ API_SECRET: SECRET, ...env });

/** Runs loadConfig expecting a ConfigError and returns its message. */
function configError(env: Record<string, string | undefined>): string {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe("loadConfig defaults", () => {
  it("fills every documented default when only API_SECRET is set", () => {
    const c = load();
    expect(c.port).toBe(8080);
    expect(c.bindAddress).toBe("0.0.0.0");
    expect(c.publishAddress).toBe("0.0.0.0");
    expect(c.portRange).toEqual({ start: 10000, end: 20000 });
    expect(c.defaultImage).toBe("node:24-slim");
    expect(c.logLevel).toBe("info");
    expect(c.apiSecrets).toEqual([SECRET]);
    expect(c.container).toMatchObject({
      memoryMb: 2048,
      cpus: 1.5,
      pidsLimit: 512,
      user: "1000:1000",
      readOnlyRootfs: true,
      network: "isolated",
      runtime: "runc",
      execOutputLimitBytes: 1024 * 1024,
    });
    expect(c.isolation).toEqual({ enabled: true, subnets: "10.213.0.0/16" });
    // No egress at all until the operator names hosts.
    expect(c.egress).toEqual({
      proxyPort: 3128,
      allowlist: [],
      denylist: [],
      allowedCidrs: [],
      resolve: {},
      credentials: {},
      upstreamCaFile: undefined,
    });
    // Nothing extra to trust until the operator names a CA bundle.
    expect(c.trust).toEqual({ extraCaFile: undefined });
  });

  it("closes every isolation escape hatch by default", () => {
    expect(load().policy).toEqual({
      allowPrivileged: false,
      allowedCapAdd: [],
      allowedBindSources: [],
      allowedNetworkModes: [],
    });
  });

  it("treats empty-string variables as unset and falls back to the defaults", () => {
    const c = load({ PORT: "", PORT_RANGE: "", DEFAULT_IMAGE: "", CONTAINER_READ_ONLY_ROOTFS: "", CONTAINER_USER: "" });
    expect(c.port).toBe(8080);
    expect(c.portRange).toEqual({ start: 10000, end: 20000 });
    expect(c.defaultImage).toBe("node:24-slim");
    expect(c.container.readOnlyRootfs).toBe(true);
    expect(c.container.user).toBe("1000:1000");
  });

  it("ignores unrelated environment variables", () => {
    expect(load({ PATH: "/usr/bin", HOME: "/root" }).port).toBe(8080);
  });
});

describe("loadConfig overrides", () => {
  it("reads numbers, booleans and strings from their variables", () => {
    const c = load({
      PORT: "0",
      PORT_RANGE: "30000-30009",
      CONTAINER_MEMORY_MB: "256",
      CONTAINER_CPUS: "0.5",
      CONTAINER_READ_ONLY_ROOTFS: "false",
      CONTAINER_USER: "1001:1002",
      ALLOW_PRIVILEGED: "1",
    });
    expect(c.port).toBe(0);
    expect(c.portRange).toEqual({ start: 30000, end: 30009 });
    expect(c.container.memoryMb).toBe(256);
    expect(c.container.cpus).toBe(0.5);
    expect(c.container.readOnlyRootfs).toBe(false);
    expect(c.container.user).toBe("1001:1002");
    expect(c.policy.allowPrivileged).toBe(true);
  });

  it("parses comma lists, trimming blanks and dropping empty entries", () => {
    const c = load({
      ALLOWED_CAP_ADD: "NET_BIND_SERVICE, CHOWN ,,",
      ALLOWED_BIND_SOURCES: "/srv/a,/srv/b",
      ALLOWED_NETWORK_MODES: "host",
    });
    expect(c.policy.allowedCapAdd).toEqual(["NET_BIND_SERVICE", "CHOWN"]);
    expect(c.policy.allowedBindSources).toEqual(["/srv/a", "/srv/b"]);
    expect(c.policy.allowedNetworkModes).toEqual(["host"]);
  });

  it("appends API_SECRET_PREVIOUS entries after the current secret", () => {
    const older = "o".repeat(40);
    const oldest = "p".repeat(40);
    expect(load({ API_SECRET_PREVIOUS: `${older}, ${oldest}` }).apiSecrets).toEqual([SECRET, older, oldest]);
  });

  it("accepts a single-port range", () => {
    expect(load({ PORT_RANGE: "10000-10000" }).portRange).toEqual({ start: 10000, end: 10000 });
  });
});

describe("loadConfig refusals", () => {
  it("refuses a missing API_SECRET, naming it", () => {
    expect(configError({})).toMatch(/API_SECRET/);
  });

  it("refuses an empty API_SECRET as missing", () => {
    expect(configError({ API_SECRET: "" })).toMatch(/API_SECRET/);
  });

  it("refuses an API_SECRET shorter than 32 characters", () => {
    expect(configError({ API_SECRET: "x".repeat(31) })).toMatch(/API_SECRET.*32/);
    expect(() => load({ API_SECRET: "x".repeat(32) })).not.toThrow();
  });

  it("refuses a short secret in API_SECRET_PREVIOUS: rotation must not weaken the token", () => {
    expect(configError({ API_SECRET: SECRET, API_SECRET_PREVIOUS: "short" })).toMatch(/API_SECRET_PREVIOUS/);
  });

  it.each([
    ["reversed", "20000-10000"],
    ["below 1024", "80-2000"],
    ["above 65535", "60000-70000"],
    ["garbage", "lots"],
    ["single number", "10000"],
    ["negative", "-5-100"],
  ])("refuses a %s PORT_RANGE, naming it", (_what, value) => {
    expect(configError({ API_SECRET: SECRET, PORT_RANGE: value })).toMatch(/PORT_RANGE/);
  });

  it.each(["0:0", "0:1000", "00:0", "000:1000"])("refuses CONTAINER_USER %s (uid 0 is root)", (user) => {
    expect(configError({ API_SECRET: SECRET, CONTAINER_USER: user })).toMatch(/CONTAINER_USER/);
  });

  it.each(["node", "1000", "1000:", "-1:1000"])("refuses non-numeric or incomplete CONTAINER_USER %s", (user) => {
    expect(configError({ API_SECRET: SECRET, CONTAINER_USER: user })).toMatch(/CONTAINER_USER/);
  });

  it.each([
    ["PORT", "http"],
    ["PORT", "70000"],
    ["PORT", "80.5"],
    ["CONTAINER_READ_ONLY_ROOTFS", "yes"],
    ["LOG_LEVEL", "loud"],
    ["EGRESS_PROXY_PORT", "0"],
    ["CONTAINER_RUNTIME", "Run C"],
    ["CONTAINER_MEMORY_MB", "8"],
    ["CONTAINER_PIDS_LIMIT", "abc"],
  ])("refuses a malformed %s (%s), naming it", (name, value) => {
    expect(configError({ API_SECRET: SECRET, [name]: value })).toMatch(new RegExp(name));
  });

  it("names every bad variable in one message", () => {
    const message = configError({ PORT_RANGE: "1-2", CONTAINER_USER: "0:0" });
    expect(message).toMatch(/API_SECRET/);
    expect(message).toMatch(/PORT_RANGE/);
    expect(message).toMatch(/CONTAINER_USER/);
  });

  it("never echoes the secret's value in the error", () => {
    const secret = "too-short-but-secret";
    expect(configError({ API_SECRET: secret })).not.toContain(secret);
  });
});

describe("loadConfig egress and isolation", () => {
  it("reads the allowlist, denylist, CIDRs, pinned names and credentials", () => {
    const c = load({
      EGRESS_ALLOWLIST: "registry.example.com, *.githubusercontent.com",
      EGRESS_DENYLIST: "evil.githubusercontent.com",
      EGRESS_ALLOWED_CIDRS: "192.168.50.0/24,fd00::/8",
      EGRESS_RESOLVE: "Mirror.Internal=10.0.0.5",
      EGRESS_CREDENTIALS: '{"Registry.Example.com":{"Authorization":"Bearer s3cret"}}',
      CONTAINER_RUNTIME: "runsc",
    });
    expect(c.egress).toMatchObject({
      allowlist: ["registry.example.com", "*.githubusercontent.com"],
      denylist: ["evil.githubusercontent.com"],
      allowedCidrs: ["192.168.50.0/24", "fd00::/8"],
      resolve: { "mirror.internal": "10.0.0.5" },
      credentials: { "registry.example.com": { Authorization: "Bearer s3cret" } },
    });
    expect(c.container.runtime).toBe("runsc");
  });

  it("turns isolation off only when CONTAINER_NETWORK names a shared network", () => {
    expect(load({ CONTAINER_NETWORK: "bridge" }).isolation.enabled).toBe(false);
  });

  it.each([
    ["*", "would allow every host"],
    ["*.com", "covers a whole top-level domain"],
    ["10.0.0.1", "is an IP address: use EGRESS_ALLOWED_CIDRS"],
    ["exa mple.com", "is not a host name"],
    ["foo.*.com", "is not a host name"],
  ])("stops on the allowlist pattern %j, naming it", (pattern, why) => {
    const message = configError({ API_SECRET: SECRET, EGRESS_ALLOWLIST: `ok.example.com,${pattern}` });
    expect(message).toContain("EGRESS_ALLOWLIST");
    expect(message).toContain(`"${pattern}" ${why}`);
  });

  it("stops on a bad CIDR, a bad name=ip pair, bad credentials JSON and a subnet pool narrower than /28", () => {
    expect(configError({ API_SECRET: SECRET, EGRESS_ALLOWED_CIDRS: "10.0.0.0/33" })).toContain("EGRESS_ALLOWED_CIDRS");
    expect(configError({ API_SECRET: SECRET, EGRESS_RESOLVE: "mirror.internal" })).toContain("must be name=ip");
    expect(configError({ API_SECRET: SECRET, EGRESS_CREDENTIALS: "{nope" })).toContain(
      "EGRESS_CREDENTIALS must be JSON",
    );
    expect(configError({ API_SECRET: SECRET, EGRESS_CREDENTIALS: '{"*.x.com":{"A":"b"}}' })).toContain(
      "keys must be exact host names",
    );
    expect(configError({ API_SECRET: SECRET, ENVIRONMENT_SUBNETS: "10.0.0.0/29" })).toContain("ENVIRONMENT_SUBNETS");
  });

  it("refuses a credential with a line break, which would break every request at send time", () => {
    const message = configError({
      API_SECRET: SECRET,
      EGRESS_CREDENTIALS: '{"x.example.com":{"A":"one\\r\\nX-Evil: 1"}}',
    });
    expect(message).toContain("one-line string values");
    expect(message).not.toContain("X-Evil");
  });

  it("never puts a credential's value in its error message", () => {
    const message = configError({
      API_SECRET: SECRET,
      EGRESS_CREDENTIALS: '{"x.example.com":{"Bad Header":"s3cret"}}',
    });
    expect(message).not.toContain("s3cret");
  });
});

describe("loadConfig extra CA certificates", () => {
  it("takes EXTRA_CA_CERTS as the host path of a PEM bundle (read and checked at start-up)", () => {
    expect(load({ EXTRA_CA_CERTS: "/etc/ssl/certs/corp.pem" }).trust.extraCaFile).toBe("/etc/ssl/certs/corp.pem");
    expect(load({ EXTRA_CA_CERTS: "" }).trust.extraCaFile).toBeUndefined();
  });

  it("refuses a relative path, which would depend on where the agent was started", () => {
    const message = configError({ API_SECRET: SECRET, EXTRA_CA_CERTS: "certs/corp.pem" });
    expect(message).toContain("EXTRA_CA_CERTS must be an absolute path");
  });
});
