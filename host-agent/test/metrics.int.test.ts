/**
 * /metrics and request ids against the real engine: a real agent, a container made through the
 * API, a real setup of a fixture repo reporting to a receiver this test runs (which refuses the
 * first delivery, so a retry happens). Every scrape is parsed as a Prometheus server would; the
 * counters and histograms must move by what the test did. The agent's captured log shows the
 * Docker client's own lines of that create carrying the create's request id.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, METRICS_ENGINE_CACHE_MS } from "../src/config.js";
import { createLogger } from "../src/lib/logger.js";
import { startAgent } from "../src/server.js";
import { client, createContainer, testEnv } from "./helpers/agent.js";
import { startReceiver } from "./helpers/callback-receiver.js";
import { removeRepoArtifacts } from "./helpers/docker.js";
import { fixtureRoot, type FixtureRoot } from "./helpers/fixture-repo.js";
import { NODE_IMAGE } from "./helpers/images.js";
import { histogramCount, scrape, value } from "./helpers/prometheus.js";

const SECRET = "callback-secret-metrics-0123456789";
const REPO = "acme/metrics";
const METRICS_TOKEN = randomBytes(24).toString("hex");
let fixtures: FixtureRoot;

beforeAll(async () => {
  fixtures = await fixtureRoot();
  await fixtures.createRepo(REPO, { main: { message: "metrics main", greetVersion: "1.0.0" } });
});
afterAll(async () => {
  await fixtures?.dispose();
  await removeRepoArtifacts(REPO);
});

/** A real agent whose log lines are kept. */
async function agentWithLog() {
  const raw: string[] = [];
  const config = loadConfig(
    testEnv({
      DEFAULT_IMAGE: NODE_IMAGE,
      GIT_REMOTE_TEMPLATE: fixtures.remoteTemplate,
      DATA_DIR: path.join(fixtures.root, `data-${randomBytes(4).toString("hex")}`),
      CONTAINER_MEMORY_MB: "512",
      METRICS_TOKEN,
    }),
  );
  const logger = createLogger("info", { write: (s: string) => void raw.push(...s.split("\n").filter(Boolean)) });
  const agent = await startAgent(config, logger);
  const lines = () => raw.map((l) => JSON.parse(l) as Record<string, unknown> & { msg: string });
  return { agent, api: client(agent.url), lines };
}

describe("GET /metrics on a real agent", () => {
  it("moves with a create, a setup's phases and outcome, and callback deliveries and retries", async () => {
    const receiver = await startReceiver(SECRET);
    const { agent, api, lines } = await agentWithLog();
    try {
      expect((await fetch(`${agent.url}/metrics`)).status).toBe(401);
      const before = await scrape(agent.url, METRICS_TOKEN);
      const running = (m: typeof before) => value(m, "artie_containers", { state: "running" }) ?? 0;
      const created = (m: typeof before) =>
        value(m, "artie_http_requests_total", { method: "POST", route: "/api/containers", status: "201" }) ?? 0;

      const c = await createContainer(api, { image: NODE_IMAGE });
      let afterCreate = await scrape(agent.url, METRICS_TOKEN);
      expect(created(afterCreate)).toBe(created(before) + 1);
      // Containers by state come from the engine's list, kept for METRICS_ENGINE_CACHE_MS.
      const deadline = Date.now() + METRICS_ENGINE_CACHE_MS + 5_000;
      while (running(afterCreate) !== running(before) + 1 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        afterCreate = await scrape(agent.url, METRICS_TOKEN);
      }
      expect(running(afterCreate)).toBe(running(before) + 1);
      expect(value(afterCreate, "artie_docker_reachable")).toBe(1);
      expect(value(afterCreate, "artie_host_ports_in_use")).toBe((value(before, "artie_host_ports_in_use") ?? 0) + 1);

      // The Docker client's own lines of that create carry the create's request id.
      const createLine = lines().find(
        (l) => l.msg === "request" && l.method === "POST" && l.path === "/api/containers" && l.status === 201,
      );
      const dockerCreate = lines().filter((l) => l.msg === "docker create" || l.msg === "docker start");
      expect(createLine?.requestId).toBeTruthy();
      expect(dockerCreate.length).toBeGreaterThanOrEqual(2);
      for (const l of dockerCreate) expect(l.requestId).toBe(createLine!.requestId);

      receiver.refuse(1);
      const setup = await api.post(`/api/containers/${c.id}/setup`, {
        repo: REPO,
        branch: "main",
        callbackUrl: receiver.url,
        callbackSecret: SECRET,
      });
      expect(setup.status).toBe(202);
      await receiver.waitFor((rs) => rs.some((r) => r.body.phase === "ready"));
      await agent.idle();

      const m = await scrape(agent.url, METRICS_TOKEN);
      expect(value(m, "artie_setups_total", { outcome: "ready" })).toBe(1);
      expect(value(m, "artie_setups_total", { outcome: "error" })).toBe(0);
      for (const phase of ["cloning", "installing", "starting"])
        expect(histogramCount(m, "artie_setup_phase_duration_seconds", { phase })).toBe(1);
      // One refusal, then a retry; what was delivered plus what a newer phase replaced is every phase.
      expect(value(m, "artie_callback_deliveries_total", { result: "refused" })).toBe(1);
      expect(value(m, "artie_callback_retries_total")).toBeGreaterThanOrEqual(1);
      const delivered = value(m, "artie_callback_deliveries_total", { result: "delivered" }) ?? 0;
      const replaced = value(m, "artie_callbacks_dropped_total", { reason: "replaced" }) ?? 0;
      expect(delivered).toBe(receiver.received.length);
      expect(delivered + replaced).toBe(4);
      expect(value(m, "artie_callback_outbox_depth")).toBe(0);
      const setupRoute = { method: "POST", route: "/api/containers/:id/setup", status: "202" };
      expect(value(m, "artie_http_requests_total", setupRoute)).toBe(1);
    } finally {
      await agent.close();
      await receiver.close();
    }
  });
});
