/**
 * Extra CA certificates (EXTRA_CA_CERTS) on the real engine, proven from inside environments. The
 * test makes its own CA with the host's openssl; each environment runs an HTTPS server on its own
 * 127.0.0.1 with a certificate that CA signed, and the tools an install uses talk to it: Node's
 * https and fetch, npm (a package document the server answers), git and openssl s_client.
 *
 * - With EXTRA_CA_CERTS, on an isolated network and on a shared one (CONTAINER_NETWORK), every
 *   tool trusts the server; the bundles are mounted read-only.
 * - The egress proxy's own CA reaches environments the same way (one extra.pem), and its
 *   upstream TLS trusts EXTRA_CA_CERTS: an intercepted host whose certificate the test CA signed
 *   answers, one signed by another CA does not.
 * - Negative control: without EXTRA_CA_CERTS nothing is set or mounted and every tool fails with
 *   a certificate error.
 *
 * No traffic leaves what the test creates: the servers are on the environments' loopback and on
 * an upstream container on a network the test makes.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecResponse } from "../src/api/contract.js";
import { CA_BUNDLE_PATH, EXTRA_CA_PATH, TRUST_MOUNT } from "../src/docker/container-spec.js";
import { startTestAgent } from "./helpers/agent.js";
import { docker } from "./helpers/docker.js";
import { NODE_IMAGE } from "./helpers/images.js";
import { probe } from "./helpers/net-probe.js";
import { issueServerCert, makeTestCa, type ServerCert, type TestCa } from "./helpers/test-ca.js";

const SERVER_PORT = 8443;
const PACKAGE = "artie-trust-probe";
const suffix = randomBytes(3).toString("hex");
const UPSTREAM = `test-extra-ca-upstream-${suffix}`;
const CREDENTIAL = `Bearer cred-${randomBytes(12).toString("hex")}`;
/** What a tool says when it does not trust the server's certificate. */
const CERT_ERROR =
  /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED_CERT|certificate|unable to get local issuer/i;

/** An HTTPS server on 127.0.0.1 answering npm's package document for PACKAGE, 404 otherwise. */
const serverScript = (cert: ServerCert) => `
const packument = ${JSON.stringify({
  name: PACKAGE,
  "dist-tags": { latest: "1.2.3" },
  versions: {
    "1.2.3": { name: PACKAGE, version: "1.2.3", dist: { tarball: `https://127.0.0.1:${SERVER_PORT}/t.tgz` } },
  },
})};
require("https").createServer({ key: ${JSON.stringify(cert.key)}, cert: ${JSON.stringify(cert.cert)} }, (req, res) => {
  if (req.url === "/${PACKAGE}") { res.setHeader("content-type", "application/json"); return res.end(JSON.stringify(packument)); }
  res.statusCode = 404; res.end("not here\\n");
}).listen(${SERVER_PORT}, "127.0.0.1");
`;

/** Two HTTPS servers answering with the headers they received: 8443 (test CA), 9443 (another CA). */
const upstreamScript = (trusted: ServerCert, other: ServerCert) => `
const https = require("https");
const echo = (req, res) => { res.setHeader("content-type", "application/json"); res.end(JSON.stringify({ path: req.url, headers: req.headers })); };
https.createServer({ key: ${JSON.stringify(trusted.key)}, cert: ${JSON.stringify(trusted.cert)} }, echo).listen(8443);
https.createServer({ key: ${JSON.stringify(other.key)}, cert: ${JSON.stringify(other.cert)} }, echo).listen(9443);
`;

let dir: string;
let ca: TestCa;
let server: ServerCert;
let extraCaFile: string;
let upstreamIp: string;

type Agent = Awaited<ReturnType<typeof startTestAgent>>;

async function exec(agent: Agent, id: string, command: string[]) {
  const res = await agent.api.post(`/api/containers/${id}/exec`, { command, timeout: 20_000 });
  expect(res.status).toBe(200);
  return ExecResponse.parse(await res.json());
}

/** An environment whose main process is the HTTPS server; waits (bounded) until it listens. */
async function environment(agent: Agent) {
  const res = await agent.api.post("/api/containers", {
    name: `test-extra-ca-${randomBytes(3).toString("hex")}`,
    command: ["node", "-e", serverScript(server)],
  });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  const waitForServer = `
    const net = require("net"); let tries = 0;
    const attempt = () => net.connect(${SERVER_PORT}, "127.0.0.1").on("connect", () => process.exit(0))
      .on("error", () => (++tries < 50 ? setTimeout(attempt, 100) : process.exit(1)));
    attempt();`;
  expect((await exec(agent, id, ["node", "-e", waitForServer])).exitCode).toBe(0);
  return id;
}

const removeEnvironment = (agent: Agent, id: string) => agent.api.del(`/api/containers/${id}`);

/** Each tool's view of the server: ok, or why not. */
async function tools(agent: Agent, id: string) {
  const url = `https://127.0.0.1:${SERVER_PORT}`;
  const report = `(r) => console.log("ok " + r.statusCode)`;
  const nodeHttps = await exec(agent, id, [
    "node",
    "-e",
    `require("https").get("${url}/${PACKAGE}", ${report}).on("error", (e) => console.log("error " + e.code))`,
  ]);
  const nodeFetch = await exec(agent, id, [
    "node",
    "-e",
    `fetch("${url}/${PACKAGE}").then((r) => console.log("ok " + r.status), (e) => console.log("error " + (e.cause?.code ?? e.message)))`,
  ]);
  const npm = await exec(agent, id, [
    "npm",
    "view",
    PACKAGE,
    "version",
    `--registry=${url}/`,
    "--fetch-retries=0",
    "--no-update-notifier",
  ]);
  const git = await exec(agent, id, ["git", "ls-remote", `${url}/x.git`]);
  const openssl = await exec(agent, id, [
    "sh",
    "-c",
    `openssl s_client -connect 127.0.0.1:${SERVER_PORT} -servername localhost -verify_return_error </dev/null 2>&1`,
  ]);
  return { nodeHttps, nodeFetch, npm, git, openssl };
}

