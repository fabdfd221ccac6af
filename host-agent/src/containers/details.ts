/**
 * Maps Docker's inspect output to the contract's ContainerDetails, honestly: an OOM kill is
 * reported as `oom_killed`, an exit carries its code, uptime exists only while running, and the
 * workspace volume is the one Docker says is mounted at /app (its size is the service's).
 */
import type Docker from "dockerode";
import { HealthState, type ContainerDetails, type ContainerState } from "../api/contract.js";
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

export function toDetails(
  info: Docker.ContainerInspectInfo,
  labels: ManagedLabels,
  now = Date.now(),
): ContainerDetails {
  const state = containerState(info.State);
  const startedAt = info.State.StartedAt && info.State.StartedAt !== DOCKER_ZERO_TIME ? info.State.StartedAt : null;
  const running = info.State.Running;
  return {
    id: labels.id,
    name: labels.name,
    dockerId: info.Id,
    image: info.Config.Image,
    state,
    exitCode: running || state === "created" ? null : info.State.ExitCode,
    health: HealthState.catch("none").parse(info.State.Health?.Status),
    pool: labels.pool,
    hostPort: labels.ports[0]!.hostPort,
    ports: labels.ports,
    volumeName: labels.volumeName,
    createdAt: labels.createdAt || info.Created,
    startedAt,
    uptimeSeconds: running && startedAt ? Math.max(0, (now - Date.parse(startedAt)) / 1000) : null,
    workspaceVolume: workspaceVolumeOf(info),
  };
}
