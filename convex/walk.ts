/**
 * Walking every container record in a list of statuses, one bounded page (CRON_BATCH) per
 * transaction: a job reads the page at its position, does its work, and schedules itself again
 * with the next position until the walk is done, so no record is ever out of reach however many
 * there are. Convex runs one paginated query per function, so a page never spans two statuses.
 * Leaves out what a job does with its page.
 */
import { v, type Infer } from "convex/values";
import type { Doc } from "./_generated/dataModel";
import type { QueryCtx } from "./_generated/server";
import { CRON_BATCH } from "./limits";
import { statusValidator, type Status } from "./statuses";

export const walkPositionValidator = v.object({ status: statusValidator, cursor: v.union(v.string(), v.null()) });
export type WalkPosition = Infer<typeof walkPositionValidator>;

/** The page at `position` (absent: the start), oldest first, and where the next one starts (null: done). */
export async function pageOfStatuses(
  ctx: QueryCtx,
  statuses: readonly Status[],
  position: WalkPosition | undefined,
): Promise<{ page: Doc<"containers">[]; next: WalkPosition | null }> {
  const status = position?.status ?? statuses[0];
  const i = status === undefined ? -1 : statuses.indexOf(status);
  if (status === undefined || i === -1) return { page: [], next: null };
  const { page, isDone, continueCursor } = await ctx.db
    .query("containers")
    .withIndex("by_status_and_createdAt", (q) => q.eq("status", status))
    .paginate({ numItems: CRON_BATCH, cursor: position?.cursor ?? null });
  if (!isDone) return { page, next: { status, cursor: continueCursor } };
  const following = statuses[i + 1];
  return { page, next: following === undefined ? null : { status: following, cursor: null } };
}
