/**
 * Benchmark (not a test): what the agent adds on top of the Docker engine.
 *
 *   npm run bench:agent [-- --n 30 --image artie-test/busybox:latest --runtime runsc]
 *
 * Measures, interleaved in one run on one image, N times each:
 *   - create+start: raw dockerode (with the very options the agent builds, on Docker's default
 *     bridge) vs POST /api/containers through agents configured three ways: a shared network
 *     (CONTAINER_NETWORK=bridge, the agent before isolation), isolated (a network of its own per
 *     environment, the default), and, with --runtime runsc, isolated under gVisor
 *   - exec round trip of `true`: raw dockerode exec (create, start, read to end, inspect) vs
 *     POST /api/containers/:id/exec on each agent
 * Prints median and p95 for each and the ratios (agent/raw, isolated/shared, runsc/runc), and
 * writes them to bench/results/agent-<timestamp>.json. Each agent runs as its own process, as in
 * production.
 */
import Docker from "dockerode";
import type { ChildProcess } from "node:child_process";
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
    runtime: { type: "string", default: "runc" },
  },
});
if (!["runc", "runsc"].includes(values.runtime)) throw new Error("--runtime is runc or runsc");
const N = Number(values.n);
const IMAGE = values.image;
const SECRET = "bench-secret-".padEnd(48, "b");
/** The agents measured: name, extra environment. Each gets its own port, port range and data dir. */
const AGENTS: Array<{ name: string; env: Record<string, string> }> = [
  { name: "shared", env: { CONTAINER_NETWORK: "bridge" } },
  { name: "isolated", env: {} },
  ...(values.runtime === "runsc" ? [{ name: "isolatedRunsc", env: { CONTAINER_RUNTIME: "runsc" } }] : []),
];
const agentUrl = (i: number) => `http://127.0.0.1:${Number(values.port) + i}`;
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

