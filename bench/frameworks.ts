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
 * fixture-repo.ts (a tiny node server and `--deps` vendored packages, as bench:setup uses), so
 * the ratios say what each framework costs over the agent's own work. The agent runs as its own
 * process with the corpus settings (host-agent/test/frameworks/agent-env.ts) and no repo
 * settings. A fixture that fails is reported with the phase it reached and its error; the run
 * goes on. Prints one table and writes bench/results/frameworks-<timestamp>.json and .md.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { startReceiver, type Receiver } from "../host-agent/test/helpers/callback-receiver.js";
import { removeRepoArtifacts } from "../host-agent/test/helpers/docker.js";
import { fixtureRoot, type FixtureRoot } from "../host-agent/test/helpers/fixture-repo.js";
import { corpusAgentEnv } from "../host-agent/test/frameworks/agent-env.js";
import { CORPUS } from "../host-agent/test/frameworks/corpus.js";
import { corpusRepos, type CorpusRepos } from "../host-agent/test/frameworks/fixture-repos.js";
import {
  CALLBACK_SECRET,
  agentRequest,
  createEnvironment,
  setupAndTime,
  type AgentApi,
  type SetupOutcome,
} from "../host-agent/test/frameworks/setup-run.js";
import { startAgentProcess, writeReport } from "./lib.js";

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

const median = (xs: number[]) =>
  xs.length === 0 ? undefined : [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const round = (x: number) => Math.round(x * 100) / 100;
const PHASES = ["cloning", "installing", "starting"] as const;

type Runs = { cold: SetupOutcome[]; warm: SetupOutcome[] };
type Summary = {
  ok: boolean;
  error?: string;
  cold: Record<(typeof PHASES)[number] | "total", number | undefined>;
  warm: Record<(typeof PHASES)[number] | "total", number | undefined>;
};

const summarize = (runs: SetupOutcome[]) => {
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

/** Cold and warm setups of one repo kind; `makeRepo` makes a fresh repo under the given name. */
async function measure(
  api: AgentApi,
  receiver: Receiver,
  label: string,
  makeRepo: (repo: string) => Promise<void>,
): Promise<Runs> {
  const runs: Runs = { cold: [], warm: [] };
  const created: string[] = [];
  const repos: string[] = [];
  const env = async () => {
    const { id } = await createEnvironment(api, `bench-frameworks-${label}-${created.length}`);
    created.push(id);
    return id;
  };
  const stamp = Date.now();
  try {
    for (let i = 0; i < N; i++) {
      const repo = `bench/${label}-cold${i}-${stamp}`;
      repos.push(repo);
      await makeRepo(repo);
      const r = await setupAndTime(api, receiver, await env(), repo);
      runs.cold.push(r);
      console.log(`${label} cold ${i + 1}/${N}: ${r.ok ? `${Math.round(r.totalMs)} ms` : `error: ${r.error}`}`);
      if (!r.ok) return runs; // it will not get better: no warm runs of a setup that fails
    }
    const repo = `bench/${label}-warm-${stamp}`;
    repos.push(repo);
    await makeRepo(repo);
    const first = await env();
    const built = await setupAndTime(api, receiver, first, repo, { buildMainImage: true });
    if (!built.ok) return runs;
    await receiver.waitFor((rs) => rs.some((r) => r.body.containerId === first && r.body.mainImage), 600_000);
    for (let i = 0; i < N; i++) {
      const r = await setupAndTime(api, receiver, await env(), repo, { hasMainImage: true });
      runs.warm.push(r);
      console.log(`${label} warm ${i + 1}/${N}: ${r.ok ? `${Math.round(r.totalMs)} ms` : `error: ${r.error}`}`);
    }
  } finally {
    for (const id of created) await agentRequest(api, "DELETE", `/api/containers/${id}`).catch(() => undefined);
    for (const repo of repos) await removeRepoArtifacts(repo);
  }
  return runs;
}

function report(summaries: Record<string, Summary>) {
  const base = summaries[BASELINE]!;
  const ratio = (a?: number, b?: number) => (a !== undefined && b ? round(a / b) : undefined);
  const ratios = Object.fromEntries(
    Object.entries(summaries)
      .filter(([name]) => name !== BASELINE)
      .map(([name, s]) => [
        name,
        {
          coldVsBaseline: ratio(s.cold.total, base.cold.total),
          warmVsBaseline: ratio(s.warm.total, base.warm.total),
          warmVsCold: ratio(s.warm.total, s.cold.total),
        },
      ]),
  );
  const sec = (ms?: number) => (ms === undefined ? "-" : (ms / 1000).toFixed(1));
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
  const rows = Object.entries(summaries).map(([name, s]) => [
    name,
    ...PHASES.map((p) => sec(s.cold[p])),
    sec(s.cold.total),
    ...PHASES.map((p) => sec(s.warm[p])),
    sec(s.warm.total),
    String(ratios[name]?.coldVsBaseline ?? (name === BASELINE ? 1 : "-")),
    String(ratios[name]?.warmVsBaseline ?? (name === BASELINE ? 1 : "-")),
    String(ratios[name]?.warmVsCold ?? (name === BASELINE ? ratio(s.warm.total, s.cold.total) : "-")),
    s.ok ? "ready" : `error: ${(s.error ?? "").split("\n")[0]!.slice(0, 80)}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  console.log([header, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ")).join("\n"));
  const markdown = [header, header.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
  return { ratios, markdown };
}

async function main() {
  const baseline: FixtureRoot = await fixtureRoot();
  const corpus: CorpusRepos = await corpusRepos(baseline.root);
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
      dataDir: path.join(baseline.root, "agent-data"),
    })),
  });
  const api: AgentApi = { url, token: SECRET };
  const samples: Record<string, Runs> = {};
  try {
    samples[BASELINE] = await measure(api, receiver, BASELINE, (repo) =>
      baseline.createRepo(repo, { main: { message: "baseline", greetVersion: "1.0.0", extraDependencies: DEPS } }),
    );
    for (const f of fixtures)
      samples[f.name] = await measure(api, receiver, f.name, (repo) => corpus.createRepo(repo, f.name));
  } finally {
    agent.kill("SIGTERM");
    await receiver.close();
    await baseline.dispose();
  }
  const summaries: Record<string, Summary> = Object.fromEntries(
    Object.entries(samples).map(([name, runs]) => {
      const failed = [...runs.cold, ...runs.warm].find((r) => !r.ok);
      return [name, { ok: !failed, error: failed?.error, cold: summarize(runs.cold), warm: summarize(runs.warm) }];
    }),
  );
  if (!summaries[BASELINE]!.ok) throw new Error(`the baseline setup failed: ${summaries[BASELINE]!.error}`);
  const { ratios, markdown } = report(summaries);
  const date = new Date().toISOString();
  writeReport("frameworks", { date, n: N, baselineDependencies: DEPS + 1, medianMs: summaries, ratios, samples });
  const md = `bench/results/frameworks-${date.replace(/[:.]/g, "-")}.md`;
  writeFileSync(
    md,
    `# bench:frameworks ${date}\n\nMedians of ${N} setups (seconds; phases from the callbacks' timestamps). ` +
      `Baseline: the offline fixture repo with ${DEPS + 1} vendored packages.\n\n${markdown}\n`,
  );
  console.log(`written to ${md}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
