/**
 * What the agent-calling actions in hostAgent.ts read and report through: a record with what its
 * setup needs, and one internal mutation per outcome (created, failed, restarted, stopped,
 * started, refused as busy, gone, removed, a redeploy accepted or refused). Each checks the record is still where the action found it, through
 * the transition table (records.ts). Who may start those actions is decided by the public
 * functions that schedule them (containers.ts) and the crons (maintenance.ts).
 */
import { v } from "convex/values";
import { internal } from "./_generated/api";
import { internalMutation, internalQuery } from "./_generated/server";
import { noteActivity } from "./activity";
import { readConfig } from "./pool";
import { moveTo, recordEvent, requestDestroy } from "./records";
import { DESTROY_RETRY, REDEPLOY_REFUSED_FILES_KEPT, WATCHDOG_MS } from "./limits";
import { findSettings } from "./repoSettings";

/**
 * A record for the actions in hostAgent.ts, with its repo and the repo's settings (sealed values
 * included: the setup action opens them, nothing else).
 */
export const get = internalQuery({
  args: { containerId: v.id("containers") },
  handler: async (ctx, { containerId }) => {
    const c = await ctx.db.get("containers", containerId);
    const repo = c?.repoId ? await ctx.db.get("repos", c.repoId) : null;
    const settings = repo ? await findSettings(ctx, repo._id) : null;
    const { containerPorts } = await readConfig(ctx);
    return c ? { container: c, repo, settings, containerPorts } : null;
  },
});

