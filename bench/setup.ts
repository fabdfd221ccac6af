/**
 * Benchmark (not a test): time from `POST /setup` to the `ready` callback, for
 *   - cold:   no repo cache, no dependency volume, no main image (a fresh repo each run)
 *   - warm:   main image built, repo cache and dependency volume warm, same lockfile
 *   - switch: a ready environment switched to another branch (other lockfile) from the main image
 *
 *   npm run bench:setup [-- --n 5 --runtime runsc]
 *
 * Each scenario runs on agents configured two or three ways, in one run: a shared network
 * (CONTAINER_NETWORK=bridge, the agent before isolation), isolated (the default: a network of its
 * own per environment, installs through the egress proxy's listener), and with --runtime runsc,
 * isolated under gVisor. Ratios: isolated/shared and runsc/runc per scenario.
 *
 * Fixture repos are local (file://, offline npm installs of `--deps` vendored packages, 150 by
 * default) so the numbers are the agent's and the engine's, not the network's. Prints medians and warm/cold, switch/cold ratios, and writes them
 * to bench/results/setup-<timestamp>.json. The agent runs as its own process, as in production.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import Docker from "dockerode";
import { startReceiver, type Receiver } from "../host-agent/test/helpers/callback-receiver.js";
import { fixtureRoot } from "../host-agent/test/helpers/fixture-repo.js";
import { startAgentProcess, writeReport } from "./lib.js";
import { mainImageTag } from "../host-agent/src/setup/artifact-names.js";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "5" },
    port: { type: "string", default: "18282" },
    // Vendored packages in the fixture: an install with some weight, like a real repo's.
    deps: { type: "string", default: "150" },
    runtime: { type: "string", default: "runc" },
  },
});
const CONFIGS: Array<{ name: string; env: Record<string, string> }> = [
  { name: "shared", env: { CONTAINER_NETWORK: "bridge" } },
  { name: "isolated", env: {} },
  ...(values.runtime === "runsc" ? [{ name: "isolatedRunsc", env: { CONTAINER_RUNTIME: "runsc" } }] : []),
];
const N = Number(values.n);
const DEPS = Number(values.deps);
const IMAGE = "artie-test/node:20";
const SECRET = "bench-secret-".padEnd(48, "s");
const CALLBACK_SECRET = "bench-callback-secret-0123";
const docker = new Docker();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const round = (x: number) => Math.round(x * 1000) / 1000;

async function api(url: string, method: string, p: string, body?: unknown) {
  const res = await fetch(`${url}${p}`, {
    method,
    headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

async function timedSetup(
  url: string,
  receiver: Receiver,
  id: string,
  body: Record<string, unknown>,
  untilMainImage = false,
): Promise<number> {
  const before = receiver.received.length;
  const t0 = performance.now();
  await api(url, "POST", `/api/containers/${id}/setup`, {
    callbackUrl: receiver.url,
    callbackSecret: CALLBACK_SECRET,
    ...body,
  });
  const done = (r: Receiver["received"][number]) =>
    r.body.containerId === id &&
    (r.body.phase === "error" || (r.body.phase === "ready" && (!untilMainImage || r.body.mainImage)));
  const got = await receiver.waitFor((rs) => rs.slice(before).some(done), 300_000);
  const last = got
    .slice(before)
    .filter((r) => r.body.containerId === id)
    .at(-1)!;
  if (last.body.phase !== "ready") throw new Error(`setup failed: ${last.body.error}`);
  return performance.now() - t0;
}

type Samples = { cold: number[]; warm: number[]; switch: number[] };

/** Cold, warm and switch setups, N each, through the agent at `url`. */
async function runScenarios(
  url: string,
  label: string,
  fixtures: Awaited<ReturnType<typeof fixtureRoot>>,
  receiver: Receiver,
) {
  const created: string[] = [];
  const repos: string[] = [];
  const newContainer = async () => {
    const c = await api(url, "POST", "/api/containers", {
      name: `bench-setup-${label}-${created.length}`,
      image: IMAGE,
    });
    created.push(String(c.id));
    return String(c.id);
  };
  const results: Samples = { cold: [], warm: [], switch: [] };
  try {
    for (let i = 0; i < N; i++) {
      const repo = `bench/cold${i}-${label}-${Date.now()}`;
      repos.push(repo);
      await fixtures.createRepo(repo, { main: { message: "cold", greetVersion: "1.0.0", extraDependencies: DEPS } });
      results.cold.push(await timedSetup(url, receiver, await newContainer(), { repo, branch: "main" }));
    }

    const repo = `bench/warm-${label}-${Date.now()}`;
    repos.push(repo);
    await fixtures.createRepo(repo, {
      main: { message: "main", greetVersion: "1.0.0", extraDependencies: DEPS },
      feature: { message: "feature", greetVersion: "2.0.0", extraDependencies: DEPS },
    });
    await timedSetup(url, receiver, await newContainer(), { repo, branch: "main", buildMainImage: true }, true);
    for (let i = 0; i < N; i++) {
      const id = await newContainer();
      results.warm.push(await timedSetup(url, receiver, id, { repo, branch: "main", hasMainImage: true }));
      results.switch.push(await timedSetup(url, receiver, id, { repo, branch: "feature", hasMainImage: true }));
    }
  } finally {
    for (const id of created) await api(url, "DELETE", `/api/containers/${id}`).catch(() => undefined);
    for (const repo of repos)
      await docker
        .getImage(mainImageTag("default", repo))
        .remove({ force: true })
        .catch(() => undefined);
  }
  return results;
}

