/** Direct Docker access for tests: inspecting what the agent made, and cleaning up after it. */
import Docker from "dockerode";
import { LABEL, MANAGED_FILTER } from "../../src/docker/labels.js";
import { ARTIFACT_LABEL } from "../../src/setup/artifact-names.js";
import { TEST_NAME_PREFIX } from "./images.js";

export const docker = new Docker();

export async function inspectById(agentId: string) {
  return docker.getContainer(`artie-${agentId}`).inspect();
}

/** Removes managed containers and volumes whose names mark them as made by a test, and networks left without a container. */
export async function removeTestResources(): Promise<void> {
  const all = await docker.listContainers({ all: true, filters: MANAGED_FILTER });
  const ours = all.filter((c) => c.Labels[LABEL.name]?.startsWith(TEST_NAME_PREFIX));
  await Promise.all(
    ours.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
  const { Volumes } = await docker.listVolumes({ filters: MANAGED_FILTER });
  const volumes = (Volumes ?? []).filter((v) => v.Name.startsWith(TEST_NAME_PREFIX));
  await Promise.all(
    volumes.map((v) =>
      docker
        .getVolume(v.Name)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
  await removeOrphanNetworks();
  await removeOrphanWorkspaces();
}

/** Workspace volumes whose environment's container is gone (what an agent's start-up sweep removes). */
export async function removeOrphanWorkspaces(): Promise<void> {
  const { Volumes } = await docker.listVolumes({ filters: { label: [`${LABEL.managed}=true`, LABEL.containerId] } });
  const containers = await docker.listContainers({ all: true, filters: MANAGED_FILTER });
  const live = new Set(containers.map((c) => c.Labels[LABEL.id]));
  await Promise.all(
    (Volumes ?? [])
      .filter((v) => !live.has(v.Labels?.[LABEL.containerId]))
      .map((v) =>
        docker
          .getVolume(v.Name)
          .remove()
          .catch(() => undefined),
      ),
  );
}

/** The network an isolated environment's container names (label artie.network). */
export async function networkOf(agentId: string): Promise<string> {
  const info = await inspectById(agentId);
  const name = info.Config.Labels[LABEL.network];
  if (!name) throw new Error(`container of ${agentId} names no network`);
  return name;
}

/** Environment networks no container names: removed environments, and agents' spares. */
export async function removeOrphanNetworks(): Promise<void> {
  const networks = await docker.listNetworks({ filters: MANAGED_FILTER });
  const containers = await docker.listContainers({ all: true, filters: MANAGED_FILTER });
  const live = new Set(containers.map((c) => c.Labels[LABEL.network]));
  await Promise.all(
    networks
      .filter((n) => !live.has(n.Name))
      .map((n) =>
        docker
          .getNetwork(n.Id)
          .remove()
          .catch(() => undefined),
      ),
  );
}

/** Removes the main images and dependency volumes made for a repo, whichever tenant's (labels). */
export async function removeRepoArtifacts(repo: string): Promise<void> {
  const filters = { label: [`${ARTIFACT_LABEL.repo}=${repo}`] };
  for (const image of await docker.listImages({ filters }))
    await docker
      .getImage(image.Id)
      .remove({ force: true })
      .catch(() => undefined);
  for (const volume of (await docker.listVolumes({ filters })).Volumes ?? [])
    await docker
      .getVolume(volume.Name)
      .remove({ force: true })
      .catch(() => undefined);
}
