/**
 * `npm run test:frameworks`: every project of the corpus (fixtures/, real create-tool output at
 * pinned versions) set up through a real agent on the real engine with no repo settings, its
 * dependencies installed from the registry this machine uses (the only egress host allowed),
 * through the host's CA bundle. Each must reach `ready`, serve its framework's page on the
 * environment's published port, and serve it for a preview host name too (no "Blocked request").
 * For Vite React, an edit inside the environment must reach Chromium by hot reload, on the
 * published port and through a preview host name.
 *
 * One test per fixture, so the report says which work; a table of phase times and results is
 * printed at the end and written to test-output/frameworks.json. Needs the registry (not
 * offline), so it is not part of `npm test`: its own vitest config (vitest.config.ts here).
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_SECRET, startTestAgent, uniqueName } from "../helpers/agent.js";
import { startReceiver, type Receiver } from "../helpers/callback-receiver.js";
import { removeRepoArtifacts } from "../helpers/docker.js";
import { ENVIRONMENT_PORT, FIXTURE_SETUP_TIMEOUT_MS, corpusAgentEnv, previewHost } from "./agent-env.js";
import { CORPUS } from "./corpus.js";
import { corpusRepos, type CorpusRepos } from "./fixture-repos.js";
import { PAGE_WAIT_MS, excerpt, waitForPage } from "./http-page.js";
import { CHROMIUM, HOT_RELOAD_TIMEOUT_MS, PAGE_LOAD_TIMEOUT_MS, checkHotReload, launchChromium } from "./hot-reload.js";
import {
  CALLBACK_SECRET,
  agentRequest,
  createEnvironment,
  environmentLogTail,
  setupAndTime,
  type AgentApi,
  type SetupOutcome,
} from "./setup-run.js";

const REPORT = path.resolve(import.meta.dirname, "../../../test-output/frameworks.json");
/** A fixture's whole test: its setup, then its page twice. */
const FIXTURE_TEST_TIMEOUT_MS = FIXTURE_SETUP_TIMEOUT_MS + 2 * PAGE_WAIT_MS + 30_000;
/** The fixture whose environment stays up for the hot-reload checks. */
const HOT_RELOAD_FIXTURE = "vite-react";

const repoOf = (fixture: string) => `corpus/${fixture}`;

type Row = {
  fixture: string;
  label: string;
  setup: SetupOutcome;
  page?: string;
  preview?: string;
  hotReload?: string;
};

let repos: CorpusRepos;
let receiver: Receiver;
let agent: Awaited<ReturnType<typeof startTestAgent>>;
let api: AgentApi;
const rows: Row[] = [];
const environments = new Map<string, string>();

beforeAll(async () => {
  repos = await corpusRepos();
  receiver = await startReceiver(CALLBACK_SECRET);
  // Every run is cold: no dependency volume or main image left from an earlier one.
  for (const f of CORPUS) await removeRepoArtifacts(repoOf(f.name));
  agent = await startTestAgent(
    await corpusAgentEnv({ remoteTemplate: repos.remoteTemplate, dataDir: path.join(repos.root, "agent-data") }),
  );
  api = { url: agent.url, token: TEST_SECRET };
});

