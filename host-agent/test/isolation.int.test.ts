/**
 * Isolation, proven from inside an environment on the real engine. The "internet" is an upstream
 * test server: a container on a network the test makes, answering HTTP (8080) and HTTPS (8443,
 * with a certificate from a test CA) under several names that EGRESS_RESOLVE points at it. No
 * traffic leaves the networks and processes this test creates: names that resolve to link-local
 * or private addresses are refused by the proxy's decision, before any connection is made.
 *
 * Two environments, A and B, each run a dev server. From A: the allowed name answers through the
 * proxy; other names, IP literals, link-local and private answers, deny-over-allow and bare
 * domains under a wildcard are refused with their reason; a process that ignores the proxy gets
 * nowhere, nor does A reach the agent's API, the gateway, the host's bridge, B's address, B's
 * published port or B's proxy. A credential configured for one host reaches the upstream and is
 * nowhere in the container. Refusals are counted and shown. A fork bomb stops at the pids limit.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContainerDetails, ExecResponse, HealthResponse } from "../src/api/contract.js";
import { createContainer, spawnAgent, startTestAgent, testEnv, freePort } from "./helpers/agent.js";
import { docker, networkOf } from "./helpers/docker.js";
import { NODE_IMAGE } from "./helpers/images.js";
import { probe } from "./helpers/net-probe.js";

const run = promisify(execFile);
const RUNTIMES = ["runc", "runsc"] as const;
const PIDS_LIMIT = { runc: "64", runsc: "128" };
const CREDENTIAL = `Bearer cred-${randomBytes(12).toString("hex")}`;
const suffix = randomBytes(3).toString("hex");
const UPSTREAM_NETWORK = `test-upstream-${suffix}`;
const UPSTREAM = `test-upstream-${suffix}`;

/** Answers every request with what it received: host, path and headers. */
const UPSTREAM_SERVER = `
const http = require("http"), https = require("https"), fs = require("fs");
const echo = (req, res) => { res.setHeader("content-type", "application/json"); res.end(JSON.stringify({ host: req.headers.host, path: req.url, headers: req.headers })); };
http.createServer(echo).listen(8080);
https.createServer({ key: fs.readFileSync("/certs/upstream.key"), cert: fs.readFileSync("/certs/upstream.pem") }, echo).listen(8443);
`;

/** A dev server that says which environment it is. */
const devServer = (name: string) => [
  "node",
  "-e",
  `require("http").createServer((q, s) => s.end("dev-${name}")).listen(3000)`,
];

let dir: string;
let upstreamIp: string;
let agent: Awaited<ReturnType<typeof startTestAgent>>;
let a: { id: string; hostPort: number };
let b: { id: string; hostPort: number };

async function makeCertificates(target: string) {
  const file = (name: string) => path.join(target, name);
  await run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Artie test upstream CA",
    "-keyout", file("ca.key"), "-out", file("ca.pem")]); // prettier-ignore
  await writeFile(file("ext"), "subjectAltName=DNS:secure.test,DNS:allowed.test\n");
  await run("openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=secure.test",
    "-keyout", file("upstream.key"), "-out", file("upstream.csr")]); // prettier-ignore
  await run("openssl", ["x509", "-req", "-days", "2", "-in", file("upstream.csr"), "-CA", file("ca.pem"),
    "-CAkey", file("ca.key"), "-set_serial", "7", "-extfile", file("ext"), "-out", file("upstream.pem")]); // prettier-ignore
  await run("chmod", ["a+r", file("upstream.key")]);
}

async function startUpstream(certs: string): Promise<string> {
  await docker.createNetwork({ Name: UPSTREAM_NETWORK, Labels: { "artie.test": "true" } });
  const c = await docker.createContainer({
    name: UPSTREAM,
    Image: NODE_IMAGE,
    Cmd: ["node", "-e", UPSTREAM_SERVER],
    HostConfig: { NetworkMode: UPSTREAM_NETWORK, Binds: [`${certs}:/certs:ro`] },
  });
  await c.start();
  const info = await c.inspect();
  return info.NetworkSettings.Networks[UPSTREAM_NETWORK]!.IPAddress;
}

