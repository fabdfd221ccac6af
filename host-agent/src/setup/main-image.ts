/**
 * Prebuilt main images: `<owner>-<repo>:main` = the base image plus the repo's installed
 * dependencies under SEED_DIR, labelled with the commit and lockfile hash they were built from.
 * A later setup of any branch starts from it: an empty dependency volume is seeded from it and
 * the install only does the difference. Built with the engine's own builder from a context of
 * the container's node_modules and a fixed Dockerfile; no credential is anywhere in the context
 * (the GitHub token never enters a container, and the context is only node_modules).
 */
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pack } from "tar-fs";
import type { DockerClient } from "../docker/client.js";
import { NODE_MODULES_DIR } from "../config.js";
import type { ContainerIO } from "./container-io.js";

/** Where a main image keeps its dependencies, outside the workspace mounts. */
export const SEED_DIR = "/opt/artie/seed/node_modules";
export const MAIN_LABELS = {
  commit: "artie.main-commit",
  lockHash: "artie.lock-hash",
  base: "artie.base-image",
} as const;

export const mainImageTag = (repo: string) => `${repo.replace("/", "-").toLowerCase()}:main`;

export type MainImage = { tag: string; commit: string; lockHash: string };

export async function findMainImage(docker: DockerClient, repo: string): Promise<MainImage | null> {
  const tag = mainImageTag(repo);
  const labels = await docker.imageLabels(tag);
  if (!labels) return null;
  return { tag, commit: labels[MAIN_LABELS.commit] ?? "", lockHash: labels[MAIN_LABELS.lockHash] ?? "" };
}

export async function buildMainImage(
  docker: DockerClient,
  io: ContainerIO,
  o: {
    dockerId: string;
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
    const dockerfile = [
      `FROM ${o.baseImage}`,
      `COPY --chown=${o.user} node_modules ${SEED_DIR}`,
      `LABEL ${MAIN_LABELS.commit}=${o.commit} ${MAIN_LABELS.lockHash}=${o.lockHash} ${MAIN_LABELS.base}=${o.baseImage}`,
      "",
    ].join("\n");
    await writeFile(path.join(context, "Dockerfile"), dockerfile);
    const tag = mainImageTag(o.repo);
    await docker.buildImage(pack(context), tag);
    return { tag, commit: o.commit, lockHash: o.lockHash };
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}
