/**
 * The GitHub App as teams use it: a repo's install state for its settings page (with an install
 * link whose `state` binds GitHub's setup redirect to the admin who started it), linking an
 * installation to a team from that redirect, the active team's linked installations, and
 * unlinking. The rule (issue #16): an installation is linked to a team only with GitHub's word
 * that the admin can access it (the redirect's `code`, exchanged for a user token that must list
 * the installation in GET /user/installations), and tokens are minted only for repos of the team
 * that linked the installation covering them, and only for the repos of it GitHub listed for
 * that admin (GET /user/installations/{id}/repositories; hostAgent.setupEnvironment asks
 * `linkOf`). The user token lives only inside completeInstall and is revoked there. One
 * installation belongs to at most one team; an admin of that team linking it again refreshes its
 * repository list.
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
  revokeUserToken,
  userCanAccessInstallation,
  userInstallationRepos,
} from "./githubApp";
import {
  hashInstallState,
  installStateExpiresAt,
  isWellFormedInstallState,
  newInstallState,
  parseInstallationId,
} from "./githubLink";
import { INSTALLATIONS_PER_TEAM, LINKED_REPOS_MAX } from "./limits";
import { findMembership, roleAtLeast } from "./membership";
import { checkInstallStateRate } from "./quotas";
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

const linkValidator = v.union(v.null(), v.object({ teamId: v.id("teams"), repositories: v.array(v.string()) }));
export type Link = typeof linkValidator.type;

/** The team an installation is linked to and the repos (lower-case owner/name) it may use, or null. */
export const linkOf = internalQuery({
  args: { installationId: v.number() },
  returns: linkValidator,
  handler: async (ctx, { installationId }) => {
    const link = await ctx.db
      .query("githubInstallations")
      .withIndex("by_installationId", (q) => q.eq("installationId", installationId))
      .unique();
    return link ? { teamId: link.teamId, repositories: link.repositories ?? [] } : null;
  },
});

/** Whether `link` gives `teamId` tokens for owner/name. */
export function linkCovers(link: Link, teamId: Id<"teams">, owner: string, name: string): boolean {
  return !!link && link.teamId === teamId && link.repositories.includes(`${owner}/${name}`.toLowerCase());
}

/** The repo (owner, name, team) and the caller's role in its team; not_found for a non-member. */
export const repoForMember = internalQuery({
  args: { repoId: v.id("repos") },
  returns: v.object({
    owner: v.string(),
    name: v.string(),
    teamId: v.id("teams"),
    isAdmin: v.boolean(),
  }),
  handler: async (ctx, { repoId }) => {
    const user = await currentUser(ctx);
    if (!user) fail("unauthenticated", "Sign in first");
    const repo = await ctx.db.get("repos", repoId);
    const m = repo && (await findMembership(ctx, user.key, repo.teamId));
    if (!repo || !m) fail("not_found", "No such repo");
    return { owner: repo.owner, name: repo.name, teamId: repo.teamId, isAdmin: roleAtLeast(m.role, "admin") };
  },
});

/** Stores a new install-link state (hashed) for the caller, an admin of `teamId`. */
export const rememberLinkState = internalMutation({
  args: { stateHash: v.string(), teamId: v.id("teams") },
  handler: async (ctx, { stateHash, teamId }) => {
    const user = await currentUser(ctx);
    if (!user) fail("unauthenticated", "Sign in first");
    const m = await findMembership(ctx, user.key, teamId);
    if (!m || !roleAtLeast(m.role, "admin")) fail("forbidden", "Only a team admin can link a GitHub App installation");
    await ctx.db.insert("installLinkStates", {
      stateHash,
      userKey: user.key,
      teamId,
      expiresAt: installStateExpiresAt(),
    });
  },
});

/**
 * Whether the App is installed on the repo and linked to its team, for the settings page:
 * `installed_linked` only when a setup would get a token (the link's repository list has the
 * repo). For team admins an install link (with a fresh state) comes with every answer but
 * `installed_linked` and `not_configured`; members get the state alone (they cannot link).
 * Rate-limited per user: every call asks GitHub, and the page asks on every focus.
 */
