/**
 * Prebuilt main images, one per (tenant, repo) (named in artifact-names.ts): the base image plus
 * the repo's installed dependencies under SEED_DIR, labelled with the tenant, repo, commit, base
 * image and lockfile hash they were built from. A later setup of that tenant, any branch, starts
 * from it: an empty dependency volume is seeded from it and
 * the install only does the difference. Built with the engine's own builder from a context of
 * the container's node_modules and a fixed Dockerfile; no credential is anywhere in the context
 * (the GitHub token never enters a container, and the context is only node_modules).
 */
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { pack } from "tar-fs";
import type { DockerClient } from "../docker/client.js";
import { LABEL } from "../docker/labels.js";
import { MAIN_IMAGE_BUILD_TIMEOUT_MS, NODE_MODULES_DIR } from "../config.js";
import { ARTIFACT_LABEL, belongsTo, mainImageTag } from "./artifact-names.js";
import type { ContainerIO } from "./container-io.js";
import { PM_CACHE_DIR } from "./launcher.js";

/** Where a main image keeps its dependencies, outside the workspace mounts. */
export const SEED_DIR = "/opt/artie/seed/node_modules";
export const MAIN_LABELS = {
  ...ARTIFACT_LABEL,
  commit: "artie.main-commit",
  base: "artie.base-image",
} as const;

export type MainImage = { tag: string; commit: string; lockHash: string; base: string };

/** Prefix of a build context's directory, under mainImageContextRoot (swept at start-up). */
export const CONTEXT_PREFIX = "artie-main-image-";

/**
 * Where build contexts go: under DATA_DIR, on the disk the operator sized for the agent (up to
 * MAIN_IMAGE_MAX_BYTES each), not the host's temp dir.
 */
export const mainImageContextRoot = (dataDir: string) => path.join(dataDir, "main-image-builds");

/** The tenant's main image of a repo; null when there is none (or the tag is not what it claims). */
export async function findMainImage(docker: DockerClient, tenant: string, repo: string): Promise<MainImage | null> {
  const tag = mainImageTag(tenant, repo);
  const labels = await docker.imageLabels(tag);
  if (!labels || !belongsTo(labels, tenant, repo)) return null;
  return {
    tag,
    commit: labels[MAIN_LABELS.commit] ?? "",
    lockHash: labels[MAIN_LABELS.lockHash] ?? "",
    base: labels[MAIN_LABELS.base] ?? "",
  };
}

export async function buildMainImage(
  docker: Pick<DockerClient, "buildImage">,
  io: Pick<ContainerIO, "getDirectory">,
  o: {
    dockerId: string;
    tenant: string;
    repo: string;
    baseImage: string;
    commit: string;
    lockHash: string;
    user: string;
    /** Most bytes read out of the container onto the host (MAIN_IMAGE_MAX_BYTES). */
    maxBytes: number;
    /** mainImageContextRoot(DATA_DIR). */
    contextRoot: string;
    /**
     * False once something else claimed the container (a redeploy writing /app, a restart): a
     * copy taken meanwhile may be torn, so no image (and no commit label) is made from it.
     */
    stillOurs: () => boolean;
  },
): Promise<MainImage | null> {
  await mkdir(o.contextRoot, { recursive: true, mode: 0o700 });
  const context = await mkdtemp(path.join(o.contextRoot, CONTEXT_PREFIX));
  try {
    const modules = path.join(context, "node_modules");
    await mkdir(modules);
    // The package managers' caches stay out: the image holds dependencies, not their sources.
    const exclude = path.basename(PM_CACHE_DIR);
    await io.getDirectory(o.dockerId, NODE_MODULES_DIR, modules, { maxBytes: o.maxBytes, exclude });
    if (!o.stillOurs()) return null;
    const labels: Record<string, string> = {
      [LABEL.managed]: "true",
      [MAIN_LABELS.tenant]: o.tenant,
      [MAIN_LABELS.repo]: o.repo,
      [MAIN_LABELS.commit]: o.commit,
      [MAIN_LABELS.lockHash]: o.lockHash,
      [MAIN_LABELS.base]: o.baseImage,
    };
    // Every value is validated (tenant, repo, image ref) or hex; quoted as JSON all the same.
    const label = Object.entries(labels)
      .map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`)
      .join(" ");
    const dockerfile = [
      `FROM ${o.baseImage}`,
      `COPY --chown=${o.user} node_modules ${SEED_DIR}`,
      `LABEL ${label}`,
      "",
    ].join("\n");
    await writeFile(path.join(context, "Dockerfile"), dockerfile);
    const tag = mainImageTag(o.tenant, o.repo);
    await docker.buildImage(pack(context), tag, MAIN_IMAGE_BUILD_TIMEOUT_MS);
    return { tag, commit: o.commit, lockHash: o.lockHash, base: o.baseImage };
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}
