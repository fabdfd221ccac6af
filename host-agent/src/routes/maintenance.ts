/**
 * Operating the host: `POST /api/maintenance/prune` (behind the API secret, as all of /api):
 * a `PruneRequest` in, the sweep's `PruneReport` out (maintenance/maintenance.ts; one sweep at
 * a time, a second request joins or waits), and the disk guard in front of creates and setups
 * (507 insufficient_storage while free disk is below MIN_FREE_DISK_GB). `HostOperations` is what
 * server.ts hands the app for these and for /health.
 */
import { Hono, type MiddlewareHandler } from "hono";
import { PruneRequest } from "../api/contract.js";
import { parseOr400, readJson } from "../api/errors.js";
import type { ImagePuller } from "../images/prepull.js";
import type { CapacityReader } from "../maintenance/capacity.js";
import type { DiskGuard } from "../maintenance/disk-guard.js";
import type { Maintenance } from "../maintenance/maintenance.js";

export type HostOperations = {
  images: ImagePuller;
  maintenance: Maintenance;
  capacity: CapacityReader;
  disk: DiskGuard;
};

export function maintenanceRoutes(host: HostOperations) {
  return new Hono().post("/prune", async (c) => {
    const body = parseOr400(PruneRequest, await readJson(c), "body");
    return c.json(await host.maintenance.prune(body));
  });
}

/** Refuses the request with 507 while the disk guard says there is no room (creates, setups). */
export const requireFreeDisk =
  (disk: DiskGuard): MiddlewareHandler =>
  async (_c, next) => {
    await disk.check();
    await next();
  };
