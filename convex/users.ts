/**
 * Who is calling: a user's key and email, from `ctx.auth`. The key is
 * - for Convex Auth (a token whose issuer is this deployment's CONVEX_SITE_URL): the `users`
 *   document's id (`getAuthUserId`; its subject is "<userId>|<sessionId>", and a user keeps
 *   their teams across sessions);
 * - for any other provider: the whole `tokenIdentifier` (issuer and subject), so `auth0|1` and
 *   `auth0|2` are two users, and two issuers never share a subject.
 * Email comes from the `users` document (Convex Auth) or the token's `email` claim. Access rules
 * live in access.ts; nothing here takes a user id as an argument.
 */
import { getAuthUserId } from "@convex-dev/auth/server";
import type { UserIdentity } from "convex/server";
import { v } from "convex/values";
import { env, internalQuery, type QueryCtx } from "./_generated/server";

/**
 * `emailVerified`: the provider vouches the address is the user's (Convex Auth records a
 * verification time; OIDC providers send `email_verified`). Password sign-up verifies nothing,
 * so an unverified address must never grant anything on its own (see access.ts, host admins).
 */
export type User = { key: string; email?: string; emailVerified: boolean };

type AuthCtx = { auth: { getUserIdentity(): Promise<UserIdentity | null> } };

function isConvexAuth(identity: UserIdentity): boolean {
  const site = env.CONVEX_SITE_URL?.replace(/\/$/, "");
  return site !== undefined && site !== "" && identity.issuer.replace(/\/$/, "") === site;
}

/** The caller's key alone (no database needed, so also in actions), or null when signed out. */
export async function currentUserKey(ctx: AuthCtx): Promise<string | null> {
  const identity = await ctx.auth.getUserIdentity();
  if (!identity) return null;
  if (!isConvexAuth(identity)) return identity.tokenIdentifier;
  return getAuthUserId(ctx);
}

/** The caller, with their email when one is known, or null when signed out. */
export async function currentUser(ctx: QueryCtx): Promise<User | null> {
  const identity = await ctx.auth.getUserIdentity();
  if (!identity) return null;
  if (!isConvexAuth(identity))
    return withEmail(identity.tokenIdentifier, identity.email, identity.emailVerified === true);
  const key = await getAuthUserId(ctx);
  if (!key) return null;
  const id = ctx.db.normalizeId("users", key);
  const doc = id ? await ctx.db.get("users", id) : null;
  return withEmail(key, doc?.email, doc?.emailVerificationTime !== undefined);
}

function withEmail(key: string, email: string | undefined, emailVerified: boolean): User {
  const normalized = normalizeEmail(email);
  return normalized ? { key, email: normalized, emailVerified } : { key, emailVerified: false };
}

/** Emails compare case-insensitively and without surrounding blanks. */
export function normalizeEmail(email: string | undefined): string | undefined {
  const trimmed = email?.trim().toLowerCase();
  return trimmed ? trimmed : undefined;
}

/** The caller for actions, which have no database of their own. */
export const current = internalQuery({
  args: {},
  returns: v.union(v.null(), v.object({ key: v.string(), email: v.optional(v.string()), emailVerified: v.boolean() })),
  handler: async (ctx) => currentUser(ctx),
});
