/**
 * The dashboard in real headless Chromium, built and served on 127.0.0.1, on the fake Convex
 * client, with logs and terminal from the real agent and real containers:
 * sign in -> the runtime toggle calls the mutation -> a status pushed through the fake client
 * re-renders the row without a reload -> logs stream from a container and resume after the
 * connection is cut, without losing or repeating a line -> the terminal runs `echo` -> destroy
 * asks first -> the pool page shows the real agent's health. Screenshots of every page go to
 * test-output/screenshots.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostHealth } from "../../../convex/hostHealth";
import { HealthResponse } from "../../../host-agent/src/api/contract.js";
import { mintStreamToken } from "../../../host-agent/src/api/stream-token.js";
import { startTestAgent, uniqueName } from "../../../host-agent/test/helpers/agent.js";
import { docker } from "../../../host-agent/test/helpers/docker.js";
import { BUSYBOX_IMAGE } from "../../../host-agent/test/helpers/images.js";
import { environment, event, NOW, ME_ADMIN, POOL_STATUS, repo, TEAMS } from "../fake-convex/fixtures";
import { openDashboard, screenshot, type Dashboard } from "./helpers/browser";
import { cuttableProxy, type CuttableProxy } from "./helpers/cuttable-proxy";

const STREAM_KEY = "browser-test-stream-key-".padEnd(48, "k");
/** Lines the logs container prints, one every 30 ms, then it exits. */
const LOG_LINES = 200;

type Agent = Awaited<ReturnType<typeof startTestAgent>>;
let agent: Agent;
let proxy: CuttableProxy;
let dash: Dashboard;
let page: Page;
const agentIds: string[] = [];

