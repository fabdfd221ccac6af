/** Receiving the agent's callbacks: once per webhook id, then through the transition table. */
import { v } from "convex/values";
import { SetupCallback } from "@artie/host-agent/contract";
import type { Doc } from "./_generated/dataModel";
import { internalMutation, type MutationCtx } from "./_generated/server";
import { moveTo } from "./records";
import { canMove, type Status } from "./statuses";

export const receive = internalMutation({
  args: { webhookId: v.string(), body: v.string() },
  returns: v.union(
    v.literal("applied"),
    v.literal("stale"),
    v.literal("unknown"),
    v.literal("duplicate"),
    v.literal("invalid"),
  ),
  handler: async (ctx, { webhookId, body }) => {
    const seen = await ctx.db
      .query("seenWebhooks")
      .withIndex("by_webhookId", (q) => q.eq("webhookId", webhookId))
      .unique();
    if (seen) return "duplicate";
    await ctx.db.insert("seenWebhooks", { webhookId, receivedAt: Date.now() });
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return "invalid";
    }
    const callback = SetupCallback.safeParse(parsed);
    if (!callback.success) return "invalid";
    return applySetupCallback(ctx, callback.data);
  },
});

/** Applies one verified setup callback; stale (older sequence) or backwards ones are dropped. */
export async function applySetupCallback(
  ctx: MutationCtx,
  cb: SetupCallback,
): Promise<"applied" | "stale" | "unknown"> {
  const c = await ctx.db
    .query("containers")
    .withIndex("by_agentId", (q) => q.eq("agentId", cb.containerId))
    .unique();
  if (!c) return "unknown";
  if (cb.sequence <= c.lastSequence || !canMove(c.status, cb.phase)) return "stale";
  const patch: Partial<Doc<"containers">> = { lastSequence: cb.sequence };
  if (cb.phase !== "error" && cb.phase !== c.status) patch.phaseStartedAt = { ...c.phaseStartedAt, [cb.phase]: cb.at };
  const previous = previousPhase(c.status);
  if (previous && previous !== cb.phase && cb.previousPhaseMs !== null) {
    patch.phaseDurations = { ...c.phaseDurations, [previous]: cb.previousPhaseMs };
  }
  if (cb.hostPort) patch.hostPort = cb.hostPort;
  if (cb.url) patch.url = cb.url;
  if (cb.error) patch.error = cb.error;
  await moveTo(ctx, c, cb.phase, patch, cb.error);
  // Only a build announces its duration; a setup that merely used the image leaves the record as is.
  if (cb.mainImage?.buildMs !== undefined && c.repoId) {
    const { tag, commit, buildMs } = cb.mainImage;
    await ctx.db.patch("repos", c.repoId, { mainImage: { tag, commit, builtAt: cb.at, buildMs } });
  }
  return "applied";
}

function previousPhase(status: Status): "cloning" | "installing" | "starting" | "ready" | null {
  return status === "cloning" || status === "installing" || status === "starting" || status === "ready" ? status : null;
}
