import path from "node:path";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";
import { PODMAN_DOCKER_HOST } from "./host-agent/test/helpers/engines.js";

/**
 * The Docker-engine files that pass against Podman's Docker API (4.3, `podman system service`):
 * run again there by project `podman`. What the others need that Podman lacks: README "Podman".
 */
const PODMAN_FILES = [
  "host-agent/test/lifecycle.int.test.ts",
  "host-agent/test/exec.int.test.ts",
  "host-agent/test/logs.int.test.ts",
  "host-agent/test/seed-api.int.test.ts",
  "host-agent/test/workspace.int.test.ts",
  "host-agent/test/podman-engine.int.test.ts",
];

/**
 * `podman`: a selection of the Docker files against Podman, in a vitest run of its own
 * (`ARTIE_PODMAN=1`, which runs only this project; scripts/test.sh does it after the main run).
 * Never in one run with `docker`: vitest runs every project's global setup before any test and
 * hands workers its environment, so this project's DOCKER_HOST would reach the Docker files too;
 * and both would use one host firewall chain, one subnet pool and one data dir.
 */
const PODMAN_PROJECT = {
  test: {
    name: "podman",
    include: PODMAN_FILES,
    // The tests' Docker client and their agents read DOCKER_HOST (helpers/agent.ts testEnv).
    env: { DOCKER_HOST: PODMAN_DOCKER_HOST },
    environment: "node",
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ["host-agent/test/helpers/podman-global-setup.ts"],
  },
};

/**
 * Four projects: fast unit tests (fakes, pure functions), the control plane in convex-test, the
 * dashboard's components in jsdom on a fake Convex client, all in parallel; then tests against
 * the real Docker engine and real Chromium (`*.int.test.ts`, `*.browser.test.ts`), one file at
 * a time with long timeouts, because they share one engine and a 2-core machine. With
 * ARTIE_PODMAN=1, only PODMAN_PROJECT (above).
 */
export default defineConfig({
  test: {
    projects:
      process.env.ARTIE_PODMAN === "1"
        ? [PODMAN_PROJECT]
        : [
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
