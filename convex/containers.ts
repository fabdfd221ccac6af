/**
 * Container records and their lifecycle. Status changes only through `moveTo`, which checks the
 * transition table first, so nothing (a stale callback, a retried action) moves a record
 * backwards. Side effects are scheduled: a mutation records intent, an internal action in
 * hostAgent.ts calls the agent and reports back here.
 */
import { v } from "convex/values";
import type { SetupCallback } from "@artie/host-agent/contract";
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { internalMutation, internalQuery, type MutationCtx } from "./_generated/server";
import { fail } from "./errors";
import { CRON_BATCH, EVENTS_PER_CONTAINER, SEEN_WEBHOOK_RETENTION_MS, WATCHDOG_MS } from "./limits";
import { readConfig, replenishPool } from "./pool";
import schema from "./schema";
import { canMove, statusValidator, type Status } from "./statuses";
import { userMutation, userQuery } from "./users";

/** Agent ids are chosen here: a retried create sends the same id and gets the same container. */
export function newAgentId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return `env-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Appends to a container's timeline, keeping only the newest EVENTS_PER_CONTAINER. */
export async function recordEvent(ctx: MutationCtx, containerId: Id<"containers">, status: Status, message?: string) {
  await ctx.db.insert("containerEvents", { containerId, status, at: Date.now(), message });
  const events = await ctx.db
    .query("containerEvents")
    .withIndex("by_containerId_and_at", (q) => q.eq("containerId", containerId))
    .order("desc")
    .take(EVENTS_PER_CONTAINER + 5);
  for (const old of events.slice(EVENTS_PER_CONTAINER)) await ctx.db.delete("containerEvents", old._id);
}

/** Records a container about to be created on the host, watched like any other step. */
export async function insertCreating(
  ctx: MutationCtx,
  fields: { pool: boolean; ownerId?: string; repoId?: Id<"repos">; branch?: string },
  message: string,
): Promise<Id<"containers">> {
  const now = Date.now();
  const id = await ctx.db.insert("containers", {
    agentId: newAgentId(),
    status: "creating",
    ...fields,
    phaseStartedAt: {},
    phaseDurations: {},
    lastSequence: 0,
    createdAt: now,
    statusChangedAt: now,
    lastActivityAt: now,
  });
  await recordEvent(ctx, id, "creating", message);
  await ctx.scheduler.runAfter(WATCHDOG_MS.creating!, internal.containers.watchdog, {
    containerId: id,
    status: "creating",
    since: now,
  });
  return id;
}

/** Moves a record to `to` if the table allows it; false (and nothing written) otherwise. */
export async function moveTo(
  ctx: MutationCtx,
  c: Doc<"containers">,
  to: Status,
  patch: Partial<Doc<"containers">> = {},
  message?: string,
): Promise<boolean> {
  if (!canMove(c.status, to)) return false;
  const now = Date.now();
  await ctx.db.patch("containers", c._id, { ...patch, status: to, statusChangedAt: now, lastActivityAt: now });
  await recordEvent(ctx, c._id, to, message);
  const deadline = WATCHDOG_MS[to as keyof typeof WATCHDOG_MS];
  if (deadline !== undefined) {
    await ctx.scheduler.runAfter(deadline, internal.containers.watchdog, {
      containerId: c._id,
      status: to,
      since: now,
    });
  }
  return true;
}

/**
 * Asks for an environment for (repo, branch): claims the oldest pooled container (Convex runs
 * mutations serializably, so two requests never get the same one) or records a new one, then
 * schedules its setup, and replenishes at once if the pool fell below minSize.
 */
export const request = userMutation({
  args: { repoId: v.id("repos"), branch: v.string() },
  returns: v.id("containers"),
  handler: async (ctx, { repoId, branch }) => {
    const repo = await ctx.db.get("repos", repoId);
    if (!repo || repo.ownerId !== ctx.userId) fail("not_found", "No such repo");
    if (repo.runtime !== "docker")
      fail("wrong_runtime", `${repo.owner}/${repo.name} runs on ${repo.runtime}; switch its runtime to docker first`);
    if (!/^[A-Za-z0-9_][A-Za-z0-9._/+-]{0,254}$/.test(branch) || branch.includes(".."))
      fail("invalid_argument", `"${branch}" is not a branch name`);

    const assignment = { pool: false, ownerId: ctx.userId, repoId, branch };
    const pooled = await ctx.db
      .query("containers")
      .withIndex("by_status_and_createdAt", (q) => q.eq("status", "pooled"))
      .order("asc")
      .first();
    let containerId: Id<"containers">;
    if (pooled) {
      await moveTo(ctx, pooled, "assigned", assignment, `claimed for ${repo.owner}/${repo.name}@${branch}`);
      containerId = pooled._id;
    } else {
      containerId = await insertCreating(ctx, assignment, `new container for ${repo.owner}/${repo.name}@${branch}`);
    }
    await ctx.scheduler.runAfter(0, internal.hostAgent.setupEnvironment, { containerId });

    const config = await readConfig(ctx);
    const left = await ctx.db
      .query("containers")
      .withIndex("by_status_and_createdAt", (q) => q.eq("status", "pooled"))
      .take(config.minSize);
    if (left.length < config.minSize) await replenishPool(ctx);
    return containerId;
  },
});

/** The signed-in user's environments, newest first (bounded). */
export const list = userQuery({
  args: {},
  returns: v.array(schema.doc("containers")),
  handler: async (ctx) =>
    ctx.db
      .query("containers")
      .withIndex("by_ownerId_and_createdAt", (q) => q.eq("ownerId", ctx.userId))
      .order("desc")
      .take(100),
});

/**
 * One of the signed-in user's environments, or null: for someone else's, and for an id that is
 * not one at all (it comes from a URL the user can edit, so that is "not found", not a crash).
 */
export const detail = userQuery({
  args: { containerId: v.string() },
  returns: v.union(schema.doc("containers"), v.null()),
  handler: async (ctx, args) => {
    const containerId = ctx.db.normalizeId("containers", args.containerId);
    const c = containerId && (await ctx.db.get("containers", containerId));
    return c && c.ownerId === ctx.userId ? c : null;
  },
});

/** Marks an environment for destruction and schedules the agent call. */
export const destroy = userMutation({
  args: { containerId: v.id("containers") },
  handler: async (ctx, { containerId }) => {
    const c = await ctx.db.get("containers", containerId);
    if (!c || c.ownerId !== ctx.userId) fail("not_found", "No such environment");
    if (c.status === "destroying" || c.status === "destroyed") return;
    await moveTo(ctx, c, "destroying", {}, "destroy requested");
    await ctx.scheduler.runAfter(0, internal.hostAgent.destroy, { containerId });
  },
});

/** Restarts an environment's container on the host (its dev server must be set up again). */
export const restart = userMutation({
  args: { containerId: v.id("containers") },
  handler: async (ctx, { containerId }) => {
    const c = await ctx.db.get("containers", containerId);
    if (!c || c.ownerId !== ctx.userId) fail("not_found", "No such environment");
    if (c.status !== "ready" && c.status !== "error") fail("conflict", `Cannot restart while ${c.status}`);
    await recordEvent(ctx, c._id, c.status, "restart requested");
    await ctx.db.patch("containers", c._id, { lastActivityAt: Date.now() });
    await ctx.scheduler.runAfter(0, internal.hostAgent.restart, { containerId });
  },
});

/**
 * The agent restarted the container: a line on the timeline, and activity on the record (a
 * dashboard whose log stream ended with the old process picks that up and reconnects).
 */
export const markRestarted = internalMutation({
  args: { containerId: v.id("containers") },
  handler: async (ctx, { containerId }) => {
    const c = await ctx.db.get("containers", containerId);
    if (!c || c.status === "destroying" || c.status === "destroyed") return;
    await recordEvent(ctx, c._id, c.status, "container restarted");
    await ctx.db.patch("containers", c._id, { lastActivityAt: Date.now() });
  },
});

/** An environment's timeline, oldest first (bounded by EVENTS_PER_CONTAINER). */
export const events = userQuery({
  args: { containerId: v.id("containers") },
  returns: v.array(schema.doc("containerEvents")),
  handler: async (ctx, { containerId }) => {
    const c = await ctx.db.get("containers", containerId);
    if (!c || c.ownerId !== ctx.userId) return [];
    return ctx.db
      .query("containerEvents")
      .withIndex("by_containerId_and_at", (q) => q.eq("containerId", containerId))
      .take(EVENTS_PER_CONTAINER);
  },
});

/** Applies one verified setup callback; stale (older sequence) or backwards ones are dropped. */
export async function applySetupCallback(
  ctx: MutationCtx,
  cb: SetupCallback,
): Promise<"applied" | "stale" | "unknown"> {
  const c = await ctx.db
    .query("containers")
    .withIndex("by_agentId", (q) => q.eq("agentId", cb.containerId))
    .unique();
  if (!c) return "unknown";
  if (cb.sequence <= c.lastSequence || !canMove(c.status, cb.phase)) return "stale";
  const patch: Partial<Doc<"containers">> = { lastSequence: cb.sequence };
  if (cb.phase !== "error" && cb.phase !== c.status) patch.phaseStartedAt = { ...c.phaseStartedAt, [cb.phase]: cb.at };
  const previous = previousPhase(c.status);
  if (previous && previous !== cb.phase && cb.previousPhaseMs !== null) {
    patch.phaseDurations = { ...c.phaseDurations, [previous]: cb.previousPhaseMs };
  }
  if (cb.hostPort) patch.hostPort = cb.hostPort;
  if (cb.url) patch.url = cb.url;
  if (cb.error) patch.error = cb.error;
  await moveTo(ctx, c, cb.phase, patch, cb.error);
  // Only a build announces its duration; a setup that merely used the image leaves the record as is.
  if (cb.mainImage?.buildMs !== undefined && c.repoId) {
    const { tag, commit, buildMs } = cb.mainImage;
    await ctx.db.patch("repos", c.repoId, { mainImage: { tag, commit, builtAt: cb.at, buildMs } });
  }
  return "applied";
}

/** A record for the actions in hostAgent.ts. */
export const get = internalQuery({
  args: { containerId: v.id("containers") },
  handler: async (ctx, { containerId }) => {
    const c = await ctx.db.get("containers", containerId);
    const repo = c?.repoId ? await ctx.db.get("repos", c.repoId) : null;
    const { containerPorts } = await readConfig(ctx);
    return c ? { container: c, repo, containerPorts } : null;
  },
});

/** The agent made the container: a pool one becomes `pooled`, an assigned one `assigned`. */
export const markCreated = internalMutation({
  args: { containerId: v.id("containers"), hostPort: v.number() },
  handler: async (ctx, { containerId, hostPort }) => {
    const c = await ctx.db.get("containers", containerId);
    if (!c || c.status !== "creating") return;
    await moveTo(ctx, c, c.pool ? "pooled" : "assigned", { hostPort }, "created on the host");
  },
});

/** An agent call failed: the record says why, in words a person can act on. */
export const markFailed = internalMutation({
  args: { containerId: v.id("containers"), error: v.string() },
  handler: async (ctx, { containerId, error }) => {
    const c = await ctx.db.get("containers", containerId);
    if (c) await moveTo(ctx, c, "error", { error }, error);
  },
});

/** The agent removed the container. */
export const markDestroyed = internalMutation({
  args: { containerId: v.id("containers") },
  handler: async (ctx, { containerId }) => {
    const c = await ctx.db.get("containers", containerId);
    if (c) await moveTo(ctx, c, "destroyed", {}, "removed from the host");
  },
});

/** Fails a record still sitting in the status a step left it in, past that step's deadline. */
export const watchdog = internalMutation({
  args: { containerId: v.id("containers"), status: statusValidator, since: v.number() },
  handler: async (ctx, { containerId, status, since }) => {
    const c = await ctx.db.get("containers", containerId);
    if (!c || c.status !== status || c.statusChangedAt !== since) return;
    const error = `No progress from the host for too long while "${status}"; the host agent may be down. Destroy and request again.`;
    if (status === "destroying") {
      await moveTo(ctx, c, "destroyed", {}, "gave up waiting for the host to confirm removal");
    } else {
      await moveTo(ctx, c, "error", { error }, error);
    }
  },
});

/** Destroys environments idle past the configured limit (pooled ones are exempt), a batch at a time. */
export const reapIdle = internalMutation({
  args: {},
  returns: v.number(),
  handler: async (ctx) => {
    const cutoff = Date.now() - (await readConfig(ctx)).idleLimitMinutes * 60_000;
    let reaped = 0;
    for (const status of ["ready", "error"] as const) {
      const batch = await ctx.db
        .query("containers")
        .withIndex("by_status_and_createdAt", (q) => q.eq("status", status))
        .take(CRON_BATCH);
      for (const c of batch.filter((c) => c.lastActivityAt < cutoff)) {
        await moveTo(ctx, c, "destroying", {}, "idle too long");
        await ctx.scheduler.runAfter(0, internal.hostAgent.destroy, { containerId: c._id });
        reaped++;
      }
    }
    return reaped;
  },
});

/** Records the agent should have (created on the host, not yet destroyed), a batch per status. */
const ON_HOST: readonly Status[] = ["pooled", "assigned", "cloning", "installing", "starting", "ready", "error"];

/**
 * Compares records with the agent's list: records whose container vanished from the host are
 * marked; answers which listed agent ids no record knows (orphans, for the action to remove).
 */
export const reconcileWithHost = internalMutation({
  args: { agentIds: v.array(v.string()) },
  returns: v.array(v.string()),
  handler: async (ctx, { agentIds }) => {
    const listed = new Set(agentIds);
    for (const status of ON_HOST) {
      const batch = await ctx.db
        .query("containers")
        .withIndex("by_status_and_createdAt", (q) => q.eq("status", status))
        .take(CRON_BATCH);
      for (const c of batch) {
        if (listed.has(c.agentId)) continue;
        const error =
          "The container is gone from the host (removed outside this system or lost). Request a new environment.";
        if (c.error === error) continue;
        await moveTo(ctx, c, "error", { error, hostPort: undefined, url: undefined }, error);
      }
    }
    const orphans: string[] = [];
    for (const agentId of agentIds) {
      const known = await ctx.db
        .query("containers")
        .withIndex("by_agentId", (q) => q.eq("agentId", agentId))
        .first();
      if (!known || known.status === "destroyed") orphans.push(agentId);
    }
    return orphans;
  },
});

/** Forgets webhook ids older than the replay window (bounded batch). */
export const forgetOldWebhooks = internalMutation({
  args: {},
  handler: async (ctx) => {
    const old = await ctx.db
      .query("seenWebhooks")
      .withIndex("by_receivedAt", (q) => q.lt("receivedAt", Date.now() - SEEN_WEBHOOK_RETENTION_MS))
      .take(CRON_BATCH * 10);
    for (const w of old) await ctx.db.delete("seenWebhooks", w._id);
  },
});

function previousPhase(status: Status): "cloning" | "installing" | "starting" | "ready" | null {
  return status === "cloning" || status === "installing" || status === "starting" || status === "ready" ? status : null;
}
