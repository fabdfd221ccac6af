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
      network: "bridge",
      execOutputLimitBytes: 1024 * 1024,
    });
    expect(c.container.egressProxyUrl).toBeUndefined();
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
      EGRESS_PROXY_URL: "http://proxy.internal:3128",
      ALLOW_PRIVILEGED: "1",
    });
    expect(c.port).toBe(0);
    expect(c.portRange).toEqual({ start: 30000, end: 30009 });
    expect(c.container.memoryMb).toBe(256);
    expect(c.container.cpus).toBe(0.5);
    expect(c.container.readOnlyRootfs).toBe(false);
    expect(c.container.user).toBe("1001:1002");
    expect(c.container.egressProxyUrl).toBe("http://proxy.internal:3128");
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
    ["EGRESS_PROXY_URL", "not a url"],
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
