/**
 * The `installing` phase: under the dependency volume's lock, skip when the agent's own marker
 * (deps-marker.ts, in DATA_DIR, never in the volume) says this volume holds this lockfile's
 * dependencies (unless the launcher says the install must always run: yarn's Plug'n'Play), else
 * seed the volume from the main image and install with the lockfile's package manager as the
 * launcher runs it, with its environment (or the repo's install command). Success is Docker's exit code for the install, never
 * anything it printed; a failed seed is logged and the install does the rest. The whole phase,
 * seeding included, has one deadline.
 */
import { NODE_MODULES_DIR, WORKSPACE_DIR, type Config } from "../config.js";
import { killTagged, tagEnv } from "../containers/exec-tag.js";
import type { DockerClient } from "../docker/client.js";
import type { KeyedLock } from "../lib/keyed-lock.js";
import type { ContainerIO, LineTail } from "./container-io.js";
import type { Workspace } from "./clone.js";
import { isInstalled, readDepsMarker, removeDepsMarker, writeDepsMarker } from "./deps-marker.js";
import { SEED_DIR } from "./main-image.js";
import { installArgv } from "./package-managers.js";
import { envList, type Setup } from "./setup-request.js";
import { SetupError } from "./setup-error.js";

export type InstallDeps = { config: Config; docker: DockerClient; io: ContainerIO; installLocks: KeyedLock };

export async function installDependencies(
  d: InstallDeps,
  req: Setup,
  w: Workspace,
  tag: string,
  tail: LineTail,
): Promise<void> {
  const { io, config } = d;
  const { dockerId, volumeName } = w;
  await d.installLocks.run(volumeName, async () => {
    const instance = await d.docker.volumeInstance(volumeName);
    const installed = isInstalled(await readDepsMarker(config.dataDir, volumeName), w.deps.hash, instance);
    if (installed && !w.launcher.alwaysInstall) {
      await io.writeLog(dockerId, [`[installing] dependencies for this lockfile are already installed`]);
      return;
    }
    if (installed) await io.writeLog(dockerId, [`[installing] installing anyway: ${w.launcher.alwaysInstall}`]);
    await removeDepsMarker(config.dataDir, volumeName);
    const argv = req.installCommand ?? installArgv(w.launcher, w.deps.manager, w.deps.lockfile);
    const env = envList(req, [...w.launcher.env, tagEnv(tag)]);
    const deadline = Date.now() + config.setup.installTimeoutMs;
    const left = () => Math.max(1, deadline - Date.now());
    let code: number | null;
    try {
      if (w.mainImage) {
        // The volume starts from the main image's dependencies: the install does the rest.
        const seed = ["cp", "-a", `${SEED_DIR}/.`, `${NODE_MODULES_DIR}/`];
        const what = "seeding dependencies from the main image";
        const seeded = await io.run(dockerId, "installing", seed, {
          env: [tagEnv(tag)],
          tail,
          timeoutMs: left(),
          what,
        });
        // A failed seed (a full tmpfs, a hostile file in the volume) costs speed, not
        // correctness: the install below fills in whatever is missing. Said in the log, not hidden.
        if (seeded !== 0) {
          const line = `[installing] seeding from main image ${w.mainImage.tag} failed (cp exit ${seeded}); the install does the rest`;
          tail.push(`${line}\n`);
          await io.writeLog(dockerId, [line]);
        }
      }
      const what = "installing dependencies";
      code = await io.run(dockerId, "installing", argv, { env, workdir: WORKSPACE_DIR, tail, timeoutMs: left(), what });
    } catch (err) {
      // End an overrunning install before the volume's lock is released to the next setup.
      await killTagged(d.docker, dockerId, config.container.user, tag).catch(() => undefined);
      throw err;
    }
    const what = req.installCommand ? argv.join(" ") : w.deps.manager;
    if (code === null)
      throw new SetupError(`Dependency install (${what}) ended its output but Docker reports no exit status for it.`);
    if (code !== 0) throw new SetupError(`Dependency install (${what}) failed with exit code ${code}.`);
    if (instance)
      await writeDepsMarker(config.dataDir, { volume: volumeName, lockHash: w.deps.hash, volumeInstance: instance });
  });
}
