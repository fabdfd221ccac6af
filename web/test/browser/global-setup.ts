/**
 * Before the browser tests: Chromium must be installed (Debian's, never a downloaded one), and
 * the harness (the real app on the fake client) is built once into test-output/web-harness.
 */
import { access } from "node:fs/promises";
import path from "node:path";
import { build } from "vite";

export const CHROMIUM = "/usr/bin/chromium";
const repoRoot = path.resolve(import.meta.dirname, "../../..");
export const HARNESS_ROOT = path.join(repoRoot, "web/test/browser/harness");
export const HARNESS_DIST = path.join(repoRoot, "test-output/web-harness");

export default async function setup() {
  try {
    await access(CHROMIUM);
  } catch {
    throw new Error(`${CHROMIUM} is missing. Run: apt-get install -y chromium (npm test installs it)`);
  }
  await build({
    configFile: path.join(repoRoot, "web/vite.config.ts"),
    root: HARNESS_ROOT,
    logLevel: "warn",
    build: { outDir: HARNESS_DIST, emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 2000 },
  });
}
