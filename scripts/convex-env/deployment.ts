/** Which deployment `npx convex` is pointed at, as far as this system needs to know it. */
import { existsSync, readFileSync } from "node:fs";
import { parseEnv } from "node:util";

/** A file of NAME=value lines, or nothing when it is not there. */
export function readEnvFile(file: string): Record<string, string | undefined> {
  return existsSync(file) ? parseEnv(readFileSync(file, "utf8")) : {};
}

/**
 * Whether the deployment is the CLI's own local backend (`local:` or `anonymous:`), a process on
 * this machine that reaches the agent on loopback. Anything else, a self-hosted backend (usually
 * in a container, where 127.0.0.1 is the container itself) or a cloud one, must be told the
 * agent's URL.
 */
export function deploymentIsLocal(env: Record<string, string | undefined>): boolean {
  return /^(local|anonymous):/.test(env.CONVEX_DEPLOYMENT ?? "");
}
