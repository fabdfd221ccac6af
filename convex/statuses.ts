/**
 * Container statuses and the one table of allowed moves between them. Every status change in
 * the control plane goes through `canMove`, so a stale, replayed or out-of-order callback can
 * never move a record backwards. The setup phases, and their order, come from the agent's
 * contract, so the two sides share one list of names (callbacks.ts decides which callback
 * applies; this module only says where a record may go).
 */
import { v } from "convex/values";
import { DEV_SERVER_DOWN_REASONS, HEALTH_STATES, SETUP_PHASES } from "@artie/host-agent/contract";

export const STATUSES = [
  "creating",
  "pooled",
  "assigned",
  "cloning",
  "installing",
  "starting",
  "ready",
  /** The container is stopped on the host: memory and CPU freed, workspace and record kept. */
  "stopped",
  "error",
  "destroying",
  "destroyed",
] as const;
export type Status = (typeof STATUSES)[number];

export const statusValidator = v.union(...STATUSES.map((s) => v.literal(s)));

/** Every setup phase the agent reports is a status here (checked at compile time). */
type SetupPhase = (typeof SETUP_PHASES)[number];
const _phasesAreStatuses: readonly Status[] = SETUP_PHASES satisfies readonly SetupPhase[];
void _phasesAreStatuses;

/** The setup phases a record moves forward through, in the contract's order (`error` aside). */
export const PROGRESS_PHASES = SETUP_PHASES.filter((p): p is Exclude<SetupPhase, "error"> => p !== "error");
export type ProgressPhase = (typeof PROGRESS_PHASES)[number];
export const progressPhaseValidator = v.union(...PROGRESS_PHASES.map((p) => v.literal(p)));

export function isProgressPhase(status: Status): status is ProgressPhase {
  return (PROGRESS_PHASES as readonly Status[]).includes(status);
}

/**
 * Where a status stands in the setup's order: `assigned` before the first phase, each phase at
 * its place; null for statuses outside a setup (pooled, stopped, error, destroying...).
 */
export function phaseRank(status: Status): number | null {
  if (status === "assigned") return -1;
  return isProgressPhase(status) ? PROGRESS_PHASES.indexOf(status) : null;
}

/**
 * Where each status may go next. A setup may skip phases forward (its callbacks can arrive out
 * of order; callbacks.ts records the skipped ones). `ready -> ready` lets a later callback add
 * a main image; `ready`/`error -> cloning` is a new setup or a redeploy. `stopped` leaves only
 * by a start (`starting`, then the agent's callbacks), by failing, or by being destroyed;
 * `ready`/`error -> starting` is a restart bringing the dev server back (containers.restart: a
 * callback never moves a record back, callbacks.ts judges by phase order first). `error -> ready`
 * is a restart or start whose `starting` callback the agent's outbox replaced with its `ready`.
 */
const NEXT: Record<Status, readonly Status[]> = {
  creating: ["pooled", "assigned", "error", "destroying"],
  pooled: ["assigned", "error", "destroying"],
  assigned: ["cloning", "installing", "starting", "ready", "error", "destroying"],
  cloning: ["installing", "starting", "ready", "error", "destroying"],
  installing: ["starting", "ready", "error", "destroying"],
  starting: ["ready", "error", "destroying"],
  ready: ["ready", "cloning", "starting", "stopped", "error", "destroying"],
  stopped: ["starting", "error", "destroying"],
  error: ["cloning", "starting", "ready", "stopped", "destroying"],
  destroying: ["destroyed"],
  destroyed: [],
};

export function canMove(from: Status, to: Status): boolean {
  return NEXT[from].includes(to);
}

/** Statuses in which a container is still somebody's environment (not pooled, not gone). */
export const LIVE_STATUSES: readonly Status[] = [
  "assigned",
  "cloning",
  "installing",
  "starting",
  "ready",
  "stopped",
  "error",
];

/** Whether an environment's dev server answers, as its agent last said (the contract's list). */
export const healthValidator = v.union(...HEALTH_STATES.map((h) => v.literal(h)));

/** Why a dev server stopped after `ready`, as the agent's watch reports it (the contract's list). */
export const devServerDownReasonValidator = v.union(...DEV_SERVER_DOWN_REASONS.map((r) => v.literal(r)));
