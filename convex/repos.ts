/**
 * A team's repos and their runtime: only repos on `docker` get containers from this system.
 * Every function works in the caller's active team (access.ts). Each repo is listed with its
 * settings version (environments set up with an older one run older settings). Repo settings
 * (repoSettings.ts, which also sets the runtime and default branch) and the GitHub App's install
 * state (github.ts) live elsewhere.
 */
import { v } from "convex/values";
import { BranchName } from "@artie/host-agent/contract";
import type { Doc } from "./_generated/dataModel";
import { requireMember, teamMutation, teamQuery } from "./access";
import { fail } from "./errors";
import { REPOS_PER_TEAM } from "./limits";
import { settingsVersion } from "./repoSettings";
import schema from "./schema";

const runtime = v.union(v.literal("firecracker"), v.literal("docker"));
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const NAME = /^[A-Za-z0-9._-]{1,100}$/;

/**
 * Sets a repo's runtime in the active team, creating the repo record on first use. Changing an
 * existing repo is a settings change: team admins only.
 */
export const setRuntime = teamMutation({
  args: { owner: v.string(), name: v.string(), defaultBranch: v.optional(v.string()), runtime },
  returns: v.id("repos"),
  handler: async (ctx, args) => {
    if (!OWNER.test(args.owner) || !NAME.test(args.name) || args.name === "." || args.name === "..") {
      fail("invalid_argument", `"${args.owner}/${args.name}" is not a GitHub repository name`);
    }
    if (args.defaultBranch !== undefined && !BranchName.safeParse(args.defaultBranch).success)
      fail("invalid_argument", `"${args.defaultBranch}" is not a branch name`);
    const teamId = ctx.team.id;
    const existing = await ctx.db
      .query("repos")
      .withIndex("by_teamId_and_owner_and_name", (q) =>
        q.eq("teamId", teamId).eq("owner", args.owner).eq("name", args.name),
      )
      .unique();
    if (existing) {
      await requireMember(ctx, teamId, "admin");
      await ctx.db.patch("repos", existing._id, {
        runtime: args.runtime,
        ...(args.defaultBranch ? { defaultBranch: args.defaultBranch } : {}),
      });
      return existing._id;
    }
    return ctx.db.insert("repos", {
      teamId,
      owner: args.owner,
      name: args.name,
      defaultBranch: args.defaultBranch ?? "main",
      runtime: args.runtime,
    });
  },
});

const repoItem = v.object({
  ...schema.tables.repos.validator.fields,
  _id: v.id("repos"),
  _creationTime: v.number(),
  settingsVersion: v.number(),
});
type RepoItem = Doc<"repos"> & { settingsVersion: number };

/** The active team's repos (bounded), each with its settings version; none before the user has a team. */
export const list = teamQuery({
  args: {},
  returns: v.array(repoItem),
  handler: async (ctx): Promise<RepoItem[]> => {
    const team = ctx.team;
    if (!team) return [];
    const repos = await ctx.db
      .query("repos")
      .withIndex("by_teamId_and_owner_and_name", (q) => q.eq("teamId", team.id))
      .take(REPOS_PER_TEAM);
    return Promise.all(repos.map(async (r) => ({ ...r, settingsVersion: await settingsVersion(ctx, r._id) })));
  },
});

/** The active team's repo `owner/name` (the settings page's route), or null. */
export const byName = teamQuery({
  args: { owner: v.string(), name: v.string() },
  returns: v.union(v.null(), repoItem),
  handler: async (ctx, { owner, name }): Promise<RepoItem | null> => {
    const team = ctx.team;
    if (!team) return null;
    const repo = await ctx.db
      .query("repos")
      .withIndex("by_teamId_and_owner_and_name", (q) => q.eq("teamId", team.id).eq("owner", owner).eq("name", name))
      .unique();
    return repo && { ...repo, settingsVersion: await settingsVersion(ctx, repo._id) };
  },
});
