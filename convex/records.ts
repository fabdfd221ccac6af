/**
 * Writing container records: new ones (`insertCreating`), status changes (`moveTo`, the only
 * way a status changes: it checks the transition table first, so nothing, a stale callback or a
 * retried action, moves a record backwards, and schedules the watchdog for the new step), the
 * bounded timeline (`recordEvent`), and the two requests a person or the reaper makes of the
 * host (`requestStop`, `requestDestroy`). Who may ask for these is decided by the callers.
 */
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import type { MutationCtx } from "./_generated/server";
import { EVENTS_PER_CONTAINER, WATCHDOG_MS } from "./limits";
import { canMove, type Status } from "./statuses";

/** Agent ids are chosen here: a retried create sends the same id and gets the same container. */
export function newAgentId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return `env-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Appends to a container's timeline, keeping only the newest EVENTS_PER_CONTAINER. */
export async function recordEvent(ctx: MutationCtx, containerId: Id<"containers">, status: Status, message?: string) {
  await ctx.db.insert("containerEvents", { containerId, status, at: Date.now(), message });
  const events = await ctx.db
    .query("containerEvents")
    .withIndex("by_containerId_and_at", (q) => q.eq("containerId", containerId))
    .order("desc")
    .take(EVENTS_PER_CONTAINER + 5);
  for (const old of events.slice(EVENTS_PER_CONTAINER)) await ctx.db.delete("containerEvents", old._id);
}

/** Records a container about to be created on the host, watched like any other step. */
export async function insertCreating(
  ctx: MutationCtx,
  fields: {
    pool: boolean;
    teamId?: Id<"teams">;
    requestedBy?: string;
    repoId?: Id<"repos">;
    branch?: string;
    settingsVersion?: number;
  },
  message: string,
): Promise<Id<"containers">> {
  const now = Date.now();
  const id = await ctx.db.insert("containers", {
    agentId: newAgentId(),
    status: "creating",
    ...fields,
    phaseStartedAt: {},
    phaseDurations: {},
    lastSequence: 0,
    createdAt: now,
    statusChangedAt: now,
    lastActivityAt: now,
  });
  await recordEvent(ctx, id, "creating", message);
  await ctx.scheduler.runAfter(WATCHDOG_MS.creating!, internal.maintenance.watchdog, {
    containerId: id,
    status: "creating",
    since: now,
  });
  return id;
}

/** Moves a record to `to` if the table allows it; false (and nothing written) otherwise. */
export async function moveTo(
  ctx: MutationCtx,
  c: Doc<"containers">,
  to: Status,
  patch: Partial<Doc<"containers">> = {},
  message?: string,
): Promise<boolean> {
  if (!canMove(c.status, to)) return false;
  const now = Date.now();
  await ctx.db.patch("containers", c._id, { ...patch, status: to, statusChangedAt: now, lastActivityAt: now });
  await recordEvent(ctx, c._id, to, message);
  const deadline = WATCHDOG_MS[to as keyof typeof WATCHDOG_MS];
  if (deadline !== undefined) {
    await ctx.scheduler.runAfter(deadline, internal.maintenance.watchdog, {
      containerId: c._id,
      status: to,
      since: now,
    });
  }
  return true;
}

/**
 * Asks the host to stop a ready or failed environment's container. The record stays as it is
 * until the agent confirms (hostAgent.stop, then hostReports.markStopped): a stop the host never
 * made must not read as done. Asking again while one is under way is harmless. With
 * `unlessUsedAfter` (the reaper's), the host is asked first and an environment used there since
 * then is not stopped.
 */
export async function requestStop(
  ctx: MutationCtx,
  c: Doc<"containers">,
  message: string,
  o: { unlessUsedAfter?: number } = {},
) {
  await recordEvent(ctx, c._id, c.status, message);
  await ctx.scheduler.runAfter(0, internal.hostAgent.stop, { containerId: c._id, ...o });
}

/** Marks a record for destruction and schedules the agent call; false when it cannot be. */
export async function requestDestroy(ctx: MutationCtx, c: Doc<"containers">, message: string): Promise<boolean> {
  if (!(await moveTo(ctx, c, "destroying", {}, message))) return false;
  await ctx.scheduler.runAfter(0, internal.hostAgent.destroy, { containerId: c._id });
  return true;
}
