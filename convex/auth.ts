/**
 * Sign-in for standalone use: Convex Auth with email + password. A host app with its own
 * identity provider replaces this and lists its provider in auth.config.ts; everything else
 * only reads `ctx.auth` through users.ts.
 */
import { Password } from "@convex-dev/auth/providers/Password";
import { convexAuth } from "@convex-dev/auth/server";

export const { auth, signIn, signOut, store, isAuthenticated } = convexAuth({
  providers: [Password],
});
