/**
 * When a dependency volume was last used, for maintenance's idle rule (VOLUME_MAX_IDLE_HOURS).
 * The engine keeps no such time (a volume's CreatedAt is its directory's mtime, which a container
 * moves), so the agent keeps one: DATA_DIR/volume-use/<volume>, an empty file whose mtime is set
 * each time the agent mounts the volume into a container (a create naming it, a setup's
 * recreate), and by each sweep for every volume a container mounts then (so a long-lived
 * environment's volume stays fresh and its idle time counts from the last sweep that saw it
 * mounted). No container can write there. Mounting and removing one volume never overlap: both
 * run under the volume's lock here, so a prune cannot remove a volume between a setup making it
 * and the container that mounts it.
 *
 * What it leaves out: deciding what is idle (maintenance/sweep.ts) and workspace volumes (they go
 * with their environment).
 */
import { mkdir, rm, stat, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { KeyedLock } from "../lib/keyed-lock.js";

/** Docker's own volume name rule; anything else is never turned into a file name. */
const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

export class VolumeUse {
  private readonly locks = new KeyedLock();
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, "volume-use");
  }

  private file(volume: string): string {
    if (!VOLUME_NAME.test(volume)) throw new Error(`"${volume}" is not a volume name`);
    return path.join(this.dir, volume);
  }

  /** Records use now, then runs `mount` (make the volume, create the container) under its lock. */
  mounting<T>(volume: string, mount: () => Promise<T>): Promise<T> {
    return this.locks.run(volume, async () => {
      await this.touch(volume);
      return mount();
    });
  }

  /** Runs `remove` under the volume's lock: no mount of it starts meanwhile. */
  removing<T>(volume: string, remove: () => Promise<T>): Promise<T> {
    return this.locks.run(volume, remove);
  }

  /** Sets the volume's last use to `at` (now by default). */
  async touch(volume: string, at: Date = new Date()): Promise<void> {
    const file = this.file(volume);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFile(file, "", { flag: "a", mode: 0o600 });
    await utimes(file, at, at);
  }

  /** Ms since the epoch of the volume's last recorded use; null when none was ever recorded. */
  async lastUsed(volume: string): Promise<number | null> {
    return stat(this.file(volume)).then(
      (s) => s.mtimeMs,
      () => null,
    );
  }

  /** Forgets a removed volume's record. */
  async forget(volume: string): Promise<void> {
    await rm(this.file(volume), { force: true });
  }
}
