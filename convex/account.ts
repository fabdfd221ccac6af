/**
 * The signed-in user's own account as the dashboard needs it: their email and whether they are
 * a host admin (ADMIN_EMAILS), so the pool page shows the config form only to those who may use
 * it. Teams are in teams.ts.
 */
import { v } from "convex/values";
import { isHostAdmin, userQuery } from "./access";

export const me = userQuery({
  args: {},
  returns: v.object({ email: v.union(v.string(), v.null()), isHostAdmin: v.boolean() }),
  handler: (ctx) => Promise.resolve({ email: ctx.user.email ?? null, isHostAdmin: isHostAdmin(ctx.user) }),
});
