/**
 * Makes the container user own the roots of an environment's volumes (/app, and the dependency
 * volume at /app/node_modules), so an environment that runs as CONTAINER_USER can write its own
 * workspace.
 *
 * Why it is needed: a tmpfs takes `uid=`/`gid=` options, a named volume does not. When Docker
 * creates a container on an empty volume it copies the image's directory at that path into it,
 * ownership included, at every create. An image with /app owned by the user (the test images)
 * gives a volume the user owns; an image without /app (node:24-slim) gives one root owns, and
 * the user cannot write to it.
 *
 * Why a helper container: nothing in the environment may run as root or hold CAP_CHOWN, the
 * engine's API has no chown, and its archive upload never changes the ownership of the directory
 * it unpacks into. So the owner is read first (the first header of the engine's own tar of that
 * path: no exec, so it works on a container that is only created, and the engine, not the
 * container, says who owns it), and only when it is not the user does a one-shot container run
 * `chown <user> <volume roots>`: root with CAP_CHOWN alone, no network, read-only root, the
 * environment's own image (local for sure), the volumes and nothing else, removed when done.
 * It runs after the environment's container is created (the copy at create would undo it) and
 * before it starts. Only the roots are changed, not what lies below them.
 */
import type Docker from "dockerode";
import {
  VOLUME_OWNER_HELPER_MEMORY_MB,
  VOLUME_OWNER_HELPER_PIDS,
  VOLUME_OWNER_HELPER_TIMEOUT_MS,
  VOLUME_OWNER_READ_MAX_BYTES,
  VOLUME_OWNER_READ_TIMEOUT_MS,
} from "../config.js";
import type { DockerClient } from "../docker/client.js";
import { LABEL } from "../docker/labels.js";
import { firstEntryOwner, type TarOwner } from "../docker/tar-header.js";
import type { Logger } from "../lib/logger.js";

/** A volume and where the environment mounts it. */
export type VolumeMount = { volume: string; target: string };

/** Where the helper mounts the n-th volume. */
const helperTarget = (n: number) => `/artie-volume-${n}`;

/** Who owns `target` in the container, from the engine's tar of it (bounded in bytes and time). */
export async function readOwner(docker: DockerClient, dockerId: string, target: string): Promise<TarOwner> {
  const stream = (await docker.archive(dockerId, target)) as NodeJS.ReadableStream & { destroy: () => void };
  const chunks: Buffer[] = [];
  let size = 0;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<TarOwner>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`reading the owner of ${target} took over ${VOLUME_OWNER_READ_TIMEOUT_MS} ms`)),
        VOLUME_OWNER_READ_TIMEOUT_MS,
      );
      stream.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        try {
          const owner = firstEntryOwner(Buffer.concat(chunks));
          if (owner) return resolve(owner);
        } catch (err) {
          return reject(err instanceof Error ? err : new Error(String(err)));
        }
        if (size > VOLUME_OWNER_READ_MAX_BYTES)
          reject(new Error(`no tar header for ${target} in the first ${VOLUME_OWNER_READ_MAX_BYTES} bytes`));
      });
      stream.on("error", reject);
      stream.on("end", () => reject(new Error(`the archive of ${target} ended before its first header`)));
    });
  } finally {
    clearTimeout(timer);
    // Only the first header was wanted: the engine stops tarring when the connection closes.
    stream.destroy();
  }
}

/** The one-shot chown container's options. Pure: unit-tested. */
export function ownerHelperOptions(o: {
  image: string;
  user: string;
  runtime: string;
  volumes: string[];
}): Docker.ContainerCreateOptions {
  const memory = VOLUME_OWNER_HELPER_MEMORY_MB * 1024 * 1024;
  return {
    Image: o.image,
    // The image's entrypoint (node's docker-entrypoint.sh) has no part in this.
    Entrypoint: [],
    Cmd: ["chown", o.user, ...o.volumes.map((_, i) => helperTarget(i))],
    User: "0:0",
    WorkingDir: "/",
    NetworkDisabled: true,
    Labels: { [LABEL.helper]: "volume-owner" },
    HostConfig: {
      NetworkMode: "none",
      Runtime: o.runtime,
      CapDrop: ["ALL"],
      CapAdd: ["CHOWN"],
      SecurityOpt: ["no-new-privileges:true"],
      ReadonlyRootfs: true,
      Mounts: o.volumes.map((v, i) => ({ Type: "volume" as const, Source: v, Target: helperTarget(i) })),
      Memory: memory,
      MemorySwap: memory,
      PidsLimit: VOLUME_OWNER_HELPER_PIDS,
      IpcMode: "private",
      RestartPolicy: { Name: "no" },
      LogConfig: { Type: "none", Config: {} },
    },
  };
}

/**
 * Hands the roots of `mounts` (as mounted in the created container `dockerId`) that the user
 * does not own to the user. Answers the volumes it changed (none in the common case).
 */
export async function ensureVolumeOwner(
  docker: DockerClient,
  logger: Logger,
  o: { dockerId: string; image: string; user: string; runtime: string; mounts: VolumeMount[] },
): Promise<string[]> {
  const [uid, gid] = o.user.split(":").map(Number);
  const wrong: VolumeMount[] = [];
  for (const m of o.mounts) {
    const owner = await readOwner(docker, o.dockerId, m.target);
    if (owner.uid !== uid || owner.gid !== gid) wrong.push(m);
  }
  if (wrong.length === 0) return [];
  const volumes = wrong.map((m) => m.volume);
  logger.info({ dockerId: o.dockerId, volumes, user: o.user }, "handing volume roots to the container user");
  const code = await docker.runOnce(ownerHelperOptions({ ...o, volumes }), VOLUME_OWNER_HELPER_TIMEOUT_MS);
  if (code !== 0)
    throw new Error(
      `could not make ${o.user} the owner of ${wrong.map((m) => m.target).join(" and ")}: chown in ${o.image} exited with ${code}`,
    );
  return volumes;
}
