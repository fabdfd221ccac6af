/**
 * The host's capacity for /health (the contract's HostCapacity), the way the seed's capacity
 * table reasons about it: memory and CPU of the host, what running managed containers are
 * allowed (their memory and CPU limits, from the engine), the disk (disk-guard.ts), managed
 * containers by state, and the engine's image and volume counts. Memory, CPU and load are the
 * agent's machine's (os module) when the engine runs on it, else `docker info`'s MemTotal and
 * NCPU (`source` says which). A monitor polls /health, so an answer is kept CAPACITY_TTL_MS and
 * one reading may take at most CAPACITY_TIMEOUT_MS (then the last one, or none, is shown).
 *
 * What it leaves out: per-container usage (docker stats is a stream per container) and limits.
 */
import os from "node:os";
import type { HostCapacity } from "../api/contract.js";
import { CAPACITY_TIMEOUT_MS, CAPACITY_TTL_MS, type Config } from "../config.js";
import type { DockerClient } from "../docker/client.js";
import { withTimeout } from "../lib/timeout.js";
import type { DiskGuard } from "./disk-guard.js";

export class CapacityReader {
  private cached: { at: number; value: HostCapacity } | null = null;
  private pending: Promise<HostCapacity> | null = null;

  constructor(
    private readonly config: Config,
    private readonly docker: DockerClient,
    private readonly disk: DiskGuard,
  ) {}

  /** The capacity now (within CAPACITY_TTL_MS); the last known one, or null, when the engine is slow or down. */
  async read(): Promise<HostCapacity | null> {
    if (this.cached && Date.now() - this.cached.at < CAPACITY_TTL_MS) return this.cached.value;
    // One reading at a time, however many monitors ask.
    this.pending ??= this.measure().finally(() => (this.pending = null));
    try {
      const value = await withTimeout(this.pending, CAPACITY_TIMEOUT_MS, "reading the host's capacity");
      this.cached = { at: Date.now(), value };
      return value;
    } catch {
      return this.cached?.value ?? null;
    }
  }

  private async measure(): Promise<HostCapacity> {
    const [info, managed, volumes, disk] = await Promise.all([
      this.docker.engineInfo(),
      this.docker.listManaged(),
      this.docker.listVolumes([]),
      this.disk.reading(),
    ]);
    const running = managed.filter((c) => c.State === "running");
    const limits = await Promise.all(running.map((c) => this.docker.inspect(c.Id)));
    let allocatedMemoryBytes = 0;
    let allocatedCpus = 0;
    for (const i of limits) {
      allocatedMemoryBytes += i?.HostConfig.Memory ?? 0;
      allocatedCpus += (i?.HostConfig.NanoCpus ?? 0) / 1e9;
    }
    const local = this.config.docker.onThisMachine;
    const memoryTotalBytes = local ? os.totalmem() : info.memTotal;
    return {
      memoryTotalBytes,
      memoryAvailableBytes: local ? os.freemem() : Math.max(0, memoryTotalBytes - allocatedMemoryBytes),
      cpus: local ? os.availableParallelism() : info.cpus,
      load1: local ? Math.max(0, os.loadavg()[0] ?? 0) : 0,
      source: local ? "os" : "engine",
      allocatedMemoryBytes,
      allocatedCpus: Math.round(allocatedCpus * 100) / 100,
      disk: { ...disk, minFreeBytes: this.disk.minFreeBytes, low: this.disk.low(disk) },
      containers: { running: running.length, stopped: managed.length - running.length, total: managed.length },
      images: info.images,
      volumes: volumes.length,
    };
  }
}