async function expectTrusted(agent: Agent, id: string) {
  const t = await tools(agent, id);
  expect(t.nodeHttps.stdout.trim()).toBe("ok 200");
  expect(t.nodeFetch.stdout.trim()).toBe("ok 200");
  expect(t.npm.stdout.trim(), t.npm.stderr).toBe("1.2.3");
  // The server is no git server: git must get as far as asking it, and fail for that reason.
  expect(t.git.exitCode).not.toBe(0);
  expect(t.git.stderr).not.toMatch(CERT_ERROR);
  expect(t.git.stderr).toMatch(/not found|404/i);
  expect(t.openssl.exitCode, t.openssl.stdout).toBe(0);
  expect(t.openssl.stdout).toContain("Verify return code: 0 (ok)");
}

async function expectMounted(agent: Agent, id: string) {
  const env = (await exec(agent, id, ["env"])).stdout.split("\n");
  expect(env).toContain(`NODE_EXTRA_CA_CERTS=${EXTRA_CA_PATH}`);
  expect(env).toContain(`SSL_CERT_FILE=${CA_BUNDLE_PATH}`);
  const files = await exec(agent, id, ["sh", "-c", `grep -c 'BEGIN CERTIFICATE' ${EXTRA_CA_PATH} ${CA_BUNDLE_PATH}`]);
  const [extra, bundle] = files.stdout
    .trim()
    .split("\n")
    .map((l) => Number(l.split(":")[1]));
  expect(bundle).toBeGreaterThan(extra!);
  // Read-only for the environment, whatever its user.
  const write = await exec(agent, id, ["sh", "-c", `echo x > ${EXTRA_CA_PATH}`]);
  expect(write.exitCode).not.toBe(0);
  expect(write.stderr).toMatch(/read-only/i);
  return extra!;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "artie-extra-ca-"));
  ca = await makeTestCa(dir, "Artie extra CA test");
  server = await issueServerCert(ca, "server");
  extraCaFile = path.join(dir, "extra-ca.pem");
  await writeFile(extraCaFile, `# the operator's extra CA\n${ca.certPem}`);

  const other = await makeTestCa(dir, "Artie untrusted CA");
  const upstream = await docker.createContainer({
    name: UPSTREAM,
    Image: NODE_IMAGE,
    Cmd: [
      "node",
      "-e",
      upstreamScript(
        await issueServerCert(ca, "upstream", "DNS:secure.test"),
        await issueServerCert(other, "rogue", "DNS:rogue.test"),
      ),
    ],
    Labels: { "artie.test": "true" },
    HostConfig: { NetworkMode: "bridge" },
  });
  await upstream.start();
  upstreamIp = (await upstream.inspect()).NetworkSettings.Networks.bridge!.IPAddress;
}, 60_000);

