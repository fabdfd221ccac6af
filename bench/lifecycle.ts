/**
 * Benchmark (not a test): issue 17's lifecycle operations on a ready environment, against the
 * cold setup of the same run, on the real engine:
 *   - cold:     a setup of a repo no setup has seen, to `ready` (the baseline of every ratio)
 *   - warm:     a setup from the repo's main image, same lockfile, to `ready`
 *   - restart:  POST /restart with a start body, to the `ready` callback
 *   - stop:     POST /stop, until the agent answers (the container is stopped by then); the
 *               container's memory before and after, from the Engine API's stats (what
 *               `docker stats` shows: usage less inactive page cache)
 *   - start:    POST /start, to `ready`
 *   - redeploy: after a new commit that leaves the lockfile alone, to `ready`; then after one
 *               that moves a dependency (a new lockfile: a new dependency volume and an install)
 *
 *   npm run bench:lifecycle [-- --n 3 --deps 150]
 *
 * The repo is the offline fixture of fixture-repo.ts (a tiny node server and `--deps` vendored
 * packages, as bench:setup and bench:frameworks use). Each run's cold setup leaves the
 * environment every operation then runs on; each redeploy is checked to serve its commit. Only
 * the measured environment runs at any time. Prints one table of medians of n runs and their
 * ratios to the cold median (ratios, not assertions), and writes
 * bench/results/lifecycle-<timestamp>.json and .md. The agent runs as its own process.
 */
import { loadavg } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { startReceiver } from "../host-agent/test/helpers/callback-receiver.js";
import { docker } from "../host-agent/test/helpers/docker.js";
import { fixtureRoot, type FixtureRoot } from "../host-agent/test/helpers/fixture-repo.js";
import { NODE_IMAGE } from "../host-agent/test/helpers/images.js";
import {
  CALLBACK_SECRET,
  agentRequest,
  requestAndTime,
  type PhaseTimes,
  type SetupOutcome,
} from "../host-agent/test/frameworks/setup-run.js";
import { SetupBench, say, type Kind } from "./environments.js";
import { median, startAgentProcess, table, writeMarkdown, writeReport } from "./lib.js";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "3" },
    port: { type: "string", default: "18310" },
    // Vendored packages in the fixture, as bench:setup's default.
    deps: { type: "string", default: "150" },
  },
});
const N = Number(values.n);
const DEPS = Number(values.deps);
const SECRET = "bench-secret-".padEnd(48, "s");
const OPS = ["cold", "warm", "restart", "stop", "start", "redeploy", "redeployLockfile"] as const;
type Op = (typeof OPS)[number];
const LABELS: Record<Op, string> = {
  cold: "cold setup (baseline)",
  warm: "warm setup",
  restart: "restart → ready",
  stop: "stop (agent answered)",
  start: "start → ready",
  redeploy: "redeploy, same lockfile → ready",
  redeployLockfile: "redeploy, new lockfile → ready",
};

type Sample = { ms: number; phasesMs?: PhaseTimes };
type Memory = { usageMb: number; withoutCacheMb: number };
type Samples = Record<Op, Sample[]> & { memoryBeforeStop: Memory[]; memoryAfterStop: Memory[]; errors: string[] };

const round = (x: number) => Math.round(x * 100) / 100;
const MB = 1024 * 1024;

/**
 * The container's memory from the Engine API's one-shot stats (cgroup v1 or v2, the source of
 * `docker stats`): raw usage, and usage less inactive file cache as `docker stats` shows it.
 */
async function memoryOf(id: string): Promise<Memory> {
  const s = (await docker.getContainer(`artie-${id}`).stats({ stream: false })) as {
    memory_stats?: { usage?: number; stats?: Record<string, number> };
  };
  const usage = s.memory_stats?.usage ?? 0;
  const inactive = s.memory_stats?.stats?.total_inactive_file ?? s.memory_stats?.stats?.inactive_file ?? 0;
  return { usageMb: round(usage / MB), withoutCacheMb: round(Math.max(0, usage - inactive) / MB) };
}

