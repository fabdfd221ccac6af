/**
 * What a prune removes, decided from one look at the engine and DATA_DIR (so a dry run reports
 * exactly what a real run would remove), each item with its removal, which re-checks under the
 * lock that guards it. The rules, all limited to what the agent made (its labels, and
 * PRUNE_ONLY_LABEL when set) and never anything a container uses (any container, running or not:
 * the engine refuses to remove an image or volume a container holds, which backs every rule):
 *
 * - main images (agent-built: `artie.main-commit` or `artie.managed` and a repo label) older than
 *   MAIN_IMAGE_MAX_AGE_HOURS (the engine's `Created`, set when it was built) that no container
 *   uses, except the newest good one of each (tenant, repo): the one its current main tag names
 *   with labels that agree (setup/main-image.ts's findMainImage), which setups start from;
 * - dangling images the agent made (untagged, carrying its labels: a main image a rebuild
 *   replaced), whatever their age, that no container uses;
 * - dependency volumes (`artie.volume`, not a workspace) no container mounts whose last use
 *   (containers/volume-use.ts; the install marker's time counts too) is older than
 *   VOLUME_MAX_IDLE_HOURS; a volume with no recorded use gets one now and goes a period later;
 * - repo caches (DATA_DIR/repo-cache) last fetched longer ago than VOLUME_MAX_IDLE_HOURS;
 * - orphans (also `scope: "orphans"`): managed containers that are stopped (exited, created,
 *   dead), in no operation (containers/operation-lock.ts), and untouched (finished, or created
 *   and never started) for ORPHAN_MAX_AGE_HOURS. The agent has no records (the control plane
 *   does, and removes containers it does not know after 10 minutes: hostAgent.reconcile), so
 *   "no record" is read as "stopped for longer than the control plane keeps a stopped
 *   environment" (30 days at most, the default here 31): the backstop for a host it forgot.
 *
 * What it leaves out: running the removals and reporting (maintenance.ts), workspace volumes
 * (they go with their environment), and anything the operator made.
 */
import { PRUNE_DISK_USAGE_TIMEOUT_MS, type Config } from "../config.js";
import type { PruneKind } from "../api/contract.js";
import type { ContainerService } from "../containers/service.js";
import type { OperationLock } from "../containers/operation-lock.js";
import type { VolumeUse } from "../containers/volume-use.js";
import { dockerMessage, type DockerClient } from "../docker/client.js";
import { LABEL, fromLabels, workspaceVolumeName } from "../docker/labels.js";
import type { Logger } from "../lib/logger.js";
import { ARTIFACT_LABEL, belongsTo, mainImageTag } from "../setup/artifact-names.js";
import { readDepsMarker, removeDepsMarker } from "../setup/deps-marker.js";
import { hasMainImageName } from "../setup/image-policy.js";
import { MAIN_LABELS } from "../setup/main-image.js";
import type { RepoCache } from "../setup/repo-cache.js";
import { forgetRun } from "../setup/run-marker.js";
import { directoryBytes } from "./directory-bytes.js";

export type PlanDeps = {
  config: Config;
  docker: DockerClient;
  containers: ContainerService;
  locks: OperationLock;
  volumeUse: VolumeUse;
  repos: RepoCache;
  logger: Logger;
};

export type Candidate = {
  kind: PruneKind;
  name: string;
  bytes: number | null;
  reason: string;
  /** Removes it, re-checking what could have changed since the plan; answers false when it was kept after all. */
  remove: () => Promise<boolean>;
};

/** States of a container that holds no process: a stopped environment, or one never started. */
const STOPPED = new Set(["exited", "created", "dead"]);
const HOUR_MS = 60 * 60_000;
const hours = (ms: number) => `${Math.floor(ms / HOUR_MS)} h`;

/** The container's label filter for PRUNE_ONLY_LABEL; everything passes when it is unset. */
function onlyLabelFilter(
  onlyLabel: string | undefined,
): (labels: Record<string, string> | null | undefined) => boolean {
  if (!onlyLabel) return () => true;
  const [key, value] = onlyLabel.split("=") as [string, string];
  return (labels) => labels?.[key] === value;
}