afterAll(async () => {
  await docker
    .getContainer(UPSTREAM)
    .remove({ force: true })
    .catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("with EXTRA_CA_CERTS, on isolated networks", () => {
  let agent: Agent;
  let id: string;
  beforeAll(async () => {
    agent = await startTestAgent({
      DEFAULT_IMAGE: NODE_IMAGE,
      EXTRA_CA_CERTS: extraCaFile,
      EGRESS_ALLOWLIST: "secure.test,rogue.test",
      EGRESS_ALLOWED_CIDRS: `${upstreamIp}/32`,
      EGRESS_RESOLVE: `secure.test=${upstreamIp},rogue.test=${upstreamIp}`,
      EGRESS_CREDENTIALS: JSON.stringify({
        "secure.test": { Authorization: CREDENTIAL },
        "rogue.test": { "X-A": "b" },
      }),
    });
    id = await environment(agent);
  }, 60_000);
  afterAll(async () => {
    await removeEnvironment(agent, id);
    await agent.close();
  });

  it("mounts both bundles read-only, with the proxy's CA next to the operator's in extra.pem", async () => {
    expect(await expectMounted(agent, id)).toBe(2);
    const subjects = await exec(agent, id, [
      "node",
      "-e",
      `const { X509Certificate } = require("crypto"); const pem = require("fs").readFileSync("${EXTRA_CA_PATH}", "utf8");
       console.log(pem.match(/-----BEGIN CERTIFICATE-----[\\s\\S]*?-----END CERTIFICATE-----/g).map((c) => new X509Certificate(c).subject).join("|"))`,
    ]);
    expect(subjects.stdout.trim().split("|").sort()).toEqual(["CN=Artie egress proxy CA", "CN=Artie extra CA test"]);
  });

  it("has Node's https and fetch, npm, git and openssl trust a server the extra CA signed", async () => {
    await expectTrusted(agent, id);
  });

  it("has the egress proxy's upstream TLS trust the extra CA, and still refuse another CA", async () => {
    const ok = await probe(agent.api, id, "tls", "secure.test", "8443", "/via-proxy");
    expect(ok.tlsError).toBeUndefined();
    expect(ok.body).toMatch(/^HTTP\/1\.1 200/);
    const seen = JSON.parse(ok.body!.slice(ok.body!.indexOf("{"))) as { path: string; headers: Record<string, string> };
    expect(seen.path).toBe("/via-proxy");
    expect(seen.headers.authorization).toBe(CREDENTIAL);

    const rogue = await probe(agent.api, id, "tls", "rogue.test", "9443", "/");
    expect(rogue.tlsError).toBeUndefined(); // the environment trusts the proxy...
    expect(rogue.body).toMatch(/^HTTP\/1\.1 502/); // ...and the proxy does not trust rogue.test's CA
    expect(rogue.body).toContain("upstream_unreachable");
  });
});

describe("with EXTRA_CA_CERTS, on a shared network (CONTAINER_NETWORK)", () => {
  let agent: Agent;
  let id: string;
  beforeAll(async () => {
    agent = await startTestAgent({
      DEFAULT_IMAGE: NODE_IMAGE,
      EXTRA_CA_CERTS: extraCaFile,
      CONTAINER_NETWORK: "bridge",
    });
    id = await environment(agent);
  }, 60_000);
  afterAll(async () => {
    await removeEnvironment(agent, id);
    await agent.close();
  });

  it("mounts the bundles and has every tool trust the extra CA there too", async () => {
    expect(await expectMounted(agent, id)).toBe(1);
    await expectTrusted(agent, id);
  });
});

describe("without EXTRA_CA_CERTS (negative control)", () => {
  let agent: Agent;
  let id: string;
  beforeAll(async () => {
    agent = await startTestAgent({ DEFAULT_IMAGE: NODE_IMAGE });
    id = await environment(agent);
  }, 60_000);
  afterAll(async () => {
    await removeEnvironment(agent, id);
    await agent.close();
  });

  it("sets no trust variable and mounts nothing", async () => {
    const env = (await exec(agent, id, ["env"])).stdout;
    expect(env).not.toMatch(/^(NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|CURL_CA_BUNDLE|GIT_SSL_CAINFO|npm_config_cafile)=/m);
    expect((await exec(agent, id, ["ls", TRUST_MOUNT])).exitCode).not.toBe(0);
  });

  it("has every tool refuse the server with a certificate error", async () => {
    const t = await tools(agent, id);
    expect(t.nodeHttps.stdout).toMatch(/^error /);
    expect(t.nodeHttps.stdout).toMatch(CERT_ERROR);
    expect(t.nodeFetch.stdout).toMatch(/^error /);
    expect(t.nodeFetch.stdout).toMatch(CERT_ERROR);
    expect(t.npm.exitCode).not.toBe(0);
    expect(t.npm.stderr).toMatch(CERT_ERROR);
    expect(t.git.exitCode).not.toBe(0);
    // OpenSSL builds of git's curl say "SSL certificate problem", Debian's GnuTLS build this.
    expect(t.git.stderr).toMatch(/SSL certificate problem|server certificate verification failed/);
    expect(t.openssl.exitCode).not.toBe(0);
    expect(t.openssl.stdout).toMatch(/verify error|unable to get local issuer/i);
  });
});
