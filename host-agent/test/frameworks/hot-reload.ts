/**
 * Hot reload as a developer sees it: real Chromium (Debian's, driven by playwright-core, as the
 * dashboard's browser tests do) opens the dev server's page, a source file is edited inside the
 * environment through the agent's exec API, and the new text must appear in the same page: no
 * navigation, a marker set before the edit still there. Preview host names resolve to 127.0.0.1
 * inside this browser only (--host-resolver-rules), so the page and its HMR WebSocket go
 * through the name the way they would through the preview gateway.
 */
import { chromium, type Browser } from "playwright-core";
import { PREVIEW_DOMAIN } from "./agent-env.js";
import { agentRequest, type AgentApi } from "./setup-run.js";

/** Debian's Chromium, which scripts/ensure-chromium.sh installs; Playwright downloads none. */
export const CHROMIUM = "/usr/bin/chromium";
/** From the edit's exec returning to the new text on the page. */
export const HOT_RELOAD_TIMEOUT_MS = 30_000;
/** Loading the page (a first dev build of the app's modules). */
export const PAGE_LOAD_TIMEOUT_MS = 60_000;

/** Replaces the first `from` in `file` with `to`, as an editor's save does (same file, rewritten). */
const EDIT_SCRIPT = `const fs = require("fs");
const [file, from, to] = process.argv.slice(1);
const text = fs.readFileSync(file, "utf8");
if (!text.includes(from)) { console.error("not in " + file + ": " + from); process.exit(3); }
fs.writeFileSync(file, text.replace(from, to));`;

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      `--host-resolver-rules=MAP *.${PREVIEW_DOMAIN} 127.0.0.1`,
    ],
  });
}

export type HotReloadCheck = {
  url: string;
  /** Selector of the element whose text the edit changes. */
  selector: string;
  file: string;
  from: string;
  to: string;
  /** The element's text before and after. */
  before: string;
  after: string;
};

/** Runs the check; throws with what the page showed and what its console said. */
export async function checkHotReload(browser: Browser, api: AgentApi, id: string, check: HotReloadCheck) {
  const page = await browser.newPage();
  const consoleLines: string[] = [];
  page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  const fail = (what: string) =>
    new Error(`${what} at ${check.url}\nconsole:\n${consoleLines.slice(-20).join("\n") || "(nothing)"}`);
  try {
    await page.goto(check.url, { waitUntil: "load", timeout: PAGE_LOAD_TIMEOUT_MS });
    const element = page.locator(check.selector).first();
    try {
      await element.filter({ hasText: check.before }).waitFor({ timeout: PAGE_LOAD_TIMEOUT_MS });
    } catch {
      throw fail(`"${check.before}" never showed (page: ${(await page.content()).slice(0, 300)})`);
    }
    await page.evaluate(() => Object.assign(window, { corpusMarker: "before-edit" }));
    const edit = await agentRequest(api, "POST", `/api/containers/${id}/exec`, {
      command: ["node", "-e", EDIT_SCRIPT, check.file, check.from, check.to],
      timeout: 30_000,
    });
    if (edit.exitCode !== 0) throw new Error(`the edit failed: ${JSON.stringify(edit)}`);
    try {
      await element.filter({ hasText: check.after }).waitFor({ timeout: HOT_RELOAD_TIMEOUT_MS });
    } catch {
      throw fail(`the edit never reached the page ("${await element.textContent()}" still)`);
    }
    const marker = await page.evaluate(() => (window as unknown as { corpusMarker?: string }).corpusMarker);
    if (marker !== "before-edit") throw fail("the page reloaded instead of hot-swapping the module");
  } finally {
    await page.close();
  }
}
