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
import { tmpdir } from "node:os";
import path from "node:path";
import { pack } from "tar-fs";
import type { DockerClient } from "../docker/client.js";
import { LABEL } from "../docker/labels.js";
import { NODE_MODULES_DIR } from "../config.js";
import { ARTIFACT_LABEL, belongsTo, mainImageTag } from "./artifact-names.js";
import type { ContainerIO } from "./container-io.js";

/** Where a main image keeps its dependencies, outside the workspace mounts. */
export const SEED_DIR = "/opt/artie/seed/node_modules";
export const MAIN_LABELS = {
  ...ARTIFACT_LABEL,
  commit: "artie.main-commit",
  base: "artie.base-image",
} as const;

export type MainImage = { tag: string; commit: string; lockHash: string; base: string };

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
  docker: DockerClient,
  io: ContainerIO,
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
  },
): Promise<MainImage> {
  const context = await mkdtemp(path.join(tmpdir(), "artie-main-image-"));
  try {
    const modules = path.join(context, "node_modules");
    await mkdir(modules);
    await io.getDirectory(o.dockerId, NODE_MODULES_DIR, modules, { maxBytes: o.maxBytes });
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
    await docker.buildImage(pack(context), tag);
    return { tag, commit: o.commit, lockHash: o.lockHash, base: o.baseImage };
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}