export const installState = teamAction({
  args: { repoId: v.id("repos") },
  returns: installStateValidator,
  handler: async (ctx, { repoId }): Promise<InstallState> => {
    const repo: { owner: string; name: string; teamId: Id<"teams">; isAdmin: boolean } = await ctx.runQuery(
      internal.github.repoForMember,
      { repoId },
    );
    if (missingGitHubAppSettings().length > 0) return { state: "not_configured" };
    await checkInstallStateRate(ctx, ctx.user.key);
    const found = await asConvexError(() => findRepoInstallation(repo.owner, repo.name));
    const linkTo = async () => {
      if (!repo.isAdmin) return undefined;
      const state = newInstallState();
      await ctx.runMutation(internal.github.rememberLinkState, {
        stateHash: await hashInstallState(state),
        teamId: repo.teamId,
      });
      return installUrl(state);
    };
    if (!found) return { state: "not_installed", installUrl: await linkTo() };
    const accountLogin = found.accountLogin ?? undefined;
    const link: Link = await ctx.runQuery(internal.github.linkOf, { installationId: found.installationId });
    if (linkCovers(link, repo.teamId, repo.owner, repo.name)) return { state: "installed_linked", accountLogin };
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

/**
 * Links an installation GitHub said the caller can access, with the repos of it GitHub listed for
 * them; linking again from the same team refreshes that list. Refused when another team has it,
 * in words that do not say so (whether an installation is linked anywhere is not the caller's).
 */
export const link = internalMutation({
  args: {
    teamId: v.id("teams"),
    installationId: v.number(),
    accountLogin: v.string(),
    repositories: v.array(v.string()),
  },
  handler: async (ctx, { teamId, installationId, accountLogin, repositories }) => {
    const userKey = await adminOf(ctx, teamId);
    if (repositories.length > LINKED_REPOS_MAX) fail("invalid_argument", "Too many repositories for one link");
    const existing = await ctx.db
      .query("githubInstallations")
      .withIndex("by_installationId", (q) => q.eq("installationId", installationId))
      .unique();
    if (existing && existing.teamId !== teamId) {
      fail(
        "conflict",
        "This installation cannot be linked to this team. If your team should use it, ask this host's administrators",
      );
    }
    const linked = { accountLogin, repositories, linkedBy: userKey, linkedAt: Date.now() };
    if (existing) await ctx.db.patch("githubInstallations", existing._id, linked);
    else
      await ctx.db.insert("githubInstallations", {
        teamId,
        installationId,
        ...linked,
      });
  },
});

/**
 * Completes the App's setup redirect (`installation_id`, `code`, `state` from /github/setup):
 * the state must be the caller's own, fresh and unused, for a team they administer; GitHub must
 * list the installation among the caller's; then it is linked to the state's team with the repos
 * of it GitHub lists for the caller, and the user token is revoked.
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
    const access = await asConvexError(async () => {
      const { userToken } = await exchangeUserCode(args.code);
      try {
        const login = await userCanAccessInstallation(userToken, installationId);
        if (login === null) return null;
        return { login, repositories: await userInstallationRepos(userToken, installationId) };
      } finally {
        // Best effort, and its outcome is not reported: GitHub has answered already, and the token
        // was never stored; one left unrevoked (GitHub down) still expires in hours on its own and
        // can read only what the user could. Failing the link for it would help nobody.
        await revokeUserToken(userToken);
      }
    });
    if (access === null) {
      fail(
        "forbidden",
        `GitHub does not list installation ${installationId} among the ones your GitHub account can access, so it cannot be linked`,
      );
    }
    const accountLogin = access.login;
    await ctx.runMutation(internal.github.link, {
      teamId: consumed.teamId,
      installationId,
      accountLogin,
      repositories: access.repositories,
    });
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