/** What the dev server at `hostPort` serves: its commit's message and its greet version. */
async function served(hostPort: number | undefined) {
  const res = await fetch(`http://127.0.0.1:${hostPort}/`, { signal: AbortSignal.timeout(5_000) });
  return (await res.json()) as { message: string; greet: string };
}

const sample = (r: SetupOutcome): Sample => ({ ms: r.totalMs, phasesMs: r.phasesMs });

/** Restart, stop, start and both redeploys on the ready environment `id` of `repo`. */
async function lifecycle(bench: SetupBench, fixtures: FixtureRoot, id: string, repo: string, i: number, s: Samples) {
  const timed = async (op: Op, action: "restart" | "start" | "redeploy", body: Record<string, unknown> = {}) => {
    const r = await requestAndTime(bench.api, bench.receiver, id, action, body);
    say("lifecycle", `${op} ${i + 1}/${N}`, r);
    if (!r.ok) throw new Error(`${op}: ${r.error}`);
    s[op].push(sample(r));
    return r;
  };
  await timed("restart", "restart");

  s.memoryBeforeStop.push(await memoryOf(id));
  const t0 = Date.now();
  const stopped = await agentRequest(bench.api, "POST", `/api/containers/${id}/stop`);
  s.stop.push({ ms: Date.now() - t0 });
  console.log(`lifecycle stop ${i + 1}/${N}: ${s.stop.at(-1)!.ms} ms (state ${String(stopped.state)})`);
  if ((await docker.getContainer(`artie-${id}`).inspect()).State.Running) throw new Error("stop: still running");
  s.memoryAfterStop.push(await memoryOf(id));

  await timed("start", "start");

  const message = `redeploy ${i}`;
  await fixtures.commitTo(repo, "main", { "message.txt": `${message}\n` });
  const same = await timed("redeploy", "redeploy", { repo, branch: "main" });
  if ((await served(same.hostPort)).message !== message) throw new Error("redeploy: the new commit is not served");

  await fixtures.commitGreetVersion(repo, "main", "1.1.0");
  const changed = await timed("redeployLockfile", "redeploy", { repo, branch: "main" });
  if ((await served(changed.hostPort)).greet !== "1.1.0") throw new Error("redeploy: the new dependency is not served");
}

/** N runs of: a cold setup kept for the lifecycle operations, then a warm setup. */
async function run(bench: SetupBench, fixtures: FixtureRoot, baseline: Kind): Promise<Samples> {
  const s: Samples = {
    ...(Object.fromEntries(OPS.map((op) => [op, []])) as unknown as Record<Op, Sample[]>),
    memoryBeforeStop: [],
    memoryAfterStop: [],
    errors: [],
  };
  const warmRepo = await bench.warmRepo(baseline);
  if (!warmRepo) throw new Error("the warm repo's setup failed: see the agent's log above");
  for (let i = 0; i < N; i++) {
    const repo = await bench.newRepo(baseline, "life");
    const { id, outcome } = await bench.setUp(baseline, repo);
    say("lifecycle", `cold ${i + 1}/${N}`, outcome);
    try {
      if (!outcome.ok) throw new Error(`cold setup: ${outcome.error}`);
      s.cold.push(sample(outcome));
      await lifecycle(bench, fixtures, id, repo, i, s);
    } catch (err) {
      s.errors.push(`run ${i + 1}: ${String(err)}`);
      console.error(`run ${i + 1}: ${String(err)}`);
    } finally {
      await bench.remove(id);
    }
    const warm = await bench.warm(baseline, warmRepo);
    say("lifecycle", `warm ${i + 1}/${N}`, warm);
    if (warm.ok) s.warm.push(sample(warm));
    else s.errors.push(`run ${i + 1}: warm setup: ${warm.error}`);
  }
  return s;
}

