/**
 * The GitHub App as teams use it: a repo's install state for its settings page (with an install
 * link whose `state` binds GitHub's setup redirect to the admin who started it), linking an
 * installation to a team from that redirect, the active team's linked installations, and
 * unlinking. The rule (issue #16): an installation is linked to a team only with GitHub's word
 * that the admin can access it (the redirect's `code`, exchanged for a user token that must list
 * the installation in GET /user/installations), and tokens are minted only for repos of the team
 * that linked the installation covering them (hostAgent.setupEnvironment asks `linkedTeam`).
 * The user token lives only inside completeInstall and is dropped. One installation belongs to
 * at most one team.
 * Left out: the GitHub calls themselves (githubApp.ts), the state's format (githubLink.ts).
 */
import { v } from "convex/values";
import { internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { internalMutation, internalQuery, type MutationCtx } from "./_generated/server";
import { requireMember, teamAction, teamMutation, teamQuery, userAction } from "./access";
import { fail, type ErrorCode } from "./errors";
import {
  exchangeUserCode,
  findRepoInstallation,
  GitHubAppError,
  installUrl,
  missingGitHubAppSettings,
  userCanAccessInstallation,
} from "./githubApp";
import {
  hashInstallState,
  installStateExpiresAt,
  isWellFormedInstallState,
  newInstallState,
  parseInstallationId,
} from "./githubLink";
import { INSTALLATIONS_PER_TEAM } from "./limits";
import { findMembership, roleAtLeast } from "./membership";
import { currentUser } from "./users";

const installStateValidator = v.object({
  state: v.union(
    v.literal("not_configured"),
    v.literal("installed_linked"),
    v.literal("installed_not_linked"),
    v.literal("not_installed"),
  ),
  installUrl: v.optional(v.string()),
  accountLogin: v.optional(v.string()),
});
type InstallState = typeof installStateValidator.type;

/** GitHubAppError codes as the closed list of user-facing codes. */
const CODES: Record<GitHubAppError["code"], ErrorCode> = {
  not_configured: "not_configured",
  refused: "forbidden",
  unreachable: "upstream_error",
  bad_response: "upstream_error",
};

/** Runs a GitHub call; its GitHubAppError (a message safe to show) becomes a ConvexError. */
export async function asConvexError<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof GitHubAppError) fail(CODES[err.code], err.message);
    throw err;
  }
}

/** The team an installation is linked to, or null. */
export const linkedTeam = internalQuery({
  args: { installationId: v.number() },
  returns: v.union(v.null(), v.id("teams")),
  handler: async (ctx, { installationId }) => {
    const link = await ctx.db
      .query("githubInstallations")
      .withIndex("by_installationId", (q) => q.eq("installationId", installationId))
      .unique();
    return link?.teamId ?? null;
  },
});

/** The repo (owner, name, team) for a caller who is a member of its team; not_found otherwise. */
export const repoForMember = internalQuery({
  args: { repoId: v.id("repos") },
  returns: v.object({ owner: v.string(), name: v.string(), teamId: v.id("teams") }),
  handler: async (ctx, { repoId }) => {
    const user = await currentUser(ctx);
    if (!user) fail("unauthenticated", "Sign in first");
    const repo = await ctx.db.get("repos", repoId);
    const m = repo && (await findMembership(ctx, user.key, repo.teamId));
    if (!repo || !m) fail("not_found", "No such repo");
    return { owner: repo.owner, name: repo.name, teamId: repo.teamId };
  },
});

/** Stores a new install-link state (hashed) for the caller and `teamId`. */
export const rememberLinkState = internalMutation({
  args: { stateHash: v.string(), teamId: v.id("teams") },
  handler: async (ctx, { stateHash, teamId }) => {
    const user = await currentUser(ctx);
    if (!user) fail("unauthenticated", "Sign in first");
    await ctx.db.insert("installLinkStates", {
      stateHash,
      userKey: user.key,
      teamId,
      expiresAt: installStateExpiresAt(),
    });
  },
});

/**
 * Whether the App is installed on the repo and linked to its team, for the settings page. An
 * install link (with a fresh state) comes with every answer but `installed_linked` and
 * `not_configured`.
 */
export const installState = teamAction({
  args: { repoId: v.id("repos") },
  returns: installStateValidator,
  handler: async (ctx, { repoId }): Promise<InstallState> => {
    const repo: { owner: string; name: string; teamId: Id<"teams"> } = await ctx.runQuery(
      internal.github.repoForMember,
      { repoId },
    );
    if (missingGitHubAppSettings().length > 0) return { state: "not_configured" };
    const found = await asConvexError(() => findRepoInstallation(repo.owner, repo.name));
    const linkTo = async () => {
      const state = newInstallState();
      await ctx.runMutation(internal.github.rememberLinkState, {
        stateHash: await hashInstallState(state),
        teamId: repo.teamId,
      });
      return installUrl(state);
    };
    if (!found) return { state: "not_installed", installUrl: await linkTo() };
    const accountLogin = found.accountLogin ?? undefined;
    const team: Id<"teams"> | null = await ctx.runQuery(internal.github.linkedTeam, {
      installationId: found.installationId,
    });
    if (team === repo.teamId) return { state: "installed_linked", accountLogin };
    return { state: "installed_not_linked", accountLogin, installUrl: await linkTo() };
  },
});

type Consumed = { ok: true; teamId: Id<"teams"> } | { ok: false; code: ErrorCode; message: string };

/**
 * Uses up a state: deleted on first sight whatever happens next (so a leaked one works for
 * nobody), then checked: the caller's own, not expired, and the caller still an admin of its
 * team. Answers instead of throwing, so the delete is kept.
 */