/** Lives for the whole file, so not through createContainer (which cleans up after each test). */
async function createEnvironment(name: string) {
  const res = await agent.api.post("/api/containers", {
    name: `test-isolation-${name}-${suffix}`,
    command: devServer(name),
  });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; hostPort: number };
}

const subnets = new Map<string, string>();
/** The n-th address of an environment's /28: the gateway is 1, the container 2. */
function networkAddress(id: string, n: number): string {
  const octets = subnets.get(id)!.split("/")[0]!.split(".").map(Number);
  octets[3] = octets[3]! + n;
  return octets.join(".");
}
const gateway = (id: string) => networkAddress(id, 1);
const containerIp = (id: string) => networkAddress(id, 2);

const details = async (id: string) =>
  ContainerDetails.parse(await (await agent.api.get(`/api/containers/${id}`)).json());

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "artie-isolation-"));
  await makeCertificates(dir);
  upstreamIp = await startUpstream(dir);
}, 60_000);

afterAll(async () => {
  await docker
    .getContainer(UPSTREAM)
    .remove({ force: true })
    .catch(() => undefined);
  await docker
    .getNetwork(UPSTREAM_NETWORK)
    .remove()
    .catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The same suite under Docker's default runtime and under gVisor (npm test registers runsc). */
describe.each(RUNTIMES)("under %s", (runtime) => {
  beforeAll(async () => {
    const names = ["allowed.test", "other.test", "secure.test", "a.example.test", "example.test", "deny.example.test"];
    agent = await startTestAgent({
      CONTAINER_RUNTIME: runtime,
      DEFAULT_IMAGE: NODE_IMAGE,
      BIND_ADDRESS: "0.0.0.0",
      PUBLISH_ADDRESS: "0.0.0.0",
      DATA_DIR: path.join(dir, `data-${runtime}`),
      CONTAINER_MEMORY_MB: "256",
      // gVisor's sandbox counts its own host threads (about 50 idle) against the limit.
      CONTAINER_PIDS_LIMIT: PIDS_LIMIT[runtime],
      EGRESS_ALLOWLIST: "allowed.test,secure.test,meta.test,private.test,*.example.test",
      EGRESS_DENYLIST: "deny.example.test",
      EGRESS_ALLOWED_CIDRS: `${upstreamIp}/32`,
      EGRESS_RESOLVE: [
        ...names.map((n) => `${n}=${upstreamIp}`),
        "meta.test=169.254.169.254",
        "private.test=10.99.0.1",
      ].join(","),
      EGRESS_CREDENTIALS: JSON.stringify({ "secure.test": { Authorization: CREDENTIAL } }),
      EGRESS_UPSTREAM_CA_FILE: path.join(dir, "ca.pem"),
    });
    a = await createEnvironment("a");
    b = await createEnvironment("b");
    for (const env of [a, b]) {
      const n = await docker.getNetwork(await networkOf(env.id)).inspect();
      subnets.set(env.id, (n.IPAM?.Config?.[0] as { Subnet: string }).Subnet);
    }
  }, 120_000);

  afterAll(async () => {
    for (const env of [a, b]) if (env) await agent.api.del(`/api/containers/${env.id}`);
    await agent?.close();
  });

  describe("an environment's network", () => {
    it("is its own internal network, and its dev server still answers on its host port", async () => {
      const network = await docker.getNetwork(await networkOf(a.id)).inspect();
      expect(network.Internal).toBe(true);
      expect(network.Labels).toMatchObject({ "artie.managed": "true" });
      expect(Object.keys(network.Containers ?? {})).toHaveLength(1);
      const res = await fetch(`http://127.0.0.1:${a.hostPort}/`);
      expect(await res.text()).toBe("dev-a");
      // Its only DNS server is its gateway, which answers nothing (see container-spec.ts).
      const info = await docker.getContainer(`artie-${a.id}`).inspect();
      expect(info.HostConfig.Dns).toEqual([gateway(a.id)]);
      expect(info.HostConfig.Runtime).toBe(runtime);
      expect((await details(a.id)).isolation).toMatchObject({
        network: { name: network.Name },
        runtime,
        egressAllowlist: ["allowed.test", "secure.test", "meta.test", "private.test", "*.example.test"],
      });
    });

    it("is removed with its environment", async () => {
      const c = await createContainer(agent.api, { command: devServer("c") });
      const network = await networkOf(c.id);
      await agent.api.del(`/api/containers/${c.id}`);
      await expect(docker.getNetwork(network).inspect()).rejects.toMatchObject({ statusCode: 404 });
      await expect(fetch(`http://127.0.0.1:${c.hostPort}/`)).rejects.toThrow();
    });
  });

  describe("egress through the proxy", () => {
    it("lets the allowed name through", async () => {
      const r = await probe(agent.api, a.id, "get", "http://allowed.test:8080/hello");
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body!)).toMatchObject({ host: "allowed.test:8080", path: "/hello" });
    });

    it.each([
      ["another name", "http://other.test:8080/", "not_allowlisted"],
      ["an IP literal", () => `http://${upstreamIp}:8080/`, "ip_literal"],
      ["a name resolving to the link-local metadata range", "http://meta.test/latest/meta-data/", "link_local"],
      ["a name resolving to a private address", "http://private.test/", "private_address"],
      ["a denylisted name under an allowed wildcard", "http://deny.example.test:8080/", "denylisted"],
      ["the bare domain of a wildcard", "http://example.test:8080/", "not_allowlisted"],
    ])("refuses %s with its reason", async (_what, url, reason) => {
      const r = await probe(agent.api, a.id, "get", typeof url === "function" ? url() : url);
      expect(r).toMatchObject({ status: 403, denied: reason });
    });

    it("matches subdomains under a wildcard", async () => {
      const r = await probe(agent.api, a.id, "get", "http://a.example.test:8080/");
      expect(r.status).toBe(200);
    });

    it("tunnels HTTPS to an allowed name and refuses CONNECT to another", async () => {
      expect((await probe(agent.api, a.id, "connect", "allowed.test:8443")).line).toMatch(/^HTTP\/1\.1 200/);
      const refused = await probe(agent.api, a.id, "connect", "other.test:8443");
      expect(refused.line).toMatch(/^HTTP\/1\.1 403/);
      expect(refused.denied).toBe("not_allowlisted");
      expect((await probe(agent.api, a.id, "connect", `${upstreamIp}:8443`)).denied).toBe("ip_literal");
    });

    it("survives clients that reset their connection mid-CONNECT", async () => {
      for (const target of ["allowed.test:8443", "other.test:8443", "secure.test:8443"]) {
        expect((await probe(agent.api, a.id, "reset", target)).result).toBe("reset");
      }
      expect((await fetch(`${agent.url}/health`)).status).toBe(200);
      expect((await probe(agent.api, a.id, "get", "http://allowed.test:8080/after")).status).toBe(200);
    });

    it("refuses to send a credential in clear, or anywhere but a path on its host", async () => {
      expect(await probe(agent.api, a.id, "get", "http://secure.test:8080/")).toMatchObject({
        status: 403,
        denied: "bad_request",
      });
      const absolute = await probe(agent.api, a.id, "tls", "secure.test", "8443", "https://other.test/");
      expect(absolute.line).toMatch(/^HTTP\/1\.1 200/); // the tunnel opens...
      expect(absolute.body).toMatch(/^HTTP\/1\.1 400/); // ...and the request in it is refused
      expect(absolute.body).not.toContain(CREDENTIAL.split(" ")[1]!);
    });

    it("gets nowhere for a process that ignores the proxy", async () => {
      const r = await probe(agent.api, a.id, "direct", upstreamIp, "8080");
      expect(r.result).not.toBe("connected");
    });

    it("adds a configured credential for its host, which the container never holds", async () => {
      const r = await probe(agent.api, a.id, "tls", "secure.test", "8443", "/private");
      expect(r.line).toMatch(/^HTTP\/1\.1 200/);
      expect(r.tlsError).toBeUndefined();
      const seen = JSON.parse(r.body!.slice(r.body!.indexOf("{"))) as { headers: Record<string, string>; path: string };
      expect(seen.path).toBe("/private");
      expect(seen.headers.authorization).toBe(CREDENTIAL);

      const secret = CREDENTIAL.split(" ")[1]!;
      expect(JSON.stringify(await docker.getContainer(`artie-${a.id}`).inspect())).not.toContain(secret);
      // Every process's environment and command line, and every file under the writable paths and
      // /etc. The needle arrives base64-encoded, so the scan's own command line does not hold it.
      const scan = `
        const fs = require("fs"), path = require("path");
        const needle = Buffer.from(process.argv[1], "base64").toString(); const found = [];
        for (const pid of fs.readdirSync("/proc").filter((d) => /^[0-9]+$/.test(d))) {
          for (const f of ["environ", "cmdline"]) {
            try { if (fs.readFileSync("/proc/" + pid + "/" + f, "latin1").includes(needle)) found.push(pid + "/" + f); } catch {}
          }
        }
        const walk = (dir) => { let entries = []; try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
          for (const e of entries) { const p = path.join(dir, e.name);
            if (e.isDirectory()) walk(p);
            else if (e.isFile()) { try { if (fs.readFileSync(p, "latin1").includes(needle)) found.push(p); } catch {} } } };
        ["/app", "/tmp", "/etc", "/home"].forEach(walk);
        console.log(JSON.stringify(found));`;
      const runScan = async () => {
        const res = await agent.api.post(`/api/containers/${a.id}/exec`, {
          command: ["node", "-e", scan, Buffer.from(secret).toString("base64")],
        });
        return JSON.parse(ExecResponse.parse(await res.json()).stdout) as string[];
      };
      expect(await runScan()).toEqual([]);
      // Negative control: the scan does find the credential where it is.
      await agent.api.post(`/api/containers/${a.id}/exec`, {
        command: ["sh", "-c", 'printf %s "$0" | base64 -d > /tmp/planted', Buffer.from(secret).toString("base64")],
      });
      expect(await runScan()).toEqual(["/tmp/planted"]);
      await agent.api.post(`/api/containers/${a.id}/exec`, { command: ["rm", "/tmp/planted"] });
    });

    it("counts and shows every refusal with host and reason", async () => {
      const d = await details(a.id);
      expect(d.isolation!.egress!.denied).toBeGreaterThanOrEqual(6);
      expect(d.isolation!.egress!.recentDenials).toContainEqual(
        expect.objectContaining({ host: "other.test", reason: "not_allowlisted" }),
      );
      const health = HealthResponse.parse(await (await fetch(`${agent.url}/health`)).json());
      expect(health.isolation).toMatchObject({ enabled: true, runtime, egressDenylist: ["deny.example.test"] });
      expect(health.isolation!.egressAllowlist).toEqual([
        "allowed.test",
        "secure.test",
        "meta.test",
        "private.test",
        "*.example.test",
      ]);
      expect(health.isolation!.egressDenied).toBeGreaterThanOrEqual(d.isolation!.egress!.denied);
    });
  });

  describe("no path to the host or another environment", () => {
    it.each([
      ["the agent's API on the gateway", () => [gateway(a.id), String(agent.port)]],
      ["the agent's API on the host's default bridge", () => ["172.17.0.1", String(agent.port)]],
      ["B's published port on the gateway", () => [gateway(a.id), String(b.hostPort)]],
      ["B's published port on the host's default bridge", () => ["172.17.0.1", String(b.hostPort)]],
      ["B's container address", () => [containerIp(b.id), "3000"]],
      ["B's gateway", () => [gateway(b.id), String(agent.port)]],
    ])("A cannot reach %s", async (_what, target) => {
      const [ip, port] = target();
      const r = await probe(agent.api, a.id, "direct", ip!, port!);
      expect(r.result).not.toBe("connected");
    });

    it("A cannot use B's egress proxy", async () => {
      const res = await agent.api.post(`/api/containers/${a.id}/exec`, {
        command: ["node", "-e", probeThroughProxy, `http://${gateway(b.id)}:3128`],
        timeout: 10_000,
      });
      expect(ExecResponse.parse(await res.json()).stdout.trim()).not.toBe("200");
    });

    it("the agent's API answers from the host all along", async () => {
      expect((await fetch(`${agent.url}/health`)).status).toBe(200);
    });
  });

  describe("limits inside an environment", () => {
    it("stops a fork bomb at the pids limit while the agent keeps answering", async () => {
      const c = await createContainer(agent.api, { command: devServer("forks") });
      // 400 children against the limit (threads count too). Node reports a failed fork as an
      // error event instead of dying, and counts what runs by reading /proc, which needs no fork.
      const bomb = `
        const { spawn } = require("child_process"); let failed = 0;
        for (let i = 0; i < 400; i++) spawn("sleep", ["4"], { stdio: "ignore" }).on("error", () => failed++);
        setTimeout(() => {
          const running = require("fs").readdirSync("/proc").filter((d) => /^[0-9]+$/.test(d)).length;
          console.log(JSON.stringify({ running, failed })); process.exit(0);
        }, 1000);`;
      const res = await agent.api.post(`/api/containers/${c.id}/exec`, {
        command: ["node", "-e", bomb],
        timeout: 8_000,
      });
      expect((await fetch(`${agent.url}/health`)).status).toBe(200);
      if (runtime === "runc") {
        // The kernel refuses the forks past the limit; the environment lives on.
        const { running, failed } = JSON.parse(ExecResponse.parse(await res.json()).stdout) as {
          running: number;
          failed: number;
        };
        expect(failed).toBeGreaterThan(300);
        expect(running).toBeLessThanOrEqual(64);
        expect((await details(c.id)).state).toBe("running");
      } else {
        // Under gVisor the limit counts the sandbox's own host threads: reaching it ends the
        // whole sandbox, so the environment stops, and nothing outside it notices. The engine
        // then starts it again (restart policy on-failure): it ended once, whatever it is now.
        expect([200, 409]).toContain(res.status);
        const dockerId = (await details(c.id)).dockerId;
        const { State, RestartCount } = await docker.getContainer(dockerId).inspect();
        expect(State.Status === "exited" || State.Status === "dead" || RestartCount > 0 || State.Restarting).toBe(true);
      }
      await agent.api.del(`/api/containers/${c.id}`);
    });
  });

  describe("an agent with no allowlist", () => {
    it("lets nothing out", async () => {
      const closed = await startTestAgent({
        DEFAULT_IMAGE: NODE_IMAGE,
        CONTAINER_RUNTIME: runtime,
        DATA_DIR: path.join(dir, `data-closed-${runtime}`),
        EGRESS_ALLOWED_CIDRS: `${upstreamIp}/32`,
        EGRESS_RESOLVE: `allowed.test=${upstreamIp}`,
      });
      try {
        const c = await createContainer(closed.api, { command: devServer("closed") });
        expect(await probe(closed.api, c.id, "get", "http://allowed.test:8080/")).toMatchObject({
          status: 403,
          denied: "not_allowlisted",
        });
        await closed.api.del(`/api/containers/${c.id}`);
      } finally {
        await closed.close();
      }
    });
  });
});

describe("start-up checks", () => {
  it("refuses to start with an over-broad pattern, naming it", async () => {
    const port = await freePort();
    await expect(
      spawnAgent(
        testEnv({ PORT: String(port), DATA_DIR: path.join(dir, "data-bad"), EGRESS_ALLOWLIST: "ok.test,*.com" }),
      ),
    ).rejects.toThrow(/EGRESS_ALLOWLIST "\*\.com" covers a whole top-level domain/);
  });
});

/** Prints the status of a GET through the proxy given as argv[1], or the error. */
const probeThroughProxy = `
const proxy = new URL(process.argv[1]);
setTimeout(() => { console.log("timeout"); process.exit(0); }, 3000);
require("http").request({ host: proxy.hostname, port: proxy.port, path: "http://allowed.test:8080/" }, (res) => { console.log(res.statusCode); process.exit(0); })
  .on("error", (e) => { console.log(e.code || e.message); process.exit(0); }).end();
`;
