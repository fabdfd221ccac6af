/**
 * Receiving the agent's callbacks: once per webhook id, then judged by sequence and phase order.
 *
 * The agent retries failed deliveries one by one, so one container's callbacks can arrive in any
 * order. Its `sequence` is strictly increasing per container (across setups and agent restarts),
 * so a higher one is always the newer news: a callback at or below the record's last sequence is
 * dropped, one above it applies when it moves the record forward in the contract's phase order,
 * even past phases whose callbacks have not come yet (those are recorded as skipped, and dropped
 * as older when they come). `error` always applies; the same phase again (a second `ready`
 * announcing the main image) applies its fields. Every order of one setup's callbacks therefore
 * ends at its newest phase.
 *
 * An `error` with reason `needs-relaunch` (the engine started the container again while the
 * agent no longer holds the repo's variables, which it keeps in memory only) is answered with the
 * dashboard's Restart, its body built from the repo's settings (hostAgent.restart), at most once
 * per HOST_RELAUNCH_MIN_INTERVAL_MINUTES per environment. Leaves out: who sent it (http.ts
 * verifies the signature).
 */
import { v } from "convex/values";
import { SetupCallback } from "@artie/host-agent/contract";
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { internalMutation, type MutationCtx } from "./_generated/server";
import { HOST_RELAUNCH_MIN_INTERVAL_MINUTES } from "./limits";
import { moveTo, recordEvent } from "./records";
import { canMove, isProgressPhase, phaseRank, PROGRESS_PHASES, type ProgressPhase, type Status } from "./statuses";

export const receive = internalMutation({
  args: { webhookId: v.string(), body: v.string() },
  returns: v.union(
    v.literal("applied"),
    v.literal("stale"),
    v.literal("unknown"),
    v.literal("duplicate"),
    v.literal("invalid"),
  ),
  handler: async (ctx, { webhookId, body }) => {
    const seen = await ctx.db
      .query("seenWebhooks")
      .withIndex("by_webhookId", (q) => q.eq("webhookId", webhookId))
      .unique();
    if (seen) return "duplicate";
    await ctx.db.insert("seenWebhooks", { webhookId, receivedAt: Date.now() });
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return "invalid";
    }
    const callback = SetupCallback.safeParse(parsed);
    if (!callback.success) return "invalid";
    return applySetupCallback(ctx, callback.data);
  },
});

/**
 * What a newer callback does to a record:
 * - `forward`: a later phase of this setup (maybe past some), or `error`;
 * - `newRun`: a new setup of a ready or failed environment starting over (`cloning`);
 * - `recover`: a failed record's dev server brought back (`starting` or `ready` of a restart or
 *   start): the agent's per-container sequence only grows (report/progress.ts `nextSequence`:
 *   the last one plus one, at least the clock in microseconds, so also across agent restarts) and
 *   its outbox delivers one container's callbacks in sequence order (report/callbacks.ts, only the
 *   queue's head in flight), so a higher sequence is newer news than the error it follows. A late
 *   death report of the run before a restart would otherwise leave the restarted one `error`;
 * - `again`: the phase the record is in, with newer fields (a second `ready`, another error);
 * - `drop`: a move the record cannot make. A stopped environment takes none: the container is
 *   not running, so what its setup or dev server says is over; a start (`starting`) reopens it.
 */
type Verdict = "forward" | "newRun" | "recover" | "again" | "drop";

function judge(status: Status, cb: SetupCallback): Verdict {
  const { phase } = cb;
  if (status === "stopped") return "drop";
  if (phase === "error") return status === "error" ? "again" : canMove(status, "error") ? "forward" : "drop";
  // A main image build's `ready` (it carries buildMs) says nothing about the dev server now.
  const announcesBuild = cb.mainImage?.buildMs !== undefined;
  if (status === "error" && (phase === "starting" || (phase === "ready" && !announcesBuild))) return "recover";
  if (status === phase) return "again";
  const from = phaseRank(status);
  const to = phaseRank(phase)!;
  if (from !== null && to > from) return canMove(status, phase) ? "forward" : "drop";
  return phase === "cloning" && canMove(status, phase) ? "newRun" : "drop";
}

