/**
 * Maps Docker's inspect output to the contract's ContainerDetails, honestly: an OOM kill is
 * reported as `oom_killed`, an exit carries its code, uptime exists only while running, and the
 * workspace volume is the one Docker says is mounted at /app (its size is the service's). What
 * Docker cannot say comes from the agent's own observation: the dev server's health (the watch)
 * and the last activity (containers/activity.ts). Docker's HEALTHCHECK status is not read: the
 * agent sets none, and an image's own would speak for its main process, not the dev server.
 */
import type Docker from "dockerode";
import type { ContainerDetails, ContainerState, HealthState } from "../api/contract.js";
import { WORKSPACE_DIR } from "../config.js";
import type { ManagedLabels } from "../docker/labels.js";

const DOCKER_ZERO_TIME = "0001-01-01T00:00:00Z";

export function containerState(s: Docker.ContainerInspectInfo["State"]): ContainerState {
  if (s.OOMKilled && !s.Running) return "oom_killed";
  switch (s.Status) {
    case "created":
    case "running":
    case "paused":
    case "restarting":
    case "removing":
    case "exited":
    case "dead":
      return s.Status;
    default:
      return "dead";
  }
}

/** The named volume mounted at /app; null when /app is something else (a tmpfs, before volumes). */
export function workspaceVolumeOf(info: Docker.ContainerInspectInfo): string | null {
  const mount = (info.Mounts ?? []).find((m) => m.Destination === WORKSPACE_DIR && m.Type === "volume");
  return mount?.Name ?? null;
}

/** What the agent saw of a container itself: its dev server's health, its last use (ms). */
export type Observed = { health: HealthState; lastActivityMs: number | null };
export const NOTHING_OBSERVED: Observed = { health: "none", lastActivityMs: null };

export function toDetails(
  info: Docker.ContainerInspectInfo,
  labels: ManagedLabels,
  now = Date.now(),
  observed: Observed = NOTHING_OBSERVED,
): ContainerDetails {
  const state = containerState(info.State);
  const startedAt = info.State.StartedAt && info.State.StartedAt !== DOCKER_ZERO_TIME ? info.State.StartedAt : null;
  const running = info.State.Running;
  const createdAt = labels.createdAt || info.Created;
  return {
    id: labels.id,
    name: labels.name,
    dockerId: info.Id,
    image: info.Config.Image,
    state,
    exitCode: running || state === "created" ? null : info.State.ExitCode,
    health: running ? observed.health : "none",
    pool: labels.pool,
    hostPort: labels.ports[0]!.hostPort,
    ports: labels.ports,
    volumeName: labels.volumeName,
    createdAt,
    startedAt,
    uptimeSeconds: running && startedAt ? Math.max(0, (now - Date.parse(startedAt)) / 1000) : null,
    workspaceVolume: workspaceVolumeOf(info),
    lastActivityAt: lastActivityAt(observed.lastActivityMs, startedAt ?? createdAt),
  };
}

/**
 * The later of the last use the agent saw and the container's last start: activity is kept in
 * memory only, so after an agent restart the start time is the floor (a start is a use too).
 */
function lastActivityAt(seenMs: number | null, floor: string): string {
  const floorMs = Date.parse(floor);
  if (seenMs === null || !(seenMs > floorMs)) return Number.isNaN(floorMs) ? floor : new Date(floorMs).toISOString();
  return new Date(seenMs).toISOString();
}
