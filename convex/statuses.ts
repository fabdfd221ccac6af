/**
 * Container statuses and the one table of allowed moves between them. Every status change in
 * the control plane goes through `canMove`, so a stale, replayed or out-of-order callback can
 * never move a record backwards. The setup phases come from the agent's contract, so the two
 * sides share one list of names.
 */
import { v } from "convex/values";
import { SETUP_PHASES } from "@artie/host-agent/contract";

export const STATUSES = [
  "creating",
  "pooled",
  "assigned",
  "cloning",
  "installing",
  "starting",
  "ready",
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

/** Where each status may go next. `ready -> ready` lets a later callback add a main image. */
const NEXT: Record<Status, readonly Status[]> = {
  creating: ["pooled", "assigned", "error", "destroying"],
  pooled: ["assigned", "error", "destroying"],
  assigned: ["cloning", "error", "destroying"],
  cloning: ["installing", "error", "destroying"],
  installing: ["starting", "error", "destroying"],
  starting: ["ready", "error", "destroying"],
  ready: ["ready", "cloning", "error", "destroying"],
  error: ["cloning", "destroying"],
  destroying: ["destroyed"],
  destroyed: [],
};

export function canMove(from: Status, to: Status): boolean {
  return NEXT[from].includes(to);
}

/** Statuses in which a container is still somebody's environment (not pooled, not gone). */
export const LIVE_STATUSES: readonly Status[] = ["assigned", "cloning", "installing", "starting", "ready", "error"];
