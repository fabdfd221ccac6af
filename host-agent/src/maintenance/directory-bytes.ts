/**
 * Bytes a directory tree holds on the host (a repo cache, for the prune report), walked without
 * following symbolic links and stopping after REPO_CACHE_SIZE_MAX_ENTRIES entries (then unknown):
 * a huge cache must not make a prune slow. What it leaves out: hard links counted once.
 */
import { lstat, readdir } from "node:fs/promises";
import path from "node:path";
import { REPO_CACHE_SIZE_MAX_ENTRIES } from "../config.js";

/** Bytes under `dir` (block-rounded sizes are not used: file sizes), or null when unknown. */
export async function directoryBytes(dir: string, maxEntries = REPO_CACHE_SIZE_MAX_ENTRIES): Promise<number | null> {
  let total = 0;
  let seen = 0;
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop()!;
    const entries = await readdir(current, { withFileTypes: true }).catch(() => null);
    if (!entries) continue;
    for (const entry of entries) {
      if (++seen > maxEntries) return null;
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) pending.push(full);
      else if (entry.isFile()) total += (await lstat(full).catch(() => null))?.size ?? 0;
    }
  }
  return total;
}
