/**
 * The background jobs on container records (crons.ts runs them): the watchdog that fails a step
 * that never reported back, the idle reaper (pooled containers exempt), reconciling records
 * with the agent's list, forgetting old webhook ids and expired install-link states. Each run is a bounded batch.
 */
import { v } from "convex/values";
import { internal } from "./_generated/api";
import type { Doc } from "./_generated/dataModel";
import { internalMutation } from "./_generated/server";
import { CRON_BATCH, INVITATION_RETENTION_MS, SEEN_WEBHOOK_RETENTION_MS } from "./limits";
import { readConfig } from "./pool";
import { moveTo } from "./records";
import { findSettings } from "./repoSettings";
import { statusValidator, type Status } from "./statuses";

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

/**
 * Destroys environments idle past their limit (the repo settings' idleLimitMinutes, else the
 * pool config's; pooled ones are exempt), a batch at a time.
 */
export const reapIdle = internalMutation({
  args: {},
  returns: v.number(),
  handler: async (ctx) => {
    const hostLimit = (await readConfig(ctx)).idleLimitMinutes;
    const limits = new Map<string, number>();
    const limitOf = async (c: Doc<"containers">) => {
      if (!c.repoId) return hostLimit;
      if (!limits.has(c.repoId))
        limits.set(c.repoId, (await findSettings(ctx, c.repoId))?.idleLimitMinutes ?? hostLimit);
      return limits.get(c.repoId)!;
    };
    let reaped = 0;
    for (const status of ["ready", "error"] as const) {
      const batch = await ctx.db
        .query("containers")
        .withIndex("by_status_and_createdAt", (q) => q.eq("status", status))
        .take(CRON_BATCH);
      for (const c of batch) {
        if (c.lastActivityAt >= Date.now() - (await limitOf(c)) * 60_000) continue;
        await moveTo(ctx, c, "destroying", {}, "idle too long");
        await ctx.scheduler.runAfter(0, internal.hostAgent.destroy, { containerId: c._id });
        reaped++;
      }
    }
    return reaped;
  },
});

/** Records the agent should have (created on the host, not yet destroyed), a batch per status. */
const ON_HOST: readonly Status[] = ["pooled", "assigned", "cloning", "installing", "starting", "ready", "error"];

/**
 * Compares records with the agent's list: records whose container vanished from the host are
 * marked; answers which listed agent ids no record knows (orphans, for the action to remove).
 */
export const reconcileWithHost = internalMutation({
  args: { agentIds: v.array(v.string()) },
  returns: v.array(v.string()),
  handler: async (ctx, { agentIds }) => {
    const listed = new Set(agentIds);
    for (const status of ON_HOST) {
      const batch = await ctx.db
        .query("containers")
        .withIndex("by_status_and_createdAt", (q) => q.eq("status", status))
        .take(CRON_BATCH);
      for (const c of batch) {
        if (listed.has(c.agentId)) continue;
        const error =
          "The container is gone from the host (removed outside this system or lost). Request a new environment.";
        if (c.error === error) continue;
        await moveTo(ctx, c, "error", { error, hostPort: undefined, url: undefined }, error);
      }
    }
    const orphans: string[] = [];
    for (const agentId of agentIds) {
      const known = await ctx.db
        .query("containers")
        .withIndex("by_agentId", (q) => q.eq("agentId", agentId))
        .first();
      if (!known || known.status === "destroyed") orphans.push(agentId);
    }
    return orphans;
  },
});

/** Forgets webhook ids older than the replay window (bounded batch). */
export const forgetOldWebhooks = internalMutation({
  args: {},
  handler: async (ctx) => {
    const old = await ctx.db
      .query("seenWebhooks")
      .withIndex("by_receivedAt", (q) => q.lt("receivedAt", Date.now() - SEEN_WEBHOOK_RETENTION_MS))
      .take(CRON_BATCH * 10);
    for (const w of old) await ctx.db.delete("seenWebhooks", w._id);
  },
});

/**
 * Deletes invitations expired (or accepted: accepting expires them) longer ago than
 * INVITATION_RETENTION_MS, a bounded batch per run; until then they answer "expired" or "used".
 */
export const forgetOldInvitations = internalMutation({
  args: {},
  handler: async (ctx) => {
    const old = await ctx.db
      .query("invitations")
      .withIndex("by_expiresAt", (q) => q.lt("expiresAt", Date.now() - INVITATION_RETENTION_MS))
      .take(CRON_BATCH * 10);
    for (const i of old) await ctx.db.delete("invitations", i._id);
  },
});

/** Deletes install-link states past their expiry (bounded batch); used ones are already gone. */
export const forgetExpiredLinkStates = internalMutation({
  args: {},
  handler: async (ctx) => {
    const old = await ctx.db
      .query("installLinkStates")
      .withIndex("by_expiresAt", (q) => q.lt("expiresAt", Date.now()))
      .take(CRON_BATCH * 10);
    for (const s of old) await ctx.db.delete("installLinkStates", s._id);
  },
});
