import path from "node:path";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

/**
 * Four projects: fast unit tests (fakes, pure functions), the control plane in convex-test, the
 * dashboard's components in jsdom on a fake Convex client, all in parallel; then tests against
 * the real Docker engine and real Chromium (`*.int.test.ts`, `*.browser.test.ts`), one file at
 * a time with long timeouts, because they share one engine and a 2-core machine.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["host-agent/test/**/*.test.ts", "scripts/test/**/*.test.ts"],
          // The framework corpus installs from the registry: `npm run test:frameworks`, its own config.
          exclude: ["**/*.int.test.ts", "**/node_modules/**", "host-agent/test/frameworks/**"],
          environment: "node",
        },
      },
      {
        test: {
          name: "convex",
          include: ["convex/**/*.test.ts"],
          exclude: ["**/*.int.test.ts", "**/node_modules/**"],
          environment: "edge-runtime",
          server: { deps: { inline: ["convex-test", "@convex-dev/rate-limiter", "@convex-dev/batch-worker"] } },
        },
      },
      {
        plugins: [react()],
        resolve: { alias: { "@convex": path.resolve(import.meta.dirname, "convex") } },
        test: {
          name: "web",
          // Components (.tsx) and the pure modules beside them (.ts); the browser tests are Docker's.
          include: ["web/test/**/*.test.{ts,tsx}"],
          exclude: ["**/*.browser.test.ts", "**/node_modules/**"],
          environment: "jsdom",
          setupFiles: ["web/test/setup.ts"],
        },
      },
      {
        resolve: { alias: { "@convex": path.resolve(import.meta.dirname, "convex") } },
        test: {
          name: "docker",
          // Includes the end-to-end test (convex-test driving the real agent on real Docker) and
          // the dashboard in real Chromium against the real agent.
          include: [
            "host-agent/test/**/*.int.test.ts",
            "scripts/test/**/*.int.test.ts",
            "convex/**/*.int.test.ts",
            "web/test/browser/**/*.browser.test.ts",
          ],
          server: { deps: { inline: ["convex-test", "@convex-dev/rate-limiter", "@convex-dev/batch-worker"] } },
          environment: "node",
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
          globalSetup: ["host-agent/test/helpers/global-setup.ts", "web/test/browser/global-setup.ts"],
        },
      },
    ],
  },
});
