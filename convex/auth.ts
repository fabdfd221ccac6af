/**
 * Sign-in for standalone use: Convex Auth with email + password. A new user gets their personal
 * team at once (afterUserCreatedOrUpdated); users of another provider get it from the
 * idempotent teams.ensurePersonal the dashboard calls, or from their first team-scoped mutation.
 * A host app with its own identity provider replaces this and lists its provider in
 * auth.config.ts; everything else only reads `ctx.auth` through users.ts.
 */
import { Password } from "@convex-dev/auth/providers/Password";
import { convexAuth } from "@convex-dev/auth/server";
import type { MutationCtx } from "./_generated/server";
import { ensurePersonalTeam } from "./membership";
import { normalizeEmail } from "./users";

export const { auth, signIn, signOut, store, isAuthenticated } = convexAuth({
  providers: [Password],
  callbacks: {
    async afterUserCreatedOrUpdated(genericCtx, { userId, existingUserId }) {
      if (existingUserId !== null) return;
      // Convex Auth types its ctx for any data model; this app's is the schema's.
      const ctx = genericCtx as unknown as MutationCtx;
      const user = await ctx.db.get("users", userId);
      const email = normalizeEmail(user?.email);
      await ensurePersonalTeam(ctx, email ? { key: userId, email } : { key: userId });
    },
  },
});
