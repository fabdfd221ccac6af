/**
 * When an environment is stopped, and then destroyed, for want of use: its idle limit (its repo
 * settings' idleLimitMinutes, else the pool config's), the pool config's stopped limit, and the
 * deadlines they give counted from `lastActivityAt` (activity.ts moves it; a stop moves it too,
 * so the stopped limit counts from the stop). The reaper (maintenance.ts) acts on them and the
 * environment queries (containers.ts) show them. Pooled containers and setups under way have no
 * deadline: the watchdog looks after those.
 */
import type { Doc, Id } from "./_generated/dataModel";
import type { QueryCtx } from "./_generated/server";
import { readConfig } from "./pool";
import { findSettings } from "./repoSettings";

export type IdleLimits = { idleLimitMinutes: number; stoppedLimitMinutes: number };
export type Deadlines = { stopsAt: number | null; destroysAt: number | null };

/** Reads the limits of many records with one config read and one settings read per repo. */
export async function idleLimitsReader(ctx: QueryCtx): Promise<(c: Doc<"containers">) => Promise<IdleLimits>> {
  const config = await readConfig(ctx);
  const perRepo = new Map<Id<"repos">, number>();
  return async (c) => {
    let idleLimitMinutes = config.idleLimitMinutes;
    if (c.repoId) {
      if (!perRepo.has(c.repoId))
        perRepo.set(c.repoId, (await findSettings(ctx, c.repoId))?.idleLimitMinutes ?? config.idleLimitMinutes);
      idleLimitMinutes = perRepo.get(c.repoId)!;
    }
    return { idleLimitMinutes, stoppedLimitMinutes: config.stoppedLimitMinutes };
  };
}

/**
 * A ready or failed environment stops at `stopsAt` (and, unused after that, is destroyed at
 * `destroysAt`); a stopped one is destroyed at `destroysAt`. Times in ms since the epoch.
 */
export function deadlines(c: Doc<"containers">, limits: IdleLimits): Deadlines {
  const idle = limits.idleLimitMinutes * 60_000;
  const stopped = limits.stoppedLimitMinutes * 60_000;
  if (c.status === "ready" || c.status === "error")
    return { stopsAt: c.lastActivityAt + idle, destroysAt: c.lastActivityAt + idle + stopped };
  if (c.status === "stopped") return { stopsAt: null, destroysAt: c.lastActivityAt + stopped };
  return { stopsAt: null, destroysAt: null };
}

/** Past a deadline: strictly later, so activity exactly at the limit still counts. */
export const isPast = (deadline: number | null, now: number) => deadline !== null && now > deadline;
