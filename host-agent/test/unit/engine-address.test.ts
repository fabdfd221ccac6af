// Covers where the agent reaches an engine's published ports (src/docker/engine-address.ts) and
// how DOCKER_HOST is read and checked (src/config.ts dockerEndpoint, loadConfig's refusals).
import { hostname, networkInterfaces } from "node:os";
import { describe, expect, it } from "vitest";
import { ConfigError, dockerEndpoint, loadConfig } from "../../src/config.js";
import { publishedPortHost, urlHost } from "../../src/docker/engine-address.js";

const SECRET = "s".repeat(40);
const load = (env: Record<string, string> = {}) => loadConfig({ API_SECRET: SECRET, ...env });
/** An engine on another host, Docker-in-Docker style; shared network, so config accepts it. */
const REMOTE = { DOCKER_HOST: "tcp://docker:2376", DOCKER_TLS_VERIFY: "1", CONTAINER_NETWORK: "artie-shared" };

function configError(env: Record<string, string>): string {
  try {
    load(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe("dockerEndpoint", () => {
  it("reads a unix socket, the default", () => {
    expect(load().docker).toEqual({ kind: "socket", socketPath: "/var/run/docker.sock", onThisMachine: true });
  });

  it("reads tcp:// with the CLI's ports and TLS from DOCKER_TLS_VERIFY and DOCKER_CERT_PATH", () => {
    expect(dockerEndpoint({ host: "tcp://docker", tlsVerify: false })).toMatchObject({ port: 2375, tls: null });
    expect(dockerEndpoint({ host: "tcp://docker", tlsVerify: true, certPath: "/certs/client" })).toEqual({
      kind: "tcp",
      host: "docker",
      port: 2376,
      tls: { certPath: "/certs/client" },
      onThisMachine: false,
    });
    expect(dockerEndpoint({ host: "https://docker:3000", tlsVerify: false })).toMatchObject({ port: 3000, tls: {} });
    expect(dockerEndpoint({ host: "tcp://[::1]:2375", tlsVerify: false })).toMatchObject({ host: "::1" });
  });

  it("counts loopback and this machine's own addresses as this machine", () => {
    for (const host of ["tcp://127.0.0.1:2375", "tcp://localhost:2375", "tcp://127.0.0.5:1", "tcp://[::1]:2375"])
      expect(dockerEndpoint({ host, tlsVerify: false }).onThisMachine).toBe(true);
    expect(dockerEndpoint({ host: "tcp://10.99.99.99:2375", tlsVerify: false }).onThisMachine).toBe(false);
  });

  it("counts this machine's own host name as this machine (the agent in a DinD engine's namespace)", () => {
    expect(dockerEndpoint({ host: `tcp://${hostname()}:2376`, tlsVerify: true }).onThisMachine).toBe(true);
  });

  it("refuses what it cannot talk to, naming DOCKER_HOST", () => {
    for (const host of ["ssh://me@docker", "docker:2375", "tcp://docker:2375/v1.41", "unix://relative.sock"])
      expect(configError({ DOCKER_HOST: host })).toMatch(/DOCKER_HOST/);
  });
});

describe("loadConfig with a plain tcp:// engine", () => {
  const SHARED = { CONTAINER_NETWORK: "artie-shared" };

  it("refuses one that is not loopback, saying what to set", () => {
    for (const host of ["tcp://docker:2375", "tcp://10.99.99.99:2375", "tcp://[fd00::5]:2375"]) {
      const message = configError({ ...SHARED, DOCKER_HOST: host });
      expect(message).toContain(`DOCKER_HOST=${host} is plain TCP`);
      expect(message).toMatch(/DOCKER_TLS_VERIFY=1 .*DOCKER_CERT_PATH.*DOCKER_ALLOW_PLAINTEXT=1/);
    }
    // This machine's own non-loopback address too: an engine listening there in clear is on the network.
    const own = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === "IPv4" && !a.internal)?.address;
    if (own) expect(configError({ ...SHARED, DOCKER_HOST: `tcp://${own}:2375` })).toMatch(/is plain TCP/);
  });

  it("accepts loopback, TLS, and an explicit opt-out", () => {
    for (const host of ["tcp://127.0.0.1:2375", "tcp://localhost:2375", "tcp://[::1]:2375"])
      expect(load({ DOCKER_HOST: host }).docker).toMatchObject({ kind: "tcp", tls: null });
    expect(load({ ...REMOTE, DOCKER_HOST: "tcp://docker:2376" }).docker).toMatchObject({ tls: {} });
    expect(load({ ...SHARED, DOCKER_HOST: "https://docker:2376" }).docker).toMatchObject({ tls: {} });
    expect(load({ ...SHARED, DOCKER_HOST: "tcp://docker:2375", DOCKER_ALLOW_PLAINTEXT: "1" }).docker).toMatchObject({
      host: "docker",
      tls: null,
    });
  });
});

describe("loadConfig with an engine on another host", () => {
  it("refuses isolation, a file mount from this machine and a loopback publish address, saying what to set", () => {
    expect(configError({ DOCKER_HOST: "tcp://docker:2376" })).toMatch(
      /CONTAINER_NETWORK=isolated .*not on this machine/,
    );
    expect(configError({ ...REMOTE, EXTRA_CA_CERTS: "/etc/ca.pem" })).toMatch(/EXTRA_CA_CERTS/);
    expect(configError({ ...REMOTE, PUBLISH_ADDRESS: "127.0.0.1" })).toMatch(/PUBLISH_ADDRESS=127.0.0.1/);
  });

  it("accepts isolation with an engine on this machine over TCP", () => {
    expect(load({ DOCKER_HOST: "tcp://127.0.0.1:2376", DOCKER_TLS_VERIFY: "1" }).isolation.enabled).toBe(true);
  });

  it("names the engine's host in reported URLs unless PUBLIC_HOST says otherwise", () => {
    expect(load(REMOTE).publicHost).toBe("docker");
    expect(load({ ...REMOTE, PUBLIC_HOST: "envs.example.com" }).publicHost).toBe("envs.example.com");
    expect(load({ ...REMOTE, PUBLISH_ADDRESS: "10.0.0.5" }).publicHost).toBe("10.0.0.5");
    expect(load().publicHost).toBe(hostname());
    expect(load({ DOCKER_HOST: "tcp://127.0.0.1:2375", CONTAINER_NETWORK: "x" }).publicHost).toBe(hostname());
  });
});

describe("publishedPortHost", () => {
  it("is the engine's host for a wildcard publish on a remote engine (the bug: it was loopback)", () => {
    expect(publishedPortHost(load(REMOTE))).toBe("docker");
    expect(publishedPortHost(load({ ...REMOTE, DOCKER_HOST: "tcp://[fd00::5]:2376" }))).toBe("fd00::5");
  });

  it("is the named publish address when there is one, on any engine", () => {
    expect(publishedPortHost(load({ ...REMOTE, PUBLISH_ADDRESS: "10.0.0.5" }))).toBe("10.0.0.5");
    expect(publishedPortHost(load({ PUBLISH_ADDRESS: "127.0.0.1" }))).toBe("127.0.0.1");
  });

  it("is loopback for a wildcard publish on this machine, and for the agent's own forwarder (isolation)", () => {
    expect(publishedPortHost(load())).toBe("127.0.0.1");
    expect(publishedPortHost(load({ PUBLISH_ADDRESS: "::", CONTAINER_NETWORK: "x" }))).toBe("127.0.0.1");
    expect(publishedPortHost(load({ DOCKER_HOST: "tcp://127.0.0.1:2375", CONTAINER_NETWORK: "x" }))).toBe("127.0.0.1");
    expect(publishedPortHost(load({ DOCKER_HOST: "tcp://127.0.0.1:2375" }))).toBe("127.0.0.1");
  });

  it("brackets IPv6 literals for URLs", () => {
    expect(urlHost("fd00::5")).toBe("[fd00::5]");
    expect(urlHost("docker")).toBe("docker");
  });
});
