/**
 * Issue 17 in the dashboard, in Chromium on the real Convex functions (convex-test behind the
 * page through convex-bridge.ts) with the host agent a stand-in that checks each request
 * against the contract (convex/test.agentStandIn.ts): the idle countdown ("idle 40 min, stops
 * in 80 min", a repo's own idle limit, ticking); Stop and Start, which reach the agent's stop
 * and start and come back as `stopped`, then `starting` and `ready`; the dev server's health as
 * the reconcile records it, and the agent's report when the dev server was killed for memory,
 * with its last output; Restart's words; Redeploy behind its dialog, the agent's refusal for
 * uncommitted changes with the files, and "Redeploy anyway" sending force.
 *
 * What the agent sends by itself (the reconcile's list, the setup callbacks) is put in through
 * the same internal functions the deployment's cron and HTTP route call. Real timers: Playwright
 * keeps time in this process too, so the scheduler's agent calls run as they would deployed.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { api, internal } from "../../../convex/_generated/api";
import type { Id } from "../../../convex/_generated/dataModel";
import { stubAgent, type AgentStandIn } from "../../../convex/test.agentStandIn";
import { SETTINGS_KEY } from "../../../convex/test.githubFixture";
import { agentCallbackBody, ALICE, setupTest } from "../../../convex/test.setup";
import { describeStop } from "../../../host-agent/src/watch/crash-report.js";
import { bridgeConvex, refreshPage, type Identity } from "./helpers/convex-bridge";
import { openDashboard, screenshot, type Dashboard } from "./helpers/browser";

const MINUTE = 60_000;
const AGENT_ID = "env-work";
/** How long a change made behind the page may take to show (it is asked for again each round). */
const SHOWS_WITHIN_MS = 10_000;

let dash: Dashboard;
let page: Page;
let t: ReturnType<typeof setupTest>;
let agent: AgentStandIn;
let envId: Id<"containers">;
let repoId: Id<"repos">;
const alice: Identity = { ...ALICE, email: "alice@acme.dev" };

beforeAll(async () => {
  agent = stubAgent();
  vi.stubEnv("SETTINGS_ENCRYPTION_KEY", SETTINGS_KEY);
  t = setupTest();
  repoId = await t
    .withIdentity(alice)
    .mutation(api.repos.setRuntime, { owner: "acme", name: "shop", runtime: "docker" });
  const repo = (await t.run((ctx) => ctx.db.get("repos", repoId)))!;
  agent.hold(AGENT_ID);
  const now = Date.now();
  envId = await t.run((ctx) =>
    ctx.db.insert("containers", {
      agentId: AGENT_ID,
      status: "ready",
      pool: false,
      teamId: repo.teamId,
      requestedBy: "https://test|alice",
      repoId,
      branch: "main",
      hostPort: 21000,
      url: "http://127.0.0.1:21000",
      phaseStartedAt: {},
      phaseDurations: {},
      lastSequence: 4,
      createdAt: now - 60 * MINUTE,
      statusChangedAt: now - 59 * MINUTE,
      lastActivityAt: now - 40 * MINUTE,
    }),
  );
  dash = await openDashboard();
  page = dash.page;
  await bridgeConvex(page, t, () => alice);
}, 120_000);

afterAll(async () => {
  await dash?.close();
  vi.unstubAllGlobals();
  vi.unstubAllEnvs();
});

/** Waits until `text` shows in `within` (the page by default), asking the backend again each round. */
async function shows(text: string | RegExp, within = page.locator("body")) {
  await expect
    .poll(
      async () => {
        await refreshPage(page);
        return within.getByText(text).first().isVisible();
      },
      { timeout: SHOWS_WITHIN_MS, interval: 150 },
    )
    .toBe(true);
}

const record = async () => (await t.run((ctx) => ctx.db.get("containers", envId)))!;
const callsTo = (name: string) =>
  page.evaluate((n) => (window as unknown as { fake: { callsTo: (n: string) => unknown[] } }).fake.callsTo(n), name);
const countdown = () => page.getByTestId("idle-countdown").first();
let sequence = 4;
/** One of the agent's setup callbacks, as its HTTP route hands it on after checking the signature. */
const callback = (phase: string, extra: Record<string, unknown> = {}) =>
  t.mutation(internal.callbacks.receive, {
    webhookId: `w-${++sequence}`,
    body: agentCallbackBody(AGENT_ID, phase, sequence, extra),
  });
