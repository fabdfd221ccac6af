/**
 * The one client of the host agent's HTTP API, typed by its contract: every answer is read
 * bounded (a byte cap) within a deadline, never through a redirect (the agent sends none, so one
 * means something else answered), and parsed with the contract's schema, never cast. An error
 * answer becomes an AgentError with the contract's code, message, issues and request id; a
 * request that got no usable answer becomes one with a `reason` and no code.
 *
 * Used by the control plane's actions (convex/hostAgent.ts) and by the troubleshooting CLI
 * (cli/). Convex bundles it for its own runtime, so it holds nothing Node-only: fetch, streams,
 * AbortSignal. Every limit is the caller's (convex/limits.ts, config.ts): this module has no
 * defaults of its own. It leaves out retries (each caller decides), the terminal's WebSocket and
 * resuming a log stream after a drop.
 */
import type { z } from "zod";
import {
  ContainerDetails,
  ErrorResponse,
  ExecResponse,
  HealthResponse,
  ListContainersResponse,
  LogEvent,
  PruneReport,
  RemoveContainerResponse,
  type ErrorCode,
  type ExecRequest,
  type PruneRequest,
} from "./contract.js";
import { parseJson, readBytesBounded } from "./response-body.js";

/**
 * Why a request failed. `agent_error`: the agent answered with its error envelope (`code` set).
 * `unreachable`: no connection. `timeout`: no whole answer within the deadline. `redirect`: a
 * redirect, refused. `too_large`: an answer over the byte cap. `bad_answer`: an answer that is
 * not the contract's (another service on that address, or an agent of another version).
 */
export const AGENT_ERROR_REASONS = [
  "agent_error",
  "unreachable",
  "timeout",
  "redirect",
  "too_large",
  "bad_answer",
] as const;
export type AgentErrorReason = (typeof AGENT_ERROR_REASONS)[number];

export type AgentIssue = { path: string; message: string };

/** A failed request to the agent. `message` is `code: message` for the agent's own errors. */
export class AgentError extends Error {
  override name = "AgentError";
  constructor(
    message: string,
    readonly reason: AgentErrorReason,
    readonly details: {
      /** The HTTP status, when the agent answered. */
      status?: number;
      /** The contract's error code, for `agent_error`. */
      code?: ErrorCode;
      /** The agent's own message, without the code, for `agent_error`. */
      agentMessage?: string;
      issues?: AgentIssue[];
      requestId?: string;
      /** What fetch threw, for `unreachable`: its cause says why (ECONNREFUSED, a DNS failure). */
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: details.cause });
  }

  get code(): ErrorCode | null {
    return this.details.code ?? null;
  }

  get issues(): AgentIssue[] {
    return this.details.issues ?? [];
  }

  get status(): number | null {
    return this.details.status ?? null;
  }
}

export type AgentClientOptions = {
  /** The agent's base URL, such as http://127.0.0.1:8080 (a trailing slash is dropped). */
  url: string;
  /** The API secret, sent as a bearer token; /health needs none. */
  secret?: string;
  /** Deadline of one request, its whole answer read included; for a log stream, of its first answer. */
  timeoutMs: number;
  /** Most bytes of one answer (of one event, for a log stream). */
  maxResponseBytes: number;
};

export type LogsOptions = {
  /** Lines of history first (the agent's default when absent). */
  tail?: number;
  /** Keep reading new lines until the container stops (or `signal`); false: the history, then the end. */
  follow: boolean;
  /**
   * Longest silence tolerated once the stream is open: the agent sends a keepalive comment every
   * SSE_KEEPALIVE_MS, so a longer one means the connection is dead.
   */
  idleTimeoutMs: number;
  signal?: AbortSignal;
};

type Answer = { status: number; json: unknown };

const isTimeout = (err: unknown) => err instanceof Error && err.name === "TimeoutError";

/** Node's fetch says "unexpected redirect" in the cause of a `redirect: "error"` refusal. */
const isRedirect = (err: unknown) =>
  err instanceof Error && /redirect/i.test(String((err.cause as Error | undefined)?.message ?? err.message));

export class AgentClient {
  readonly url: string;

  constructor(private readonly o: AgentClientOptions) {
    this.url = o.url.replace(/\/+$/, "");
  }

  /** One request; a non-2xx answer throws, a 2xx one is parsed with `schema`. */
  async call<S extends z.ZodType>(method: string, path: string, schema: S, body?: unknown): Promise<z.output<S>> {
    const answer = await this.send(method, path, body);
    if (answer.status < 200 || answer.status > 299) throw errorOf(answer);
    return this.parse(schema, answer.json, `${method} ${path}`);
  }

  /** `GET /health`: answered with the same body whether Docker is up (200) or down (503). */
  async health(): Promise<HealthResponse> {
    const answer = await this.send("GET", "/health");
    const parsed = HealthResponse.safeParse(answer.json);
    if (parsed.success) return parsed.data;
    const envelope = ErrorResponse.safeParse(answer.json);
    if (envelope.success) throw errorOf(answer);
    throw new AgentError(`${this.url}/health answered ${answer.status}`, "bad_answer", { status: answer.status });
  }