async function main() {
  const fixtures = await fixtureRoot();
  const receiver = await startReceiver(CALLBACK_SECRET);
  const samples: Record<string, Samples> = {};
  try {
    for (const [n, config] of CONFIGS.entries()) {
      const url = `http://127.0.0.1:${Number(values.port) + n}`;
      const agent = await startAgentProcess(url, {
        API_SECRET: SECRET,
        PORT: String(Number(values.port) + n),
        BIND_ADDRESS: "127.0.0.1",
        PUBLISH_ADDRESS: "127.0.0.1",
        PORT_RANGE: `${22000 + n * 300}-${22000 + n * 300 + 299}`,
        DEFAULT_IMAGE: IMAGE,
        GIT_REMOTE_TEMPLATE: fixtures.remoteTemplate,
        DATA_DIR: path.join(fixtures.root, `agent-data-${config.name}`),
        ...config.env,
      });
      try {
        samples[config.name] = await runScenarios(url, config.name.toLowerCase(), fixtures, receiver);
      } finally {
        agent.kill("SIGTERM");
      }
    }
  } finally {
    await receiver.close();
    const { Volumes } = await docker.listVolumes();
    for (const v of Volumes ?? [])
      if (v.Name.startsWith("bench-"))
        await docker
          .getVolume(v.Name)
          .remove()
          .catch(() => undefined);
    await fixtures.dispose();
  }

  const medianMs = Object.fromEntries(
    Object.entries(samples).map(([name, r]) => [
      name,
      { cold: Math.round(median(r.cold)), warm: Math.round(median(r.warm)), switch: Math.round(median(r.switch)) },
    ]),
  );
  const ratio = (a: Samples, b: Samples) => ({
    cold: round(median(a.cold) / median(b.cold)),
    warm: round(median(a.warm) / median(b.warm)),
    switch: round(median(a.switch) / median(b.switch)),
  });
  const ratios: Record<string, Record<string, number>> = {
    "warm/cold (isolated)": { warm: round(median(samples.isolated!.warm) / median(samples.isolated!.cold)) },
    "isolated/shared": ratio(samples.isolated!, samples.shared!),
    ...(samples.isolatedRunsc ? { "runsc/runc": ratio(samples.isolatedRunsc, samples.isolated!) } : {}),
  };
  const report = {
    date: new Date().toISOString(),
    n: N,
    fixtureDependencies: DEPS + 1,
    medianMs,
    ratios,
    samplesMs: samples,
  };
  for (const [name, m] of Object.entries(medianMs)) {
    console.log(`${name.padEnd(14)} cold ${m.cold} ms  warm ${m.warm} ms  switch ${m.switch} ms`);
  }
  for (const [name, r] of Object.entries(ratios)) console.log(`${name.padEnd(22)} ${JSON.stringify(r)}`);
  writeReport("setup", report);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
