/**
 * Bearer-token authentication for `/api/*`.
 *
 * Several secrets are accepted at once so a rotation never has a moment where the control plane
 * and the agent disagree. Comparison is constant-time: both sides are hashed to equal-length
 * digests and every secret is checked, so neither length nor position leaks through timing.
 * Browsers cannot set headers on EventSource or WebSocket, so routes that stream may also take
 * `?token=`, preferably a short-lived stream token (stream-token.ts) scoped to one container and
 * one stream; everywhere else a query token is ignored (it would end up in access logs).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { AppError } from "./errors.js";
import { verifyStreamToken } from "./stream-token.js";

const digest = (value: string) => createHash("sha256").update(value).digest();

export function secretMatches(candidate: string, secrets: readonly Buffer[]): boolean {
  const candidateDigest = digest(candidate);
  let matched = false;
  for (const secret of secrets) matched = timingSafeEqual(candidateDigest, secret) || matched;
  return matched;
}

function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(.+)$/i);
  return match?.[1]?.trim();
}

/**
 * `streamPaths` matches the streaming routes (capture 1: container id, 2: `logs`|`terminal`):
 * there `?token=` is accepted, as an API secret or as a stream token for exactly that container
 * and scope (when a STREAM_TOKEN_KEY is configured).
 */
export function requireApiSecret(
  secrets: readonly string[],
  streamPaths: RegExp,
  streamTokenKey: string | undefined,
): MiddlewareHandler {
  const secretDigests = secrets.map(digest);
  return async (c, next) => {
    const header = bearerToken(c.req.header("authorization"));
    if (header !== undefined && secretMatches(header, secretDigests)) return next();
    const stream = c.req.path.match(streamPaths);
    const query = stream && header === undefined ? c.req.query("token") : undefined;
    if (
      query !== undefined &&
      (secretMatches(query, secretDigests) || (await isStreamToken(query, stream!, streamTokenKey)))
    ) {
      return next();
    }
    throw new AppError("unauthorized", "Missing or invalid API token");
  };
}

async function isStreamToken(token: string, path: RegExpMatchArray, key: string | undefined): Promise<boolean> {
  const [, containerId, scope] = path;
  if (!key || !containerId || (scope !== "logs" && scope !== "terminal")) return false;
  return verifyStreamToken(key, token, { containerId, scope });
}
