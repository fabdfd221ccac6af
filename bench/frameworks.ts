/**
 * Benchmark (not a test): setup time of every framework in the corpus
 * (host-agent/test/frameworks/fixtures), phase by phase, from the callbacks' own timestamps:
 *   - cold: a fresh repo each run: no repo cache, no dependency volume, no main image; the
 *           install comes from the registry this machine uses, through the egress proxy
 *   - warm: the repo's main image built once, then setups from it (same lockfile)
 *
 *   npm run bench:frameworks [-- --n 3 --only vite-react,nextjs]
 *
 * Baseline, measured in the same run on the same agent: the local offline fixture repo of
 * fixture-repo.ts (a tiny node server and `--deps` vendored packages, as bench:setup uses), set up
 * right before each of a fixture's setups of the same kind (cold, warm), so a ratio compares runs
 * made under the same load and says what the framework costs over the agent's own work; the load
 * average at the start and end goes in the report. Every environment is removed as soon as it
 * is measured, so no idle dev server competes with the next setup. The agent runs as its own
 * process with the corpus settings (host-agent/test/frameworks/agent-env.ts) and no repo
 * settings. A fixture that fails is reported with the phase it reached and its error; the run
 * goes on. Prints one table and writes bench/results/frameworks-<timestamp>.json and .md.
 */
import { loadavg } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { startReceiver } from "../host-agent/test/helpers/callback-receiver.js";
import { fixtureRoot, type FixtureRoot } from "../host-agent/test/helpers/fixture-repo.js";
import { corpusAgentEnv } from "../host-agent/test/frameworks/agent-env.js";
import { CORPUS } from "../host-agent/test/frameworks/corpus.js";
import { corpusRepos, type CorpusRepos } from "../host-agent/test/frameworks/fixture-repos.js";
import { CALLBACK_SECRET, type SetupOutcome } from "../host-agent/test/frameworks/setup-run.js";
import { SetupBench, say, type Kind } from "./environments.js";
import { median, startAgentProcess, table, writeMarkdown, writeReport } from "./lib.js";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "3" },
    port: { type: "string", default: "18290" },
    only: { type: "string", default: "" },
    // Vendored packages in the baseline fixture, as bench:setup's default.
    deps: { type: "string", default: "150" },
  },
});
const N = Number(values.n);
const DEPS = Number(values.deps);
const SECRET = "bench-secret-".padEnd(48, "s");
const BASELINE = "baseline";
const only = values.only ? values.only.split(",") : [];
const fixtures = CORPUS.filter((f) => only.length === 0 || only.includes(f.name));

const round = (x: number) => Math.round(x * 100) / 100;
const PHASES = ["cloning", "installing", "starting"] as const;

type Runs = { cold: SetupOutcome[]; warm: SetupOutcome[] };
type Phases = Record<(typeof PHASES)[number] | "total", number | undefined>;
type Summary = { ok: boolean; error?: string; cold: Phases; warm: Phases };

const summarize = (runs: SetupOutcome[]): Phases => {
  const ok = runs.filter((r) => r.ok);
  const m = (pick: (r: SetupOutcome) => number | undefined) =>
    median(ok.map(pick).filter((x): x is number => x !== undefined));
  return {
    cloning: m((r) => r.phasesMs.cloning),
    installing: m((r) => r.phasesMs.installing),
    starting: m((r) => r.phasesMs.starting),
    total: m((r) => r.totalMs),
  };
};
const summary = (runs: Runs): Summary => {
  const failed = [...runs.cold, ...runs.warm].find((r) => !r.ok);
  return { ok: !failed, error: failed?.error, cold: summarize(runs.cold), warm: summarize(runs.warm) };
};

/**
 * One fixture's cold and warm setups, each run right after a baseline setup of the same kind, so
 * the ratio compares setups made under the same load (other work on the machine comes and goes).
 */
async function measure(bench: SetupBench, kind: Kind, baseline: Kind, baselineWarm: string) {
  const runs: Runs = { cold: [], warm: [] };
  const paired: Runs = { cold: [], warm: [] };
  for (let i = 0; i < N; i++) {
    paired.cold.push(await bench.cold(baseline));
    const r = await bench.cold(kind);
    runs.cold.push(r);
    say(kind.label, `cold ${i + 1}/${N}`, r);
    if (!r.ok) return { runs, paired }; // it will not get better: no warm runs of a setup that fails
  }
  const repo = await bench.warmRepo(kind);
  if (!repo) return { runs, paired };
  for (let i = 0; i < N; i++) {
    paired.warm.push(await bench.warm(baseline, baselineWarm));
    const r = await bench.warm(kind, repo);
    runs.warm.push(r);
    say(kind.label, `warm ${i + 1}/${N}`, r);
  }
  return { runs, paired };
}

type Result = { summary: Summary; baseline: Summary };

