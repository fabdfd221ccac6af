/**
 * The labels the agent puts on everything it creates. The Docker engine is the agent's only
 * database: after a restart these labels are how it finds its containers, their ids and the host
 * ports they hold. Secrets never go into a label (labels are readable by anyone with `docker
 * inspect`).
 */
import { PortMapping } from "../api/contract.js";
import { z } from "zod";

export const LABEL = {
  managed: "artie.managed",
  id: "artie.id",
  name: "artie.name",
  port: "artie.port",
  ports: "artie.ports",
  pool: "artie.pool",
  createdAt: "artie.created-at",
  volume: "artie.volume",
  /** Random, set once when the agent creates a volume: a volume made again under its name gets another. */
  volumeInstance: "artie.volume-instance",
  /** The environment's own network (isolation): which one it is, for a restarted agent. */
  network: "artie.network",
  /** On a workspace volume: the agent id of the environment whose /app it is. */
  containerId: "artie.container-id",
  /** The team whose code a volume or image holds (also setup/artifact-names.ts's). */
  tenant: "artie.tenant",
  /**
   * On the agent's one-shot helper containers (containers/volume-owner.ts), which are not
   * environments: never `artie.managed`, so no listing counts them; swept at start-up.
   */
  helper: "artie.helper",
} as const;

export const MANAGED_FILTER = { label: [`${LABEL.managed}=true`] };

/** Docker container name for an agent id; Docker's unique names make creates idempotent. */
export const containerName = (id: string) => `artie-${id}`;

/**
 * The environment's workspace volume, mounted at /app: one per agent id (ids are `[a-z0-9-]`,
 * so the name is a valid volume name), so every container made for that id (setup recreates
 * it) mounts the same one.
 */
export const workspaceVolumeName = (id: string) => `artie-ws-${id}`;

/** A workspace volume's labels: the agent's, whose it is, and the team when the create said. */
export function workspaceVolumeLabels(id: string, tenant?: string): Record<string, string> {
  return {
    [LABEL.managed]: "true",
    [LABEL.containerId]: id,
    ...(tenant ? { [LABEL.tenant]: tenant } : {}),
  };
}

export type ManagedLabels = {
  id: string;
  name: string;
  ports: PortMapping[];
  pool: boolean;
  createdAt: string;
  volumeName: string | null;
  networkName: string | null;
};

export function toLabels(m: ManagedLabels): Record<string, string> {
  return {
    [LABEL.managed]: "true",
    [LABEL.id]: m.id,
    [LABEL.name]: m.name,
    [LABEL.port]: String(m.ports[0]!.hostPort),
    [LABEL.ports]: JSON.stringify(m.ports),
    [LABEL.pool]: String(m.pool),
    [LABEL.createdAt]: m.createdAt,
    ...(m.volumeName ? { [LABEL.volume]: m.volumeName } : {}),
    ...(m.networkName ? { [LABEL.network]: m.networkName } : {}),
  };
}

const PortsLabel = z.array(PortMapping).min(1);

/** Reads labels back; null when the container is not one of ours or its labels are damaged. */
export function fromLabels(labels: Record<string, string> | undefined): ManagedLabels | null {
  const id = labels?.[LABEL.id];
  if (!labels || labels[LABEL.managed] !== "true" || !id) return null;
  let ports: PortMapping[];
  try {
    ports = PortsLabel.parse(JSON.parse(labels[LABEL.ports] ?? "null"));
  } catch {
    return null;
  }
  return {
    id,
    name: labels[LABEL.name] ?? id,
    ports,
    pool: labels[LABEL.pool] === "true",
    createdAt: labels[LABEL.createdAt] ?? "",
    volumeName: labels[LABEL.volume] ?? null,
    networkName: labels[LABEL.network] ?? null,
  };
}
