/**
 * The `cloning` phase: fetch the host-side repo cache, resolve the branch, read the lockfile;
 * replace the container with one from the right image (the tenant's main image when there is one)
 * and the tenant's dependency volume for this lockfile (artifact-names.ts); stream a checkout of the branch into /app. Leaves installing and
 * starting to their own modules.
 */
import { WORKSPACE_DIR, type Config } from "../config.js";
import type { ContainerService } from "../containers/service.js";
import type { DockerClient } from "../docker/client.js";
import { withTimeout } from "../lib/timeout.js";
import type { ContainerIO, LineTail } from "./container-io.js";
import { dependencyVolume } from "./artifact-names.js";
import { findMainImage, type MainImage } from "./main-image.js";
import type { Dependencies, RepoCache } from "./repo-cache.js";
import type { Setup } from "./setup-request.js";
import { SetupError } from "./setup-error.js";

export type Workspace = {
  dockerId: string;
  commit: string;
  deps: Dependencies;
  mainImage: MainImage | null;
  /** The image the container was made from when it is not a main image (a build starts there). */
  baseImage: string | null;
  volumeName: string;
};

export type CloneDeps = {
  config: Config;
  docker: DockerClient;
  containers: ContainerService;
  repos: RepoCache;
  io: ContainerIO;
};

export async function prepareWorkspace(d: CloneDeps, id: string, req: Setup, tail: LineTail): Promise<Workspace> {
  const { repos, containers, io, config } = d;
  await withTimeout(repos.refresh(req.repo, req.githubToken), config.setup.cloneTimeoutMs, "fetching the repository");
  const commit = await repos.resolveBranch(req.repo, req.branch);
  if (!commit)
    throw new SetupError(`Branch "${req.branch}" does not exist in ${req.repo}. Push it or pick another branch.`);
  const deps = await repos.dependencies(req.repo, commit);
  const mainImage = req.hasMainImage ? await findMainImage(d.docker, req.tenant, req.repo) : null;
  const current = await containers.get(id);
  const image = mainImage?.tag ?? req.image ?? (current.image.endsWith(":main") ? config.defaultImage : current.image);
  // Per (tenant, repo, lockfile): shared by the tenant's branches with this lockfile, no one else's.
  const volume = dependencyVolume(req.tenant, req.repo, deps.hash);
  // The host-side checkout and the container swap are independent: do them at once.
  const [swapped, checkedOut] = await Promise.allSettled([
    containers.recreate(id, { image, volume }),
    repos.checkout(req.repo, req.branch),
  ]);
  if (checkedOut.status === "rejected") throw checkedOut.reason;
  const checkout = checkedOut.value;
  if (swapped.status === "rejected") {
    await checkout.dispose();
    throw swapped.reason;
  }
  const dockerId = swapped.value;
  try {
    const from = mainImage ? `, from main image ${mainImage.tag}` : "";
    await io.writeLog(dockerId, [`[cloning] ${req.repo} ${req.branch} at ${commit.slice(0, 12)}${from}`]);
    await withTimeout(
      io.putDirectory(dockerId, checkout.dir, WORKSPACE_DIR),
      config.setup.cloneTimeoutMs,
      "copying the checkout",
    );
  } finally {
    await checkout.dispose();
  }
  tail.push(`[cloning] checked out ${req.branch}\n`);
  return { dockerId, commit, deps, mainImage, baseImage: mainImage ? null : image, volumeName: volume.name };
}
