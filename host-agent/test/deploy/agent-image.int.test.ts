// The agent as operators deploy it: its image, built here from the local Node image, run with the
// host socket as docker-compose.deploy.yml runs it. It answers /health as a non-root user and
// turns healthy by its own HEALTHCHECK, creates hardened containers, and on SIGTERM (docker
// stop) drains: the logs stream ends cleanly, the terminal gets a 1001 close frame, undelivered
// callbacks stay on disk, the environment keeps running; a new agent container finds the
// environment again and delivers those callbacks with their original webhook-ids. With
// EXTRA_CA_CERTS the CA bundle environments mount comes from the agent's volume on the host,
// found by inspecting the agent's own container (docker/self.ts).
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startReceiver, type Receiver } from "../helpers/callback-receiver.js";
import { client, createContainer, freePort, TEST_SECRET, uniqueName } from "../helpers/agent.js";
import { docker, removeOrphanWorkspaces } from "../helpers/docker.js";
import { BUSYBOX_IMAGE, TEST_NAME_PREFIX } from "../helpers/images.js";
import { makeTestCa, type TestCa } from "../helpers/test-ca.js";
import { ensureAgentImage, IMAGE_BUILD_TIMEOUT_MS } from "./agent-image.js";
import {
  listVolumeDir,
  runAgentContainer,
  socketGid,
  socketProblem,
  stopAgentContainer,
  type AgentContainer,
} from "./agent-container.js";

const run = promisify(execFile);
const CALLBACK_SECRET = "deploy-callback-secret-0123456789";
/** docker stop's grace in the test: well above the agent's own SHUTDOWN_MAX_MS (8 s). */
const STOP_GRACE_SECONDS = 20;

/** Reads an SSE response to its end: `clean` when the body completed rather than broke off. */
async function readLogStream(res: Response): Promise<{ clean: boolean; text: string }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { clean: true, text };
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    return { clean: false, text };
  }
}

