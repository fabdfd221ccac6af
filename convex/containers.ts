/**
 * Environments: the public functions a team's members call (request, list, detail, destroy,
 * restart, stop, start, redeploy, timeline). Records are written through records.ts; hostReports.ts holds
 * what the agent-calling actions in hostAgent.ts read and report through; callbacks.ts applies
 * the agent's setup callbacks; maintenance.ts holds the crons; idle.ts the idle limits each
 * environment shows; quotas.ts the per-user limits. Side effects are scheduled: a mutation
 * records intent, an internal action calls the agent and reports back.
 */
import { v } from "convex/values";
import { BranchName } from "@artie/host-agent/contract";
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import type { QueryCtx } from "./_generated/server";
import { requireMember, teamMutation, teamQuery } from "./access";
import { fail } from "./errors";
import { findMembership } from "./membership";
import { deadlines, idleLimitsReader } from "./idle";
import { ENVIRONMENTS_LISTED, EVENTS_PER_CONTAINER } from "./limits";
import { readConfig, replenishPool } from "./pool";
import { findSettings } from "./repoSettings";
import { checkRequestQuota } from "./quotas";
import { insertCreating, moveTo, recordEvent, requestDestroy, requestStop } from "./records";
import schema from "./schema";
import type { User } from "./users";

const NO_ENVIRONMENT = "No such environment";

/** A container of a team the caller belongs to (with at least `minRole`), or not_found. */
async function memberContainer(
  ctx: QueryCtx & { user: User },
  containerId: Id<"containers">,
): Promise<Doc<"containers">> {
  const c = await ctx.db.get("containers", containerId);
  if (!c) fail("not_found", NO_ENVIRONMENT);
  await requireMember(ctx, c.teamId, "member", NO_ENVIRONMENT);
  return c;
}

/**
 * Asks for an environment for (repo, branch), for the repo's team: claims the oldest pooled
 * container (Convex runs mutations serializably, so two requests never get the same one) or
 * records a new one, then schedules its setup, and replenishes at once if the pool fell below
 * minSize. A pooled container is blank (the pool config's ports, the default image and limits),
 * so a repo whose settings ask for other ports, an image or limits always gets a new one, made
 * with them. The record keeps the settings version it was asked with. The caller's live
 * environments and request rate are limited first (quotas.ts).
 */
export const request = teamMutation({
  args: { repoId: v.id("repos"), branch: v.string() },
  returns: v.id("containers"),
  handler: async (ctx, { repoId, branch }) => {
    const repo = await ctx.db.get("repos", repoId);
    if (!repo) fail("not_found", "No such repo");
    await requireMember(ctx, repo.teamId, "member", "No such repo");
    if (repo.runtime !== "docker")
      fail("wrong_runtime", `${repo.owner}/${repo.name} runs on ${repo.runtime}; switch its runtime to docker first`);
    // The agent's own rule (git check-ref-format, no option-like names), so it never refuses later.
    if (!BranchName.safeParse(branch).success) fail("invalid_argument", `"${branch}" is not a branch name`);
    await checkRequestQuota(ctx, ctx.user.key);

    const settings = await findSettings(ctx, repoId);
    const config = await readConfig(ctx);
    const assignment = {
      pool: false,
      teamId: repo.teamId,
      requestedBy: ctx.user.key,
      repoId,
      branch,
      settingsVersion: settings?.version ?? 0,
    };
    const pooled = fitsPoolContainer(settings, config.containerPorts)
      ? await ctx.db
          .query("containers")
          .withIndex("by_status_and_createdAt", (q) => q.eq("status", "pooled"))
          .order("asc")
          .first()
      : null;
    let containerId: Id<"containers">;
    if (pooled) {
      await moveTo(ctx, pooled, "assigned", assignment, `claimed for ${repo.owner}/${repo.name}@${branch}`);
      containerId = pooled._id;
    } else {
      containerId = await insertCreating(ctx, assignment, `new container for ${repo.owner}/${repo.name}@${branch}`);
    }
    await ctx.scheduler.runAfter(0, internal.hostAgent.setupEnvironment, { containerId });

    const left = await ctx.db
      .query("containers")
      .withIndex("by_status_and_createdAt", (q) => q.eq("status", "pooled"))
      .take(config.minSize);
    if (left.length < config.minSize) await replenishPool(ctx);
    return containerId;
  },
});

/** Whether a blank pool container can serve a repo with these settings. */
function fitsPoolContainer(settings: Doc<"repoSettings"> | null, poolPorts: number[]): boolean {
  if (!settings) return true;
  if (settings.baseImage !== undefined || settings.limits !== undefined) return false;
  return settings.ports === undefined || settings.ports.join(",") === poolPorts.join(",");
}

const environmentItem = v.object({
  ...schema.tables.containers.validator.fields,
  _id: v.id("containers"),
  _creationTime: v.number(),
  /** Set up with an older version of its repo's settings than the current one. */
  olderSettings: v.boolean(),
  /** The limits that apply to it: unused this long, it is stopped; stopped this long more, destroyed. */
  idleLimitMinutes: v.number(),
  stoppedLimitMinutes: v.number(),
  /** When it stops and when it is destroyed if nobody uses it (ms since the epoch; null: not counting). */
  stopsAt: v.union(v.number(), v.null()),
  destroysAt: v.union(v.number(), v.null()),
});

/** Records with what the dashboard shows beside them: older settings, idle limits, deadlines. */
async function viewer(ctx: QueryCtx) {
  const versions = new Map<Id<"repos">, number>();
  const current = async (repoId: Id<"repos">) => {
    if (!versions.has(repoId)) versions.set(repoId, (await findSettings(ctx, repoId))?.version ?? 0);
    return versions.get(repoId)!;
  };
  const limitsOf = await idleLimitsReader(ctx);
  return async (c: Doc<"containers">) => {
    const limits = await limitsOf(c);
    return {
      ...c,
      olderSettings: c.repoId !== undefined && (c.settingsVersion ?? 0) < (await current(c.repoId)),
      ...limits,
      ...deadlines(c, limits),
    };
  };
}

