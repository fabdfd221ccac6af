/**
 * "Dependencies installed" markers: DATA_DIR/deps/<volume>.json, written by the agent alone,
 * only after a successful install into that volume. A marker holds the lockfile hash and the
 * volume's instance label (a random value the agent sets when it creates the volume; see
 * DockerClient.volumeInstance), so a volume removed and made again under the same name is not
 * taken as installed. No container can write here, so nothing inside one can make the agent
 * skip or repeat an install for other environments (the old in-volume marker,
 * /app/node_modules/.artie-deps, is never read). Read with a byte limit and parsed with zod even
 * though it is on the host: a file that is not a marker counts as "not installed".
 */
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { DEPS_MARKER_MAX_BYTES } from "../config.js";
import { readSmallFile } from "../lib/bounded-reader.js";

const Marker = z.object({
  volume: z.string(),
  lockHash: z.string().min(1).max(200),
  volumeInstance: z.string().min(1),
  installedAt: z.number(),
});
export type DepsMarker = z.infer<typeof Marker>;

/** Docker's own volume name rule; anything else is never turned into a file name. */
const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

function markerPath(dataDir: string, volume: string): string {
  if (!VOLUME_NAME.test(volume)) throw new Error(`"${volume}" is not a volume name`);
  return path.join(dataDir, "deps", `${volume}.json`);
}

/** The marker for `volume`, or null when there is none or it is not a well-formed marker. */
export async function readDepsMarker(dataDir: string, volume: string): Promise<DepsMarker | null> {
  const bytes = await readSmallFile(markerPath(dataDir, volume), DEPS_MARKER_MAX_BYTES).catch(() => null);
  if (!bytes) return null;
  try {
    const parsed = Marker.safeParse(JSON.parse(bytes.toString("utf8")));
    return parsed.success && parsed.data.volume === volume ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Records a successful install into `volume` (atomically: a torn write is never a marker). */
export async function writeDepsMarker(dataDir: string, m: Omit<DepsMarker, "installedAt">): Promise<void> {
  const file = markerPath(dataDir, m.volume);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const partial = `${file}.${process.pid}.partial`;
  await writeFile(partial, JSON.stringify({ ...m, installedAt: Date.now() }), { mode: 0o600 });
  await rename(partial, file);
}

/** Forgets `volume`'s marker (before an install into it starts: a failed one leaves none). */
export async function removeDepsMarker(dataDir: string, volume: string): Promise<void> {
  await rm(markerPath(dataDir, volume), { force: true });
}

/** Whether `marker` says this very volume (same instance label) holds this lockfile's dependencies. */
export const isInstalled = (marker: DepsMarker | null, lockHash: string, volumeInstance: string | null) =>
  marker !== null &&
  volumeInstance !== null &&
  marker.lockHash === lockHash &&
  marker.volumeInstance === volumeInstance;
