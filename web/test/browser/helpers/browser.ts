/**
 * Real headless Chromium (Debian's) on the built harness, served by `vite preview` on
 * 127.0.0.1, and screenshots saved under test-output/screenshots.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { preview, type PreviewServer } from "vite";
import { freePort } from "../../../../host-agent/test/helpers/agent.js";
import { CHROMIUM, HARNESS_DIST, HARNESS_ROOT } from "../global-setup.js";

export const SCREENSHOTS = path.resolve(import.meta.dirname, "../../../../test-output/screenshots");

export type Dashboard = {
  browser: Browser;
  page: Page;
  server: PreviewServer;
  url: string;
  close: () => Promise<void>;
};

/** Serves a built bundle (the harness unless told otherwise) and opens Chromium on it. */
export async function openDashboard({ root = HARNESS_ROOT, outDir = HARNESS_DIST } = {}): Promise<Dashboard> {
  const port = await freePort();
  const server = await preview({
    configFile: false,
    root,
    logLevel: "warn",
    build: { outDir },
    preview: { host: "127.0.0.1", port, strictPort: true },
  });
  const url = `http://127.0.0.1:${port}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  const page = await browser.newPage({ viewport: { width: 1360, height: 880 } });
  await mkdir(SCREENSHOTS, { recursive: true });
  const close = async () => {
    await browser.close();
    await server.close();
  };
  return { browser, page, server, url, close };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}
