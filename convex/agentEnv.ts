/** The deployment's settings for reaching the host agent, read and checked in one place. */
import { env } from "./_generated/server";

export type AgentEnv = { url: string; apiSecret: string; callbackSecret: string; siteUrl: string };

export function readAgentEnv(): AgentEnv {
  const missing = ["DOCKER_HOST_URL", "DOCKER_API_SECRET", "DOCKER_CALLBACK_SECRET", "CONVEX_SITE_URL"].filter(
    (name) => !env[name],
  );
  if (missing.length > 0) {
    throw new Error(`Set ${missing.join(", ")} in the Convex deployment's environment (npx convex env set NAME value)`);
  }
  return {
    url: env.DOCKER_HOST_URL!.replace(/\/$/, ""),
    apiSecret: env.DOCKER_API_SECRET!,
    callbackSecret: env.DOCKER_CALLBACK_SECRET!,
    siteUrl: env.CONVEX_SITE_URL!.replace(/\/$/, ""),
  };
}
