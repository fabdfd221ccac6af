/**
 * Team records: making a team with its first owner, the personal team every user gets once,
 * reading a user's membership, and the active team kept in `profiles`. Plain helpers for
 * mutations and queries; who may call them is decided in access.ts, teams.ts and invitations.ts.
 */
import type { Doc, Id } from "./_generated/dataModel";
import type { MutationCtx, QueryCtx } from "./_generated/server";
import type { User } from "./users";

export type Role = Doc<"memberships">["role"];

/** owner > admin > member. */
const RANK: Record<Role, number> = { member: 0, admin: 1, owner: 2 };

export function roleAtLeast(role: Role, min: Role): boolean {
  return RANK[role] >= RANK[min];
}

export async function findMembership(
  ctx: QueryCtx,
  userKey: string,
  teamId: Id<"teams">,
): Promise<Doc<"memberships"> | null> {
  return ctx.db
    .query("memberships")
    .withIndex("by_userKey_and_teamId", (q) => q.eq("userKey", userKey).eq("teamId", teamId))
    .unique();
}

export async function findProfile(ctx: QueryCtx, userKey: string): Promise<Doc<"profiles"> | null> {
  return ctx.db
    .query("profiles")
    .withIndex("by_userKey", (q) => q.eq("userKey", userKey))
    .unique();
}

export async function setActiveTeam(ctx: MutationCtx, userKey: string, teamId: Id<"teams">): Promise<void> {
  const profile = await findProfile(ctx, userKey);
  if (!profile) await ctx.db.insert("profiles", { userKey, activeTeamId: teamId });
  else if (profile.activeTeamId !== teamId) await ctx.db.patch("profiles", profile._id, { activeTeamId: teamId });
}

/** A new team with `user` as its owner. */
export async function createTeam(
  ctx: MutationCtx,
  user: Pick<User, "key" | "email">,
  team: { name: string; personal: boolean },
): Promise<Id<"teams">> {
  const now = Date.now();
  const teamId = await ctx.db.insert("teams", { ...team, createdAt: now });
  await ctx.db.insert("memberships", { teamId, userKey: user.key, role: "owner", email: user.email, joinedAt: now });
  return teamId;
}

/**
 * The user's personal team, made once: a user with a profile has had one (the profile is
 * written with it), so a second call, or a sign-in after an invitation, makes nothing new.
 */
export async function ensurePersonalTeam(ctx: MutationCtx, user: Pick<User, "key" | "email">): Promise<Id<"teams">> {
  const profile = await findProfile(ctx, user.key);
  if (profile) return profile.activeTeamId;
  const name = user.email ? `${user.email.split("@")[0]}'s team` : "Personal team";
  const teamId = await createTeam(ctx, user, { name, personal: true });
  await ctx.db.insert("profiles", { userKey: user.key, activeTeamId: teamId });
  return teamId;
}

/**
 * The membership of the user's active team; when that is gone (removed, or left), their first
 * other membership; null when they belong to no team.
 */
export async function activeMembership(ctx: QueryCtx, userKey: string): Promise<Doc<"memberships"> | null> {
  const profile = await findProfile(ctx, userKey);
  const active = profile ? await findMembership(ctx, userKey, profile.activeTeamId) : null;
  if (active) return active;
  return ctx.db
    .query("memberships")
    .withIndex("by_userKey_and_teamId", (q) => q.eq("userKey", userKey))
    .first();
}
