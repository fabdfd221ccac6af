/** Which deployment `npx convex` is pointed at, as far as this system needs to know it. */
import { existsSync, readFileSync } from "node:fs";
import { parseEnv } from "node:util";

/** A file of NAME=value lines, or nothing when it is not there. */
export function readEnvFile(file: string): Record<string, string | undefined> {
  return existsSync(file) ? parseEnv(readFileSync(file, "utf8")) : {};
}

/**
 * Whether the deployment runs on this machine and so reaches the agent on loopback: a local or
 * anonymous deployment (`npx convex dev`'s own backend), or a self-hosted one on a loopback URL.
 * A cloud deployment, or a backend elsewhere, must be told the agent's URL.
 */
export function deploymentIsOnThisMachine(env: Record<string, string | undefined>): boolean {
  if (/^(local|anonymous):/.test(env.CONVEX_DEPLOYMENT ?? "")) return true;
  const selfHosted = env.CONVEX_SELF_HOSTED_URL;
  if (!selfHosted) return false;
  try {
    return ["127.0.0.1", "localhost", "[::1]"].includes(new URL(selfHosted).hostname);
  } catch {
    return false;
  }
}
