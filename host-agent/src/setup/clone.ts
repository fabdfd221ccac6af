/**
 * The `cloning` phase: fetch the host-side repo cache, resolve the branch, read the lockfile;
 * replace the container with one from the right image (the tenant's main image when there is one
 * built on the requested base, else the requested image, which may not be another tenant's main
 * image: image-policy.ts) and the tenant's dependency volume for this lockfile
 * (artifact-names.ts); stream a checkout of the branch into /app; find out how this image runs
 * the repo's package manager (launcher.ts). Leaves installing and starting to their own modules.
 */
import { WORKSPACE_DIR, type Config } from "../config.js";
import type { ContainerService } from "../containers/service.js";
import type { DockerClient } from "../docker/client.js";
import { withTimeout } from "../lib/timeout.js";
import type { ContainerIO, LineTail } from "./container-io.js";
import { dependencyVolume } from "./artifact-names.js";
import { foreignImageMessage, imageOrigin, type ImageOwner } from "./image-policy.js";
import { NPM_LAUNCHER, resolveLauncher, type Launcher } from "./launcher.js";
import { findMainImage, type MainImage } from "./main-image.js";
import type { Dependencies, RepoCache } from "./repo-cache.js";
import { envList, type Setup } from "./setup-request.js";
import { SetupError } from "./setup-error.js";

export type Workspace = {
  dockerId: string;
  commit: string;
  deps: Dependencies;
  /** How this container runs the package manager: argv prefix and environment (launcher.ts). */
  launcher: Launcher;
  mainImage: MainImage | null;
  /** The image the container was made from when it is not a main image (a build starts there). */
  baseImage: string | null;
  /**
   * The base the setup asked for (its `image`, or the base of its own main image when it named
   * that); null when it named none. A main image on another base is stale.
   */
  requestedBase: string | null;
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
  const owner = { tenant: req.tenant, repo: req.repo };
  const requested = req.image ? await imageOrigin(d.docker, req.image, owner) : null;
  if (req.image && requested?.agentBuilt && !requested.owned) throw new SetupError(foreignImageMessage(req.image));
  // With no image named, the base is what the container was made from (the default image for a
  // pooled one): a repo whose settings went back to the default gets its main image rebuilt.
  const fallback = req.image ? null : await fallbackImage(d, id, owner);
  const requestedBase = requested?.agentBuilt ? requested.base : (req.image ?? fallback);
  const found = req.hasMainImage ? await findMainImage(d.docker, req.tenant, req.repo) : null;
  // A main image built on another base than the one asked for is stale: the settings changed.
  const mainImage = found && (!requestedBase || found.base === requestedBase) ? found : null;
  const image = mainImage?.tag ?? req.image ?? fallback!;
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
    const lines = [`[cloning] ${req.repo} ${req.branch} at ${commit.slice(0, 12)}${from}`];
    if (found && !mainImage)
      lines.push(`[cloning] main image ${found.tag} was built on ${found.base}, not ${requestedBase}: not using it`);
    await io.writeLog(dockerId, lines);
    await withTimeout(
      io.putDirectory(dockerId, checkout.dir, WORKSPACE_DIR),
      config.setup.cloneTimeoutMs,
      "copying the checkout",
    );
  } finally {
    await checkout.dispose();
  }
  tail.push(`[cloning] checked out ${req.branch}\n`);
  const launcher = await launcherFor(d, dockerId, req, deps, image);
  const line = `[cloning] package manager: ${launcher.summary}`;
  tail.push(`${line}\n`);
  await io.writeLog(dockerId, [line]);
  // The tenant's own main image asked for by name builds on that image's base, never on itself.
  const baseImage = mainImage ? null : requested?.agentBuilt ? (requested.base ?? config.defaultImage) : image;
  return {
    dockerId,
    commit,
    deps,
    launcher,
    mainImage,
    baseImage,
    requestedBase,
    volumeName: volume.name,
  };
}

/**
 * How this container runs the repo's package manager. When the repo's settings name both the
 * install and the dev command, setup never runs the manager itself: a manager the image lacks
 * (bun) is then the commands' business, said in the log instead of failing the setup.
 */
async function launcherFor(d: CloneDeps, dockerId: string, req: Setup, deps: Dependencies, image: string) {
  const resolve = () =>
    resolveLauncher(d.docker, dockerId, {
      user: d.config.container.user,
      manager: deps.manager,
      lockfile: deps.lockfile,
      pin: deps.pkg.packageManager,
      files: deps.files,
      image,
      env: envList(req, []),
    });
  if (!req.installCommand || !req.devCommand) return resolve();
  try {
    return await resolve();
  } catch (err) {
    if (!(err instanceof SetupError)) throw err;
    return {
      ...NPM_LAUNCHER,
      argv: [deps.manager],
      summary: `not used (the repo's settings name both commands): ${err.message}`,
    };
  }
}

/**
 * The container's own image when the setup names none; any image the agent built (a main image
 * a previous setup put there, whoever's) gives way to the default image.
 */
async function fallbackImage(d: CloneDeps, id: string, owner: ImageOwner): Promise<string> {
  const current = (await d.containers.get(id)).image;
  return (await imageOrigin(d.docker, current, owner)).agentBuilt ? d.config.defaultImage : current;
}
