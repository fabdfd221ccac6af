/**
 * Start-up sweep of what a setup leaves on the host only while it runs, so an agent killed
 * mid-setup does not keep it forever: main image build contexts (up to MAIN_IMAGE_MAX_BYTES
 * each), checkouts, half-made repo cache clones and half-written dependency markers. Runs before
 * the agent serves, when none of its setups can be running (next to reportInterrupted). Only
 * names this agent makes are removed, and only under DATA_DIR: the host's temp dir may hold
 * another process's files. Docker artifacts (volumes, images) are maintenance's, not this.
 */
import { readdir, rm } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "../lib/logger.js";
import { CONTEXT_PREFIX, mainImageContextRoot } from "./main-image.js";
import { CHECKOUT_PREFIX, PARTIAL_CLONE_MARK } from "./repo-cache.js";

export type LeftoverRoots = { dataDir: string; repoCacheRoot: string; checkoutRoot: string };

/** Removes the leftovers; answers how many entries went. A failure is logged, never thrown. */
export async function sweepLeftovers(roots: LeftoverRoots, logger: Logger): Promise<number> {
  const contexts = await matching(mainImageContextRoot(roots.dataDir), (n) => n.startsWith(CONTEXT_PREFIX));
  const checkouts = await matching(roots.checkoutRoot, (n) => n.startsWith(CHECKOUT_PREFIX));
  const markers = await matching(path.join(roots.dataDir, "deps"), (n) => n.endsWith(".partial"));
  const clones: string[] = [];
  for (const owner of await matching(roots.repoCacheRoot, () => true))
    clones.push(...(await matching(owner, (n) => n.includes(`.git${PARTIAL_CLONE_MARK}`))));
  const all = [...contexts, ...checkouts, ...markers, ...clones];
  for (const p of all)
    await rm(p, { recursive: true, force: true }).catch((err: unknown) =>
      logger.warn({ path: p, err: String(err) }, "could not remove a setup's leftover"),
    );
  if (all.length) logger.info({ removed: all.length }, "removed leftovers of interrupted setups");
  return all.length;
}

/** Paths of `dir`'s entries whose names pass `keep`; none when `dir` does not exist. */
async function matching(dir: string, keep: (name: string) => boolean): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter(keep).map((n) => path.join(dir, n));
}
