/**
 * Before the browser tests: Chromium must be installed (Debian's, never a downloaded one); the
 * harness (the real app on the fake client) is built into test-output/web-harness, and the
 * production bundle, as `npm run build` makes it but with no Convex URL, into test-output/web-dist.
 */
import { access, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { build } from "vite";

export const CHROMIUM = "/usr/bin/chromium";
const repoRoot = path.resolve(import.meta.dirname, "../../..");
export const HARNESS_ROOT = path.join(repoRoot, "web/test/browser/harness");
export const HARNESS_DIST = path.join(repoRoot, "test-output/web-harness");
export const WEB_ROOT = path.join(repoRoot, "web");
export const PRODUCTION_DIST = path.join(repoRoot, "test-output/web-dist");

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
  // An env dir with no .env files: a developer's own VITE_CONVEX_URL must not leak into the test.
  const emptyEnvDir = await mkdtemp(path.join(tmpdir(), "artie-web-env-"));
  await build({
    configFile: path.join(WEB_ROOT, "vite.config.ts"),
    envDir: emptyEnvDir,
    logLevel: "warn",
    build: { outDir: PRODUCTION_DIST, emptyOutDir: true },
  });
}
