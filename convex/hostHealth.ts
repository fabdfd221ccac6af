/**
 * The agent's /health as the dashboard's host card reads it (hostAgent.health's answer): named
 * fields only, so a new agent field cannot break the action's validator, and the last sweep and
 * the pulls in short. A plain function, so the browser tests shape the real agent's answer the
 * same way.
 */
import type { HealthResponse } from "@artie/host-agent/contract";

/** The agent's /health in the shape above: named fields only, so a new agent field cannot break it. */
export function hostHealth(h: HealthResponse) {
  const last = h.maintenance?.lastRun;
  return {
    reachable: true as const,
    status: h.status,
    containerCount: h.containerCount,
    uptime: h.uptime,
    docker: h.docker,
    isolation: h.isolation,
    problems: h.problems ?? [],
    capacity: h.capacity,
    pulls: (h.images ?? [])
      .filter((p) => p.state !== "present")
      .map((p) => ({ image: p.image, state: p.state, error: p.error })),
    lastPrune: last ? { finishedAt: last.finishedAt, removed: last.removed, bytesFreed: last.bytesFreed } : undefined,
  };
}
