/** Receiving the agent's callbacks: once per webhook id, then through the transition table. */
import { v } from "convex/values";
import { SetupCallback } from "@artie/host-agent/contract";
import { internalMutation } from "./_generated/server";
import { applySetupCallback } from "./containers";

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
