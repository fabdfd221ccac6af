/**
 * Benchmark (not a test): time from `POST /setup` to the `ready` callback, for
 *   - cold:   no repo cache, no dependency volume, no main image (a fresh repo each run)
 *   - warm:   main image built, repo cache and dependency volume warm, same lockfile
 *   - switch: a ready environment switched to another branch (other lockfile) from the main image
 *
 *   npm run bench:setup [-- --n 5]
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

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "5" },
    port: { type: "string", default: "18282" },
    // Vendored packages in the fixture: an install with some weight, like a real repo's.
    deps: { type: "string", default: "150" },
  },
});
const N = Number(values.n);
const DEPS = Number(values.deps);
const IMAGE = "artie-test/node:20";
const SECRET = "bench-secret-".padEnd(48, "s");
const CALLBACK_SECRET = "bench-callback-secret-0123";
const AGENT_URL = `http://127.0.0.1:${values.port}`;
const docker = new Docker();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const round = (x: number) => Math.round(x * 1000) / 1000;

async function api(method: string, p: string, body?: unknown) {
  const res = await fetch(`${AGENT_URL}${p}`, {
    method,
    headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

async function timedSetup(
  receiver: Receiver,
  id: string,
  body: Record<string, unknown>,
  untilMainImage = false,
): Promise<number> {
  const before = receiver.received.length;
  const t0 = performance.now();
  await api("POST", `/api/containers/${id}/setup`, {
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

async function main() {
  const fixtures = await fixtureRoot();
  const receiver = await startReceiver(CALLBACK_SECRET);
  const agent = await startAgentProcess(AGENT_URL, {
    API_SECRET: SECRET,
    PORT: values.port,
    BIND_ADDRESS: "127.0.0.1",
    PUBLISH_ADDRESS: "127.0.0.1",
    PORT_RANGE: "22500-22999",
    DEFAULT_IMAGE: IMAGE,
    GIT_REMOTE_TEMPLATE: fixtures.remoteTemplate,
    DATA_DIR: path.join(fixtures.root, "agent-data"),
  });
  const created: string[] = [];
  const repos: string[] = [];
  const newContainer = async () => {
    const c = await api("POST", "/api/containers", { name: `bench-setup-${created.length}`, image: IMAGE });
    created.push(String(c.id));
    return String(c.id);
  };
  const results = { cold: [] as number[], warm: [] as number[], switch: [] as number[] };
  try {
    for (let i = 0; i < N; i++) {
      const repo = `bench/cold${i}-${Date.now()}`;
      repos.push(repo);
      await fixtures.createRepo(repo, { main: { message: "cold", greetVersion: "1.0.0", extraDependencies: DEPS } });
      results.cold.push(await timedSetup(receiver, await newContainer(), { repo, branch: "main" }));
    }

    const repo = `bench/warm-${Date.now()}`;
    repos.push(repo);
    await fixtures.createRepo(repo, {
      main: { message: "main", greetVersion: "1.0.0", extraDependencies: DEPS },
      feature: { message: "feature", greetVersion: "2.0.0", extraDependencies: DEPS },
    });
    await timedSetup(receiver, await newContainer(), { repo, branch: "main", buildMainImage: true }, true);
    for (let i = 0; i < N; i++) {
      const id = await newContainer();
      results.warm.push(await timedSetup(receiver, id, { repo, branch: "main", hasMainImage: true }));
      results.switch.push(await timedSetup(receiver, id, { repo, branch: "feature", hasMainImage: true }));
    }
  } finally {
    for (const id of created) await api("DELETE", `/api/containers/${id}`).catch(() => undefined);
    agent.kill("SIGTERM");
    await receiver.close();
    for (const repo of repos)
      await docker
        .getImage(`${repo.replace("/", "-")}:main`)
        .remove({ force: true })
        .catch(() => undefined);
    const { Volumes } = await docker.listVolumes();
    for (const v of Volumes ?? [])
      if (v.Name.startsWith("bench-"))
        await docker
          .getVolume(v.Name)
          .remove()
          .catch(() => undefined);
    await fixtures.dispose();
  }

  const report = {
    date: new Date().toISOString(),
    n: N,
    fixtureDependencies: DEPS + 1,
    medianMs: {
      cold: Math.round(median(results.cold)),
      warm: Math.round(median(results.warm)),
      switch: Math.round(median(results.switch)),
    },
    ratios: {
      warmOverCold: round(median(results.warm) / median(results.cold)),
      switchOverCold: round(median(results.switch) / median(results.cold)),
    },
    samplesMs: results,
  };
  console.log(`cold   median ${report.medianMs.cold} ms`);
  console.log(`warm   median ${report.medianMs.warm} ms  (warm/cold ${report.ratios.warmOverCold})`);
  console.log(`switch median ${report.medianMs.switch} ms  (switch/cold ${report.ratios.switchOverCold})`);
  writeReport("setup", report);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
