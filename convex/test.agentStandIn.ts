/**
 * A stand-in for the host agent's container endpoints the crons and Stop/Start use, for
 * convex-test behind a stubbed `fetch`: `GET /api/containers`, `POST /api/containers/:id/stop`,
 * `POST /api/containers/:id/start` and `DELETE /api/containers/:id`, answered as the contract
 * says (every answer is parsed with the contract's own schema before it is sent) and checked as
 * the agent checks: the API secret as a Bearer token, no body where none belongs, 404
 * `container_not_found` for an id it does not hold. It keeps each container's state (running,
 * exited) and the `lastActivityAt` a test gives it, and records every request (method, path).
 * Two dots in the file name: the Convex CLI never deploys it. Leaves out create, setup, exec,
 * logs and the terminal (test.githubFixture.ts and e2e.int.test.ts have those).
 */
import { vi } from "vitest";
import {
  ContainerDetails,
  ErrorResponse,
  ListContainersResponse,
  RemoveContainerResponse,
  type ContainerState,
} from "@artie/host-agent/contract";

export const AGENT_URL = "http://agent.test";
const API_SECRET = "agent-api-secret-".padEnd(40, "x");

type Held = { state: ContainerState; createdAt: string; lastActivityAt?: string | number | null };

export class AgentStandIn {
  readonly containers = new Map<string, Held>();
  readonly requests: { method: string; path: string }[] = [];

  /** A container on the host, running unless said otherwise. */
  hold(id: string, o: { state?: ContainerState; lastActivityAt?: string | number | null } = {}) {
    this.containers.set(id, {
      state: o.state ?? "running",
      createdAt: new Date(0).toISOString(),
      lastActivityAt: o.lastActivityAt,
    });
  }

  calls(method: string, suffix: string) {
    return this.requests.filter((r) => r.method === method && r.path.endsWith(suffix));
  }

  private details(id: string, held: Held) {
    const running = held.state === "running";
    return ContainerDetails.parse({
      id,
      name: id,
      dockerId: `d-${id}`,
      image: "node:24-slim",
      state: held.state,
      exitCode: running ? null : 0,
      health: "none",
      pool: false,
      hostPort: 21000,
      ports: [{ containerPort: 3000, hostPort: 21000 }],
      volumeName: null,
      createdAt: held.createdAt,
      startedAt: running ? held.createdAt : null,
      uptimeSeconds: running ? 1 : null,
      ...(held.lastActivityAt !== undefined ? { lastActivityAt: held.lastActivityAt } : {}),
    });
  }

  async handle(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    this.requests.push({ method: req.method, path });
    const json = (status: number, value: unknown) =>
      new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });
    const refuse = (status: number, code: string, message: string) =>
      json(status, ErrorResponse.parse({ error: { code, message, requestId: "stand-in" } }));
    if (req.headers.get("authorization") !== `Bearer ${API_SECRET}`) return refuse(401, "unauthorized", "bad token");
    if (req.method !== "GET" && (await req.text()) !== "") return refuse(400, "invalid_request", "no body expected");

    if (req.method === "GET" && path === "/api/containers") {
      const containers = [...this.containers].map(([id, held]) => this.details(id, held));
      return json(200, ListContainersResponse.parse({ containers }));
    }
    const m = /^\/api\/containers\/([^/]+)(?:\/(stop|start))?$/.exec(path);
    const held = m && this.containers.get(m[1]);
    if (!m) return refuse(404, "not_found", "stand-in: no such route");
    if (!held) return refuse(404, "container_not_found", `no container ${m[1]}`);
    if (req.method === "POST" && m[2] === "stop") {
      held.state = "exited";
      return json(200, this.details(m[1], held));
    }
    if (req.method === "POST" && m[2] === "start") {
      held.state = "running";
      return json(200, this.details(m[1], held));
    }
    if (req.method === "DELETE" && !m[2]) {
      this.containers.delete(m[1]);
      return json(200, RemoveContainerResponse.parse({ id: m[1], removed: true }));
    }
    return refuse(404, "not_found", "stand-in: no such route");
  }
}

/** A deployment whose agent is a fresh stand-in; undo with vi.unstubAllEnvs / vi.unstubAllGlobals. */
export function stubAgent(): AgentStandIn {
  const agent = new AgentStandIn();
  vi.stubGlobal("fetch", async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    if (!req.url.startsWith(AGENT_URL)) throw new TypeError(`fetch failed: ${req.url} is not the stand-in`);
    return agent.handle(req);
  });
  vi.stubEnv("DOCKER_HOST_URL", AGENT_URL);
  vi.stubEnv("DOCKER_API_SECRET", API_SECRET);
  vi.stubEnv("DOCKER_CALLBACK_SECRET", "y".repeat(20));
  vi.stubEnv("CONVEX_SITE_URL", "http://site.test");
  return agent;
}
