/**
 * Teams as their members see them: my teams (with my role, and which one is active), switching
 * the active team, making a new team, the members list, changing a role, and removing a member
 * or leaving.
 * Invitations are in invitations.ts; the membership records in membership.ts.
 */
import { v } from "convex/values";
import type { Id } from "./_generated/dataModel";
import type { QueryCtx } from "./_generated/server";
import { requireMember, teamQuery, userMutation, userQuery } from "./access";
import { fail } from "./errors";
import { MAX_MEMBERS_PER_TEAM, MAX_TEAMS_PER_USER, TEAM_NAME_MAX } from "./limits";
import { createTeam, ensurePersonalTeam, findProfile, roleAtLeast, setActiveTeam } from "./membership";
import { roleValidator } from "./schema";

/** The caller's teams, with their role; `active` marks the one team-scoped functions use. */
export const mine = userQuery({
  args: {},
  returns: v.array(
    v.object({
      teamId: v.id("teams"),
      name: v.string(),
      personal: v.boolean(),
      role: roleValidator,
      active: v.boolean(),
    }),
  ),
  handler: async (ctx) => {
    const memberships = await ctx.db
      .query("memberships")
      .withIndex("by_userKey_and_teamId", (q) => q.eq("userKey", ctx.user.key))
      .take(MAX_TEAMS_PER_USER);
    const profile = await findProfile(ctx, ctx.user.key);
    // The active team is the profile's, or (as in access.ts) the first membership when it is gone.
    const activeId = memberships.find((m) => m.teamId === profile?.activeTeamId)?.teamId ?? memberships[0]?.teamId;
    const teams = [];
    for (const m of memberships) {
      const team = await ctx.db.get("teams", m.teamId);
      if (team)
        teams.push({
          teamId: m.teamId,
          name: team.name,
          personal: team.personal,
          role: m.role,
          active: m.teamId === activeId,
        });
    }
    return teams;
  },
});

/** Makes the caller's personal team if they have none (idempotent; for non-Convex-Auth sign-ins). */
export const ensurePersonal = userMutation({
  args: {},
  returns: v.id("teams"),
  handler: async (ctx) => ensurePersonalTeam(ctx, ctx.user),
});

/** Makes `teamId` the caller's active team; they must be a member. */
export const switchTo = userMutation({
  args: { teamId: v.id("teams") },
  handler: async (ctx, { teamId }) => {
    await requireMember(ctx, teamId);
    await setActiveTeam(ctx, ctx.user.key, teamId);
  },
});

/** A new team with the caller as its owner, made the active one. */
export const create = userMutation({
  args: { name: v.string() },
  returns: v.id("teams"),
  handler: async (ctx, args): Promise<Id<"teams">> => {
    const name = args.name.trim();
    if (name.length === 0 || name.length > TEAM_NAME_MAX)
      fail("invalid_argument", `A team name is 1 to ${TEAM_NAME_MAX} characters`);
    const count = await ctx.db
      .query("memberships")
      .withIndex("by_userKey_and_teamId", (q) => q.eq("userKey", ctx.user.key))
      .take(MAX_TEAMS_PER_USER);
    if (count.length >= MAX_TEAMS_PER_USER)
      fail("quota_exceeded", `You are in ${MAX_TEAMS_PER_USER} teams, the most one user may be in`);
    await ensurePersonalTeam(ctx, ctx.user);
    const teamId = await createTeam(ctx, ctx.user, { name, personal: false });
    await setActiveTeam(ctx, ctx.user.key, teamId);
    return teamId;
  },
});

/** The active team's members (bounded). */
export const members = teamQuery({
  args: {},
  returns: v.array(
    v.object({
      membershipId: v.id("memberships"),
      email: v.optional(v.string()),
      role: roleValidator,
      joinedAt: v.number(),
      you: v.boolean(),
    }),
  ),
  handler: async (ctx) => {
    const team = ctx.team;
    if (!team) return [];
    const rows = await ctx.db
      .query("memberships")
      .withIndex("by_teamId_and_userKey", (q) => q.eq("teamId", team.id))
      .take(MAX_MEMBERS_PER_TEAM);
    return rows.map((m) => ({
      membershipId: m._id,
      ...(m.email ? { email: m.email } : {}),
      role: m.role,
      joinedAt: m.joinedAt,
      you: m.userKey === ctx.user.key,
    }));
  },
});

/**
 * Removes a member from their team: an admin removes members and admins, only an owner removes
 * an owner, and anyone may remove themselves (leave). The last owner cannot go: a team always
 * has someone who can manage it.
 */
export const removeMember = userMutation({
  args: { membershipId: v.id("memberships") },
  handler: async (ctx, { membershipId }) => {
    const target = await ctx.db.get("memberships", membershipId);
    if (!target) fail("not_found", "No such member");
    const self = target.userKey === ctx.user.key;
    const myRole = await requireMember(ctx, target.teamId, self ? "member" : "admin", "No such member");
    if (target.role === "owner") {
      if (!roleAtLeast(myRole, "owner")) fail("forbidden", "Only an owner can remove an owner");
      await requireAnotherOwner(ctx, target.teamId, "The last owner cannot leave; make someone else an owner first");
    }
    await ctx.db.delete("memberships", membershipId);
  },
});

/**
 * Changes a member's role: admins set admin or member on non-owners; only an owner makes or
 * unmakes an owner, and the last owner stays one.
 */
export const setRole = userMutation({
  args: { membershipId: v.id("memberships"), role: roleValidator },
  handler: async (ctx, { membershipId, role }) => {
    const target = await ctx.db.get("memberships", membershipId);
    if (!target) fail("not_found", "No such member");
    const myRole = await requireMember(ctx, target.teamId, "admin", "No such member");
    if ((target.role === "owner" || role === "owner") && !roleAtLeast(myRole, "owner"))
      fail("forbidden", "Only an owner can make or unmake an owner");
    if (target.role === "owner" && role !== "owner")
      await requireAnotherOwner(ctx, target.teamId, "A team needs an owner; make someone else an owner first");
    await ctx.db.patch("memberships", membershipId, { role });
  },
});

async function requireAnotherOwner(ctx: QueryCtx, teamId: Id<"teams">, message: string): Promise<void> {
  const members = await ctx.db
    .query("memberships")
    .withIndex("by_teamId_and_userKey", (q) => q.eq("teamId", teamId))
    .take(MAX_MEMBERS_PER_TEAM);
  if (members.filter((m) => m.role === "owner").length <= 1) fail("conflict", message);
}
