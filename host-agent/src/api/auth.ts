/**
 * Bearer-token authentication for `/api/*`.
 *
 * Several secrets are accepted at once so a rotation never has a moment where the control plane
 * and the agent disagree. Comparison is constant-time: both sides are hashed to equal-length
 * digests and every secret is checked, so neither length nor position leaks through timing.
 * Browsers cannot set headers on EventSource or WebSocket, so routes that stream may also take
 * `?token=`; everywhere else a query token is ignored (it would end up in access logs).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { AppError } from "./errors.js";

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

/** `queryTokenPaths` names the streaming routes where `?token=` is accepted. */
export function requireApiSecret(secrets: readonly string[], queryTokenPaths: RegExp): MiddlewareHandler {
  const secretDigests = secrets.map(digest);
  return async (c, next) => {
    const queryToken = queryTokenPaths.test(c.req.path) ? c.req.query("token") : undefined;
    const token = bearerToken(c.req.header("authorization")) ?? queryToken;
    if (!token || !secretMatches(token, secretDigests)) {
      throw new AppError("unauthorized", "Missing or invalid API token");
    }
    await next();
  };
}
