// Covers src/routes/metrics.ts and src/metrics/metrics.ts over app.request() with the in-memory
// engine: who may read /metrics, that the exposition parses, that HTTP counters are by route
// pattern (no id as a label value), containers by state from the engine's list, and prune results.
import { describe, expect, it } from "vitest";
import type { PruneReport } from "../../src/api/contract.js";
import { LABEL } from "../../src/docker/labels.js";
import { histogramCount, labelValues, parseExposition, value } from "../helpers/prometheus.js";
import { exitedState } from "./fixtures.js";
import { testApp } from "./test-app.js";

const METRICS_TOKEN = "metrics-token-".padEnd(40, "m");

async function scrape(call: Awaited<ReturnType<typeof testApp>>["call"], token?: string) {
  const res = await call("GET", "/metrics", undefined, token ? { authorization: `Bearer ${token}` } : {});
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

describe("GET /metrics access", () => {
  it("answers 401 without a token, with a wrong one and with a query token; 200 with the API secret or METRICS_TOKEN", async () => {
    const { app, call } = await testApp({ env: { METRICS_TOKEN } });
    expect((await app.request("/metrics")).status).toBe(401);
    expect((await app.request("/metrics", { headers: { authorization: "Bearer not-it" } })).status).toBe(401);
    expect((await app.request(`/metrics?token=${METRICS_TOKEN}`)).status).toBe(401);
    const unauthorized = await app.request("/metrics");
    expect(((await unauthorized.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    await scrape(call); // the API secret (testApp's default header)
    await scrape(call, METRICS_TOKEN);
    // METRICS_TOKEN opens /metrics and nothing else.
    expect((await call("GET", "/api/containers", undefined, { authorization: `Bearer ${METRICS_TOKEN}` })).status).toBe(
      401,
    );
  });

  it("takes no METRICS_TOKEN when none is configured", async () => {
    const { app } = await testApp();
    expect((await app.request("/metrics", { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(401);
  });
});

describe("metrics", () => {
  it("counts requests by route pattern and status, never by raw path", async () => {
    const { call } = await testApp();
    await call("GET", "/api/containers/some-unique-id-1");
    await call("GET", "/api/containers/some-unique-id-2");
    await call("GET", "/no/such/route/abc123");
    await call("GET", "/api/containers");
    const m = await scrape(call);
    const requests = (labels: Record<string, string>) => value(m, "artie_http_requests_total", labels);
    expect(requests({ method: "GET", route: "/api/containers/:id", status: "404" })).toBe(2);
    expect(requests({ method: "GET", route: "unmatched", status: "404" })).toBe(1);
    expect(requests({ method: "GET", route: "/api/containers", status: "200" })).toBe(1);
    expect(histogramCount(m, "artie_http_request_duration_seconds", { route: "/api/containers/:id" })).toBe(2);
    expect(labelValues(m).some((v) => /some-unique-id|abc123/.test(v))).toBe(false);
  });

  it("reads containers by state, host ports and the engine's reachability at scrape time", async () => {
    const { docker, call } = await testApp();
    await call("POST", "/api/containers", { name: "m1", id: "m-1" });
    await call("POST", "/api/containers", { name: "m2", id: "m-2", ports: [3000, 5173] });
    docker.seed("artie-m-3", { [LABEL.managed]: "true", [LABEL.id]: "m-3" }, exitedState(137));
    const m = await scrape(call);
    expect(value(m, "artie_containers", { state: "running" })).toBe(2);
    expect(value(m, "artie_containers", { state: "exited" })).toBe(1);
    expect(value(m, "artie_containers", { state: "paused" })).toBe(0);
    expect(value(m, "artie_docker_reachable")).toBe(1);
    expect(value(m, "artie_host_ports_in_use")).toBe(3);
    expect(value(m, "artie_host_ports_total")).toBe(10);
    expect(value(m, "artie_callback_outbox_depth")).toBe(0);
  });

  it("says the engine did not answer instead of failing the scrape", async () => {
    const { docker, call } = await testApp();
    docker.unreachable = true;
    const m = await scrape(call);
    expect(value(m, "artie_docker_reachable")).toBe(0);
    expect(value(m, "artie_containers", { state: "running" })).toBeUndefined();
  });

  it("counts prune runs, what they removed by kind and the bytes freed; a dry run is not counted", async () => {
    const { call, metrics } = await testApp();
    const report = (dryRun: boolean): PruneReport => ({
      dryRun,
      scope: "all",
      startedAt: new Date().toISOString(),
      finishedAt: new Date().toISOString(),
      removed: [
        { kind: "main-image", name: "artie-main-x:main", bytes: 1000, reason: "unused for 170 h" },
        { kind: "dependency-volume", name: "artie-deps-1", bytes: 500, reason: "idle" },
        { kind: "dependency-volume", name: "artie-deps-2", bytes: null, reason: "idle" },
      ],
      bytesFreed: 1500,
      errors: [{ kind: "dangling-image", name: "sha256:abc", message: "in use" }],
    });
    metrics.recordPrune(report(false));
    metrics.recordPrune(report(true));
    const m = await scrape(call);
    expect(value(m, "artie_prune_runs_total")).toBe(1);
    expect(value(m, "artie_prune_removed_total", { kind: "main-image" })).toBe(1);
    expect(value(m, "artie_prune_removed_total", { kind: "dependency-volume" })).toBe(2);
    expect(value(m, "artie_prune_removed_total", { kind: "repo-cache" })).toBe(0);
    expect(value(m, "artie_prune_bytes_freed_total")).toBe(1500);
    expect(value(m, "artie_prune_errors_total", { kind: "dangling-image" })).toBe(1);
  });

  it("has every closed label set at 0 before anything happened", async () => {
    const { call } = await testApp();
    const m = await scrape(call);
    for (const outcome of ["ready", "error", "interrupted"])
      expect(value(m, "artie_setups_total", { outcome })).toBe(0);
    for (const result of ["delivered", "refused", "unreachable"])
      expect(value(m, "artie_callback_deliveries_total", { result })).toBe(0);
    expect(value(m, "artie_callback_retries_total")).toBe(0);
    expect(value(m, "artie_egress_denied_total")).toBe(0);
  });
});