async function createOnAgent(label: string, command: string[]) {
  const { name, id } = uniqueName(label);
  const res = await agent.api.post("/api/containers", { name, id, image: BUSYBOX_IMAGE, command });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`);
  const created = (await res.json()) as { id: string; hostPort: number };
  agentIds.push(created.id);
  return created;
}

const setQuery = (name: string, value: unknown, args?: Record<string, unknown>) =>
  page.evaluate(
    ([n, v, a]) => (window as unknown as { fake: { setQuery: (...x: unknown[]) => void } }).fake.setQuery(n, v, a),
    [name, value, args] as const,
  );
const callsTo = (name: string) =>
  page.evaluate((n) => (window as unknown as { fake: { callsTo: (n: string) => unknown[] } }).fake.callsTo(n), name);
const nav = (name: string) => page.getByRole("navigation", { name: "Main" }).getByRole("link", { name });
const logCount = async () => Number((await page.getByTestId("log-count").innerText()).replace(/[^0-9]/g, ""));

let logsEnv: ReturnType<typeof environment>;
let shellEnv: ReturnType<typeof environment>;
let bigEnv: ReturnType<typeof environment>;
/** Lines the big-logs container prints in one burst. */
const BIG_LINES = 20_000;

beforeAll(async () => {
  agent = await startTestAgent({ STREAM_TOKEN_KEY: STREAM_KEY });
  proxy = await cuttableProxy(agent.port);
  dash = await openDashboard();
  page = dash.page;

  // Stream URLs as streams.open mints them, for the real agent; logs go through the proxy.
  await page.exposeFunction(
    "mintStream",
    async ({ containerId, scope }: { containerId: string; scope: "logs" | "terminal" }) => {
      const env = [logsEnv, shellEnv, bigEnv].find((e) => e._id === containerId);
      if (!env) throw new Error(`unknown environment ${containerId}`);
      const expiresAt = Date.now() + 5 * 60_000;
      const token = await mintStreamToken(STREAM_KEY, { containerId: env.agentId, scope, expiresAt });
      const base = scope === "logs" ? proxy.url : agent.url.replace(/^http/, "ws");
      return { url: `${base}/api/containers/${env.agentId}/${scope}?token=${encodeURIComponent(token)}`, expiresAt };
    },
  );
  // Shaped as the Convex action shapes it (convex/hostHealth.ts), from the real agent's answer.
  await page.exposeFunction("hostHealth", async () =>
    hostHealth(HealthResponse.parse(await (await fetch(`${agent.url}/health`)).json())),
  );
}, 120_000);

afterAll(async () => {
  await dash?.close();
  await proxy?.close();
  for (const id of agentIds)
    await docker
      .getContainer(`artie-${id}`)
      .remove({ force: true })
      .catch(() => undefined);
  await agent?.close();
});

describe("dashboard in Chromium", () => {
  it("signs in through the sign-in page", async () => {
    await page.goto(dash.url);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await page.getByLabel("Email").fill("alice@acme.dev");
    await page.getByLabel("Password").fill("correct horse battery");
    await screenshot(page, "01-sign-in");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Environments" }).waitFor();
    const signIns = await callsTo("auth:signIn");
    expect(signIns).toHaveLength(1);
    expect(signIns[0]).toMatchObject({ provider: "password", params: { email: "alice@acme.dev" } });
    await setQuery("containers:list", []);
    await setQuery("repos:list", []);
    await page.getByText("No environments yet").waitFor();
    await screenshot(page, "02-environments-empty");
  });

  it("calls repos.setRuntime from the runtime toggle", async () => {
    await setQuery("teams:mine", TEAMS);
    await setQuery("repos:list", [
      repo(),
      repo({ _id: "r2" as never, name: "api", runtime: "firecracker", mainImage: undefined, defaultBranch: "develop" }),
    ]);
    await nav("Repositories").click();
    await page.getByRole("region", { name: "acme/shop" }).waitFor();
    await screenshot(page, "03-repos");
    await page.getByRole("radiogroup", { name: "Runtime of acme/api" }).getByRole("radio", { name: "Docker" }).click();
    await expect.poll(() => callsTo("repos:setRuntime")).toEqual([{ owner: "acme", name: "api", runtime: "docker" }]);
  });

  it("re-renders a row when a status change arrives, without reloading", async () => {
    const { id: logsId, hostPort } = await createOnAgent("logs", [
      "sh",
      "-c",
      `i=1; while [ $i -le ${LOG_LINES} ]; do echo "line $i"; i=$((i+1)); sleep 0.03; done`,
    ]);
    const shell = await createOnAgent("shell", ["sleep", "3600"]);
    logsEnv = environment({
      _id: "c-logs" as never,
      agentId: logsId,
      status: "installing",
      hostPort,
      url: undefined,
      phaseDurations: { cloning: 700 },
    });
    shellEnv = environment({
      _id: "c-shell" as never,
      agentId: shell.id,
      hostPort: shell.hostPort,
      url: `http://127.0.0.1:${shell.hostPort}`,
      branch: "feature/cart",
    });
    const failed = environment({
      _id: "c-failed" as never,
      agentId: "env-failed",
      status: "error",
      branch: "broken-lockfile",
      hostPort: undefined,
      url: undefined,
      phaseDurations: { cloning: 640 },
      error:
        "npm ci failed (exit 1): package-lock.json is out of sync with package.json. Run npm install and commit the lockfile.",
    });
    bigEnv = environment({ _id: "c-big" as never, agentId: "env-big", branch: "load-test", hostPort: undefined });
    await setQuery("containers:list", [logsEnv, shellEnv, failed]);
    await nav("Environments").click();
    const row = page.getByTestId("env-row-c-logs");
    await row.getByText("Installing").waitFor();
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));

    logsEnv = {
      ...logsEnv,
      status: "ready",
      url: `http://127.0.0.1:${hostPort}`,
      phaseDurations: { cloning: 700, installing: 650, starting: 200 },
    };
    await setQuery("containers:list", [logsEnv, shellEnv, failed, bigEnv]);
    await row.getByText("Ready").waitFor({ timeout: 5_000 });
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    await screenshot(page, "04-environments");
  });

  it("streams a real container's logs and resumes after the connection is cut", async () => {
    await setQuery("containers:detail", logsEnv, { containerId: logsEnv._id });
    await setQuery("containers:events", [
      event("assigned", NOW - 3_000, "claimed for acme/shop@main", logsEnv._id),
      event("cloning", NOW - 2_900, undefined, logsEnv._id),
      event("installing", NOW - 2_200, undefined, logsEnv._id),
      event("starting", NOW - 1_550, undefined, logsEnv._id),
      event("ready", NOW - 1_350, undefined, logsEnv._id),
    ]);
    await page.getByTestId("env-row-c-logs").getByRole("link", { name: "acme/shop" }).click();
    await expect.poll(logCount, { timeout: 20_000 }).toBeGreaterThanOrEqual(40);
    expect(proxy.cut()).toBeGreaterThan(0);

    await page.getByTestId("log-state").getByText("Container stopped").waitFor({ timeout: 30_000 });
    expect(await logCount()).toBe(LOG_LINES);
    const shown = (await page.locator(".log-line .log-text").allTextContents()).map((t) =>
      Number(t.replace("line ", "")),
    );
    expect(shown.at(-1)).toBe(LOG_LINES);
    expect(shown).toEqual(shown.map((_, i) => shown[0]! + i)); // consecutive: nothing lost, nothing twice
    expect((await callsTo("streams:open")).length).toBeGreaterThanOrEqual(2); // it did reconnect
    await screenshot(page, "05-environment-logs");
  });

  it("takes a burst of 20,000 lines, keeping only the rows on screen in the page", async () => {
    // The page connects during the sleep, so all lines arrive live, in one burst.
    const big = await createOnAgent("big", ["sh", "-c", `sleep 3; seq 1 ${BIG_LINES}`]);
    bigEnv = { ...bigEnv, agentId: big.id, hostPort: big.hostPort };
    await setQuery("containers:detail", bigEnv, { containerId: bigEnv._id });
    await nav("Environments").click();
    await page.getByTestId("env-row-c-big").getByRole("link", { name: "acme/shop" }).click();
    await page.getByTestId("log-state").getByText("Container stopped").waitFor({ timeout: 30_000 });
    expect(await logCount()).toBe(BIG_LINES);
    const lastText = async () => (await page.locator(".log-line .log-text").allTextContents()).at(-1);
    // It follows the tail a few frames after the last batch: give a loaded machine time to paint.
    await expect.poll(lastText, { timeout: 10_000 }).toBe(String(BIG_LINES));
    expect(await page.locator(".log-line").count()).toBeLessThan(200);

    await page.locator(".logs-scroll").evaluate((el) => el.scrollTo({ top: 0 }));
    await expect
      .poll(async () => (await page.locator(".log-line .log-text").allTextContents())[0], { timeout: 10_000 })
      .toBe("1");
    await page.getByRole("button", { name: "Jump to latest ↓" }).click();
    await expect.poll(lastText, { timeout: 10_000 }).toBe(String(BIG_LINES));
  });

  it("runs echo in the terminal of a real container", async () => {
    await setQuery("containers:detail", shellEnv, { containerId: shellEnv._id });
    await nav("Environments").click();
    await page.getByTestId("env-row-c-shell").getByRole("link", { name: "acme/shop" }).click();
    await page.getByRole("tab", { name: "Terminal" }).click();
    await page.getByTestId("terminal-state").getByText("Connected").waitFor({ timeout: 15_000 });
    await page.getByTestId("terminal").click();
    await page.keyboard.type("echo artie-$((6*7))");
    await page.keyboard.press("Enter");
    await expect.poll(() => page.locator(".xterm-rows").innerText(), { timeout: 10_000 }).toMatch(/^artie-42$/m);
    await screenshot(page, "06-environment-terminal");
  });

  it("tells the shell its new size when the window resizes", async () => {
    const ttyColumns = async () => {
      const sizes = [...(await page.locator(".xterm-rows").innerText()).matchAll(/^(\d+) (\d+)$/gm)];
      return sizes.length === 0 ? 0 : Number(sizes.at(-1)![2]);
    };
    await page.keyboard.type("clear; stty size");
    await page.keyboard.press("Enter");
    await expect.poll(ttyColumns).toBeGreaterThan(0);
    const wide = await ttyColumns();

    await page.setViewportSize({ width: 900, height: 880 });
    await page.waitForTimeout(300); // ResizeObserver -> fit -> resize message
    await page.keyboard.type("clear; stty size");
    await page.keyboard.press("Enter");
    await expect.poll(ttyColumns).toBeLessThan(wide - 20);
    await page.setViewportSize({ width: 1360, height: 880 });
  });

  it("asks before destroying, and destroys only when confirmed", async () => {
    await page.getByRole("button", { name: "Destroy" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByText("Destroy acme/shop@feature/cart?").waitFor();
    expect(await dialog.innerText()).toContain(`frees host port ${shellEnv.hostPort}`);
    await screenshot(page, "07-destroy-dialog");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    expect(await callsTo("containers:destroy")).toEqual([]);

    await page.getByRole("button", { name: "Destroy" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Destroy environment" }).click();
    await expect.poll(() => callsTo("containers:destroy")).toEqual([{ containerId: "c-shell" }]);
  });

  it("says when the terminal is disconnected, and offers a new session", async () => {
    await docker.getContainer(`artie-${shellEnv.agentId}`).remove({ force: true });
    await page.getByTestId("terminal-state").getByText("Disconnected").waitFor({ timeout: 15_000 });
    await page.getByRole("button", { name: "New session" }).waitFor();
  });

  it("shows the pool against its config and the real agent's health", async () => {
    await setQuery("pool:status", POOL_STATUS);
    await setQuery("account:me", ME_ADMIN);
    await nav("Pool & host").click();
    await page.getByRole("region", { name: "Host health" }).getByText("Healthy").waitFor({ timeout: 10_000 });
    await screenshot(page, "08-pool");
  });
});