/** The active team's environments, newest first (bounded), each with its settings age and idle deadlines. */
export const list = teamQuery({
  args: {},
  returns: v.array(environmentItem),
  handler: async (ctx) => {
    const team = ctx.team;
    if (!team) return [];
    const containers = await ctx.db
      .query("containers")
      .withIndex("by_teamId_and_createdAt", (q) => q.eq("teamId", team.id))
      .order("desc")
      .take(ENVIRONMENTS_LISTED);
    const view = await viewer(ctx);
    return Promise.all(containers.map(view));
  },
});

/**
 * One environment of a team the caller belongs to (any of theirs, not only the active one: a
 * deep link), as `list` shows it, or null: for another team's, and for an id that is not one at
 * all (it comes from a URL the user can edit, so that is "not found", not a crash).
 */
export const detail = teamQuery({
  args: { containerId: v.string() },
  returns: v.union(environmentItem, v.null()),
  handler: async (ctx, args) => {
    const containerId = ctx.db.normalizeId("containers", args.containerId);
    const c = containerId && (await ctx.db.get("containers", containerId));
    const member = c?.teamId && (await findMembership(ctx, ctx.user.key, c.teamId));
    return c && member ? (await viewer(ctx))(c) : null;
  },
});

/** Marks an environment for destruction and schedules the agent call. */
export const destroy = teamMutation({
  args: { containerId: v.id("containers") },
  handler: async (ctx, { containerId }) => {
    const c = await memberContainer(ctx, containerId);
    if (c.status === "destroying" || c.status === "destroyed") return;
    await requestDestroy(ctx, c, "destroy requested");
  },
});

/**
 * Restarts an environment's container on the host and brings its dev server back with the same
 * command and variables: `starting` at once (a use; the watchdog fails it if the host never
 * reports back), then `ready` by the agent's callbacks. The workspace is kept.
 */
export const restart = teamMutation({
  args: { containerId: v.id("containers") },
  handler: async (ctx, { containerId }) => {
    const c = await memberContainer(ctx, containerId);
    if (c.status !== "ready" && c.status !== "error") fail("conflict", `Cannot restart while ${c.status}`);
    const back = c.status;
    await moveTo(ctx, c, "starting", { downReason: undefined }, "restart requested");
    await ctx.scheduler.runAfter(0, internal.hostAgent.restart, { containerId, back });
  },
});

/**
 * Brings the branch's new commits into a ready environment without losing its uncommitted work
 * (hostAgent.redeploy): the agent refuses when the update would overwrite a local change, and
 * the record then carries the refusal with the files (`redeployRefused`), its status unchanged;
 * with `force` those files take the branch's version. Accepted, it moves through the setup's
 * phases by the agent's callbacks, back to `ready`.
 */
export const redeploy = teamMutation({
  args: { containerId: v.id("containers"), force: v.optional(v.boolean()) },
  handler: async (ctx, { containerId, force }) => {
    const c = await memberContainer(ctx, containerId);
    if (c.status !== "ready") fail("conflict", `Cannot redeploy while ${c.status}`);
    await recordEvent(ctx, c._id, c.status, force ? "redeploy requested (force)" : "redeploy requested");
    await ctx.db.patch("containers", c._id, { lastActivityAt: Date.now() });
    await ctx.scheduler.runAfter(0, internal.hostAgent.redeploy, { containerId, force: force ?? false });
  },
});

/**
 * Stops an environment's container on the host (memory and CPU freed, workspace and record
 * kept); the record says `stopped` once the agent has. Stopping a stopped one does nothing.
 */
export const stop = teamMutation({
  args: { containerId: v.id("containers") },
  handler: async (ctx, { containerId }) => {
    const c = await memberContainer(ctx, containerId);
    if (c.status === "stopped") return;
    if (c.status !== "ready" && c.status !== "error") fail("conflict", `Cannot stop while ${c.status}`);
    await requestStop(ctx, c, "stop requested");
  },
});

/**
 * Starts a stopped environment again: `starting` at once (a use, so its idle time starts over;
 * the watchdog fails it if the host never reports back), then `ready` by the agent's callbacks
 * once the dev server answers. Starting one that is not stopped does nothing if it is on its way
 * up or up, and is refused otherwise.
 */
export const start = teamMutation({
  args: { containerId: v.id("containers") },
  handler: async (ctx, { containerId }) => {
    const c = await memberContainer(ctx, containerId);
    if (c.status === "starting" || c.status === "ready") return;
    if (c.status !== "stopped") fail("conflict", `Cannot start while ${c.status}`);
    await moveTo(ctx, c, "starting", {}, "start requested");
    await ctx.scheduler.runAfter(0, internal.hostAgent.start, { containerId });
  },
});

/** An environment's timeline, oldest first (bounded by EVENTS_PER_CONTAINER); [] for others'. */
export const events = teamQuery({
  args: { containerId: v.id("containers") },
  returns: v.array(schema.doc("containerEvents")),
  handler: async (ctx, { containerId }) => {
    const c = await ctx.db.get("containers", containerId);
    const member = c?.teamId && (await findMembership(ctx, ctx.user.key, c.teamId));
    if (!member) return [];
    return ctx.db
      .query("containerEvents")
      .withIndex("by_containerId_and_at", (q) => q.eq("containerId", containerId))
      .take(EVENTS_PER_CONTAINER);
  },
});