/** The setup used a newer settings version than the request saw (saved in between). */
export const noteSettingsVersion = internalMutation({
  args: { containerId: v.id("containers"), settingsVersion: v.number() },
  handler: async (ctx, { containerId, settingsVersion }) => {
    const c = await ctx.db.get("containers", containerId);
    if (c && c.status !== "destroyed") await ctx.db.patch("containers", containerId, { settingsVersion });
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

/**
 * The agent refused a destroy as busy (another operation under way there, past DELETE's wait):
 * the record stays `destroying` (moving it to `error` is not a move the table allows, and the
 * container still runs) and the destroy is asked again after a bounded backoff (DESTROY_RETRY).
 * The watchdog's wait starts over with each retry, so it does not mark destroyed a container
 * still on the host; after the last attempt it gives up as before.
 */
export const markDestroyBusy = internalMutation({
  args: { containerId: v.id("containers"), attempt: v.number(), error: v.string() },
  handler: async (ctx, { containerId, attempt, error }) => {
    const c = await ctx.db.get("containers", containerId);
    if (c?.status !== "destroying") return;
    if (attempt >= DESTROY_RETRY.attempts) {
      await recordEvent(ctx, c._id, c.status, `the host is still busy: ${error}`);
      return;
    }
    const delay = Math.min(DESTROY_RETRY.maxMs, DESTROY_RETRY.baseMs * 2 ** (attempt - 1));
    const now = Date.now();
    await ctx.db.patch("containers", c._id, { statusChangedAt: now });
    await recordEvent(
      ctx,
      c._id,
      c.status,
      `the host is busy, asking again in ${Math.round(delay / 1000)} s: ${error}`,
    );
    await ctx.scheduler.runAfter(delay, internal.hostAgent.destroy, { containerId, attempt: attempt + 1 });
    await ctx.scheduler.runAfter(delay + (WATCHDOG_MS.destroying ?? 0), internal.maintenance.watchdog, {
      containerId,
      status: "destroying",
      since: now,
    });
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

/**
 * The agent refused a start or restart because another operation on the container was under
 * way: the record goes back to where it was asked from (if nothing moved it since), with the
 * reason on the timeline. Not `error`: nothing failed, and asking again later works.
 */
export const markRefused = internalMutation({
  args: {
    containerId: v.id("containers"),
    back: v.union(v.literal("ready"), v.literal("error"), v.literal("stopped")),
    what: v.union(v.literal("start"), v.literal("restart")),
    error: v.string(),
  },
  handler: async (ctx, { containerId, back, what, error }) => {
    const c = await ctx.db.get("containers", containerId);
    if (c?.status !== "starting") return;
    // The one move back the table has no row for: this `starting` never began on the host.
    await ctx.db.patch("containers", c._id, { status: back, statusChangedAt: Date.now() });
    await recordEvent(ctx, c._id, back, `${what} refused by the host, try again: ${error}`);
  },
});

/** The reaper's stop found the environment used on the host since its idle deadline: kept, the use recorded. */
export const noteInUse = internalMutation({
  args: { containerId: v.id("containers"), usedAt: v.number() },
  handler: async (ctx, { containerId, usedAt }) => {
    const c = await ctx.db.get("containers", containerId);
    if (!c || c.status === "destroying" || c.status === "destroyed") return;
    await noteActivity(ctx, c, usedAt);
    await recordEvent(ctx, c._id, c.status, "not stopped: in use on the host since the idle limit was reached");
  },
});

/** A line on a live record's timeline, its status unchanged. */
export const noteOnTimeline = internalMutation({
  args: { containerId: v.id("containers"), message: v.string() },
  handler: async (ctx, { containerId, message }) => {
    const c = await ctx.db.get("containers", containerId);
    if (c && c.status !== "destroying" && c.status !== "destroyed") await recordEvent(ctx, c._id, c.status, message);
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

/** The agent stopped the container: the record is `stopped` (the stopped limit counts from now). */
export const markStopped = internalMutation({
  args: { containerId: v.id("containers") },
  handler: async (ctx, { containerId }) => {
    const c = await ctx.db.get("containers", containerId);
    if (c) await moveTo(ctx, c, "stopped", {}, "stopped on the host: memory and CPU freed, workspace kept");
  },
});

/** The agent started the container again; its callbacks bring the record to `ready`. */
export const markStarted = internalMutation({
  args: { containerId: v.id("containers") },
  handler: async (ctx, { containerId }) => {
    const c = await ctx.db.get("containers", containerId);
    if (c?.status === "starting")
      await recordEvent(ctx, c._id, c.status, "started on the host; the dev server is coming back");
  },
});

/**
 * A stop or start found no container on the host: there is nothing left to stop or start, so
 * the environment is destroyed (the agent removes whatever it still holds of it).
 */
export const markGone = internalMutation({
  args: { containerId: v.id("containers") },
  handler: async (ctx, { containerId }) => {
    const c = await ctx.db.get("containers", containerId);
    if (c) await requestDestroy(ctx, c, "the container is gone from the host; nothing left to stop or start");
  },
});

/** A stop the agent could not make: said on the timeline; the record stays as it is (still running). */
export const noteStopFailed = internalMutation({
  args: { containerId: v.id("containers"), error: v.string() },
  handler: async (ctx, { containerId, error }) => {
    const c = await ctx.db.get("containers", containerId);
    if (c && c.status !== "destroying" && c.status !== "destroyed")
      await recordEvent(ctx, c._id, c.status, `could not stop: ${error}`);
  },
});

/** The agent took a redeploy: its callbacks move the record from here (a refusal before is over). */
export const markRedeployAccepted = internalMutation({
  args: { containerId: v.id("containers"), force: v.boolean() },
  handler: async (ctx, { containerId, force }) => {
    const c = await ctx.db.get("containers", containerId);
    if (!c || c.status === "destroying" || c.status === "destroyed") return;
    await ctx.db.patch("containers", c._id, { redeployRefused: undefined });
    await recordEvent(ctx, c._id, c.status, force ? "redeploy accepted (forced)" : "redeploy accepted");
  },
});

/**
 * The agent refused a redeploy before changing anything (local changes it would overwrite, with
 * the files; or why it could not begin): the environment is as it was, still up, so the record
 * keeps its status and carries the refusal for the dashboard, which can ask again with force.
 */
export const noteRedeployRefused = internalMutation({
  args: { containerId: v.id("containers"), message: v.string(), files: v.array(v.string()) },
  handler: async (ctx, { containerId, message, files }) => {
    const c = await ctx.db.get("containers", containerId);
    if (!c || c.status === "destroying" || c.status === "destroyed") return;
    await ctx.db.patch("containers", c._id, {
      redeployRefused: { message, files: files.slice(0, REDEPLOY_REFUSED_FILES_KEPT), at: Date.now() },
    });
    await recordEvent(ctx, c._id, c.status, message);
  },
});
