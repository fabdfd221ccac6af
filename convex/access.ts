/**
 * The one wrapper family every public function goes through, and the one membership check.
 * - `userQuery/userMutation/userAction`: a signed-in caller, `ctx.user = {key, email?}`.
 * - `teamQuery/teamMutation/teamAction`: also the caller's ACTIVE team (profiles, switched by
 *   teams.switchTo), `ctx.team = {id, role}`. A mutation makes the personal team of a user who
 *   has none yet; a query answers `ctx.team = null` (its handler answers empty), and an action
 *   `not_found`.
 * - `requireMember(ctx, teamId, minRole?)`: for record-scoped functions (a repo or container id,
 *   maybe of a team that is not the active one). A non-member gets `not_found` (existence is
 *   never revealed); a member below `minRole` gets `forbidden`. Roles: owner > admin > member.
 * - Host admins (ADMIN_EMAILS) for host-wide settings: `isHostAdmin`, `requireHostAdmin`.
 * Functions never take a user id as an argument.
 */
import { customAction, customCtx, customMutation, customQuery } from "convex-helpers/server/customFunctions";
import { v } from "convex/values";
import { internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { action, env, internalQuery, mutation, query, type ActionCtx, type QueryCtx } from "./_generated/server";
import { fail } from "./errors";
import {
  activeMembership,
  ensurePersonalTeam,
  findMembership,
  roleAtLeast,
  setActiveTeam,
  type Role,
} from "./membership";
import { roleValidator } from "./schema";
import { currentUser, type User } from "./users";

export type ActiveTeam = { id: Id<"teams">; role: Role };

async function requireUser(ctx: QueryCtx): Promise<User> {
  const user = await currentUser(ctx);
  if (!user) fail("unauthenticated", "Sign in first");
  return user;
}

async function requireUserInAction(ctx: ActionCtx): Promise<User> {
  const user: User | null = await ctx.runQuery(internal.users.current, {});
  if (!user) fail("unauthenticated", "Sign in first");
  return user;
}

export const userQuery = customQuery(
  query,
  customCtx(async (ctx) => ({ user: await requireUser(ctx) })),
);
export const userMutation = customMutation(
  mutation,
  customCtx(async (ctx) => ({ user: await requireUser(ctx) })),
);
export const userAction = customAction(
  action,
  customCtx(async (ctx) => ({ user: await requireUserInAction(ctx) })),
);

export const teamQuery = customQuery(
  query,
  customCtx(async (ctx) => {
    const user = await requireUser(ctx);
    const m = await activeMembership(ctx, user.key);
    const team: ActiveTeam | null = m ? { id: m.teamId, role: m.role } : null;
    return { user, team };
  }),
);

export const teamMutation = customMutation(
  mutation,
  customCtx(async (ctx) => {
    const user = await requireUser(ctx);
    let m = await activeMembership(ctx, user.key);
    if (!m) {
      const teamId = await ensurePersonalTeam(ctx, user);
      m = await findMembership(ctx, user.key, teamId);
      if (!m) fail("not_found", "No team"); // a profile whose team is gone: cannot happen
    }
    await setActiveTeam(ctx, user.key, m.teamId);
    const team: ActiveTeam = { id: m.teamId, role: m.role };
    return { user, team };
  }),
);

/** The caller's active team, for teamAction. */
export const activeTeam = internalQuery({
  args: {},
  returns: v.union(v.null(), v.object({ id: v.id("teams"), role: roleValidator })),
  handler: async (ctx): Promise<ActiveTeam | null> => {
    const user = await currentUser(ctx);
    const m = user && (await activeMembership(ctx, user.key));
    return m ? { id: m.teamId, role: m.role } : null;
  },
});

export const teamAction = customAction(
  action,
  customCtx(async (ctx): Promise<{ user: User; team: ActiveTeam }> => {
    const user = await requireUserInAction(ctx);
    const team: ActiveTeam | null = await ctx.runQuery(internal.access.activeTeam, {});
    if (!team) fail("not_found", "You belong to no team yet");
    return { user, team };
  }),
);

/**
 * The caller's role in `teamId`, at least `minRole`: `not_found` (saying `what` is not there)
 * for a non-member, `forbidden` for a member whose role is too low.
 */
export async function requireMember(
  ctx: QueryCtx & { user: User },
  teamId: Id<"teams"> | undefined,
  minRole: Role = "member",
  what = "No such team",
): Promise<Role> {
  const m = teamId ? await findMembership(ctx, ctx.user.key, teamId) : null;
  if (!m) fail("not_found", what);
  if (!roleAtLeast(m.role, minRole)) fail("forbidden", `Only a team ${minRole} can do that`);
  return m.role;
}

/**
 * Host admins change the pool and see the host's health. Either the operator granted the account
 * (`hostAdmins`, written only by an internal mutation, so only someone with the deployment's
 * admin key) or its email is in ADMIN_EMAILS (comma-separated, case-insensitive) AND verified by
 * its provider: sign-up is open, and Password sign-up verifies nothing, so an unverified address
 * in that list would make whoever signs up with it first an admin.
 */
export async function isHostAdmin(ctx: QueryCtx, user: User): Promise<boolean> {
  const granted = await ctx.db
    .query("hostAdmins")
    .withIndex("by_userKey", (q) => q.eq("userKey", user.key))
    .first();
  if (granted) return true;
  if (!user.email || !user.emailVerified) return false;
  const admins = (env.ADMIN_EMAILS ?? "")
    .split(",")
    .map((e) => e.trim().toLowerCase())
    .filter(Boolean);
  return admins.includes(user.email);
}

const NOT_ADMIN =
  "Only a host admin can do that (a verified email in ADMIN_EMAILS, or an account granted with npx convex run account:grantHostAdmin)";

export async function requireHostAdmin(ctx: QueryCtx, user: User): Promise<void> {
  if (!(await isHostAdmin(ctx, user))) fail("forbidden", NOT_ADMIN);
}

/** The same check for actions, which read the database through a query. */
export const callerIsHostAdmin = internalQuery({
  args: {},
  returns: v.boolean(),
  handler: async (ctx) => {
    const user = await currentUser(ctx);
    return user ? isHostAdmin(ctx, user) : false;
  },
});

export async function requireHostAdminInAction(ctx: ActionCtx): Promise<void> {
  if (!(await ctx.runQuery(internal.access.callerIsHostAdmin, {}))) fail("forbidden", NOT_ADMIN);
}
