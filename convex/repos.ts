/** Repos and their runtime: only repos on `docker` get containers from this system. */
import { v } from "convex/values";
import { userMutation, userQuery } from "./users";
import type { Doc } from "./_generated/dataModel";
import { fail } from "./errors";
import schema from "./schema";

const runtime = v.union(v.literal("firecracker"), v.literal("docker"));
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const NAME = /^[A-Za-z0-9._-]{1,100}$/;

/** Sets a repo's runtime, creating the repo record on first use. */
export const setRuntime = userMutation({
  args: { owner: v.string(), name: v.string(), defaultBranch: v.optional(v.string()), runtime },
  returns: v.id("repos"),
  handler: async (ctx, args) => {
    if (!OWNER.test(args.owner) || !NAME.test(args.name) || args.name === "." || args.name === "..") {
      fail("invalid_argument", `"${args.owner}/${args.name}" is not a GitHub repository name`);
    }
    const existing = await ctx.db
      .query("repos")
      .withIndex("by_ownerId_and_owner_and_name", (q) =>
        q.eq("ownerId", ctx.userId).eq("owner", args.owner).eq("name", args.name),
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
      ownerId: ctx.userId,
      owner: args.owner,
      name: args.name,
      defaultBranch: args.defaultBranch ?? "main",
      runtime: args.runtime,
    });
  },
});

/** The signed-in user's repos (bounded). */
export const list = userQuery({
  args: {},
  returns: v.array(schema.doc("repos")),
  handler: async (ctx): Promise<Doc<"repos">[]> => {
    return ctx.db
      .query("repos")
      .withIndex("by_ownerId_and_owner_and_name", (q) => q.eq("ownerId", ctx.userId))
      .take(200);
  },
});
