/**
 * The idle countdown an environment shows: how long it has gone unused and when the reaper acts
 * ("idle 40 min, stops in 80 min"; "stopped 10 min, removed in 50 min"). Pure arithmetic on
 * the record's `lastActivityAt` and the limits the control plane sends with it (the repo's
 * idleLimitMinutes when its settings have one, else the pool config's; the pool config's
 * stoppedLimitMinutes), the same rule as convex/idle.ts. A stop counts as a use there, so a
 * stopped environment's time counts from the stop. Leaves out the clock (the caller passes
 * `now`) and setups under way, which the watchdog looks after, not the reaper.
 */
import type { Status } from "@convex/statuses";

const MINUTE_MS = 60_000;

export type IdleInput = {
  status: Status;
  lastActivityAt: number;
  idleLimitMinutes: number;
  stoppedLimitMinutes: number;
};

export type IdleCountdown = {
  /** "running": counting towards a stop; "stopped": counting towards removal. */
  phase: "running" | "stopped";
  /** Unused for this long (ms). */
  idleMs: number;
  /** Until the reaper acts (ms); 0 once the deadline has passed (it acts on its next round). */
  leftMs: number;
  /** The whole sentence, as the dashboard shows it. */
  text: string;
};

/** The countdown for an environment the reaper watches, or null for one it leaves alone. */
export function idleCountdown(env: IdleInput, now: number): IdleCountdown | null {
  const idleMs = Math.max(0, now - env.lastActivityAt);
  if (env.status === "ready" || env.status === "error") {
    const leftMs = Math.max(0, env.idleLimitMinutes * MINUTE_MS - idleMs);
    const when = leftMs > 0 ? `stops in ${formatSpan(leftMs, "up")}` : "stops now";
    return { phase: "running", idleMs, leftMs, text: `idle ${formatSpan(idleMs)}, ${when}` };
  }
  if (env.status === "stopped") {
    const leftMs = Math.max(0, env.stoppedLimitMinutes * MINUTE_MS - idleMs);
    const when = leftMs > 0 ? `removed in ${formatSpan(leftMs, "up")}` : "removed now";
    return { phase: "stopped", idleMs, leftMs, text: `stopped ${formatSpan(idleMs)}, ${when}` };
  }
  return null;
}

/**
 * A span in whole minutes, as the countdown says it: "under 1 min", "80 min" (minutes up to two
 * hours), "23 h 50 min", "3 d 4 h". Time gone is rounded down and time left up, so with a limit
 * in whole minutes the two always add up to it ("idle 40 min, stops in 80 min" of 120).
 */
export function formatSpan(ms: number, round: "down" | "up" = "down"): string {
  const minutes = round === "up" ? Math.ceil(ms / MINUTE_MS) : Math.floor(ms / MINUTE_MS);
  if (minutes < 1) return "under 1 min";
  if (minutes <= 120) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days} d` : `${days} d ${hours % 24} h`;
}