export async function planPrune(d: PlanDeps, scope: "all" | "orphans"): Promise<Candidate[]> {
  const now = Date.now();
  const ours = onlyLabelFilter(d.config.maintenance.onlyLabel);
  const everyContainer = await d.docker.listAllContainers();
  const sizes = await d.docker.diskUsage(AbortSignal.timeout(PRUNE_DISK_USAGE_TIMEOUT_MS)).catch((err: unknown) => {
    d.logger.warn({ err: dockerMessage(err) }, "disk usage report not answered in time; sizes unknown");
    return { images: new Map<string, number>(), volumes: new Map<string, number>() };
  });
  const orphans = await planOrphans(d, now, ours, sizes.volumes);
  if (scope === "orphans") return orphans;
  const usedImages = new Set(everyContainer.map((c) => c.ImageID));
  const mounted = new Set(everyContainer.flatMap((c) => (c.Mounts ?? []).flatMap((m) => (m.Name ? [m.Name] : []))));
  return [
    ...orphans,
    ...(await planImages(d, now, ours, usedImages, sizes.images)),
    ...(await planVolumes(d, now, ours, mounted, sizes.volumes)),
    ...(await planRepoCaches(d, now)),
  ];
}

async function planOrphans(
  d: PlanDeps,
  now: number,
  ours: (l: Record<string, string>) => boolean,
  volumeSizes: Map<string, number>,
): Promise<Candidate[]> {
  const maxAge = d.config.maintenance.orphanMaxAgeMs;
  const out: Candidate[] = [];
  for (const c of await d.docker.listManaged()) {
    const labels = fromLabels(c.Labels);
    if (!labels || !ours(c.Labels) || !STOPPED.has(c.State) || d.locks.holder(labels.id)) continue;
    const idle = await stoppedFor(d.docker, c.Id, now);
    if (idle === null || idle < maxAge) continue;
    const id = labels.id;
    out.push({
      kind: "orphan-container",
      name: id,
      bytes: volumeSizes.get(workspaceVolumeName(id)) ?? null,
      reason: `${c.State} for ${hours(idle)} (ORPHAN_MAX_AGE_HOURS ${hours(maxAge)})`,
      remove: async () => {
        // A delete's claim: no start, setup or other delete runs meanwhile; refused if one does.
        const release = await d.locks.claimForDelete(id, 0);
        try {
          const still = await stoppedFor(d.docker, c.Id, Date.now());
          if (still === null || still < maxAge) return false;
          await d.containers.remove(id);
          await forgetRun(d.config.dataDir, id);
          return true;
        } finally {
          release();
        }
      },
    });
  }
  return out;
}

/** Ms since a stopped container last ran (finished, or was created and never started); null when it runs. */
async function stoppedFor(docker: DockerClient, dockerId: string, now: number): Promise<number | null> {
  const info = await docker.inspect(dockerId);
  if (!info || !STOPPED.has(info.State.Status)) return null;
  const finished = Date.parse(info.State.FinishedAt);
  // The engine answers 0001-01-01 for a container that never ran.
  const since = Number.isFinite(finished) && finished > 0 ? finished : Date.parse(info.Created);
  return Number.isFinite(since) ? now - since : null;
}

/** Images carrying the agent's build labels: `artie.managed` ones and older main images (no `managed`). */
async function agentImages(docker: DockerClient) {
  const [managed, main] = await Promise.all([
    docker.listImages({ label: [`${LABEL.managed}=true`] }),
    docker.listImages({ label: [MAIN_LABELS.commit] }),
  ]);
  return [...new Map([...managed, ...main].map((i) => [i.Id, i])).values()];
}