  list = async () => (await this.call("GET", "/api/containers", ListContainersResponse)).containers;
  get = (id: string) => this.call("GET", `/api/containers/${encodeURIComponent(id)}`, ContainerDetails);
  exec = (id: string, req: ExecRequest) =>
    this.call("POST", `/api/containers/${encodeURIComponent(id)}/exec`, ExecResponse, req);
  /** Without a body: the container restarts; what runs in it afterwards is the agent's (relaunch.ts). */
  restart = (id: string) => this.call("POST", `/api/containers/${encodeURIComponent(id)}/restart`, ContainerDetails);
  remove = (id: string) => this.call("DELETE", `/api/containers/${encodeURIComponent(id)}`, RemoveContainerResponse);
  prune = (req: PruneRequest) => this.call("POST", "/api/maintenance/prune", PruneReport, req);

  /**
   * `GET /api/containers/:id/logs` as Server-Sent Events, each event's data parsed as the
   * contract's LogEvent; ends at the agent's `end` event (the container stopped, or the history
   * was sent when not following), or when `signal` aborts.
   */
  async *logs(id: string, o: LogsOptions): AsyncGenerator<LogEvent> {
    const query = new URLSearchParams({ follow: String(o.follow) });
    if (o.tail !== undefined) query.set("tail", String(o.tail));
    const path = `/api/containers/${encodeURIComponent(id)}/logs?${query}`;
    const controller = new AbortController();
    const stop = () => controller.abort(o.signal?.reason);
    o.signal?.addEventListener("abort", stop, { once: true });
    // A timer (not AbortSignal.timeout) so it can be re-armed on every chunk and cleared at the end.
    let timer = setTimeout(() => controller.abort(new DOMException("no answer", "TimeoutError")), this.o.timeoutMs);
    const rearm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(new DOMException("silent", "TimeoutError")), o.idleTimeoutMs);
    };
    try {
      const res = await this.fetch("GET", path, undefined, controller.signal, "text/event-stream");
      if (res.status !== 200) throw errorOf(await this.read(res, "GET", path));
      rearm();
      yield* this.events(res, path, rearm);
    } catch (err) {
      if (o.signal?.aborted) return;
      throw this.failure(err, "GET", path);
    } finally {
      clearTimeout(timer);
      o.signal?.removeEventListener("abort", stop);
      controller.abort();
    }
  }

  private async *events(res: Response, path: string, onChunk: () => void): AsyncGenerator<LogEvent> {
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      onChunk();
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = sseBlock(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (block.event === "end") return;
        if (block.data === null) continue;
        yield this.parse(LogEvent, parseJsonText(block.data), `GET ${path}`);
      }
      if (buffer.length > this.o.maxResponseBytes) {
        throw new AgentError(`An event of GET ${path} is longer than ${this.o.maxResponseBytes} bytes`, "too_large");
      }
    }
  }

  private parse<S extends z.ZodType>(schema: S, json: unknown, what: string): z.output<S> {
    const parsed = schema.safeParse(json);
    if (parsed.success) return parsed.data;
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");
    throw new AgentError(`The agent's answer to ${what} is not the contract's (${problems})`, "bad_answer");
  }

  private async send(method: string, path: string, body?: unknown): Promise<Answer> {
    const signal = AbortSignal.timeout(this.o.timeoutMs);
    try {
      return await this.read(await this.fetch(method, path, body, signal), method, path);
    } catch (err) {
      throw this.failure(err, method, path);
    }
  }

  private fetch(method: string, path: string, body: unknown, signal: AbortSignal, accept = "application/json") {
    const headers: Record<string, string> = { accept };
    if (this.o.secret !== undefined) headers.authorization = `Bearer ${this.o.secret}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    return fetch(`${this.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: "error",
      signal,
    });
  }

  private async read(res: Response, method: string, path: string): Promise<Answer> {
    const bytes = await readBytesBounded(res, this.o.maxResponseBytes);
    if (!bytes) {
      const message = `The agent's answer to ${method} ${path} is larger than ${this.o.maxResponseBytes} bytes`;
      throw new AgentError(message, "too_large", { status: res.status });
    }
    return { status: res.status, json: parseJson(bytes) };
  }

  /** Whatever went wrong, as an AgentError that says where and why. */
  private failure(err: unknown, method: string, path: string): AgentError {
    if (err instanceof AgentError) return err;
    if (isTimeout(err)) {
      const seconds = Math.round(this.o.timeoutMs / 100) / 10;
      return new AgentError(
        `The Docker host agent at ${this.url} did not answer ${method} ${path} in time (${seconds} s)`,
        "timeout",
      );
    }
    if (isRedirect(err)) {
      return new AgentError(
        `The Docker host agent at ${this.url} answered ${method} ${path} with a redirect, which it never sends: refused`,
        "redirect",
      );
    }
    return new AgentError(`The Docker host agent at ${this.url} is not reachable (${String(err)})`, "unreachable", {
      cause: err,
    });
  }
}

/** A non-2xx answer: the agent's envelope when it is one, else only its status. */
function errorOf(answer: Answer): AgentError {
  const parsed = ErrorResponse.safeParse(answer.json);
  if (!parsed.success)
    return new AgentError(`agent answered ${answer.status}`, "bad_answer", { status: answer.status });
  const { code, message, issues, requestId } = parsed.data.error;
  return new AgentError(`${code}: ${message}`, "agent_error", {
    status: answer.status,
    code,
    agentMessage: message,
    issues,
    requestId,
  });
}

function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** One SSE block's `event` and joined `data` lines (null when it has none: a comment). */
function sseBlock(block: string): { event: string | null; data: string | null } {
  let event: string | null = null;
  let data: string | null = null;
  for (const line of block.split("\n")) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data = data === null ? value : `${data}\n${value}`;
  }
  return { event, data };
}