describe.skipIf(socketProblem() !== null)("the agent image on the host socket", () => {
  const suffix = randomBytes(4).toString("hex");
  const volume = `${TEST_NAME_PREFIX}deploy-data-${suffix}`;
  const network = `${TEST_NAME_PREFIX}deploy-net-${suffix}`;
  const agentNames = [`${TEST_NAME_PREFIX}deploy-agent-${suffix}`, `${TEST_NAME_PREFIX}deploy-agent2-${suffix}`];
  let image: string;
  let port: number;
  let env: Record<string, string>;
  let agent: AgentContainer;
  let receiver: Receiver;
  /** The environment that outlives the agent, and its second for a setup whose callbacks are refused. */
  let kept: { id: string };
  let ca: TestCa;
  /** Where the agent container sees EXTRA_CA_CERTS. */
  const caInAgent = "/run/artie-test/extra-ca.pem";

  const binds = () => [`${ca.certFile}:${caInAgent}:ro`];

  beforeAll(async () => {
    image = await ensureAgentImage();
    await docker.createNetwork({ Name: network });
    port = await freePort();
    receiver = await startReceiver(CALLBACK_SECRET);
    ca = await makeTestCa(await mkdtemp(path.join(tmpdir(), "artie-deploy-ca-")), "Artie deploy test CA");
    await chmod(ca.certFile, 0o644); // read by the agent's own user
    env = {
      EXTRA_CA_CERTS: caInAgent,
      API_SECRET: TEST_SECRET,
      BIND_ADDRESS: "127.0.0.1",
      PUBLISH_ADDRESS: "127.0.0.1",
      DEFAULT_IMAGE: BUSYBOX_IMAGE,
      // No isolation here: the host firewall is shared by every test on this machine.
      CONTAINER_NETWORK: network,
      CONTAINER_MEMORY_MB: "256",
      CONTAINER_PIDS_LIMIT: "128",
      TMP_TMPFS_MB: "64",
      // Clones fail at once: the setup below exists for its callbacks.
      GIT_REMOTE_TEMPLATE: "file:///nonexistent/{owner}/{repo}.git",
      LOG_LEVEL: "info",
    };
    agent = await runAgentContainer({ image, name: agentNames[0]!, volume, port, env, binds: binds() });
  }, IMAGE_BUILD_TIMEOUT_MS);

  afterAll(async () => {
    for (const name of [...agentNames, ...(kept ? [`artie-${kept.id}`] : [])]) {
      await docker
        .getContainer(name)
        .remove({ force: true })
        .catch(() => undefined);
    }
    await receiver?.close();
    await docker
      .getVolume(volume)
      .remove()
      .catch(() => undefined);
    await docker
      .getNetwork(network)
      .remove()
      .catch(() => undefined);
    await removeOrphanWorkspaces();
    if (ca) await rm(ca.dir, { recursive: true, force: true });
  });

  it("answers /health as a non-root user in the socket's group, and turns healthy by its HEALTHCHECK", async () => {
    const health = await fetch(`${agent.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok", docker: { reachable: true } });
    const { stdout } = await run("docker", ["exec", agent.id, "id"]);
    expect(stdout).toMatch(/^uid=10001\(artie\)/);
    expect(stdout).toContain(String(await socketGid()));
    const deadline = Date.now() + 20_000;
    let status = "";
    while (Date.now() < deadline && status !== "healthy") {
      status = (await docker.getContainer(agent.id).inspect()).State.Health?.Status ?? "";
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(status).toBe("healthy");
  });

  it("creates a hardened container through its API", async () => {
    // Not createContainer: its cleanup runs after this test, and this one must outlive the agent.
    const { name, id } = uniqueName("deploy");
    const created = await client(agent.url).post("/api/containers", { name, id });
    expect(created.status).toBe(201);
    kept = { id };
    const info = await docker.getContainer(`artie-${kept.id}`).inspect();
    expect(info.State.Running).toBe(true);
    expect(info.Config.User).toBe("1000:1000");
    expect(info.HostConfig).toMatchObject({
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges:true"],
      ReadonlyRootfs: true,
      Privileged: false,
      Init: true,
      PidsLimit: 128,
      Memory: 256 * 1024 * 1024,
      NetworkMode: network,
    });
    expect(info.Mounts.map((m) => m.Source)).not.toContain("/var/run/docker.sock");
  });

  it("mounts the CA bundle into environments from the agent's volume on the host (its own container inspected)", async () => {
    const { Mountpoint } = await docker.getVolume(volume).inspect();
    const info = await docker.getContainer(`artie-${kept.id}`).inspect();
    const trust = info.Mounts.find((m) => m.Destination === "/etc/artie/ca");
    expect(trust).toMatchObject({ Type: "bind", Source: `${Mountpoint}/ca-trust`, RW: false });
    const exec = await client(agent.url).post(`/api/containers/${kept.id}/exec`, {
      command: ["cat", "/etc/artie/ca/extra.pem"],
    });
    expect(exec.status).toBe(200);
    const { stdout } = (await exec.json()) as { stdout: string };
    expect(stdout.trim()).toBe(ca.certPem.trim());
  });

  it("drains on SIGTERM: streams closed cleanly, callbacks on disk, the environment left running", async () => {
    const api = client(agent.url);
    // A setup whose callbacks the receiver refuses: they wait in the outbox.
    receiver.refuse(1_000);
    const other = await createContainer(api);
    const setup = await api.post(`/api/containers/${other.id}/setup`, {
      repo: "acme/app",
      branch: "main",
      callbackUrl: receiver.url,
      callbackSecret: CALLBACK_SECRET,
    });
    expect(setup.status).toBe(202);
    const refusedBy = Date.now() + 20_000;
    while (receiver.refused.length === 0 && Date.now() < refusedBy) await new Promise((r) => setTimeout(r, 100));
    expect(receiver.refused.length).toBeGreaterThan(0);

    const logs = await api.get(`/api/containers/${kept.id}/logs`);
    expect(logs.status).toBe(200);
    const logsRead = readLogStream(logs);
    const ws = new WebSocket(`${agent.url.replace("http", "ws")}/api/containers/${kept.id}/terminal`, {
      headers: { authorization: `Bearer ${TEST_SECRET}` },
    });
    const wsClosed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    let output = "";
    ws.on("message", (d: Buffer) => (output += d.toString()));
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    ws.send(JSON.stringify({ type: "input", data: "echo term-$((40+2))\n" }));
    const echoedBy = Date.now() + 10_000;
    while (!output.includes("term-42") && Date.now() < echoedBy) await new Promise((r) => setTimeout(r, 50));
    expect(output).toContain("term-42");

    const stopped = Date.now();
    const exitCode = await stopAgentContainer(agent.id, STOP_GRACE_SECONDS);
    // 0: main.ts's clean exit, within its own deadline; SIGKILL would be 137, its deadline 1.
    expect(exitCode).toBe(0);
    expect(Date.now() - stopped).toBeLessThan(STOP_GRACE_SECONDS * 1000);
    expect(await wsClosed).toBe(1001);
    const stream = await logsRead;
    expect(stream.clean).toBe(true);
    expect(stream.text).not.toContain("event: end");
    expect(await agent.logs()).toContain("host agent stopped; containers left running");

    const pending = await listVolumeDir(BUSYBOX_IMAGE, volume, "callbacks");
    expect(pending.filter((f) => f.endsWith(".json")).length).toBeGreaterThan(0);
    expect((await docker.getContainer(`artie-${kept.id}`).inspect()).State.Running).toBe(true);
  });

  it("a new agent container finds the environment again and delivers the callbacks left on disk", async () => {
    const refused = new Set(receiver.refused);
    receiver.refuse(0);
    const next = await runAgentContainer({ image, name: agentNames[1]!, volume, port, env, binds: binds() });
    const found = await client(next.url).get(`/api/containers/${kept.id}`);
    expect(found.status).toBe(200);
    expect(await found.json()).toMatchObject({ id: kept.id, state: "running" });
    const delivered = await receiver.waitFor((r) => r.some((x) => refused.has(x.webhookId)), 30_000);
    expect(delivered.every((r) => r.validSignature)).toBe(true);
  });
});
