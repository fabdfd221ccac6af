/**
 * One setup of a corpus repo through the agent's API (or a restart, start or redeploy of a set-up
 * environment), measured from the signed callbacks: which phase it reached, how long each phase took (from the phases' own `at` timestamps), and the
 * agent's error when it failed. Also the environment's last log lines, for a failure report.
 * Used by the test and the bench alike; it never retries, and every wait is bounded.
 */
import Docker from "dockerode";
import type { SetupCallback } from "../../src/api/contract.js";
import type { Receiver } from "../helpers/callback-receiver.js";
import { FIXTURE_SETUP_TIMEOUT_MS } from "./agent-env.js";

export const CALLBACK_SECRET = "corpus-callback-secret-0123456789";
/** Lines of the environment's log quoted when a setup fails: enough for a stack trace and what came before. */
export const FAILURE_LOG_LINES = 120;

export type AgentApi = { url: string; token: string };

export type PhaseTimes = { cloning?: number; installing?: number; starting?: number };

export type SetupOutcome = {
  /** `ready`, or the last phase reached before `error` (or before the wait ran out). */
  reached: SetupCallback["phase"] | "none";
  ok: boolean;
  phasesMs: PhaseTimes;
  /** From the request to `ready` (or to the end). */
  totalMs: number;
  hostPort?: number;
  error?: string;
};

export async function agentRequest(api: AgentApi, method: string, path: string, body?: unknown) {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${api.token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text || "null") as Record<string, unknown>;
}

/** Creates an environment (default image, port 3000) and returns its id and published port. */
export async function createEnvironment(api: AgentApi, name: string) {
  const c = await agentRequest(api, "POST", "/api/containers", { name });
  return { id: String(c.id), hostPort: Number(c.hostPort) };
}

const PHASE_ORDER = ["cloning", "installing", "starting"] as const;

/** POST /setup with no repo settings, and the phases' durations once `ready` or `error` came. */
export async function setupAndTime(
  api: AgentApi,
  receiver: Receiver,
  id: string,
  repo: string,
  extra: Record<string, unknown> = {},
): Promise<SetupOutcome> {
  return requestAndTime(api, receiver, id, "setup", { repo, branch: "main", ...extra });
}

/**
 * POST /api/containers/:id/<action> (setup, restart, start, redeploy: every route that answers
 * 202 and reports by callback) with the callback fields added to `body`, and the phases'
 * durations once `ready` or `error` came, timed from the request to that callback's own `at`.
 */
export async function requestAndTime(
  api: AgentApi,
  receiver: Receiver,
  id: string,
  action: "setup" | "restart" | "start" | "redeploy",
  body: Record<string, unknown> = {},
): Promise<SetupOutcome> {
  const before = receiver.received.length;
  const t0 = Date.now();
  await agentRequest(api, "POST", `/api/containers/${id}/${action}`, {
    callbackUrl: receiver.url,
    callbackSecret: CALLBACK_SECRET,
    ...body,
  });
  const mine = () =>
    receiver.received
      .slice(before)
      .filter((r) => r.body.containerId === id)
      .map((r) => r.body);
  const done = () => mine().some((b) => b.phase === "ready" || b.phase === "error");
  await receiver.waitFor(done, FIXTURE_SETUP_TIMEOUT_MS).catch(() => undefined);
  const bodies = mine().sort((a, b) => a.sequence - b.sequence);
  const at = (phase: SetupCallback["phase"]) => bodies.find((b) => b.phase === phase)?.at;
  const end = bodies.find((b) => b.phase === "ready" || b.phase === "error");
  const phasesMs: PhaseTimes = {};
  for (const [i, phase] of PHASE_ORDER.entries()) {
    const start = at(phase);
    const next = [...PHASE_ORDER.slice(i + 1).map(at), end?.at].find((t) => t !== undefined);
    if (start !== undefined && next !== undefined) phasesMs[phase] = next - start;
  }
  const last = bodies.filter((b) => b.phase !== "error").at(-1);
  return {
    reached: end?.phase === "ready" ? "ready" : (last?.phase ?? "none"),
    ok: end?.phase === "ready",
    phasesMs,
    totalMs: (end?.at ?? Date.now()) - t0,
    hostPort: end?.hostPort,
    error: end
      ? end.error
      : `no ready or error within ${FIXTURE_SETUP_TIMEOUT_MS / 1000} s (phases: ${bodies.map((b) => b.phase).join(", ")})`,
  };
}

/** Docker's multiplexed log stream (8-byte frame headers) as text. */
function demux(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(parts).toString("utf8");
}

/** The environment's last log lines (setup phases and dev server), for a failure message. */
export async function environmentLogTail(id: string, lines = FAILURE_LOG_LINES): Promise<string> {
  try {
    const buf = await new Docker().getContainer(`artie-${id}`).logs({ stdout: true, stderr: true, tail: lines });
    return demux(buf);
  } catch (err) {
    return `(no log: ${String(err)})`;
  }
}
