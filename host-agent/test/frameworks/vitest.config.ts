/**
 * `npm run test:frameworks`: the framework corpus on the real engine, installing from the
 * registry. Its own config, so `npm test` (offline, every other project) never runs it. One file
 * at a time, as the docker project does: the corpus shares the engine and the host firewall.
 */
import path from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: path.resolve(import.meta.dirname, "../../.."),
    include: ["host-agent/test/frameworks/**/*.test.ts"],
    exclude: ["**/node_modules/**", "host-agent/test/frameworks/fixtures/**"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 180_000,
    globalSetup: ["host-agent/test/helpers/global-setup.ts"],
    // For a CI step: `node scripts/test-summary.mjs test-output/frameworks-vitest.json` prints
    // "N passed, N failed" as `npm test` does.
    reporters: ["default", "json"],
    outputFile: { json: "test-output/frameworks-vitest.json" },
  },
});
