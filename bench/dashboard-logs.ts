/**
 * Benchmark (not a test): how fast the dashboard's log viewer takes a burst of lines, against
 * a bare EventSource reading the same stream in the same Chromium.
 *
 *   npm run bench:dashboard-logs [-- --lines 50000 --n 5]
 *
 * Each round starts two fresh busybox containers that print `--lines` lines in one burst
 * (after a pause, so the reader is connected first). Baseline: a bare EventSource on an idle
 * page of the same origin, counting the agent's SSE events until `end`. Dashboard: the built
 * app (the browser-test harness on the fake Convex client) on the environment page, until its
 * counter shows every line. Both are timed in the page from the first line to the last, with
 * the longest main-thread task of each (how long the tab froze at worst). Prints medians and
 * the ratio, and writes bench/results/dashboard-logs-<timestamp>.json.
 */
import Docker from "dockerode";
import { parseArgs } from "node:util";
import type { Page } from "playwright-core";
import { mintStreamToken } from "../host-agent/src/api/stream-token.js";
import buildHarness from "../web/test/browser/global-setup.js";
import { openDashboard } from "../web/test/browser/helpers/browser.js";
import { environment, repo } from "../web/test/fake-convex/fixtures.js";
import { startAgentProcess, writeReport } from "./lib.js";

