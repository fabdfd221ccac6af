/**
 * `GET /health`, the one unauthenticated route: is the agent up, does Docker answer, how many
 * managed containers exist, and, once the host's operations are wired (server.ts), the images
 * pulled at start-up, the maintenance sweep, the host's capacity and its problems. Answers 503
 * (same body) when Docker is unreachable so load balancers and monitors see the problem without
 * parsing. A problem with Docker answering (disk below MIN_FREE_DISK_GB) is `degraded` with 200:
 * the agent still serves what needs no room, and a health check must not restart it for that.
 */
import { Hono } from "hono";
import type { HealthResponse } from "../api/contract.js";
import type { Config } from "../config.js";
import type { ContainerService } from "../containers/service.js";
import { dockerMessage, type DockerClient } from "../docker/client.js";
import type { HostOperations } from "./maintenance.js";

export function healthRoutes(deps: {
  config: Config;
  docker: DockerClient;
  containers: ContainerService;
  startedAt: number;
  host?: HostOperations;
}) {
  const isolation = () => ({
    enabled: deps.config.isolation.enabled,
    runtime: deps.config.container.runtime,
    egressAllowlist: deps.config.egress.allowlist,
    egressDenylist: deps.config.egress.denylist,
    egressDenied: deps.containers.egressDenied() ?? 0,
  });
  const operations = () =>
    deps.host ? { images: deps.host.images.status(), maintenance: deps.host.maintenance.status() } : {};
  return new Hono().get("/health", async (c) => {
    const uptime = (Date.now() - deps.startedAt) / 1000;
    try {
      const [version, containerCount] = await Promise.all([deps.docker.version(), deps.containers.count()]);
      const [capacity, diskProblem] = await Promise.all([deps.host?.capacity.read(), deps.host?.disk.problem()]);
      const problems = diskProblem ? [diskProblem] : [];
      const body: HealthResponse = {
        status: problems.length ? "degraded" : "ok",
        containerCount,
        uptime,
        docker: { reachable: true, ...version },
        isolation: isolation(),
        ...(deps.host ? { problems } : {}),
        ...operations(),
        ...(capacity ? { capacity } : {}),
      };
      return c.json(body);
    } catch (err) {
      const error = dockerMessage(err);
      const body: HealthResponse = {
        status: "degraded",
        containerCount: 0,
        uptime,
        docker: { reachable: false, error },
        isolation: isolation(),
        ...(deps.host ? { problems: [`Docker is not reachable: ${error}`] } : {}),
        ...operations(),
      };
      return c.json(body, 503);
    }
  });
}
