/**
 * The warm pool: its configuration (one document, bounded edits) and replenishing. Replenish
 * creates records for up to `targetSize - pooled - creating` containers, never more than
 * `maxCreating` creations in flight, and schedules the agent calls. It runs on a cron and at
 * once when a claim leaves fewer than `minSize` pooled. The pool is the host's, shared by every
 * team: anyone signed in sees it, only host admins (ADMIN_EMAILS) change it. The config also
 * holds the host's two idle limits (stop, then destroy; idle.ts applies them).
 */
import { v } from "convex/values";
import { internal } from "./_generated/api";
import type { Doc } from "./_generated/dataModel";
import { internalMutation, type MutationCtx, type QueryCtx } from "./_generated/server";
import { fail } from "./errors";
import { IDLE_LIMIT_MINUTES, IN_USE_COUNT_CAP, POOL_BOUNDS, POOL_DEFAULTS, STOPPED_LIMIT_MINUTES } from "./limits";
import { LIVE_STATUSES } from "./statuses";
import { insertCreating } from "./records";
import { poolConfigProblems } from "./poolRules";
import { requireHostAdmin, userMutation, userQuery } from "./access";

/** The config with every limit filled in (a document saved before a limit existed has its default). */
type PoolConfig = Required<Omit<Doc<"poolConfig">, "_id" | "_creationTime">>;

export async function readConfig(ctx: QueryCtx): Promise<PoolConfig> {
  const doc = await ctx.db.query("poolConfig").first();
  if (!doc) return POOL_DEFAULTS;
  const { _id, _creationTime, ...config } = doc;
  void _id;
  void _creationTime;
  return { ...config, stoppedLimitMinutes: config.stoppedLimitMinutes ?? STOPPED_LIMIT_MINUTES.default };
}

/** Pooled containers, and creations in flight (pool ones, and all), each count bounded by `cap`. */
async function counts(ctx: QueryCtx, cap: number) {
  const byStatus = (status: "pooled" | "creating") =>
    ctx.db
      .query("containers")
      .withIndex("by_status_and_createdAt", (q) => q.eq("status", status))
      .take(cap + 1);
  const creating = await byStatus("creating");
  return {
    pooled: (await byStatus("pooled")).length,
    creating: creating.filter((c) => c.pool).length,
    creatingAll: creating.length,
  };
}

const poolConfigValidator = v.object({
  targetSize: v.number(),
  minSize: v.number(),
  maxCreating: v.number(),
  containerPorts: v.array(v.number()),
  idleLimitMinutes: v.number(),
  stoppedLimitMinutes: v.number(),
});

export const getConfig = userQuery({
  args: {},
  returns: poolConfigValidator,
  handler: async (ctx) => readConfig(ctx),
});

/** Environments handed out and not yet gone (assigned through ready, and failed), bounded. */
async function inUse(ctx: QueryCtx): Promise<number> {
  let total = 0;
  for (const status of LIVE_STATUSES) {
    const rows = await ctx.db
      .query("containers")
      .withIndex("by_status_and_createdAt", (q) => q.eq("status", status))
      .take(IN_USE_COUNT_CAP);
    total += rows.filter((r) => !r.pool).length;
  }
  return total;
}

/** The pool page: ready (pooled), creating and assigned counts against the config. */
export const status = userQuery({
  args: {},
  returns: v.object({
    config: poolConfigValidator,
    pooled: v.number(),
    creating: v.number(),
    assigned: v.number(),
  }),
  handler: async (ctx) => {
    const config = await readConfig(ctx);
    const { pooled, creating } = await counts(ctx, POOL_BOUNDS.targetSize.max);
    return { config, pooled, creating, assigned: await inUse(ctx) };
  },
});

/**
 * Host admins only. An omitted idle limit is the default; an omitted stopped limit stays as it
 * is (a form that does not show it cannot reset it).
 */
export const updateConfig = userMutation({
  args: {
    targetSize: v.number(),
    minSize: v.number(),
    maxCreating: v.number(),
    containerPorts: v.array(v.number()),
    idleLimitMinutes: v.optional(v.number()),
    stoppedLimitMinutes: v.optional(v.number()),
  },
  handler: async (ctx, args) => {
    await requireHostAdmin(ctx, ctx.user);
    const config = {
      ...args,
      idleLimitMinutes: args.idleLimitMinutes ?? IDLE_LIMIT_MINUTES.default,
      stoppedLimitMinutes: args.stoppedLimitMinutes ?? (await readConfig(ctx)).stoppedLimitMinutes,
    };
    const problems = poolConfigProblems(config);
    if (problems.length > 0) fail("invalid_argument", problems.map((p) => p.message).join("; "));
    const existing = await ctx.db.query("poolConfig").first();
    if (existing) await ctx.db.replace("poolConfig", existing._id, config);
    else await ctx.db.insert("poolConfig", config);
  },
});

/** Creates pool records up to the target, within maxCreating; schedules the agent creates. */
export async function replenishPool(ctx: MutationCtx): Promise<number> {
  const config = await readConfig(ctx);
  const { pooled, creating, creatingAll } = await counts(ctx, config.targetSize + config.maxCreating);
  const wanted = Math.max(0, config.targetSize - pooled - creating);
  // Every creation counts against maxCreating, also those for requests that found no pool.
  const room = Math.max(0, config.maxCreating - creatingAll);
  const toCreate = Math.min(wanted, room);
  for (let i = 0; i < toCreate; i++) {
    const id = await insertCreating(ctx, { pool: true }, "pool replenish");
    await ctx.scheduler.runAfter(0, internal.hostAgent.createPooled, { containerId: id });
  }
  return toCreate;
}

export const replenish = internalMutation({
  args: {},
  returns: v.number(),
  handler: async (ctx) => replenishPool(ctx),
});
