/** Background work on a schedule: each job is batched and bounded (see limits.ts). */
import { cronJobs } from "convex/server";
import { internal } from "./_generated/api";

const crons = cronJobs();

crons.interval("replenish pool", { minutes: 1 }, internal.pool.replenish, {});
crons.interval("reconcile with host", { minutes: 5 }, internal.hostAgent.reconcile, {});
crons.interval("reap idle environments", { minutes: 5 }, internal.maintenance.reapIdle, {});
crons.interval("forget old webhook ids", { hours: 1 }, internal.maintenance.forgetOldWebhooks, {});
crons.interval("forget expired install links", { hours: 1 }, internal.maintenance.forgetExpiredLinkStates, {});
crons.interval("forget old invitations", { hours: 24 }, internal.maintenance.forgetOldInvitations, {});

export default crons;
