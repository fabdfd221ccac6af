/**
 * Inviting people into a team by email. An admin's `create` answers the raw token once (the
 * dashboard turns it into a link); only its sha256 is stored, so a leaked table invites no one.
 * A link works once and until INVITATION_TTL_MS after it was made. Accepting needs a signed-in
 * user; when the user's account has an email it must be the invited one (a link forwarded to
 * someone else does not work for them), and a user whose provider gives no email is trusted on
 * the link alone (the token is the proof). Who the invitee already is does not matter: the
 * invitation names an address, not a user.
 */
import { v } from "convex/values";
import { requireMember, teamMutation, teamQuery, userMutation } from "./access";
import { fail } from "./errors";
import { INVITATION_TOKEN_BYTES, INVITATION_TTL_MS, MAX_PENDING_INVITATIONS } from "./limits";
import { ensurePersonalTeam, findMembership, setActiveTeam } from "./membership";
import { inviteRoleValidator } from "./schema";
import { normalizeEmail } from "./users";

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const INVALID_LINK = "This invitation link is not valid, or it was already used or revoked";

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

export async function hashToken(token: string): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token))));
}

/** Invites `email` into the active team with `role`; answers the token, which is never stored. */
export const create = teamMutation({
  args: { email: v.string(), role: inviteRoleValidator },
  returns: v.object({ invitationId: v.id("invitations"), token: v.string(), expiresAt: v.number() }),
  handler: async (ctx, args) => {
    await requireMember(ctx, ctx.team.id, "admin");
    const email = normalizeEmail(args.email);
    if (!email || !EMAIL.test(email) || email.length > 254)
      fail("invalid_argument", `"${args.email}" is not an email address`);
    const now = Date.now();
    const pending = await ctx.db
      .query("invitations")
      .withIndex("by_teamId_and_expiresAt", (q) => q.eq("teamId", ctx.team.id).gt("expiresAt", now))
      .take(MAX_PENDING_INVITATIONS);
    if (pending.filter((i) => i.acceptedAt === undefined).length >= MAX_PENDING_INVITATIONS)
      fail("quota_exceeded", `A team may have ${MAX_PENDING_INVITATIONS} pending invitations; revoke some first`);
    const token = hex(crypto.getRandomValues(new Uint8Array(INVITATION_TOKEN_BYTES)));
    const expiresAt = now + INVITATION_TTL_MS;
    const invitationId = await ctx.db.insert("invitations", {
      teamId: ctx.team.id,
      email,
      role: args.role,
      tokenHash: await hashToken(token),
      expiresAt,
      invitedBy: ctx.user.key,
    });
    return { invitationId, token, expiresAt };
  },
});

/** The active team's invitations not yet accepted nor expired (admins; no token or hash). */
export const list = teamQuery({
  args: {},
  returns: v.array(
    v.object({
      invitationId: v.id("invitations"),
      email: v.string(),
      role: inviteRoleValidator,
      expiresAt: v.number(),
    }),
  ),
  handler: async (ctx) => {
    const team = ctx.team;
    if (!team) return [];
    await requireMember(ctx, team.id, "admin");
    const rows = await ctx.db
      .query("invitations")
      .withIndex("by_teamId_and_expiresAt", (q) => q.eq("teamId", team.id).gt("expiresAt", Date.now()))
      .take(MAX_PENDING_INVITATIONS);
    return rows
      .filter((i) => i.acceptedAt === undefined)
      .map((i) => ({ invitationId: i._id, email: i.email, role: i.role, expiresAt: i.expiresAt }));
  },
});

/** Withdraws a pending invitation (an admin of its team); its link stops working. */
export const revoke = userMutation({
  args: { invitationId: v.id("invitations") },
  handler: async (ctx, { invitationId }) => {
    const invitation = await ctx.db.get("invitations", invitationId);
    if (!invitation) fail("not_found", "No such invitation");
    await requireMember(ctx, invitation.teamId, "admin", "No such invitation");
    await ctx.db.delete("invitations", invitationId);
  },
});

/** Joins the invitation's team with its role, once, and makes it the active team. */
export const accept = userMutation({
  args: { token: v.string() },
  returns: v.id("teams"),
  handler: async (ctx, { token }) => {
    const tokenHash = await hashToken(token);
    const invitation = await ctx.db
      .query("invitations")
      .withIndex("by_tokenHash", (q) => q.eq("tokenHash", tokenHash))
      .unique();
    if (!invitation || invitation.acceptedAt !== undefined) fail("not_found", INVALID_LINK);
    if (invitation.expiresAt <= Date.now())
      fail("expired", "This invitation has expired; ask a team admin for a new one");
    if (ctx.user.email && ctx.user.email !== invitation.email)
      fail("forbidden", `This invitation is for ${invitation.email}; sign in with that address to accept it`);
    await ensurePersonalTeam(ctx, ctx.user);
    const now = Date.now();
    if (!(await findMembership(ctx, ctx.user.key, invitation.teamId))) {
      await ctx.db.insert("memberships", {
        teamId: invitation.teamId,
        userKey: ctx.user.key,
        role: invitation.role,
        email: ctx.user.email ?? invitation.email,
        joinedAt: now,
      });
    }
    // Expired as of now too: an accepted invitation leaves the pending range of the index, so it
    // never counts against the pending cap nor pushes a pending one off the admin's list.
    await ctx.db.patch("invitations", invitation._id, { acceptedAt: now, acceptedBy: ctx.user.key, expiresAt: now });
    await setActiveTeam(ctx, ctx.user.key, invitation.teamId);
    return invitation.teamId;
  },
});
