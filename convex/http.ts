/**
 * HTTP routes. `POST /docker-status` is the callbackUrl the agent reports setup phases to:
 * verified (signature, time window), deduplicated by webhook id, then applied through the
 * transition table. A duplicate is answered 200 so the agent stops retrying it.
 */
import { httpRouter } from "convex/server";
import { internal } from "./_generated/api";
import { httpAction, env } from "./_generated/server";
import { auth } from "./auth";
import { verifyWebhook } from "./webhooks";

const http = httpRouter();
auth.addHttpRoutes(http);

http.route({
  path: "/docker-status",
  method: "POST",
  handler: httpAction(async (ctx, request) => {
    const secret = env.DOCKER_CALLBACK_SECRET;
    if (!secret) return new Response("DOCKER_CALLBACK_SECRET is not set on this deployment", { status: 500 });
    const body = await request.text();
    const verdict = await verifyWebhook(secret, request.headers, body);
    if (!verdict.ok) return new Response(verdict.reason, { status: verdict.status });
    const result = await ctx.runMutation(internal.callbacks.receive, { webhookId: verdict.webhookId, body });
    return new Response(JSON.stringify({ result }), { status: 200, headers: { "content-type": "application/json" } });
  }),
});

export default http;
