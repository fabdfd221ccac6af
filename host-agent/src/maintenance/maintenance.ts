/**
 * The maintenance sweep: every MAINTENANCE_INTERVAL_MINUTES (0: never by itself; the first one
 * an interval after start-up, not at it) and on demand (`POST /api/maintenance/prune`), one at a
 * time: a request arriving while a sweep runs joins it when it asks for the same (dry run and
 * scope), else waits for it and then runs its own. A sweep plans (prune-plan.ts), then, unless a
 * dry run, removes each item, going on past one that fails (reported in `errors`). The last
 * report is kept for /health. `PruneReport` is the one result: what the metrics count too.
 *
 * What it leaves out: deciding what goes (prune-plan.ts) and the disk guard (disk-guard.ts).
 */
import type { MaintenanceStatus, PruneReport, PruneSummary, PrunedItem } from "../api/contract.js";
import { dockerMessage } from "../docker/client.js";
import { planPrune, type PlanDeps } from "./prune-plan.js";

export type PruneOptions = { dryRun: boolean; scope: "all" | "orphans" };

export class Maintenance {
  private running: { key: string; work: Promise<PruneReport> } | null = null;
  private lastRun: PruneReport | null = null;
  private timer: NodeJS.Timeout | null = null;
  private nextRunAt: number | null = null;
  /** Told of every finished sweep (metrics; tests). */
  onReport: (report: PruneReport) => void = () => undefined;

  constructor(private readonly d: PlanDeps) {}

  /** Starts the periodic sweep, when MAINTENANCE_INTERVAL_MINUTES is not 0. */
  start(): void {
    const minutes = this.d.config.maintenance.intervalMinutes;
    if (minutes === 0 || this.timer) return;
    const schedule = () => {
      this.nextRunAt = Date.now() + minutes * 60_000;
      this.timer = setTimeout(() => {
        this.prune({ dryRun: false, scope: "all" })
          .catch((err: unknown) => this.d.logger.error({ err: dockerMessage(err) }, "maintenance sweep failed"))
          .finally(() => {
            if (this.timer) schedule();
          });
      }, minutes * 60_000);
      this.timer.unref();
    };
    schedule();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.nextRunAt = null;
    await this.running?.work.catch(() => undefined);
  }

  status(): MaintenanceStatus {
    return {
      intervalMinutes: this.d.config.maintenance.intervalMinutes,
      lastRun: this.lastRun && summarize(this.lastRun),
      nextRunAt: this.nextRunAt === null ? null : new Date(this.nextRunAt).toISOString(),
      running: this.running !== null,
    };
  }

  /** Runs a sweep, or joins the one running with the same options, or waits for it first. */
  async prune(o: PruneOptions): Promise<PruneReport> {
    const key = `${o.dryRun}:${o.scope}`;
    for (;;) {
      const current = this.running;
      if (!current) break;
      if (current.key === key) return current.work;
      await current.work.catch(() => undefined);
    }
    const work = this.sweep(o).finally(() => (this.running = null));
    this.running = { key, work };
    return work;
  }

  private async sweep(o: PruneOptions): Promise<PruneReport> {
    const { logger } = this.d;
    const startedAt = new Date().toISOString();
    const plan = await planPrune(this.d, o.scope);
    const removed: PrunedItem[] = [];
    const errors: PruneReport["errors"] = [];
    for (const c of plan) {
      const item = { kind: c.kind, name: c.name, bytes: c.bytes, reason: c.reason };
      if (o.dryRun) {
        removed.push(item);
        continue;
      }
      try {
        if (await c.remove()) {
          removed.push(item);
          logger.info({ ...item }, "maintenance removed");
        } else logger.info({ kind: c.kind, name: c.name }, "maintenance kept: used since the plan");
      } catch (err) {
        const message = dockerMessage(err);
        errors.push({ kind: c.kind, name: c.name, message });
        logger.warn({ kind: c.kind, name: c.name, err: message }, "maintenance could not remove");
      }
    }
    const report: PruneReport = {
      dryRun: o.dryRun,
      scope: o.scope,
      startedAt,
      finishedAt: new Date().toISOString(),
      removed,
      bytesFreed: removed.reduce((sum, i) => sum + (i.bytes ?? 0), 0),
      errors,
    };
    logger.info(
      {
        dryRun: o.dryRun,
        scope: o.scope,
        removed: removed.length,
        bytesFreed: report.bytesFreed,
        errors: errors.length,
      },
      "maintenance sweep done",
    );
    this.lastRun = report;
    this.onReport(report);
    return report;
  }
}

/** A report in counts: what /health may show without the API secret (contract PruneSummary). */
export function summarize(r: PruneReport): PruneSummary {
  const { dryRun, scope, startedAt, finishedAt, bytesFreed } = r;
  return { dryRun, scope, startedAt, finishedAt, removed: r.removed.length, bytesFreed, errors: r.errors.length };
}
