/**
 * `GET /health`, the one unauthenticated route: is the agent up, does Docker answer, how many
 * managed containers exist. Answers 503 (same body) when Docker is unreachable so load
 * balancers and monitors see the problem without parsing.
 */
import { Hono } from "hono";
import type { HealthResponse } from "../api/contract.js";
import type { Config } from "../config.js";
import type { ContainerService } from "../containers/service.js";
import { dockerMessage, type DockerClient } from "../docker/client.js";

export function healthRoutes(deps: {
  config: Config;
  docker: DockerClient;
  containers: ContainerService;
  startedAt: number;
}) {
  const isolation = () => ({
    enabled: deps.config.isolation.enabled,
    runtime: deps.config.container.runtime,
    egressAllowlist: deps.config.egress.allowlist,
    egressDenylist: deps.config.egress.denylist,
    egressDenied: deps.containers.egressDenied() ?? 0,
  });
  return new Hono().get("/health", async (c) => {
    const uptime = (Date.now() - deps.startedAt) / 1000;
    try {
      const [version, containerCount] = await Promise.all([deps.docker.version(), deps.containers.count()]);
      const body: HealthResponse = {
        status: "ok",
        containerCount,
        uptime,
        docker: { reachable: true, ...version },
        isolation: isolation(),
      };
      return c.json(body);
    } catch (err) {
      const body: HealthResponse = {
        status: "degraded",
        containerCount: 0,
        uptime,
        docker: { reachable: false, error: dockerMessage(err) },
        isolation: isolation(),
      };
      return c.json(body, 503);
    }
  });
}
