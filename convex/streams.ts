/**
 * What a browser needs to open an environment's logs or terminal on the agent directly: the
 * URL and a short-lived token scoped to that one container and that one stream, minted only for
 * a member of the environment's team. The browser never holds DOCKER_API_SECRET. Opening either
 * is a use of the environment (activity.ts): someone looking at it keeps it from idling out.
 */
import { v } from "convex/values";
import { mintStreamToken, STREAM_TOKEN_SCOPES } from "@artie/host-agent/stream-token";
import { api, internal } from "./_generated/api";
import type { Doc } from "./_generated/dataModel";
import { env } from "./_generated/server";
import { userAction } from "./access";
import { fail } from "./errors";
import { STREAM_TOKEN_TTL_MS } from "./limits";

export const open = userAction({
  args: { containerId: v.id("containers"), scope: v.union(...STREAM_TOKEN_SCOPES.map((s) => v.literal(s))) },
  returns: v.object({ url: v.string(), expiresAt: v.number() }),
  handler: async (ctx, { containerId, scope }): Promise<{ url: string; expiresAt: number }> => {
    // The membership check is containers.detail's (null for another team's environment).
    // Typed by hand: inferring it through `api` would make this module's types circular.
    const record: Doc<"containers"> | null = await ctx.runQuery(api.containers.detail, { containerId });
    if (!record || record.status === "destroyed") fail("not_found", "No such environment");
    // A stopped container runs nothing to attach a terminal to; its logs can still be read.
    if (record.status === "stopped" && scope === "terminal")
      fail("conflict", "The environment is stopped; start it to open a terminal");
    const key = env.DOCKER_STREAM_TOKEN_KEY;
    const base = (env.DOCKER_PUBLIC_URL ?? env.DOCKER_HOST_URL)?.replace(/\/$/, "");
    if (!key || !base)
      fail(
        "not_configured",
        "Set DOCKER_STREAM_TOKEN_KEY and DOCKER_HOST_URL (or DOCKER_PUBLIC_URL) on the deployment",
      );
    const expiresAt = Date.now() + STREAM_TOKEN_TTL_MS;
    const token = await mintStreamToken(key, { containerId: record.agentId, scope, expiresAt });
    await ctx.runMutation(internal.activity.noteUse, { containerId });
    const agentId = encodeURIComponent(record.agentId);
    const http: string = `${base}/api/containers/${agentId}/${scope}?token=${encodeURIComponent(token)}`;
    return { url: scope === "terminal" ? http.replace(/^http/, "ws") : http, expiresAt };
  },
});
