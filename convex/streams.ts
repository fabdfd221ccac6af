/**
 * What a browser needs to open an environment's logs or terminal on the agent directly: the
 * URL and a short-lived token scoped to that one container and that one stream, minted here for
 * the environment's owner only. The browser never holds DOCKER_API_SECRET.
 */
import { v } from "convex/values";
import { mintStreamToken, STREAM_TOKEN_SCOPES } from "@artie/host-agent/stream-token";
import { internal } from "./_generated/api";
import { env, internalQuery } from "./_generated/server";
import { fail } from "./errors";
import { STREAM_TOKEN_TTL_MS } from "./limits";
import { userAction } from "./users";

/** The agent id of a container the user owns, or null. */
export const ownedAgentId = internalQuery({
  args: { containerId: v.id("containers"), userId: v.string() },
  returns: v.union(v.string(), v.null()),
  handler: async (ctx, { containerId, userId }) => {
    const c = await ctx.db.get("containers", containerId);
    return c && c.ownerId === userId && c.status !== "destroyed" ? c.agentId : null;
  },
});

export const open = userAction({
  args: { containerId: v.id("containers"), scope: v.union(...STREAM_TOKEN_SCOPES.map((s) => v.literal(s))) },
  returns: v.object({ url: v.string(), expiresAt: v.number() }),
  handler: async (ctx, { containerId, scope }): Promise<{ url: string; expiresAt: number }> => {
    const agentId: string | null = await ctx.runQuery(internal.streams.ownedAgentId, {
      containerId,
      userId: ctx.userId,
    });
    if (!agentId) fail("not_found", "No such environment");
    const key = env.DOCKER_STREAM_TOKEN_KEY;
    const base = (env.DOCKER_PUBLIC_URL ?? env.DOCKER_HOST_URL)?.replace(/\/$/, "");
    if (!key || !base)
      fail(
        "invalid_argument",
        "Set DOCKER_STREAM_TOKEN_KEY and DOCKER_HOST_URL (or DOCKER_PUBLIC_URL) on the deployment",
      );
    const expiresAt = Date.now() + STREAM_TOKEN_TTL_MS;
    const token = await mintStreamToken(key, { containerId: agentId, scope, expiresAt });
    const http: string = `${base}/api/containers/${encodeURIComponent(agentId)}/${scope}?token=${encodeURIComponent(token)}`;
    return { url: scope === "terminal" ? http.replace(/^http/, "ws") : http, expiresAt };
  },
});
