import { defineConfig } from "vitest/config";

/**
 * Two projects: fast unit tests (fakes, pure functions) run in parallel; tests against the real
 * Docker engine (`*.int.test.ts`) run one file at a time with long timeouts, because they share
 * one engine and a 2-core machine.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["host-agent/test/**/*.test.ts"],
          exclude: ["**/*.int.test.ts", "**/node_modules/**"],
          environment: "node",
        },
      },
      {
        test: {
          name: "convex",
          include: ["convex/**/*.test.ts"],
          exclude: ["**/*.int.test.ts", "**/node_modules/**"],
          environment: "edge-runtime",
          server: { deps: { inline: ["convex-test"] } },
        },
      },
      {
        test: {
          name: "docker",
          // Includes the end-to-end test: convex-test driving the real agent on real Docker.
          include: ["host-agent/test/**/*.int.test.ts", "convex/**/*.int.test.ts"],
          server: { deps: { inline: ["convex-test"] } },
          environment: "node",
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
          globalSetup: ["host-agent/test/helpers/global-setup.ts"],
        },
      },
    ],
  },
});
