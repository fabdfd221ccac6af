/**
 * `GET /metrics`: the agent's metrics in Prometheus' text format (metrics/metrics.ts).
 *
 * Outside `/api/*`, so it has its own check: a bearer token that is one of the API secrets or
 * METRICS_TOKEN, compared in constant time like every secret (api/auth.ts). A METRICS_TOKEN
 * reads this route and nothing else, so a Prometheus server need not hold the API secret. A
 * query `?token=` is never accepted here: it would end up in the scraper's and proxies' logs.
 */
import { createHash } from "node:crypto";
import { Hono } from "hono";
import { secretMatches } from "../api/auth.js";
import { AppError } from "../api/errors.js";
import type { Config } from "../config.js";
import type { Metrics } from "../metrics/metrics.js";

const digest = (value: string) => createHash("sha256").update(value).digest();

export function metricsRoutes(deps: { config: Config; metrics: Metrics }) {
  const accepted = [...deps.config.apiSecrets, ...(deps.config.metricsToken ? [deps.config.metricsToken] : [])].map(
    digest,
  );
  return new Hono().get("/metrics", async (c) => {
    const token = c.req
      .header("authorization")
      ?.match(/^Bearer\s+(.+)$/i)?.[1]
      ?.trim();
    if (token === undefined || !secretMatches(token, accepted)) {
      throw new AppError("unauthorized", "Missing or invalid token: send the API secret or METRICS_TOKEN as a bearer");
    }
    const body = await deps.metrics.render();
    return c.body(body, 200, { "content-type": deps.metrics.contentType, "cache-control": "no-store" });
  });
}
