/**
 * Names of the caches that hold a repo's code or dependencies, per (tenant, repo): dependency
 * volumes and main images. A name is a hash of its parts joined by NUL (no tenant, repo or hash
 * contains one), so the encoding is unambiguous: `acme-x/y` and `acme/x-y` differ, and two
 * tenants never meet on one name. The readable parts go into labels, which the agent sets and
 * checks. Old `<owner>-<repo>` volumes and images are left alone here; pruning is maintenance's.
 */
import { createHash } from "node:crypto";
import { LABEL } from "../docker/labels.js";

/** Hex characters of the hash kept in a name: 96 bits, far beyond any host's count of repos. */
const NAME_HASH_HEX = 24;

export const ARTIFACT_LABEL = {
  tenant: LABEL.tenant,
  repo: "artie.repo",
  lockHash: "artie.lock-hash",
} as const;

const digest = (...parts: string[]) =>
  createHash("sha256").update(parts.join("\0")).digest("hex").slice(0, NAME_HASH_HEX);

/** `artie-deps-<24 hex of sha256(tenant \0 repo \0 lockHash)>`. */
export const dependencyVolumeName = (tenant: string, repo: string, lockHash: string) =>
  `artie-deps-${digest(tenant, repo, lockHash)}`;

/** `artie-main-<24 hex of sha256(tenant \0 repo)>:main`. */
export const mainImageTag = (tenant: string, repo: string) => `artie-main-${digest(tenant, repo)}:main`;

export type DependencyVolume = { name: string; labels: Record<string, string> };

export function dependencyVolume(tenant: string, repo: string, lockHash: string): DependencyVolume {
  const name = dependencyVolumeName(tenant, repo, lockHash);
  return {
    name,
    labels: {
      [LABEL.managed]: "true",
      [LABEL.volume]: name,
      [ARTIFACT_LABEL.tenant]: tenant,
      [ARTIFACT_LABEL.repo]: repo,
      [ARTIFACT_LABEL.lockHash]: lockHash,
    },
  };
}

/** True when an existing artifact's labels name this tenant and repo (a name alone is not proof). */
export const belongsTo = (labels: Record<string, string> | null | undefined, tenant: string, repo: string) =>
  labels?.[ARTIFACT_LABEL.tenant] === tenant && labels[ARTIFACT_LABEL.repo] === repo;
