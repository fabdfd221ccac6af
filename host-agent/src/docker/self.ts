/**
 * The agent's own container, when it runs in one (docker-compose.deploy.yml), as the engine sees
 * it: the engine resolves a bind mount's source on its host, so a path of the agent's own
 * filesystem handed to it (the CA bundle under DATA_DIR that environments mount, container-spec.ts)
 * must first become the host path behind it: the source of the agent's mount that holds it (a
 * named volume's directory on the host, or a bind mount's source).
 *
 * The container's id comes from the agent's own mount table (/proc/self/mountinfo: Docker mounts
 * /etc/hostname from /var/lib/docker/containers/<id>/), else its cgroup; then one inspect, bounded
 * in time. Found from the engine, never from a variable an operator would have to keep in step.
 * Left out: an agent whose engine is not the one running its container (DinD), which the engine
 * does not know by that id; there the path stays as it is (compose mounts DATA_DIR into the
 * engine at the same path).
 */
import { open } from "node:fs/promises";
import path from "node:path";
import { SELF_FILE_MAX_BYTES, SELF_INSPECT_TIMEOUT_MS } from "../config.js";
import type { Logger } from "../lib/logger.js";
import { withTimeout } from "../lib/timeout.js";
import { dockerMessage, type DockerClient } from "./client.js";

const CONTAINER_ID = /[0-9a-f]{64}/;
/** In mountinfo: a source under Docker's (or Podman's) per-container directory. */
const MOUNTINFO_ID = /\/containers\/([0-9a-f]{64})\//;
/** In /proc/self/cgroup: `docker-<id>.scope` (systemd driver) or `/docker/<id>` (cgroupfs). */
const CGROUP_ID = /(?:docker-|\/docker\/)([0-9a-f]{64})/;

/** A procfs file, at most `maxBytes` (procfs reports size 0 and answers in pages: read until EOF). */
async function readProcFile(file: string, maxBytes: number): Promise<string | null> {
  const handle = await open(file, "r").catch(() => null);
  if (!handle) return null;
  try {
    const buf = Buffer.alloc(maxBytes);
    let length = 0;
    while (length < maxBytes) {
      const { bytesRead } = await handle.read(buf, length, maxBytes - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return buf.subarray(0, length).toString("utf8");
  } finally {
    await handle.close();
  }
}

/** The id of the container this process runs in, or null outside one. */
export async function ownContainerId(): Promise<string | null> {
  const mountinfo = await readProcFile("/proc/self/mountinfo", SELF_FILE_MAX_BYTES);
  const fromMounts = mountinfo
    ?.split("\n")
    .filter((l) => / \/etc\/(hostname|hosts|resolv\.conf) /.test(l))
    .map((l) => MOUNTINFO_ID.exec(l)?.[1])
    .find((id) => id !== undefined);
  if (fromMounts) return fromMounts;
  const cgroup = await readProcFile("/proc/self/cgroup", SELF_FILE_MAX_BYTES);
  const fromCgroup = cgroup ? CGROUP_ID.exec(cgroup)?.[1] : undefined;
  return fromCgroup && CONTAINER_ID.test(fromCgroup) ? fromCgroup : null;
}

type Mount = { Source?: string; Destination?: string };

/** `local` as a path on the engine's host, through the mount holding it; null when none does. */
export function hostPathThrough(mounts: Mount[], local: string): string | null {
  const holding = mounts
    .filter((m) => m.Source && m.Destination)
    .filter((m) => local === m.Destination || local.startsWith(`${m.Destination!.replace(/\/$/, "")}/`))
    .sort((a, b) => b.Destination!.length - a.Destination!.length)[0];
  if (!holding) return null;
  return path.posix.join(holding.Source!, path.posix.relative(holding.Destination!, local));
}

/**
 * Where the engine finds `local` of the agent's filesystem: itself outside a container, or when
 * the engine does not know the agent's container (another engine) or no mount holds the path.
 */
export async function hostPathOf(docker: DockerClient, local: string, logger: Logger): Promise<string> {
  const id = await ownContainerId();
  if (!id) return local;
  try {
    const own = await withTimeout(docker.inspect(id), SELF_INSPECT_TIMEOUT_MS, "inspecting the agent's container");
    const found = own ? hostPathThrough(own.Mounts ?? [], local) : null;
    if (found) logger.info({ path: local, hostPath: found }, "agent runs in a container: path on the engine's host");
    return found ?? local;
  } catch (err) {
    logger.warn({ err: dockerMessage(err), path: local }, "could not inspect the agent's own container");
    return local;
  }
}
