/**
 * The background jobs on container records (crons.ts runs them): the watchdog that fails a step
 * that never reported back (scheduled per record by records.ts), the idle reaper (stop, then
 * destroy; pooled containers exempt), reconciling records with the agent's list, forgetting old
 * webhook ids, invitations and expired install-link states. Every job does a bounded batch per
 * transaction and continues in a rescheduled run until it has seen every row (walk.ts for
 * container records), so none leaves work undone however many rows there are.
 */
import { v } from "convex/values";
import { internal } from "./_generated/api";
import type { Doc } from "./_generated/dataModel";
import { internalMutation, type MutationCtx } from "./_generated/server";
import { noteActivity } from "./activity";
import { deadlines, idleLimitsReader, isPast } from "./idle";
import { CLEANUP_BATCH, INVITATION_RETENTION_MS, SEEN_WEBHOOK_RETENTION_MS } from "./limits";
import { moveTo, requestDestroy, requestStop } from "./records";
import { healthValidator, statusValidator, type Status } from "./statuses";
import { pageOfStatuses, walkPositionValidator } from "./walk";

/** Fails a record still sitting in the status a step left it in, past that step's deadline. */
export const watchdog = internalMutation({
  args: { containerId: v.id("containers"), status: statusValidator, since: v.number() },
  handler: async (ctx, { containerId, status, since }) => {
    const c = await ctx.db.get("containers", containerId);
    if (!c || c.status !== status || c.statusChangedAt !== since) return;
    const error = `No progress from the host for too long while "${status}"; the host agent may be down. Destroy and request again.`;
    if (status === "destroying") {
      await moveTo(ctx, c, "destroyed", {}, "gave up waiting for the host to confirm removal");
    } else {
      await moveTo(ctx, c, "error", { error }, error);
    }
  },
});

/** What the reaper looks at: environments that may be idle (running or failed), and stopped ones. */
const REAPED: readonly Status[] = ["ready", "error", "stopped"];

/**
 * Stops environments unused past their idle limit, and destroys stopped ones unused past the
 * stopped limit (idle.ts), a page of records per run, continuing until it has seen all of them.
 * Answers what this run asked for.
 */
export const reapIdle = internalMutation({
  args: { position: v.optional(walkPositionValidator) },
  returns: v.object({ stopping: v.number(), destroying: v.number() }),
  handler: async (ctx, { position }): Promise<{ stopping: number; destroying: number }> => {
    const { page, next } = await pageOfStatuses(ctx, REAPED, position);
    const limitsOf = await idleLimitsReader(ctx);
    const now = Date.now();
    let stopping = 0;
    let destroying = 0;
    for (const c of page) {
      const limits = await limitsOf(c);
      const { stopsAt, destroysAt } = deadlines(c, limits);
      if (c.status === "stopped") {
        if (isPast(destroysAt, now)) {
          const message = `unused for ${limits.stoppedLimitMinutes} min while stopped`;
          if (await requestDestroy(ctx, c, message)) destroying++;
        }
      } else if (isPast(stopsAt, now)) {
        // The agent's own record of use reaches this one only with the reconcile: asked first,
        // and use there within the idle limit keeps it.
        const unlessUsedAfter = now - limits.idleLimitMinutes * 60_000;
        await requestStop(ctx, c, `idle for ${limits.idleLimitMinutes} min: stopping`, { unlessUsedAfter });
        stopping++;
      }
    }
    if (next) await ctx.scheduler.runAfter(0, internal.maintenance.reapIdle, { position: next });
    return { stopping, destroying };
  },
});

/** Records the agent should have (created on the host, not yet destroyed). */
const ON_HOST: readonly Status[] = [
  "pooled",
  "assigned",
  "cloning",
  "installing",
  "starting",
  "ready",
  "stopped",
  "error",
];

const GONE_ERROR =
  "The container is gone from the host (removed outside this system or lost). Request a new environment.";

/**
 * Takes what the agent's list says about a batch of its containers: each one's last activity
 * into its record (the later of the two wins, activity.ts) and its dev server's health; answers
 * the ids no record knows (or only a destroyed one), orphans for the reconcile action to remove.
 */