const api = (url: string, path: string, body?: unknown) =>
  fetch(`${url}${path}`, {
    method: body === undefined ? "DELETE" : "POST",
    headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

/** An internal network made once for the raw baseline of what the engine alone charges for one. */
const RAW_INTERNAL_NETWORK = "bench-raw-internal";

async function rawCreateStart(i: number, network = "bridge") {
  const config = loadConfig({ API_SECRET: SECRET, PUBLISH_ADDRESS: "127.0.0.1", CONTAINER_NETWORK: network });
  const req = CreateContainerRequest.parse({ name: `bench-raw-${i}` });
  const options = buildCreateOptions({
    id: `bench-raw-${i}-${Date.now()}`,
    req,
    image: IMAGE,
    ports: [{ containerPort: 3000, hostPort: RAW_PORT_BASE + i }],
    createdAt: new Date().toISOString(),
    config,
    network: null,
    trust: null,
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

async function agentCreateStart(url: string, i: number) {
  const [ms, res] = await time(() => api(url, "/api/containers", { name: `bench-agent-${i}` }));
  if (res.status !== 201) throw new Error(`agent create failed: ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  return { ms, cleanup: () => api(url, `/api/containers/${id}`) };
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

async function agentExec(url: string, id: string) {
  const [ms, res] = await time(() => api(url, `/api/containers/${id}/exec`, { command: ["true"] }));
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
  const agents: ChildProcess[] = [];
  for (const [n, a] of AGENTS.entries()) {
    agents.push(
      await startAgentProcess(agentUrl(n), {
        API_SECRET: SECRET,
        PORT: String(Number(values.port) + n),
        BIND_ADDRESS: "127.0.0.1",
        PUBLISH_ADDRESS: "127.0.0.1",
        PORT_RANGE: `${22000 + n * 300}-${22000 + n * 300 + 299}`,
        DATA_DIR: `/tmp/artie-bench-agent-${a.name}`,
        DEFAULT_IMAGE: IMAGE,
        ...a.env,
      }),
    );
  }
  await docker
    .getNetwork(RAW_INTERNAL_NETWORK)
    .remove()
    .catch(() => undefined);
  await docker.createNetwork({ Name: RAW_INTERNAL_NETWORK, Internal: true });
  const results: Record<string, number[]> = { rawCreate: [], rawInternalCreate: [], rawExec: [] };
  for (const a of AGENTS) results[`${a.name}Create`] = [];
  for (const a of AGENTS) results[`${a.name}Exec`] = [];
  try {
    // Warm-up: the first create pays image and cache costs for each.
    await (await rawCreateStart(299)).cleanup();
    for (const [n] of AGENTS.entries()) await (await agentCreateStart(agentUrl(n), 299)).cleanup();

    for (let i = 0; i < N; i++) {
      const raw = await rawCreateStart(i);
      results.rawCreate!.push(raw.ms);
      await raw.cleanup();
      const rawInternal = await rawCreateStart(i, RAW_INTERNAL_NETWORK);
      results.rawInternalCreate!.push(rawInternal.ms);
      await rawInternal.cleanup();
      for (const [n, a] of AGENTS.entries()) {
        const viaAgent = await agentCreateStart(agentUrl(n), i);
        results[`${a.name}Create`]!.push(viaAgent.ms);
        await viaAgent.cleanup();
      }
    }

    const execIds: string[] = [];
    for (const [n] of AGENTS.entries()) {
      const res = await api(agentUrl(n), "/api/containers", { name: "bench-exec" });
      execIds.push(((await res.json()) as { id: string }).id);
    }
    const container = docker.getContainer(`artie-${execIds[0]}`);
    await rawExec(container);
    for (const [n] of AGENTS.entries()) await agentExec(agentUrl(n), execIds[n]!);
    for (let i = 0; i < N; i++) {
      results.rawExec!.push(await rawExec(container));
      for (const [n, a] of AGENTS.entries()) results[`${a.name}Exec`]!.push(await agentExec(agentUrl(n), execIds[n]!));
    }
    for (const [n] of AGENTS.entries()) await api(agentUrl(n), `/api/containers/${execIds[n]}`);
  } finally {
    for (const agent of agents) agent.kill("SIGTERM");
    await docker
      .getNetwork(RAW_INTERNAL_NETWORK)
      .remove()
      .catch(() => undefined);
  }

  const ratio = (a: number[], b: number[]) => ({
    median: round(summary(a).median / summary(b).median),
    p95: round(summary(a).p95 / summary(b).p95),
  });
  const measured = Object.fromEntries(Object.entries(results).map(([k, xs]) => [k, summary(xs)]));
  const ratios: Record<string, { median: number; p95: number }> = {};
  for (const op of ["Create", "Exec"]) {
    ratios[`shared/raw ${op}`] = ratio(results[`shared${op}`]!, results[`raw${op}`]!);
    ratios[`isolated/shared ${op}`] = ratio(results[`isolated${op}`]!, results[`shared${op}`]!);
    if (op === "Create") {
      // What the engine alone charges for an internal network, and what the agent adds to that.
      ratios["raw internal/raw Create"] = ratio(results.rawInternalCreate!, results.rawCreate!);
      ratios["isolated/raw internal Create"] = ratio(results.isolatedCreate!, results.rawInternalCreate!);
    }
    if (results[`isolatedRunsc${op}`]) {
      ratios[`runsc/runc ${op}`] = ratio(results[`isolatedRunsc${op}`]!, results[`isolated${op}`]!);
    }
  }
  const report = { date: new Date().toISOString(), image: IMAGE, n: N, measured, ratios, raw: results };
  for (const [name, m] of Object.entries(measured)) {
    console.log(`${name.padEnd(20)} median ${m.median.toFixed(1)} ms  p95 ${m.p95.toFixed(1)} ms`);
  }
  for (const [name, r] of Object.entries(ratios))
    console.log(`${name.padEnd(24)} ratio median ${r.median}  p95 ${r.p95}`);
  writeReport("agent", report);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