export const consumeLinkState = internalMutation({
  args: { stateHash: v.string() },
  handler: async (ctx, { stateHash }): Promise<Consumed> => {
    const user = await currentUser(ctx);
    if (!user) return { ok: false, code: "unauthenticated", message: "Sign in first" };
    const row = await ctx.db
      .query("installLinkStates")
      .withIndex("by_stateHash", (q) => q.eq("stateHash", stateHash))
      .unique();
    const again = "start again from the repo's settings page";
    if (!row)
      return { ok: false, code: "not_found", message: `This install link was already used or is unknown: ${again}` };
    await ctx.db.delete("installLinkStates", row._id);
    if (row.userKey !== user.key)
      return { ok: false, code: "forbidden", message: `This install link was started by another user: ${again}` };
    if (row.expiresAt <= Date.now())
      return { ok: false, code: "expired", message: `This install link expired: ${again}` };
    const m = await findMembership(ctx, user.key, row.teamId);
    if (!m) return { ok: false, code: "not_found", message: "No such team" };
    if (!roleAtLeast(m.role, "admin"))
      return { ok: false, code: "forbidden", message: "Only a team admin can link a GitHub App installation" };
    return { ok: true, teamId: row.teamId };
  },
});

async function adminOf(ctx: MutationCtx, teamId: Id<"teams">): Promise<string> {
  const user = await currentUser(ctx);
  if (!user) fail("unauthenticated", "Sign in first");
  const m = await findMembership(ctx, user.key, teamId);
  if (!m) fail("not_found", "No such team");
  if (!roleAtLeast(m.role, "admin")) fail("forbidden", "Only a team admin can link a GitHub App installation");
  return user.key;
}

/** Links an installation GitHub said the caller can access; refused when another team has it. */
export const link = internalMutation({
  args: { teamId: v.id("teams"), installationId: v.number(), accountLogin: v.string() },
  handler: async (ctx, { teamId, installationId, accountLogin }) => {
    const userKey = await adminOf(ctx, teamId);
    const existing = await ctx.db
      .query("githubInstallations")
      .withIndex("by_installationId", (q) => q.eq("installationId", installationId))
      .unique();
    if (existing && existing.teamId !== teamId) {
      fail("conflict", `The installation on ${existing.accountLogin} is linked to another team; unlink it there first`);
    }
    if (existing) await ctx.db.patch("githubInstallations", existing._id, { accountLogin });
    else
      await ctx.db.insert("githubInstallations", {
        teamId,
        installationId,
        accountLogin,
        linkedBy: userKey,
        linkedAt: Date.now(),
      });
  },
});

/**
 * Completes the App's setup redirect (`installation_id`, `code`, `state` from /github/setup):
 * the state must be the caller's own, fresh and unused, for a team they administer; GitHub must
 * list the installation among the caller's; then it is linked to the state's team.
 */
export const completeInstall = userAction({
  args: { installationId: v.union(v.string(), v.number()), code: v.string(), state: v.string() },
  returns: v.object({ teamId: v.id("teams"), installationId: v.number(), accountLogin: v.string() }),
  handler: async (ctx, args): Promise<{ teamId: Id<"teams">; installationId: number; accountLogin: string }> => {
    if (!isWellFormedInstallState(args.state))
      fail("invalid_argument", "The link from GitHub has no valid state: start again from the repo's settings page");
    const installationId = parseInstallationId(String(args.installationId));
    if (installationId === null) fail("invalid_argument", "The link from GitHub has no valid installation_id");
    const consumed: Consumed = await ctx.runMutation(internal.github.consumeLinkState, {
      stateHash: await hashInstallState(args.state),
    });
    if (!consumed.ok) fail(consumed.code, consumed.message);
    const accountLogin: string | null = await asConvexError(async () => {
      const { userToken } = await exchangeUserCode(args.code);
      return await userCanAccessInstallation(userToken, installationId);
    });
    if (accountLogin === null) {
      fail(
        "forbidden",
        `GitHub does not list installation ${installationId} among the ones your GitHub account can access, so it cannot be linked`,
      );
    }
    await ctx.runMutation(internal.github.link, { teamId: consumed.teamId, installationId, accountLogin });
    return { teamId: consumed.teamId, installationId, accountLogin };
  },
});

/** The active team's linked installations (bounded); none before the user has a team. */
export const installations = teamQuery({
  args: {},
  returns: v.array(
    v.object({ installationId: v.number(), accountLogin: v.string(), linkedBy: v.string(), linkedAt: v.number() }),
  ),
  handler: async (ctx) => {
    const team = ctx.team;
    if (!team) return [];
    const rows = await ctx.db
      .query("githubInstallations")
      .withIndex("by_teamId", (q) => q.eq("teamId", team.id))
      .take(INSTALLATIONS_PER_TEAM);
    return rows.map(({ installationId, accountLogin, linkedBy, linkedAt }) => ({
      installationId,
      accountLogin,
      linkedBy,
      linkedAt,
    }));
  },
});

/** Unlinks an installation from its team (team admins): its repos get no more tokens. */
export const unlink = teamMutation({
  args: { installationId: v.number() },
  returns: v.null(),
  handler: async (ctx, { installationId }) => {
    const row = await ctx.db
      .query("githubInstallations")
      .withIndex("by_installationId", (q) => q.eq("installationId", installationId))
      .unique();
    if (!row) fail("not_found", "No such installation");
    await requireMember(ctx, row.teamId, "admin", "No such installation");
    await ctx.db.delete("githubInstallations", row._id);
    return null;
  },
});
