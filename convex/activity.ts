/**
 * Signs of use, into a record's `lastActivityAt` (what the idle limits count from, idle.ts):
 * the control plane's own (a browser opening an environment's logs or terminal, streams.ts) and
 * the agent's (its per-container `lastActivityAt` in the container list: exec, terminal input,
 * an attached log stream), taken by reconcile. The later time wins; a time ahead of this
 * clock counts as now, so a host with a fast clock cannot keep an environment alive.
 * A stopped record takes no use: its container runs nothing to use, and looking at it (its logs,
 * which Docker ends at once for a stopped container, so a page reconnects) must not hold off its
 * stopped limit; a start is what brings it back, and moves the time itself.
 * Status changes move it too (records.ts); this module leaves those out.
 */
import { v } from "convex/values";
import type { Doc } from "./_generated/dataModel";
import { internalMutation, type MutationCtx } from "./_generated/server";

/**
 * Records whose activity does not count: their container is gone or going, or stopped (nothing
 * runs there; only a start, a status move of its own, ends the stopped limit's count).
 */
const PAST_USE = new Set<Doc<"containers">["status"]>(["stopped", "destroying", "destroyed"]);

/** Moves `lastActivityAt` to `at` when that is later; true when it moved. */
export async function noteActivity(ctx: MutationCtx, c: Doc<"containers">, at: number): Promise<boolean> {
  const when = Math.min(at, Date.now());
  if (PAST_USE.has(c.status) || c.pool || !(when > c.lastActivityAt)) return false;
  await ctx.db.patch("containers", c._id, { lastActivityAt: when });
  return true;
}

/** Someone opened the environment's logs or terminal (the caller checked they may). */
export const noteUse = internalMutation({
  args: { containerId: v.id("containers") },
  returns: v.null(),
  handler: async (ctx, { containerId }) => {
    const c = await ctx.db.get("containers", containerId);
    if (c) await noteActivity(ctx, c, Date.now());
    return null;
  },
});

/**
 * The agent's `lastActivityAt` for a container, in ms: an ISO 8601 time (as its other times) or
 * ms since the epoch; nothing for none or an unreadable one.
 */
export function agentActivityMs(value: string | number | null | undefined): number | undefined {
  const ms = typeof value === "number" ? value : typeof value === "string" ? Date.parse(value) : NaN;
  return Number.isFinite(ms) ? ms : undefined;
}
