/**
 * The disk guard: below MIN_FREE_DISK_GB free, creates and setups are refused with 507
 * `insufficient_storage` (a message saying how much is free and what to prune), and /health
 * says `degraded` with the problem. The disk is the filesystem of the engine's data root
 * (`docker info` DockerRootDir) when the engine is on this machine and that path is visible to
 * the agent (a socket or loopback engine; not from inside the agent's own container), else the
 * agent's DATA_DIR (for a remote engine it is the agent's disk only: the engine's is not visible
 * from here). Read with one statfs, kept DISK_GUARD_TTL_MS.
 *
 * What it leaves out: freeing space (maintenance.ts) and per-container disk quotas.
 */
import { statfs } from "node:fs/promises";
import { AppError } from "../api/errors.js";
import { DISK_GUARD_TTL_MS, type Config } from "../config.js";
import { dockerMessage, type DockerClient } from "../docker/client.js";
import { formatBytes } from "../lib/bounded-reader.js";
import type { Logger } from "../lib/logger.js";

export type DiskReading = { path: string; totalBytes: number; freeBytes: number; usedBytes: number };

async function read(path: string): Promise<DiskReading> {
  const s = await statfs(path);
  const totalBytes = s.blocks * s.bsize;
  // `bavail`: what an unprivileged writer may still use (root's reserve left out).
  return { path, totalBytes, freeBytes: s.bavail * s.bsize, usedBytes: (s.blocks - s.bfree) * s.bsize };
}

export class DiskGuard {
  /** The engine's data root once it was found visible; null until then (DATA_DIR meanwhile). */
  private enginePath: string | null = null;
  private engineAsked = false;
  private cached: { at: number; reading: DiskReading } | null = null;

  constructor(
    private readonly config: Config,
    private readonly docker: DockerClient,
    private readonly logger: Logger,
  ) {}

  get minFreeBytes(): number {
    return this.config.maintenance.minFreeDiskBytes;
  }

  /** The disk's numbers now (within DISK_GUARD_TTL_MS). */
  async reading(): Promise<DiskReading> {
    if (this.cached && Date.now() - this.cached.at < DISK_GUARD_TTL_MS) return this.cached.reading;
    const path = (await this.engineRoot()) ?? this.config.dataDir;
    const reading = await read(path);
    this.cached = { at: Date.now(), reading };
    return reading;
  }

  /** Whether free space is below the threshold (never, with MIN_FREE_DISK_GB=0). */
  low(r: DiskReading): boolean {
    return this.minFreeBytes > 0 && r.freeBytes < this.minFreeBytes;
  }

  /** What /health lists as a problem; null when there is room (or the disk cannot be read). */
  async problem(): Promise<string | null> {
    const r = await this.reading().catch(() => null);
    return r && this.low(r) ? this.describe(r) : null;
  }

  /** Throws 507 insufficient_storage when free space is below MIN_FREE_DISK_GB. */
  async check(): Promise<void> {
    if (this.minFreeBytes === 0) return;
    const r = await this.reading().catch((err: unknown) => {
      // A disk the agent cannot read is no reason to refuse work: logged, let through.
      this.logger.warn({ err: String(err) }, "cannot read free disk space; the disk guard lets this through");
      return null;
    });
    if (r && this.low(r)) throw new AppError("insufficient_storage", this.describe(r));
  }

  private describe(r: DiskReading): string {
    return (
      `Only ${formatBytes(r.freeBytes)} free on ${r.path} (MIN_FREE_DISK_GB wants ${formatBytes(this.minFreeBytes)}): ` +
      "creates and setups are refused until there is room. Run `npx artie-host prune` on the host " +
      "(old main images, idle dependency volumes and repo caches, orphaned containers), or free disk space."
    );
  }

  /** DockerRootDir when the engine is on this machine and the agent can see that path. */
  private async engineRoot(): Promise<string | null> {
    if (this.enginePath || this.engineAsked || !this.config.docker.onThisMachine) return this.enginePath;
    try {
      const { rootDir } = await this.docker.engineInfo();
      this.engineAsked = true;
      if (
        rootDir &&
        (await statfs(rootDir).then(
          () => true,
          () => false,
        ))
      )
        this.enginePath = rootDir;
      else
        this.logger.info(
          { rootDir, dataDir: this.config.dataDir },
          "engine data root not visible; disk guard reads DATA_DIR",
        );
    } catch (err) {
      // Docker not answering yet: DATA_DIR this time, asked again next time.
      this.logger.debug({ err: dockerMessage(err) }, "cannot ask Docker for its data root yet");
    }
    return this.enginePath;
  }
}