afterAll(async () => {
  for (const fixture of [...environments.keys()]) await removeEnvironment(fixture);
  await agent?.close();
  await receiver?.close();
  for (const f of CORPUS) await removeRepoArtifacts(repoOf(f.name));
  await repos?.dispose();
  printTable();
  await mkdir(path.dirname(REPORT), { recursive: true });
  await writeFile(REPORT, JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
});

async function removeEnvironment(fixture: string) {
  const id = environments.get(fixture);
  if (!id) return;
  environments.delete(fixture);
  await agentRequest(api, "DELETE", `/api/containers/${id}`).catch(() => undefined);
}

describe("framework corpus, set up with no settings", () => {
  for (const fixture of CORPUS) {
    it(
      `${fixture.name}: ${fixture.label}`,
      async () => {
        const repo = repoOf(fixture.name);
        await repos.createRepo(repo, fixture.name);
        const env = await createEnvironment(api, uniqueName(fixture.name.slice(0, 20)).name);
        environments.set(fixture.name, env.id);
        const row: Row = {
          fixture: fixture.name,
          label: fixture.label,
          setup: await setupAndTime(api, receiver, env.id, repo),
        };
        rows.push(row);
        try {
          if (!row.setup.ok) {
            throw new Error(
              `setup ended at ${row.setup.reached}: ${row.setup.error?.split("\n")[0]}\n` +
                `--- the environment's log, last lines ---\n${await environmentLogTail(env.id)}`,
            );
          }
          const port = row.setup.hostPort ?? env.hostPort;
          const page = await waitForPage(port, fixture.page);
          row.page = page.status === 200 && fixture.page.test(page.body) ? "ok" : excerpt(page, 160);
          expect.soft(row.page, `the page on the published port (${excerpt(page)})`).toBe("ok");

          const host = previewHost(env.id, ENVIRONMENT_PORT);
          const preview = await waitForPage(port, fixture.page, host);
          const blocked = preview.status === 403 || /Blocked request/i.test(preview.body);
          row.preview =
            !blocked && preview.status === 200 && fixture.page.test(preview.body) ? "ok" : excerpt(preview, 160);
          expect.soft(row.preview, `the page for Host: ${host} (${excerpt(preview)})`).toBe("ok");
        } finally {
          if (fixture.name !== HOT_RELOAD_FIXTURE) await removeEnvironment(fixture.name);
        }
      },
      FIXTURE_TEST_TIMEOUT_MS,
    );
  }
});

describe(`hot reload (${HOT_RELOAD_FIXTURE}, Chromium)`, () => {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium().catch((err: unknown) => {
      throw new Error(`Chromium at ${CHROMIUM} did not start (scripts/ensure-chromium.sh installs it): ${String(err)}`);
    });
  });
  afterAll(async () => {
    await browser?.close();
    await removeEnvironment(HOT_RELOAD_FIXTURE);
  });

  const ready = () => {
    const row = rows.find((r) => r.fixture === HOT_RELOAD_FIXTURE);
    const id = environments.get(HOT_RELOAD_FIXTURE);
    if (!row?.setup.ok || !id)
      throw new Error(`${HOT_RELOAD_FIXTURE} did not reach ready: ${row?.setup.error ?? "not run"}`);
    return { row, id, port: row.setup.hostPort! };
  };
  const timeout = 2 * PAGE_LOAD_TIMEOUT_MS + HOT_RELOAD_TIMEOUT_MS + 60_000;

  it(
    "an edit in the environment reaches the page on the published port",
    async () => {
      const { row, id, port } = ready();
      row.hotReload = "failed on the published port";
      await checkHotReload(browser!, api, id, {
        url: `http://127.0.0.1:${port}/`,
        selector: "h1",
        file: "/app/src/App.tsx",
        from: "<h1>Get started</h1>",
        to: "<h1>Edited on the published port</h1>",
        before: "Get started",
        after: "Edited on the published port",
      });
      row.hotReload = "ok on the published port";
    },
    timeout,
  );

  it(
    "an edit reaches the page opened through a preview host name",
    async () => {
      const { row, id, port } = ready();
      const before = row.hotReload === "ok on the published port" ? "Edited on the published port" : "Get started";
      await checkHotReload(browser!, api, id, {
        url: `http://${previewHost(id)}:${port}/`,
        selector: "h1",
        file: "/app/src/App.tsx",
        from: `<h1>${before}</h1>`,
        to: "<h1>Edited through the preview name</h1>",
        before,
        after: "Edited through the preview name",
      });
      row.hotReload = `${row.hotReload ?? ""}; ok through the preview name`;
    },
    timeout,
  );
});

function printTable() {
  const s = (ms?: number) => (ms === undefined ? "-" : `${(ms / 1000).toFixed(1)} s`);
  const lines = rows.map((r) =>
    [
      r.fixture.padEnd(24),
      (r.setup.ok ? "ready" : `error in ${r.setup.reached}`).padEnd(18),
      s(r.setup.phasesMs.cloning).padStart(7),
      s(r.setup.phasesMs.installing).padStart(8),
      s(r.setup.phasesMs.starting).padStart(8),
      s(r.setup.totalMs).padStart(8),
      (r.page === "ok" ? "ok" : r.page ? "wrong" : "-").padEnd(6),
      (r.preview === "ok" ? "ok" : r.preview ? "refused" : "-").padEnd(8),
      r.setup.ok ? (r.hotReload ?? "") : (r.setup.error ?? "").split("\n")[0]!.slice(0, 100),
    ].join(" "),
  );
  console.log(
    [
      `${"fixture".padEnd(24)} ${"result".padEnd(18)} ${"clone".padStart(7)} ${"install".padStart(8)} ${"start".padStart(8)} ${"total".padStart(8)} page   preview  note`,
      ...lines,
    ].join("\n"),
  );
}