export const noteListed = internalMutation({
  args: {
    containers: v.array(
      v.object({ agentId: v.string(), lastActivityAt: v.optional(v.number()), health: v.optional(healthValidator) }),
    ),
  },
  returns: v.array(v.string()),
  handler: async (ctx, { containers }) => {
    const orphans: string[] = [];
    for (const { agentId, lastActivityAt, health } of containers) {
      const known = await ctx.db
        .query("containers")
        .withIndex("by_agentId", (q) => q.eq("agentId", agentId))
        .first();
      if (!known || known.status === "destroyed") orphans.push(agentId);
      else {
        if (lastActivityAt !== undefined) await noteActivity(ctx, known, lastActivityAt);
        // Written only when it changed: most reconciles change nothing.
        if (health !== undefined && health !== known.health) await ctx.db.patch("containers", known._id, { health });
      }
    }
    return orphans;
  },
});

/**
 * Marks records whose container is missing from the agent's list (taken at `listedAt`) as gone,
 * a page per run, continuing until every record the host should have was seen. A record that
 * changed after the list was taken is left for the next reconcile: the list cannot speak for it.
 */
export const reconcileWithHost = internalMutation({
  args: { agentIds: v.array(v.string()), listedAt: v.number(), position: v.optional(walkPositionValidator) },
  returns: v.number(),
  handler: async (ctx, { agentIds, listedAt, position }): Promise<number> => {
    const { page, next } = await pageOfStatuses(ctx, ON_HOST, position);
    const listed = new Set(agentIds);
    let marked = 0;
    for (const c of page) {
      if (listed.has(c.agentId) || c.statusChangedAt > listedAt || c.error === GONE_ERROR) continue;
      if (await moveTo(ctx, c, "error", { error: GONE_ERROR, hostPort: undefined, url: undefined }, GONE_ERROR))
        marked++;
    }
    if (next)
      await ctx.scheduler.runAfter(0, internal.maintenance.reconcileWithHost, { agentIds, listedAt, position: next });
    return marked;
  },
});

/** Deletes a batch of expired rows; a full batch means more may be left, so it runs again. */
async function deleteBatch<T extends "seenWebhooks" | "invitations" | "installLinkStates">(
  ctx: MutationCtx,
  table: T,
  rows: Doc<T>[],
  again: () => Promise<unknown>,
): Promise<number> {
  for (const row of rows) await ctx.db.delete(table, row._id);
  if (rows.length === CLEANUP_BATCH) await again();
  return rows.length;
}

/** Forgets webhook ids older than the replay window, every one of them, a batch per run. */
export const forgetOldWebhooks = internalMutation({
  args: {},
  returns: v.number(),
  handler: async (ctx): Promise<number> => {
    const old = await ctx.db
      .query("seenWebhooks")
      .withIndex("by_receivedAt", (q) => q.lt("receivedAt", Date.now() - SEEN_WEBHOOK_RETENTION_MS))
      .take(CLEANUP_BATCH);
    return deleteBatch(ctx, "seenWebhooks", old, () =>
      ctx.scheduler.runAfter(0, internal.maintenance.forgetOldWebhooks, {}),
    );
  },
});

/**
 * Deletes invitations expired (or accepted: accepting expires them) longer ago than
 * INVITATION_RETENTION_MS, a batch per run; until then they answer "expired" or "used".
 */
export const forgetOldInvitations = internalMutation({
  args: {},
  returns: v.number(),
  handler: async (ctx): Promise<number> => {
    const old = await ctx.db
      .query("invitations")
      .withIndex("by_expiresAt", (q) => q.lt("expiresAt", Date.now() - INVITATION_RETENTION_MS))
      .take(CLEANUP_BATCH);
    return deleteBatch(ctx, "invitations", old, () =>
      ctx.scheduler.runAfter(0, internal.maintenance.forgetOldInvitations, {}),
    );
  },
});

/** Deletes install-link states past their expiry, a batch per run; used ones are already gone. */
export const forgetExpiredLinkStates = internalMutation({
  args: {},
  returns: v.number(),
  handler: async (ctx): Promise<number> => {
    const old = await ctx.db
      .query("installLinkStates")
      .withIndex("by_expiresAt", (q) => q.lt("expiresAt", Date.now()))
      .take(CLEANUP_BATCH);
    return deleteBatch(ctx, "installLinkStates", old, () =>
      ctx.scheduler.runAfter(0, internal.maintenance.forgetExpiredLinkStates, {}),
    );
  },
});
