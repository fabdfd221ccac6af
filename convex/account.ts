/**
 * The signed-in user's own account as the dashboard needs it: their email and whether they are
 * a host admin (access.ts), so the pool page shows the config form only to those who may use
 * it; and the operator's grant of host admin to an account, for deployments whose sign-in
 * verifies no email (Password). Teams are in teams.ts.
 */
import { v } from "convex/values";
import { isHostAdmin, userQuery } from "./access";
import { internalMutation } from "./_generated/server";
import { fail } from "./errors";
import { normalizeEmail } from "./users";

export const me = userQuery({
  args: {},
  returns: v.object({ email: v.union(v.string(), v.null()), isHostAdmin: v.boolean() }),
  handler: async (ctx) => ({ email: ctx.user.email ?? null, isHostAdmin: await isHostAdmin(ctx, ctx.user) }),
});

/**
 * `npx convex run account:grantHostAdmin '{"email": "me@example.com"}'` (an internal function:
 * only the deployment's operator can run it). Finds the Convex Auth account with that email, or
 * takes `userKey` for another provider's user (their whole token identifier).
 */
export const grantHostAdmin = internalMutation({
  args: { email: v.optional(v.string()), userKey: v.optional(v.string()) },
  returns: v.string(),
  handler: async (ctx, args) => {
    let userKey = args.userKey;
    if (!userKey) {
      const email = normalizeEmail(args.email);
      if (!email) fail("invalid_argument", "Give the account's email, or its userKey");
      const account = await ctx.db
        .query("users")
        .withIndex("email", (q) => q.eq("email", email))
        .first();
      if (!account) fail("not_found", `No account signed up with ${email} yet: sign up first, then grant`);
      userKey = account._id;
    }
    const existing = await ctx.db
      .query("hostAdmins")
      .withIndex("by_userKey", (q) => q.eq("userKey", userKey))
      .first();
    if (!existing) await ctx.db.insert("hostAdmins", { userKey, grantedAt: Date.now() });
    return userKey;
  },
});

export const revokeHostAdmin = internalMutation({
  args: { userKey: v.string() },
  handler: async (ctx, { userKey }) => {
    const rows = await ctx.db
      .query("hostAdmins")
      .withIndex("by_userKey", (q) => q.eq("userKey", userKey))
      .take(10);
    for (const row of rows) await ctx.db.delete("hostAdmins", row._id);
  },
});