function report(s: Samples) {
  const cold = median(s.cold.map((x) => x.ms));
  const sec = (ms?: number) => (ms === undefined ? "-" : (ms / 1000).toFixed(2));
  const phase = (xs: Sample[], p: keyof PhaseTimes) =>
    sec(median(xs.map((x) => x.phasesMs?.[p]).filter((x): x is number => x !== undefined)));
  const summary = Object.fromEntries(
    OPS.map((op) => {
      const ms = median(s[op].map((x) => x.ms));
      return [op, { medianMs: ms, vsCold: ms !== undefined && cold ? round(ms / cold) : undefined, n: s[op].length }];
    }),
  ) as Record<Op, { medianMs?: number; vsCold?: number; n: number }>;
  const header = ["operation", "n", "median s", "min-max s", "clone s", "install s", "start s", "vs cold"];
  const rows = OPS.map((op) => {
    const ms = s[op].map((x) => x.ms);
    return [
      LABELS[op],
      String(ms.length),
      sec(summary[op].medianMs),
      ms.length ? `${sec(Math.min(...ms))}-${sec(Math.max(...ms))}` : "-",
      phase(s[op], "cloning"),
      phase(s[op], "installing"),
      phase(s[op], "starting"),
      summary[op].vsCold === undefined ? "-" : String(summary[op].vsCold),
    ];
  });
  const mem = (xs: Memory[], k: keyof Memory) => median(xs.map((m) => m[k]));
  const memory = {
    beforeStopMb: {
      usage: mem(s.memoryBeforeStop, "usageMb"),
      withoutCache: mem(s.memoryBeforeStop, "withoutCacheMb"),
    },
    afterStopMb: { usage: mem(s.memoryAfterStop, "usageMb"), withoutCache: mem(s.memoryAfterStop, "withoutCacheMb") },
  };
  const memoryLine =
    `container memory (Engine API stats, as docker stats: usage less inactive file cache; raw usage in ` +
    `brackets), medians: before stop ${memory.beforeStopMb.withoutCache} MB (${memory.beforeStopMb.usage} MB), ` +
    `after stop ${memory.afterStopMb.withoutCache} MB (${memory.afterStopMb.usage} MB)`;
  return { summary, memory, memoryLine, ...table(header, rows) };
}

async function main() {
  const fixtures = await fixtureRoot();
  const receiver = await startReceiver(CALLBACK_SECRET);
  const port = Number(values.port);
  const url = `http://127.0.0.1:${port}`;
  const agent = await startAgentProcess(url, {
    API_SECRET: SECRET,
    PORT: String(port),
    BIND_ADDRESS: "127.0.0.1",
    PUBLISH_ADDRESS: "127.0.0.1",
    PORT_RANGE: "23500-23799",
    DEFAULT_IMAGE: NODE_IMAGE,
    GIT_REMOTE_TEMPLATE: fixtures.remoteTemplate,
    DATA_DIR: path.join(fixtures.root, "agent-data"),
  });
  const bench = new SetupBench({ url, token: SECRET }, receiver, "bench-lifecycle");
  const baseline: Kind = {
    label: "baseline",
    makeRepo: (repo) =>
      fixtures.createRepo(repo, { main: { message: "baseline", greetVersion: "1.0.0", extraDependencies: DEPS } }),
  };
  const loadAverage = { start: loadavg(), end: [] as number[] };
  let samples: Samples;
  try {
    samples = await run(bench, fixtures, baseline);
  } finally {
    loadAverage.end = loadavg();
    agent.kill("SIGTERM");
    await receiver.close();
    await bench.cleanup();
    await fixtures.dispose();
  }
  const { summary, memory, memoryLine, text, markdown } = report(samples);
  console.log(`${text}\n${memoryLine}`);
  for (const e of samples.errors) console.log(`error: ${e}`);
  const date = new Date().toISOString();
  writeReport("lifecycle", { date, n: N, fixtureDependencies: DEPS + 1, loadAverage, summary, memory, samples });
  const load = (xs: number[]) => xs.map((x) => x.toFixed(1)).join("/");
  writeMarkdown(
    "lifecycle",
    date,
    `# bench:lifecycle ${date}\n\nMedians of ${N} runs (seconds; phases from the callbacks' timestamps) on ` +
      `the offline fixture repo with ${DEPS + 1} vendored packages; "vs cold" is against the cold setup ` +
      `median of this run. Load average ${load(loadAverage.start)} at the start, ${load(loadAverage.end)} ` +
      `at the end.\n\n${markdown}\n\n${memoryLine}.\n` +
      (samples.errors.length ? `\nErrors:\n${samples.errors.map((e) => `- ${e}`).join("\n")}\n` : ""),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
