/**
 * What the dev server watch must remember across an agent restart: for each watched environment,
 * one file DATA_DIR/watch/<id>.json holding its container and exec, the URL its health is
 * checked at, and where to report (callback URL and secret: mode 0600, like the setup markers;
 * never a token). Written when the watch begins, removed when it ends (a report, an intentional
 * stop). Read back bounded (WATCH_MARKER_MAX_BYTES, no links, no FIFOs) and parsed with zod; an
 * unreadable one is dropped.
 */
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { ContainerId } from "../api/contract.js";
import { WATCH_MARKER_MAX_BYTES } from "../config.js";
import { readSmallFile } from "../lib/bounded-reader.js";
import type { Logger } from "../lib/logger.js";

export const WatchTarget = z.object({
  /** The container the dev server runs in (a recreated container is another one). */
  dockerId: z.string().min(1).max(128),
  /** The dev server's exec (LoggedRun.execId). */
  execId: z.string().min(1).max(128),
  /** Where the readiness probe reached it: the health check asks the same URL. */
  probeUrl: z.url({ protocol: /^https?$/ }),
  callbackUrl: z.string().min(1),
  callbackSecret: z.string().min(1),
  repo: z.string().min(1),
  branch: z.string().min(1),
  /**
   * The container's State.StartedAt when the dev server answered: the same container running
   * with another one was started again since (its dev server with it is gone). Absent in markers
   * written before it was kept.
   */
  startedAt: z.string().min(1).optional(),
});
export type WatchTarget = z.infer<typeof WatchTarget>;

export class WatchMarkers {
  private readonly dir: string;

  constructor(
    dataDir: string,
    private readonly logger: Logger,
  ) {
    this.dir = path.join(dataDir, "watch");
  }

  async save(id: string, target: WatchTarget): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = this.fileFor(id);
    await writeFile(`${file}.tmp`, JSON.stringify(target), { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  }

  async remove(id: string): Promise<void> {
    await rm(this.fileFor(id), { force: true });
  }

  /** Every readable marker; the rest are removed. */
  async list(): Promise<Array<{ id: string; target: WatchTarget }>> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const found: Array<{ id: string; target: WatchTarget }> = [];
    for (const file of (await readdir(this.dir)).filter((f) => f.endsWith(".json"))) {
      const id = file.replace(/\.json$/, "");
      try {
        const bytes = await readSmallFile(path.join(this.dir, file), WATCH_MARKER_MAX_BYTES);
        if (!bytes) throw new Error(`not a file of at most ${WATCH_MARKER_MAX_BYTES} bytes`);
        found.push({ id: ContainerId.parse(id), target: WatchTarget.parse(JSON.parse(bytes.toString("utf8"))) });
      } catch (err) {
        this.logger.warn({ err, file }, "dropping an unreadable watch marker");
        await rm(path.join(this.dir, file), { force: true });
      }
    }
    return found;
  }

  private fileFor(id: string) {
    return path.join(this.dir, `${ContainerId.parse(id)}.json`);
  }
}