function report(results: Record<string, Result>, baseline: Summary) {
  const ratio = (a?: number, b?: number) => (a !== undefined && b ? round(a / b) : undefined);
  const ratios = Object.fromEntries(
    Object.entries(results).map(([name, { summary: s, baseline: b }]) => [
      name,
      {
        coldVsBaseline: ratio(s.cold.total, b.cold.total),
        warmVsBaseline: ratio(s.warm.total, b.warm.total),
        warmVsCold: ratio(s.warm.total, s.cold.total),
      },
    ]),
  );
  const sec = (ms?: number) => (ms === undefined ? "-" : (ms / 1000).toFixed(1));
  const show = (x?: number) => (x === undefined ? "-" : String(x));
  const header = [
    "fixture",
    "cold clone s",
    "cold install s",
    "cold start s",
    "cold total s",
    "warm clone s",
    "warm install s",
    "warm start s",
    "warm total s",
    "cold/baseline",
    "warm/baseline",
    "warm/cold",
    "result",
  ];
  const row = (
    name: string,
    s: Summary,
    r: { coldVsBaseline?: number; warmVsBaseline?: number; warmVsCold?: number },
  ) => [
    name,
    ...PHASES.map((p) => sec(s.cold[p])),
    sec(s.cold.total),
    ...PHASES.map((p) => sec(s.warm[p])),
    sec(s.warm.total),
    show(r.coldVsBaseline),
    show(r.warmVsBaseline),
    show(r.warmVsCold),
    s.ok ? "ready" : `error: ${(s.error ?? "").split("\n")[0]!.slice(0, 80)}`,
  ];
  const rows = [
    row(`${BASELINE} (all runs)`, baseline, {
      coldVsBaseline: 1,
      warmVsBaseline: 1,
      warmVsCold: ratio(baseline.warm.total, baseline.cold.total),
    }),
    ...Object.entries(results).map(([name, r]) => row(name, r.summary, ratios[name]!)),
  ];
  const { text, markdown } = table(header, rows);
  console.log(text);
  return { ratios, markdown };
}

async function main() {
  const baselineRepos: FixtureRoot = await fixtureRoot();
  const corpus: CorpusRepos = await corpusRepos(baselineRepos.root);
  const receiver = await startReceiver(CALLBACK_SECRET);
  const port = Number(values.port);
  const url = `http://127.0.0.1:${port}`;
  const agent = await startAgentProcess(url, {
    API_SECRET: SECRET,
    PORT: String(port),
    BIND_ADDRESS: "127.0.0.1",
    PUBLISH_ADDRESS: "127.0.0.1",
    PORT_RANGE: "23000-23299",
    ...(await corpusAgentEnv({
      remoteTemplate: corpus.remoteTemplate,
      dataDir: path.join(baselineRepos.root, "agent-data"),
    })),
  });
  const bench = new SetupBench({ url, token: SECRET }, receiver, "bench-frameworks");
  const baseline: Kind = {
    label: BASELINE,
    makeRepo: (repo) =>
      baselineRepos.createRepo(repo, { main: { message: "baseline", greetVersion: "1.0.0", extraDependencies: DEPS } }),
  };
  const loadAverage = { start: loadavg(), end: [] as number[] };
  const results: Record<string, Result> = {};
  const samples: Record<string, { runs: Runs; baseline: Runs }> = {};
  const allBaseline: Runs = { cold: [], warm: [] };
  try {
    const baselineWarm = await bench.warmRepo(baseline);
    if (!baselineWarm) throw new Error("the baseline setup failed: see the agent's log above");
    for (const f of fixtures) {
      try {
        const { runs, paired } = await measure(
          bench,
          { label: f.name, makeRepo: (r) => corpus.createRepo(r, f.name) },
          baseline,
          baselineWarm,
        );
        samples[f.name] = { runs, baseline: paired };
        results[f.name] = { summary: summary(runs), baseline: summary(paired) };
        allBaseline.cold.push(...paired.cold);
        allBaseline.warm.push(...paired.warm);
      } finally {
        // The fixture's repos and artifacts; the baseline's warm repo stays for the next fixture.
        await bench.cleanup();
      }
    }
  } finally {
    loadAverage.end = loadavg();
    agent.kill("SIGTERM");
    await receiver.close();
    await bench.cleanup();
    await baselineRepos.dispose();
  }
  const { ratios, markdown } = report(results, summary(allBaseline));
  const date = new Date().toISOString();
  writeReport("frameworks", {
    date,
    n: N,
    baselineDependencies: DEPS + 1,
    loadAverage,
    medianMs: Object.fromEntries(Object.entries(results).map(([k, r]) => [k, r.summary])),
    baselineMedianMs: summary(allBaseline),
    ratios,
    samples,
  });
  writeMarkdown(
    "frameworks",
    date,
    `# bench:frameworks ${date}\n\nMedians of ${N} setups (seconds; phases from the callbacks' timestamps). ` +
      `Baseline: the offline fixture repo with ${DEPS + 1} vendored packages, set up right before each ` +
      `fixture's setup of the same kind; the ratios are against those paired runs. Load average ` +
      `${loadAverage.start.map((x) => x.toFixed(1)).join("/")} at the start, ` +
      `${loadAverage.end.map((x) => x.toFixed(1)).join("/")} at the end.\n\n${markdown}\n`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