async function planImages(
  d: PlanDeps,
  now: number,
  ours: (l: Record<string, string>) => boolean,
  used: Set<string>,
  sizes: Map<string, number>,
): Promise<Candidate[]> {
  const maxAge = d.config.maintenance.mainImageMaxAgeMs;
  const out: Candidate[] = [];
  for (const image of await agentImages(d.docker)) {
    const labels = image.Labels ?? {};
    if (!ours(labels) || used.has(image.Id)) continue;
    const tags = (image.RepoTags ?? []).filter((t) => t !== "<none>:<none>");
    const bytes = sizes.get(image.Id) ?? image.Size ?? null;
    const remove = async () => {
      // Without force: the engine refuses an image a container took meanwhile.
      if (tags.length === 0) await d.docker.removeImage(image.Id);
      for (const tag of tags) await d.docker.removeImage(tag);
      return true;
    };
    if (tags.length === 0) {
      out.push({ kind: "dangling-image", name: image.Id, bytes, reason: "untagged, left by an earlier build", remove });
      continue;
    }
    const isMain = labels[MAIN_LABELS.commit] !== undefined || labels[ARTIFACT_LABEL.repo] !== undefined;
    if (!isMain && !tags.some(hasMainImageName)) continue;
    const age = now - image.Created * 1000;
    if (age < maxAge) continue;
    const tenant = labels[ARTIFACT_LABEL.tenant];
    const repo = labels[ARTIFACT_LABEL.repo];
    // The newest good one of its repo: the one setups of that repo start from.
    if (tenant && repo && belongsTo(labels, tenant, repo) && tags.includes(mainImageTag(tenant, repo))) continue;
    out.push({
      kind: "main-image",
      name: tags.join(", "),
      bytes,
      reason: `built ${hours(age)} ago (MAIN_IMAGE_MAX_AGE_HOURS ${hours(maxAge)}), unused, not its repo's current main image`,
      remove,
    });
  }
  return out;
}

/** Last recorded use of a dependency volume: its mount record or its install marker, the later. */
async function lastUse(d: PlanDeps, volume: string): Promise<number | null> {
  const [used, marker] = await Promise.all([d.volumeUse.lastUsed(volume), readDepsMarker(d.config.dataDir, volume)]);
  const times = [used, marker?.installedAt ?? null].filter((t): t is number => t !== null);
  return times.length ? Math.max(...times) : null;
}

async function planVolumes(
  d: PlanDeps,
  now: number,
  ours: (l: Record<string, string>) => boolean,
  mounted: Set<string>,
  sizes: Map<string, number>,
): Promise<Candidate[]> {
  const maxIdle = d.config.maintenance.volumeMaxIdleMs;
  const out: Candidate[] = [];
  for (const v of await d.docker.listVolumes([`${LABEL.managed}=true`, LABEL.volume])) {
    // Workspace volumes go with their environment, never by age.
    if (v.labels[LABEL.containerId] !== undefined || !ours(v.labels)) continue;
    if (mounted.has(v.name)) {
      await d.volumeUse.touch(v.name);
      continue;
    }
    const last = await lastUse(d, v.name);
    if (last === null) {
      // No use was ever recorded (a volume older than the record): the idle clock starts now.
      await d.volumeUse.touch(v.name);
      continue;
    }
    if (now - last < maxIdle) continue;
    out.push({
      kind: "dependency-volume",
      name: v.name,
      bytes: sizes.get(v.name) ?? null,
      reason: `unused for ${hours(now - last)} (VOLUME_MAX_IDLE_HOURS ${hours(maxIdle)})`,
      remove: () =>
        d.volumeUse.removing(v.name, async () => {
          const again = await lastUse(d, v.name);
          if (again !== null && Date.now() - again < maxIdle) return false;
          // The engine refuses (409) a volume a container mounts.
          await d.docker.removeVolume(v.name);
          await d.volumeUse.forget(v.name);
          await removeDepsMarker(d.config.dataDir, v.name);
          return true;
        }),
    });
  }
  return out;
}

async function planRepoCaches(d: PlanDeps, now: number): Promise<Candidate[]> {
  const maxIdle = d.config.maintenance.volumeMaxIdleMs;
  const cutoff = now - maxIdle;
  const out: Candidate[] = [];
  for (const repo of await d.repos.cachedRepos()) {
    const last = await d.repos.lastUsed(repo);
    if (last === null || last >= cutoff) continue;
    out.push({
      kind: "repo-cache",
      name: repo,
      bytes: await directoryBytes(d.repos.pathFor(repo)),
      reason: `not fetched for ${hours(now - last)} (VOLUME_MAX_IDLE_HOURS ${hours(maxIdle)})`,
      remove: () => d.repos.removeIfUnusedSince(repo, cutoff),
    });
  }
  return out;
}
