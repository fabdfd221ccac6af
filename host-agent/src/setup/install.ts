/**
 * The `installing` phase: under the dependency volume's lock, skip when the volume already holds
 * this lockfile's dependencies, else seed an empty volume from the main image and install with
 * the lockfile's package manager (or the repo's install command).
 */
import { NODE_MODULES_DIR, WORKSPACE_DIR, type Config } from "../config.js";
import { killTagged, tagEnv } from "../containers/exec-tag.js";
import type { DockerClient } from "../docker/client.js";
import type { KeyedLock } from "../lib/keyed-lock.js";
import { withTimeout } from "../lib/timeout.js";
import type { ContainerIO, LineTail } from "./container-io.js";
import type { Workspace } from "./clone.js";
import { SEED_DIR } from "./main-image.js";
import type { PackageManager } from "./repo-cache.js";
import { envList, type Setup } from "./setup-request.js";
import { SetupError } from "./setup-error.js";

const DEPS_MARKER = `${NODE_MODULES_DIR}/.artie-deps`;

/** The install each lockfile gets when the repo's settings name none. */
export const INSTALL_COMMAND: Record<PackageManager, string[]> = {
  // `npm ci` would try to delete node_modules, which is a volume mount point: install instead.
  npm: ["npm", "install", "--no-audit", "--no-fund", "--prefer-offline"],
  pnpm: ["pnpm", "install", "--frozen-lockfile", "--prefer-offline"],
  yarn: ["yarn", "install", "--frozen-lockfile", "--prefer-offline"],
};

export type InstallDeps = { config: Config; docker: DockerClient; io: ContainerIO; installLocks: KeyedLock };

export async function installDependencies(
  d: InstallDeps,
  req: Setup,
  w: Workspace,
  tag: string,
  tail: LineTail,
): Promise<void> {
  const { io, config } = d;
  const { dockerId } = w;
  await d.installLocks.run(w.volumeName, async () => {
    const installed = await io.capture(dockerId, ["cat", DEPS_MARKER]);
    if (installed === w.deps.hash) {
      await io.writeLog(dockerId, [`[installing] dependencies for this lockfile are already installed`]);
      return;
    }
    if (w.mainImage && installed === null) {
      // An empty volume starts from the main image's dependencies: the install does the rest.
      await io.run(dockerId, "installing", ["cp", "-a", `${SEED_DIR}/.`, `${NODE_MODULES_DIR}/`], { tail });
    }
    const argv = req.installCommand ?? INSTALL_COMMAND[w.deps.manager];
    const env = envList(req, [tagEnv(tag)]);
    const code = await withTimeout(
      io.run(dockerId, "installing", argv, { env, workdir: WORKSPACE_DIR, tail }),
      config.setup.installTimeoutMs,
      "installing dependencies",
    ).catch(async (err: unknown) => {
      // End an overrunning install before the volume's lock is released to the next setup.
      await killTagged(d.docker, dockerId, config.container.user, tag).catch(() => undefined);
      throw err;
    });
    const what = req.installCommand ? argv.join(" ") : w.deps.manager;
    if (code !== 0) throw new SetupError(`Dependency install (${what}) failed with exit code ${code}.`);
    await io.capture(dockerId, ["sh", "-c", 'printf %s "$0" > "$1"', w.deps.hash, DEPS_MARKER]);
  });
}