const { values } = parseArgs({
  options: {
    lines: { type: "string", default: "50000" },
    n: { type: "string", default: "5" },
    port: { type: "string", default: "18182" },
  },
});
const LINES = Number(values.lines);
const ROUNDS = Number(values.n);
const SECRET = "bench-secret-".padEnd(48, "b");
const KEY = "bench-stream-key-".padEnd(48, "k");
const AGENT_URL = `http://127.0.0.1:${values.port}`;
/** Pause before the burst: time for the reader to connect. */
const PAUSE_S = 3;
const docker = new Docker();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function burstContainer(i: number, kind: string): Promise<string> {
  const res = await fetch(`${AGENT_URL}/api/containers`, {
    method: "POST",
    headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
    body: JSON.stringify({
      name: `bench-${kind}-${i}-${Date.now()}`,
      image: "artie-test/busybox:latest",
      command: ["sh", "-c", `sleep ${PAUSE_S}; seq 1 ${LINES}`],
    }),
  });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

const logsUrl = async (agentId: string) =>
  `${AGENT_URL}/api/containers/${agentId}/logs?token=${await mintStreamToken(KEY, {
    containerId: agentId,
    scope: "logs",
    expiresAt: Date.now() + 5 * 60_000,
  })}`;

type Timing = { ms: number; longestTaskMs: number };

/**
 * A bare EventSource on an idle page of the app (its static "not found" page), counting: ms
 * from the first event to `end`, and the longest main-thread task meanwhile.
 */
async function baseline(page: Page, base: string, agentId: string): Promise<Timing> {
  await page.goto(`${base}/no-such-page`);
  const url = await logsUrl(agentId);
  return page.evaluate<Timing>(`new Promise((resolve, reject) => {
    let longest = 0;
    new PerformanceObserver((list) => {
      for (const t of list.getEntries()) longest = Math.max(longest, t.duration);
    }).observe({ type: "longtask" });
    const es = new EventSource(${JSON.stringify(url)});
    let first = 0;
    es.onmessage = () => {
      if (!first) {
        first = performance.now();
        longest = 0;
      }
    };
    es.addEventListener("end", () => {
      es.close();
      // Long tasks are reported after they end: give the last one a moment to arrive.
      setTimeout(() => resolve({ ms: performance.now() - first, longestTaskMs: longest }), 100);
    });
    es.onerror = () => reject(new Error("stream failed"));
  })`);
}

/** The dashboard's environment page: ms from the first line shown to all of them, longest task. */
async function dashboard(page: Page, base: string, agentId: string): Promise<Timing> {
  const env = environment({ _id: "c-bench" as never, agentId });
  await page.goto(`${base}/environments/c-bench`);
  await page.evaluate(
    ([e, r]) => {
      const w = window as unknown as {
        fake: { setQuery: (...a: unknown[]) => void };
        longest: number;
      };
      w.longest = 0;
      new PerformanceObserver((list) => {
        for (const t of list.getEntries()) w.longest = Math.max(w.longest, t.duration);
      }).observe({ type: "longtask" });
      w.fake.setQuery("repos:list", [r]);
      w.fake.setQuery("containers:events", []);
      w.fake.setQuery("containers:detail", e);
    },
    [env, repo()] as const,
  );
  // A string, not a function: tsx would wrap named inner functions in a helper the page lacks.
  return page.evaluate<Timing>(`new Promise((resolve) => {
    let first = 0;
    const tick = () => {
      const text = document.querySelector("[data-testid=log-count]")?.textContent ?? "0";
      const n = Number(text.replace(/[^0-9]/g, ""));
      // The clock (and the longest-task watch) start at the first line, after the page's mount.
      if (n > 0 && !first) {
        first = performance.now();
        window.longest = 0;
      }
      if (n >= ${LINES}) {
        const ms = performance.now() - first;
        setTimeout(() => resolve({ ms, longestTaskMs: window.longest }), 100);
      }
      else requestAnimationFrame(tick);
    };
    tick();
  })`);
}

async function main() {
  await buildHarness();
  const agent = await startAgentProcess(AGENT_URL, {
    API_SECRET: SECRET,
    STREAM_TOKEN_KEY: KEY,
    PORT: values.port,
    PUBLISH_ADDRESS: "127.0.0.1",
    DATA_DIR: "/tmp/artie-bench-dashboard",
  });
  const dash = await openDashboard();
  const { page } = dash;
  let current = ""; // the agent id behind the dashboard's environment this round
  await page.exposeFunction("mintStream", async ({ containerId }: { containerId: string }) => ({
    url: await logsUrl(containerId === "c-bench" ? current : containerId),
    expiresAt: Date.now() + 5 * 60_000,
  }));
  // Sign in once through the sign-in page; Convex Auth keeps the token for the later pages.
  await page.goto(dash.url);
  await page.getByLabel("Email").fill("bench@acme.dev");
  await page.getByLabel("Password").fill("benchmark password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Environments" }).waitFor();

  const raw: number[] = [];
  const rawFrozen: number[] = [];
  const ui: number[] = [];
  const frozen: number[] = [];
  const ids: string[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const a = await burstContainer(i, "raw");
      ids.push(a);
      const b = await baseline(page, dash.url, a);
      raw.push(b.ms);
      rawFrozen.push(b.longestTaskMs);
      current = await burstContainer(i, "ui");
      ids.push(current);
      const d = await dashboard(page, dash.url, current);
      ui.push(d.ms);
      frozen.push(d.longestTaskMs);
      console.log(
        `round ${i + 1}: raw ${b.ms.toFixed(0)} ms (longest task ${b.longestTaskMs.toFixed(0)} ms), ` +
          `dashboard ${d.ms.toFixed(0)} ms (longest task ${d.longestTaskMs.toFixed(0)} ms)`,
      );
    }
  } finally {
    for (const id of ids)
      await docker
        .getContainer(`artie-${id}`)
        .remove({ force: true })
        .catch(() => undefined);
    await dash.close();
    agent.kill("SIGTERM");
  }
  const report = {
    date: new Date().toISOString(),
    lines: LINES,
    rounds: ROUNDS,
    rawEventSourceMs: Math.round(median(raw)),
    dashboardMs: Math.round(median(ui)),
    ratio: Math.round((median(ui) / median(raw)) * 100) / 100,
    rawLongestTaskMs: Math.round(median(rawFrozen)),
    dashboardLongestTaskMs: Math.round(median(frozen)),
    linesPerSecond: Math.round(LINES / (median(ui) / 1000)),
  };
  console.table(report);
  writeReport("dashboard-logs", report);
}

await main();
