/**
 * Per-user limits on environment requests, so one user cannot empty the pool for everyone:
 * at most MAX_ENVIRONMENTS_PER_USER live environments (deployment env, default in limits.ts)
 * and a request rate (REQUEST_RATE, with @convex-dev/rate-limiter, keyed by user). Both answer
 * with a ConvexError a person can act on. The same limiter also paces github.installState per user
 * (INSTALL_STATE_RATE): every call of it asks GitHub. Host-wide capacity is the pool's business (pool.ts).
 */
import { RateLimiter } from "@convex-dev/rate-limiter";
import type { ComponentApi } from "@convex-dev/rate-limiter/_generated/component.js";
import { componentsGeneric } from "convex/server";
import { env, type ActionCtx, type MutationCtx, type QueryCtx } from "./_generated/server";
import { fail } from "./errors";
import { INSTALL_STATE_RATE, MAX_ENVIRONMENTS_PER_USER_DEFAULT, REQUEST_RATE } from "./limits";
import { LIVE_STATUSES, type Status } from "./statuses";

/**
 * The component as convex.config.ts registers it. Offline codegen (npm run convex:codegen) does
 * not write `components` into _generated/api (that needs a deployment to analyse the app), so
 * the reference is made here the way _generated/api.js makes it, typed by the component's API.
 */
const rateLimiterComponent = (componentsGeneric() as unknown as { rateLimiter: ComponentApi<"rateLimiter"> })
  .rateLimiter;
const rateLimiter = new RateLimiter(rateLimiterComponent, {
  requestEnvironment: REQUEST_RATE,
  installState: INSTALL_STATE_RATE,
});

/** A request's own record may still be `creating`; that is live too. */
const COUNTED: readonly Status[] = ["creating", ...LIVE_STATUSES];

export function maxEnvironmentsPerUser(): number {
  const raw = env.MAX_ENVIRONMENTS_PER_USER?.trim();
  if (!raw) return MAX_ENVIRONMENTS_PER_USER_DEFAULT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    fail("not_configured", `MAX_ENVIRONMENTS_PER_USER must be a whole number, not "${raw}"`);
  return n;
}

/** The user's live environments, counted up to `cap`. */
export async function liveEnvironments(ctx: QueryCtx, userKey: string, cap: number): Promise<number> {
  let total = 0;
  for (const status of COUNTED) {
    if (total >= cap) break;
    const rows = await ctx.db
      .query("containers")
      .withIndex("by_requestedBy_and_status", (q) => q.eq("requestedBy", userKey).eq("status", status))
      .take(cap - total);
    total += rows.length;
  }
  return total;
}

/** Refuses a request over the user's quota (`quota_exceeded`) or rate (`rate_limited`). */
export async function checkRequestQuota(ctx: MutationCtx, userKey: string): Promise<void> {
  const max = maxEnvironmentsPerUser();
  if ((await liveEnvironments(ctx, userKey, max)) >= max) {
    fail(
      "quota_exceeded",
      `You have ${max} live environments, the most one user may have; destroy one to request another`,
    );
  }
  const { ok, retryAfter } = await rateLimiter.limit(ctx, "requestEnvironment", { key: userKey });
  if (!ok) {
    const seconds = Math.ceil(retryAfter / 1000);
    fail("rate_limited", `Too many environment requests; try again in ${seconds} s`, { retryAfterMs: retryAfter });
  }
}

/** Refuses a github.installState call over the user's rate (`rate_limited`): each asks GitHub. */
export async function checkInstallStateRate(ctx: ActionCtx, userKey: string): Promise<void> {
  const { ok, retryAfter } = await rateLimiter.limit(ctx, "installState", { key: userKey });
  if (!ok) {
    const seconds = Math.ceil(retryAfter / 1000);
    fail("rate_limited", `Too many GitHub App status checks; try again in ${seconds} s`, { retryAfterMs: retryAfter });
  }
}