/** Applies one verified setup callback; older (by sequence) or impossible ones are dropped. */
export async function applySetupCallback(
  ctx: MutationCtx,
  cb: SetupCallback,
): Promise<"applied" | "stale" | "unknown"> {
  const c = await ctx.db
    .query("containers")
    .withIndex("by_agentId", (q) => q.eq("agentId", cb.containerId))
    .unique();
  if (!c) return "unknown";
  if (cb.sequence <= c.lastSequence) return "stale";
  const verdict = judge(c.status, cb);
  if (verdict === "drop") return "stale";

  const patch: Partial<Doc<"containers">> = { lastSequence: cb.sequence };
  if (cb.hostPort) patch.hostPort = cb.hostPort;
  if (cb.url) patch.url = cb.url;
  if (cb.error) patch.error = cb.error;
  // The watch's report after `ready` says why the dev server stopped; a new run starts clean.
  if (cb.phase === "error" && cb.reason) patch.downReason = cb.reason;
  else if (cb.phase !== "error") patch.downReason = undefined;
  // `ready` is sent right after the agent's probe answered; any other phase makes the last health
  // check old news (a restart, start or redeploy under way), until the next one is taken in.
  patch.health = cb.phase === "ready" ? "answering" : undefined;
  if (verdict === "newRun") {
    // This setup's timings start afresh; the last one's would read as this one's.
    patch.phaseStartedAt = { cloning: cb.at };
    patch.phaseDurations = {};
    patch.skippedPhases = [];
    // A redeploy or setup under way: a refusal of an earlier one no longer describes the environment.
    patch.redeployRefused = undefined;
  } else if (verdict === "forward" && cb.phase !== "error") {
    patch.phaseStartedAt = { ...c.phaseStartedAt, [cb.phase]: cb.at };
    const skipped = phasesBetween(c.status, cb.phase);
    if (skipped.length > 0) patch.skippedPhases = [...(c.skippedPhases ?? []), ...skipped];
    // previousPhaseMs is the agent's own previous phase: the one just before this in the order.
    const before = PROGRESS_PHASES[phaseRank(cb.phase)! - 1];
    if (before && cb.previousPhaseMs !== null)
      patch.phaseDurations = { ...c.phaseDurations, [before]: cb.previousPhaseMs };
  } else if (verdict === "recover") {
    // The failure is over; this run's phases count from here (what it skipped is not this setup's).
    patch.error = undefined;
    patch.phaseStartedAt = { ...c.phaseStartedAt, [cb.phase]: cb.at };
  } else if (verdict === "again" && cb.phase !== "error" && cb.phase !== "ready") {
    // The phase begun again (a start's `starting`); a second `ready` keeps the first one's time.
    patch.phaseStartedAt = { ...c.phaseStartedAt, [cb.phase]: cb.at };
  } else if (cb.phase === "error" && cb.previousPhaseMs !== null && isProgressPhase(c.status)) {
    // The phase that failed is the record's, as far as the control plane knows.
    patch.phaseDurations = { ...c.phaseDurations, [c.status]: cb.previousPhaseMs };
  }

  if (verdict === "again" && !canMove(c.status, c.status)) {
    // Same status, newer facts: no move (so no new watchdog), a line on the timeline for errors.
    await ctx.db.patch("containers", c._id, patch);
    if (cb.phase === "error") await recordEvent(ctx, c._id, c.status, cb.error);
  } else {
    await moveTo(ctx, c, cb.phase, patch, cb.error);
  }
  // A ready or failed environment the host cannot bring back alone: restarted with its settings.
  if (cb.phase === "error" && cb.reason === "needs-relaunch" && (c.status === "ready" || c.status === "error"))
    await relaunchAsked(ctx, c._id);
  // Only a build announces its duration; a setup that merely used the image leaves the record as is.
  if (cb.mainImage?.buildMs !== undefined && c.repoId) {
    const { tag, commit, buildMs } = cb.mainImage;
    await ctx.db.patch("repos", c.repoId, { mainImage: { tag, commit, builtAt: cb.at, buildMs } });
  }
  return "applied";
}

/**
 * Restarts the environment as the dashboard's Restart does (containers.restart: `starting`, then
 * hostAgent.restart with the start body), unless the host asked less than
 * HOST_RELAUNCH_MIN_INTERVAL_MINUTES ago: then it stays in error, the timeline says why.
 */
async function relaunchAsked(ctx: MutationCtx, containerId: Id<"containers">) {
  const c = await ctx.db.get("containers", containerId);
  if (!c || c.status !== "error") return;
  const now = Date.now();
  if (c.hostRelaunchAt !== undefined && now - c.hostRelaunchAt < HOST_RELAUNCH_MIN_INTERVAL_MINUTES * 60_000) {
    await recordEvent(
      ctx,
      c._id,
      c.status,
      `not restarted: the host asked for a restart with its settings less than ${HOST_RELAUNCH_MIN_INTERVAL_MINUTES} minutes ago; restart it from the dashboard`,
    );
    return;
  }
  const message = "restart asked by the host: it no longer holds the repo's variables";
  if (await moveTo(ctx, c, "starting", { downReason: undefined, hostRelaunchAt: now }, message))
    await ctx.scheduler.runAfter(0, internal.hostAgent.restart, { containerId: c._id, back: "error" });
}

/** The phases strictly between a record's status and a later phase: the ones skipped. */
function phasesBetween(status: Status, phase: ProgressPhase): ProgressPhase[] {
  const from = phaseRank(status) ?? -1;
  return PROGRESS_PHASES.slice(from + 1, phaseRank(phase)!);
}
