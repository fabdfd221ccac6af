/**
 * The disk use of workspace volumes, for the containers' details: from the engine's disk usage
 * report (DockerClient.volumeSizes), which is honest (the engine sizes the volume as root, so a
 * container cannot hide files from it) and works for stopped containers, but sizes every volume
 * on the host and takes seconds. So it is asked at most once per WORKSPACE_USAGE_TTL_MS, one
 * question at a time, given up after WORKSPACE_USAGE_TIMEOUT_MS; a failure keeps the last answer.
 * What it leaves out: limits (nothing here refuses a write; a disk guard reads these numbers).
 */
import { WORKSPACE_USAGE_TIMEOUT_MS, WORKSPACE_USAGE_TTL_MS, WORKSPACE_USAGE_WAIT_MS } from "../config.js";
import { dockerMessage, type DockerClient } from "../docker/client.js";
import type { Logger } from "../lib/logger.js";

export class WorkspaceUsage {
  private sizes = new Map<string, number>();
  private askedAt = -Infinity;
  private pending: Promise<void> | null = null;

  constructor(
    private readonly docker: DockerClient,
    private readonly logger: Logger,
    private readonly ttlMs = WORKSPACE_USAGE_TTL_MS,
  ) {}

  /** The last known size of `volume` (null when never sized); asks again in the background when stale. */
  known(volume: string | null): number | null {
    if (!volume) return null;
    if (this.stale()) void this.refresh();
    return this.sizes.get(volume) ?? null;
  }

  /** Like `known`, but waits up to WORKSPACE_USAGE_WAIT_MS for a stale answer to be renewed. */
  async fresh(volume: string | null): Promise<number | null> {
    if (!volume) return null;
    if (this.stale()) {
      let timer: NodeJS.Timeout | undefined;
      const wait = new Promise<void>((r) => (timer = setTimeout(r, WORKSPACE_USAGE_WAIT_MS)));
      await Promise.race([this.refresh(), wait]).finally(() => clearTimeout(timer));
    }
    return this.sizes.get(volume) ?? null;
  }

  private stale(): boolean {
    return Date.now() - this.askedAt >= this.ttlMs;
  }

  /** One question to the engine at a time; never rejects. */
  private refresh(): Promise<void> {
    this.pending ??= this.ask().finally(() => (this.pending = null));
    return this.pending;
  }

  private async ask(): Promise<void> {
    const started = Date.now();
    try {
      this.sizes = await this.docker.volumeSizes(AbortSignal.timeout(WORKSPACE_USAGE_TIMEOUT_MS));
      this.logger.debug({ volumes: this.sizes.size, ms: Date.now() - started }, "volume sizes read");
    } catch (err) {
      this.logger.warn({ err: dockerMessage(err) }, "cannot read volume sizes from Docker; keeping the last ones");
    } finally {
      // A failure waits a TTL too: an engine that cannot answer is not asked on every request.
      this.askedAt = Date.now();
    }
  }
}
