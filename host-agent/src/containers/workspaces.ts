/**
 * Workspace volumes, one per environment (named and labelled in docker/labels.ts): made before
 * the environment's first container, removed after its last, and swept at start-up when their
 * environment went while the agent was away. What it leaves out: mounting (container-spec.ts),
 * ownership (volume-owner.ts) and sizes (workspace-usage.ts).
 */
import { dockerMessage, type DockerClient } from "../docker/client.js";
import { LABEL, containerName, workspaceVolumeLabels, workspaceVolumeName } from "../docker/labels.js";
import type { Logger } from "../lib/logger.js";

/**
 * The environment's workspace volume, made with its labels if missing; true when this call made
 * it (so a failed create may remove it: one it found holds an environment's work). A volume of
 * that name that names another environment is never mounted.
 */
export async function ensureWorkspace(docker: DockerClient, id: string, tenant?: string): Promise<boolean> {
  const name = workspaceVolumeName(id);
  const { labels, created } = await docker.ensureVolume(name, workspaceVolumeLabels(id, tenant));
  if (labels[LABEL.containerId] !== id)
    throw new Error(`volume ${name} exists and is not the workspace of ${id}; not mounting it`);
  return created;
}

/**
 * Removes the environment's workspace once its container is gone. A failure (the engine busy,
 * a helper still mounting it) is logged and leaves the volume to the next start-up's sweep,
 * rather than failing a removal that already happened.
 */
export async function removeWorkspace(docker: DockerClient, logger: Logger, id: string): Promise<void> {
  await docker
    .removeVolume(workspaceVolumeName(id))
    .catch((err: unknown) => logger.warn({ id, err: dockerMessage(err) }, "workspace volume not removed"));
}

/**
 * Start-up sweep, run before any create or recreate may (the service waits for it): the one-shot
 * helpers an interrupted run left, then the workspace volumes whose environment has no container
 * (by its id label or its name) any more. A volume some container still mounts is kept: Docker
 * refuses to remove it. Answers how many volumes went.
 */
export async function sweepOrphanWorkspaces(
  docker: DockerClient,
  logger: Logger,
  containers: Array<{ Names?: string[]; Labels?: Record<string, string> }>,
): Promise<number> {
  for (const helper of await docker.listLabelled(LABEL.helper)) await docker.remove(helper);
  const prefix = `/${containerName("")}`;
  const live = new Set<string>();
  for (const c of containers) {
    const id = c.Labels?.[LABEL.id];
    if (id) live.add(id);
    for (const n of c.Names ?? []) if (n.startsWith(prefix)) live.add(n.slice(prefix.length));
  }
  let removed = 0;
  for (const v of await docker.listVolumes([`${LABEL.managed}=true`, LABEL.containerId])) {
    const id = v.labels[LABEL.containerId] ?? "";
    if (live.has(id) || v.name !== workspaceVolumeName(id)) continue;
    try {
      await docker.removeVolume(v.name);
      removed++;
    } catch (err) {
      logger.warn({ volume: v.name, err: dockerMessage(err) }, "orphaned workspace volume not removed");
    }
  }
  if (removed) logger.info({ removed }, "removed workspace volumes of environments that are gone");
  return removed;
}
