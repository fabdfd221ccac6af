/**
 * Benchmark (not a test): what the agent adds on top of the Docker engine.
 *
 *   npm run bench:agent [-- --n 30 --image artie-test/busybox:latest]
 *
 * Measures, interleaved in one run on one image, N times each:
 *   - create+start: raw dockerode (with the very options the agent builds) vs POST /api/containers
 *   - exec round trip of `true`: raw dockerode exec (create, start, read to end, inspect) vs
 *     POST /api/containers/:id/exec
 * Prints median and p95 for each and the agent/raw ratio, and writes them to
 * bench/results/agent-<timestamp>.json. The agent runs as its own process, as in production.
 */
import Docker from "dockerode";
import { parseArgs } from "node:util";
import { CreateContainerRequest } from "../host-agent/src/api/contract.js";
import { loadConfig } from "../host-agent/src/config.js";
import { buildCreateOptions } from "../host-agent/src/docker/container-spec.js";
import { startAgentProcess, writeReport } from "./lib.js";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "30" },
    image: { type: "string", default: "artie-test/busybox:latest" },
    port: { type: "string", default: "18181" },
  },
});
const N = Number(values.n);
const IMAGE = values.image;
const SECRET = "bench-secret-".padEnd(48, "b");
const AGENT_URL = `http://127.0.0.1:${values.port}`;
const RAW_PORT_BASE = 23000;
const docker = new Docker();

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};
const summary = (xs: number[]) => ({ median: quantile(xs, 0.5), p95: quantile(xs, 0.95), n: xs.length });
const round = (x: number) => Math.round(x * 100) / 100;

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const result = await fn();
  return [performance.now() - t0, result];
}

const api = (path: string, body?: unknown) =>
  fetch(`${AGENT_URL}${path}`, {
    method: body === undefined ? "DELETE" : "POST",
    headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

async function rawCreateStart(i: number) {
  const config = loadConfig({ API_SECRET: SECRET, PUBLISH_ADDRESS: "127.0.0.1" });
  const req = CreateContainerRequest.parse({ name: `bench-raw-${i}` });
  const options = buildCreateOptions({
    id: `bench-raw-${i}-${Date.now()}`,
    req,
    image: IMAGE,
    ports: [{ containerPort: 3000, hostPort: RAW_PORT_BASE + i }],
    createdAt: new Date().toISOString(),
    config,
    network: null,
  });
  const [ms, container] = await time(async () => {
    const c = await docker.createContainer(options);
    // A failed start must not leave the container behind.
    await c.start().catch(async (err: unknown) => {
      await c.remove({ force: true });
      throw err;
    });
    return c;
  });
  return { ms, cleanup: () => container.remove({ force: true }) };
}

async function agentCreateStart(i: number) {
  const [ms, res] = await time(() => api("/api/containers", { name: `bench-agent-${i}` }));
  if (res.status !== 201) throw new Error(`agent create failed: ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  return { ms, cleanup: () => api(`/api/containers/${id}`) };
}

async function rawExec(container: Docker.Container) {
  const [ms] = await time(async () => {
    const exec = await container.exec({ Cmd: ["true"], AttachStdout: true, AttachStderr: true, User: "1000:1000" });
    const stream = await exec.start({ hijack: true, stdin: false });
    stream.resume();
    await new Promise((r) => stream.once("end", r));
    return exec.inspect();
  });
  return ms;
}

async function agentExec(id: string) {
  const [ms, res] = await time(() => api(`/api/containers/${id}/exec`, { command: ["true"] }));
  if (res.status !== 200) throw new Error(`agent exec failed: ${res.status}`);
  await res.json();
  return ms;
}

async function main() {
  await docker
    .getImage(IMAGE)
    .inspect()
    .catch(() => {
      throw new Error(`image ${IMAGE} missing: run npm run test:images`);
    });
  const agent = await startAgentProcess(AGENT_URL, {
    API_SECRET: SECRET,
    PORT: values.port,
    BIND_ADDRESS: "127.0.0.1",
    PUBLISH_ADDRESS: "127.0.0.1",
    PORT_RANGE: "22000-22999",
    DEFAULT_IMAGE: IMAGE,
  });
  const results: Record<string, number[]> = { rawCreate: [], agentCreate: [], rawExec: [], agentExec: [] };
  try {
    // Warm-up: first create pays image and cache costs for both.
    await (await rawCreateStart(999)).cleanup();
    await (await agentCreateStart(999)).cleanup();

    for (let i = 0; i < N; i++) {
      const raw = await rawCreateStart(i);
      results.rawCreate!.push(raw.ms);
      await raw.cleanup();
      const viaAgent = await agentCreateStart(i);
      results.agentCreate!.push(viaAgent.ms);
      await viaAgent.cleanup();
    }

    const res = await api("/api/containers", { name: "bench-exec" });
    const { id } = (await res.json()) as { id: string };
    const container = docker.getContainer(`artie-${id}`);
    await rawExec(container);
    await agentExec(id);
    for (let i = 0; i < N; i++) {
      results.rawExec!.push(await rawExec(container));
      results.agentExec!.push(await agentExec(id));
    }
    await api(`/api/containers/${id}`);
  } finally {
    agent.kill("SIGTERM");
  }

  const create = { raw: summary(results.rawCreate!), agent: summary(results.agentCreate!) };
  const exec = { raw: summary(results.rawExec!), agent: summary(results.agentExec!) };
  const report = {
    date: new Date().toISOString(),
    image: IMAGE,
    n: N,
    createStart: {
      ...create,
      ratioMedian: round(create.agent.median / create.raw.median),
      ratioP95: round(create.agent.p95 / create.raw.p95),
    },
    exec: {
      ...exec,
      ratioMedian: round(exec.agent.median / exec.raw.median),
      ratioP95: round(exec.agent.p95 / exec.raw.p95),
    },
    raw: results,
  };
  const line = (name: string, r: typeof report.createStart) =>
    `${name.padEnd(14)} raw median ${r.raw.median.toFixed(1)} ms p95 ${r.raw.p95.toFixed(1)} ms | agent median ${r.agent.median.toFixed(1)} ms p95 ${r.agent.p95.toFixed(1)} ms | ratio median ${r.ratioMedian} p95 ${r.ratioP95}`;
  console.log(line("create+start", report.createStart));
  console.log(line("exec", report.exec));
  writeReport("agent", report);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
