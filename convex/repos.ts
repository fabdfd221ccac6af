/**
 * A team's repos and their runtime: only repos on `docker` get containers from this system.
 * Every function works in the caller's active team (access.ts). Repo settings and the GitHub
 * App's install state live elsewhere.
 */
import { v } from "convex/values";
import type { Doc } from "./_generated/dataModel";
import { teamMutation, teamQuery } from "./access";
import { fail } from "./errors";
import { REPOS_PER_TEAM } from "./limits";
import schema from "./schema";

const runtime = v.union(v.literal("firecracker"), v.literal("docker"));
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const NAME = /^[A-Za-z0-9._-]{1,100}$/;

/** Sets a repo's runtime in the active team, creating the repo record on first use. */
export const setRuntime = teamMutation({
  args: { owner: v.string(), name: v.string(), defaultBranch: v.optional(v.string()), runtime },
  returns: v.id("repos"),
  handler: async (ctx, args) => {
    if (!OWNER.test(args.owner) || !NAME.test(args.name) || args.name === "." || args.name === "..") {
      fail("invalid_argument", `"${args.owner}/${args.name}" is not a GitHub repository name`);
    }
    const teamId = ctx.team.id;
    const existing = await ctx.db
      .query("repos")
      .withIndex("by_teamId_and_owner_and_name", (q) =>
        q.eq("teamId", teamId).eq("owner", args.owner).eq("name", args.name),
      )
      .unique();
    if (existing) {
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

/** The active team's repos (bounded); none before the user has a team. */
export const list = teamQuery({
  args: {},
  returns: v.array(schema.doc("repos")),
  handler: async (ctx): Promise<Doc<"repos">[]> => {
    const team = ctx.team;
    if (!team) return [];
    return ctx.db
      .query("repos")
      .withIndex("by_teamId_and_owner_and_name", (q) => q.eq("teamId", team.id))
      .take(REPOS_PER_TEAM);
  },
});
