/**
 * A stand-in for the host agent's container endpoints the crons, Stop/Start, Restart and
 * Redeploy use, for convex-test behind a stubbed `fetch`: `GET /api/containers`,
 * `POST /api/containers/:id/stop`, `/start`, `/restart`, `/redeploy` and
 * `DELETE /api/containers/:id`, answered as the contract says (every answer is parsed with the
 * contract's own schema before it is sent) and checked as the agent checks: the API secret as a
 * Bearer token, no body where none belongs, a body where one does parsed with the contract's
 * own request schema (StartContainerRequest, RedeployRequest: unknown fields refused) with the
 * deployment's callback URL and secret, 404 `container_not_found` for an id it does not hold. A
 * redeploy is refused (409 `uncommitted_changes`, the files in `issues`) while a test says the
 * workspace has local changes, unless forced; a container a test marks `busy` (another operation
 * under way there) answers 409 `conflict` to stop, start, restart and redeploy, as the agent's
 * operation lock does, and 409 `already_running` to a start of a running one. A stop's optional
 * body (StopContainerRequest) with `unlessUsedAfter` is refused 409 `in_use` when the
 * container's `lastActivityAt` is later, as the agent does under its lock; `afterLook` lets a
 * test put use between the reaper's look (`GET /api/containers/:id`) and its stop. `GET /api/containers/:id` answers one container's details. It keeps each container's state (running, exited)
 * and the `lastActivityAt` a test gives it, and records every request (method, path, body).
 * Two dots in the file name: the Convex CLI never deploys it. Leaves out create, setup, exec,
 * logs and the terminal (test.githubFixture.ts and e2e.int.test.ts have those).
 */
import { vi } from "vitest";
import {
  ContainerDetails,
  ErrorResponse,
  ListContainersResponse,
  RedeployRequest,
  RemoveContainerResponse,
  StartContainerRequest,
  StopContainerRequest,
  type ContainerState,
} from "@artie/host-agent/contract";

export const AGENT_URL = "http://agent.test";
const API_SECRET = "agent-api-secret-".padEnd(40, "x");
const CALLBACK_SECRET = "y".repeat(20);
const CALLBACK_URL = "http://site.test/docker-status";

type Held = { state: ContainerState; createdAt: string; lastActivityAt?: string | number | null };

export class AgentStandIn {
  readonly containers = new Map<string, Held>();
  readonly requests: { method: string; path: string; body?: unknown }[] = [];
  /** Files the workspace changed locally, per container: a redeploy without force is refused. */
  readonly localChanges = new Map<string, string[]>();
  /** Containers with another operation under way: every operation but a delete is refused. */
  readonly busy = new Set<string>();
  /** Runs after answering a container's details: use that lands after the reaper looked. */
  afterLook: ((id: string, held: Held) => void) | null = null;

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
    const text = req.method === "GET" ? "" : await req.text();
    const body: unknown = text === "" ? undefined : JSON.parse(text);
    this.requests.push({ method: req.method, path, ...(body === undefined ? {} : { body }) });
    const json = (status: number, value: unknown) =>
      new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });
    const refuse = (status: number, code: string, message: string, issues?: { path: string; message: string }[]) =>
      json(status, ErrorResponse.parse({ error: { code, message, requestId: "stand-in", issues } }));
    if (req.headers.get("authorization") !== `Bearer ${API_SECRET}`) return refuse(401, "unauthorized", "bad token");
    const action = /\/(start|restart|redeploy|stop)$/.exec(path)?.[1];
    const schema =
      action === "redeploy"
        ? RedeployRequest
        : action === "stop"
          ? StopContainerRequest
          : action
            ? StartContainerRequest
            : null;
    if (!schema && body !== undefined) return refuse(400, "invalid_request", "no body expected");
    // A stop's body is optional (a person's stop sends none); every other body is required.
    const parsed = action === "stop" && body === undefined ? undefined : schema?.safeParse(body);
    if (parsed && !parsed.success) return refuse(400, "invalid_request", parsed.error.message);
    // A stop's body names no callback; every other body does.
    const run = parsed?.data && "callbackUrl" in parsed.data ? parsed.data : undefined;
    if (run && (run.callbackUrl !== CALLBACK_URL || run.callbackSecret !== CALLBACK_SECRET))
      return refuse(400, "invalid_request", "not the deployment's callback URL and secret");

    if (req.method === "GET" && path === "/api/containers") {
      const containers = [...this.containers].map(([id, held]) => this.details(id, held));
      return json(200, ListContainersResponse.parse({ containers }));
    }
    const m = /^\/api\/containers\/([^/]+)(?:\/(stop|start|restart|redeploy))?$/.exec(path);
    if (!m) return refuse(404, "not_found", "stand-in: no such route");
    const id = m[1] ?? ""; // always matched (the web tests' stricter tsconfig reads this file too)
    const held = this.containers.get(id);
    if (!held) return refuse(404, "container_not_found", `no container ${id}`);
    if (req.method === "GET" && !m[2]) {
      const answer = json(200, this.details(id, held));
      this.afterLook?.(id, held);
      return answer;
    }
    if (req.method === "DELETE" && this.busy.has(id))
      return refuse(409, "conflict", `Container ${id} is still being set up; delete it again shortly`);
    if (req.method === "POST" && this.busy.has(id))
      return refuse(409, "conflict", `Container ${id} is being redeployed; try again when it is done`);
    if (req.method === "POST" && m[2] === "stop") {
      const after = body === undefined ? undefined : StopContainerRequest.parse(body).unlessUsedAfter;
      const usedAt = typeof held.lastActivityAt === "string" ? Date.parse(held.lastActivityAt) : held.lastActivityAt;
      if (after !== undefined && typeof usedAt === "number" && usedAt > after)
        return refuse(409, "in_use", `Container ${id} was used after ${new Date(after).toISOString()}; not stopped`);
      held.state = "exited";
      return json(200, this.details(id, held));
    }
    if (req.method === "POST" && m[2] === "start" && held.state === "running")
      return refuse(
        409,
        "already_running",
        `Container ${id} is already running; restart it to start its dev server again`,
      );
    if (req.method === "POST" && (m[2] === "start" || m[2] === "restart")) {
      held.state = "running";
      return json(202, this.details(id, held));
    }
    if (req.method === "POST" && m[2] === "redeploy") {
      const changed = this.localChanges.get(id) ?? [];
      if (changed.length > 0 && !(run as { force?: boolean }).force)
        return refuse(
          409,
          "uncommitted_changes",
          `Redeploy refused: the branch's new commits change files this environment changed too: ${changed.join(", ")}.`,
          changed.map((p) => ({ path: p, message: "modified locally" })),
        );
      return json(202, this.details(id, held));
    }
    if (req.method === "DELETE" && !m[2]) {
      this.containers.delete(id);
      return json(200, RemoveContainerResponse.parse({ id, removed: true }));
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
  vi.stubEnv("DOCKER_CALLBACK_SECRET", CALLBACK_SECRET);
  vi.stubEnv("CONVEX_SITE_URL", "http://site.test");
  return agent;
}