const header = () => page.locator(".page-header");
const button = (name: string | RegExp) => header().getByRole("button", { name, exact: typeof name === "string" });

describe("issue 17 in the dashboard", () => {
  it("shows the idle countdown, ticking on the page's clock, in the list and on the environment", async () => {
    await page.goto(dash.url);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await page.getByLabel("Email").fill("alice@acme.dev");
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Sign in" }).click();
    const row = page.getByTestId(`env-row-${envId}`);
    await row.getByText(/^idle \d+ min, stops in \d+ min$/).waitFor({ timeout: SHOWS_WITHIN_MS });
    // Unused for 40 minutes and a few seconds short of 41, read once from the backend...
    await t.run((ctx) => ctx.db.patch("containers", envId, { lastActivityAt: Date.now() - 41 * MINUTE + 5_000 }));
    await refreshPage(page);
    await row.getByText("idle 40 min, stops in 80 min").waitFor({ timeout: 4_000 });
    // ...then nothing asks the backend again: the page's clock moves the minute.
    await row.getByText("idle 41 min, stops in 79 min").waitFor({ timeout: 8_000 });
    await screenshot(page, "lifecycle-01-list-countdown");

    // The repo's own idle limit wins over the pool's.
    await t.withIdentity(alice).action(api.repoSettings.save, {
      repoId,
      input: { runtime: "docker", defaultBranch: "main", envVars: [], idleLimitMinutes: 60 },
    });
    await shows("idle 41 min, stops in 19 min", row);

    await row.getByRole("link", { name: "acme/shop" }).click();
    await page.getByRole("heading", { name: /acme\/shop@main/ }).waitFor();
    expect(await countdown().innerText()).toBe("idle 41 min, stops in 19 min");
    expect(await countdown().getAttribute("title")).toContain("Unused for 60 min, it is stopped");
  });

  it("stops through the agent, shows the stopped countdown, and starts again to ready", async () => {
    expect(await button("Start").count()).toBe(0);
    await button("Stop").click();
    await shows("Stopped", header());
    expect(agent.calls("POST", `/${AGENT_ID}/stop`)).toHaveLength(1);
    expect((await record()).status).toBe("stopped");
    // The stop is a use: the stopped limit (the pool's default, a day) counts from it.
    await shows("stopped under 1 min, removed in 24 h");
    expect(await button("Stop").count()).toBe(0);
    expect(await page.getByRole("tab", { name: "Terminal" }).isDisabled()).toBe(true);
    await screenshot(page, "lifecycle-02-stopped");

    await button("Start").click();
    await shows("Starting", header());
    // On its way up the button says so and waits.
    await expect.poll(() => button("Starting…").isDisabled()).toBe(true);
    await expect.poll(() => agent.calls("POST", `/${AGENT_ID}/start`).length).toBe(1);
    expect(agent.containers.get(AGENT_ID)?.state).toBe("running");
    expect(await countdown().count()).toBe(0); // a start under way is the watchdog's, not the reaper's
    expect(await callback("ready")).toBe("applied");
    await shows("Ready", header());
    await expect.poll(() => button("Stop").isEnabled()).toBe(true);
    await shows("idle under 1 min, stops in 60 min");
  });

  it("shows the dev server's health as the host checks it", async () => {
    // `ready` came right after the agent's probe answered: answering until a check says otherwise.
    await shows("Dev server answering", header());
    await t.mutation(internal.maintenance.noteListed, { containers: [{ agentId: AGENT_ID, health: "answering" }] });
    await shows("Dev server answering", header());
    await screenshot(page, "lifecycle-03-health-answering");
    await t.mutation(internal.maintenance.noteListed, {
      containers: [{ agentId: AGENT_ID, health: "not answering" }],
    });
    await shows("Dev server not answering", header());
    expect(await header().locator('[data-health="not answering"]').getAttribute("title")).toContain(
      "did not answer the host's last check",
    );
  });

  it("says readably when the dev server was killed for memory, with its last output", async () => {
    const error = describeStop({
      reason: "oom",
      exitCode: 137,
      memoryMb: 2048,
      whileAway: false,
      lines: [
        "[dev] <--- Last few GCs --->",
        "[dev] FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
      ],
    });
    expect(await callback("error", { reason: "oom", error })).toBe("applied");
    const alert = page.getByRole("alert", { name: "The dev server stopped" });
    await shows("The dev server was killed: out of memory (limit 2048 MB).", alert);
    await alert.getByText("Out of memory", { exact: true }).waitFor();
    const output = alert.getByLabel("Last output");
    expect(await output.innerText()).toBe(
      "<--- Last few GCs --->\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
    );
    expect(await page.getByText("Setup failed.").count()).toBe(0);
    expect(await page.locator("[data-health]").count()).toBe(0); // failed: the report says it, not a badge
    await screenshot(page, "lifecycle-04-dev-server-oom");
  });

  it("restarts with words that match what a restart does, and the dev server comes back", async () => {
    await button("Restart").click();
    const dialog = page.getByRole("dialog");
    await dialog.getByText("Restart acme/shop@main?").waitFor();
    const words = await dialog.innerText();
    expect(words).toContain("The workspace (/app) is kept, uncommitted changes included");
    expect(words).toContain("the dev server is started again with the same command and variables");
    await screenshot(page, "lifecycle-05-restart-dialog");
    await dialog.getByRole("button", { name: "Restart container" }).click();
    await shows("Starting", header());
    await expect.poll(() => agent.calls("POST", `/${AGENT_ID}/restart`).length).toBe(1);
    expect(await callback("ready")).toBe("applied");
    await shows("Ready", header());
    expect(await page.getByRole("alert", { name: "The dev server stopped" }).count()).toBe(0);
  });

  it("redeploys only when confirmed; shows the files a refusal names, and redeploys anyway with force", async () => {
    agent.localChanges.set(AGENT_ID, ["src/app.js", "notes.txt"]);
    await button("Redeploy").click();
    const dialog = page.getByRole("dialog");
    await dialog.getByText("Redeploy acme/shop@main?").waitFor();
    const words = await dialog.innerText();
    expect(words).toContain("Pulls the new commits of main into the workspace, keeping uncommitted work");
    expect(words).toContain("installs dependencies again only if the lockfile changed, then restarts the dev server");
    await screenshot(page, "lifecycle-06-redeploy-dialog");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    expect(await callsTo("containers:redeploy")).toEqual([]);

    await button("Redeploy").click();
    await page.getByRole("dialog").getByRole("button", { name: "Redeploy" }).click();
    const refused = page.getByRole("alert", { name: "Redeploy refused" });
    await shows("Redeploy refused; nothing was changed.", refused);
    const files = refused.getByRole("list", { name: "Files changed here and in the new commits" });
    expect(await files.getByRole("listitem").allInnerTexts()).toEqual(["src/app.js", "notes.txt"]);
    expect(agent.calls("POST", `/${AGENT_ID}/redeploy`).map((r) => (r.body as { force: boolean }).force)).toEqual([
      false,
    ]);
    expect((await record()).status).toBe("ready");
    await screenshot(page, "lifecycle-07-redeploy-refused");

    await refused.getByRole("button", { name: "Redeploy anyway" }).click();
    const force = page.getByRole("dialog");
    await force.getByText("Redeploy acme/shop@main anyway?").waitFor();
    expect(await force.getByRole("listitem").allInnerTexts()).toEqual(["src/app.js", "notes.txt"]);
    expect(await force.innerText()).toContain("what was changed in them here is lost");
    await force.getByRole("button", { name: "Redeploy anyway" }).click();
    await expect
      .poll(() => agent.calls("POST", `/${AGENT_ID}/redeploy`).map((r) => (r.body as { force: boolean }).force))
      .toEqual([false, true]);
    expect(await callsTo("containers:redeploy")).toEqual([{ containerId: envId }, { containerId: envId, force: true }]);
    // Accepted: the refusal is over, and the setup's phases bring it back to ready.
    await expect.poll(async () => (await record()).redeployRefused).toBeUndefined();
    await refreshPage(page);
    await expect.poll(() => refused.count()).toBe(0);
    expect(await callback("cloning")).toBe("applied");
    await shows("Cloning", header());
    expect(await button("Redeploy").isDisabled()).toBe(true);
    expect(await callback("ready")).toBe("applied");
    await shows("Ready", header());
    await screenshot(page, "lifecycle-08-redeployed");
  });
});
