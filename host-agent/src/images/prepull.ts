/**
 * Background pre-pull: at start-up the agent pulls DEFAULT_IMAGE and PREPULL_IMAGES, one at a
 * time, so the first create of a fresh host (a DinD engine with an empty cache) does not wait for
 * a download. Each image is kept as the contract's `ImagePull` (shown in /health): one already on
 * the engine is `present` without a pull; a pull's progress is read from the engine's stream
 * (bounded in bytes and time) and logged now and then; a failure (registry unreachable, image
 * unknown) is logged and tried again with exponential backoff, never fatal. A create or a setup
 * needing an image whose pull is under way waits for it (`waitFor`, bounded by its caller).
 *
 * What it leaves out: registry credentials (the engine's own, if any, apply), pulling images a
 * request names that are not in the list (a create answers image_not_found for those), and
 * removing images (maintenance/).
 */
import { z } from "zod";
import {
  IMAGE_PULL_MAX_PROGRESS_BYTES,
  IMAGE_PULL_RETRY_BASE_MS,
  IMAGE_PULL_RETRY_CAP_MS,
  IMAGE_PULL_TIMEOUT_MS,
} from "../config.js";
import type { ImagePull } from "../api/contract.js";
import { dockerMessage, type DockerClient } from "../docker/client.js";
import type { Logger } from "../lib/logger.js";

/** A pull's progress is logged at most this often (the stream sends several lines a second). */
const PROGRESS_LOG_EVERY_MS = 10_000;
/** Longest single progress line kept while waiting for its end; a longer one fails the pull. */
const PROGRESS_LINE_MAX_BYTES = 64 * 1024;

export type PullLimits = { retryBaseMs: number; retryCapMs: number; timeoutMs: number; maxBytes: number };
const DEFAULT_LIMITS: PullLimits = {
  retryBaseMs: IMAGE_PULL_RETRY_BASE_MS,
  retryCapMs: IMAGE_PULL_RETRY_CAP_MS,
  timeoutMs: IMAGE_PULL_TIMEOUT_MS,
  maxBytes: IMAGE_PULL_MAX_PROGRESS_BYTES,
};

/** What a create or a setup asks of the pre-pull (containers/service.ts). */
export interface ImageWaiter {
  /** Resolves once a pull of `ref` under way (or about to start) ended, or after `timeoutMs`. */
  waitFor(ref: string, timeoutMs: number): Promise<void>;
  /** Why `ref` is not here, when the pre-pull knows (its last error); null otherwise. */
  describe(ref: string): string | null;
}

/** `node` and `node:latest` are one image; a tag or digest given is kept as is. */
export function normalizeRef(ref: string): string {
  const name = ref.split("@")[0]!;
  if (name !== ref) return ref;
  return name.lastIndexOf(":") > name.lastIndexOf("/") ? ref : `${ref}:latest`;
}

type Entry = ImagePull & { nextAt: number; settled: Array<() => void> };

/** One line of the engine's pull stream, as far as the pre-pull reads it; other fields are ignored. */
const ProgressLine = z.object({
  id: z.string().optional(),
  status: z.string().optional(),
  error: z.string().optional(),
  errorDetail: z.object({ message: z.string().optional() }).optional(),
  progressDetail: z.object({ current: z.number().optional(), total: z.number().optional() }).optional(),
});
type ProgressLine = z.infer<typeof ProgressLine>;

/** A line that is not JSON or not of that shape is skipped, not taken for an error. */
function parseLine(text: string): ProgressLine | null {
  try {
    const parsed = ProgressLine.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export class ImagePuller implements ImageWaiter {
  private readonly entries = new Map<string, Entry>();
  private readonly stopping = new AbortController();
  private running: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly docker: DockerClient,
    private readonly logger: Logger,
    images: string[],
    private readonly limits: PullLimits = DEFAULT_LIMITS,
  ) {
    const now = new Date().toISOString();
    for (const image of images) {
      const key = normalizeRef(image);
      if (!this.entries.has(key))
        this.entries.set(key, { image, state: "pending", attempts: 0, updatedAt: now, nextAt: 0, settled: [] });
    }
  }

  /** Starts the background loop (once); it ends when every image is present or on `stop`. */
  start(): void {
    this.running ??= this.loop().catch((err: unknown) =>
      this.logger.error({ err: String(err) }, "image pre-pull stopped unexpectedly"),
    );
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake?.();
    await this.running;
  }

  /** Every image as /health shows it, in the configured order. */
  status(): ImagePull[] {
    return [...this.entries.values()].map(({ nextAt: _n, settled: _s, ...pull }) => pull);
  }

  async waitFor(ref: string, timeoutMs: number): Promise<void> {
    const e = this.entries.get(normalizeRef(ref));
    // A failed pull waits for its backoff: a create need not wait that long to hear why.
    if (!e || e.state === "present" || e.state === "failed" || this.stopping.signal.aborted) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      e.settled.push(resolve);
      timer = setTimeout(resolve, timeoutMs);
    });
    clearTimeout(timer);
  }

  describe(ref: string): string | null {
    const e = this.entries.get(normalizeRef(ref));
    if (!e || e.state === "present") return null;
    if (e.state === "failed")
      return `its background pull failed (${e.error ?? "unknown error"}); next attempt at ${e.nextAttemptAt}`;
    return `its background pull is still ${e.state}`;
  }

  private async loop(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      const waiting = [...this.entries.values()].filter((e) => e.state !== "present");
      if (waiting.length === 0) return;
      const due = waiting.find((e) => e.nextAt <= Date.now());
      if (due) {
        await this.attempt(due);
        continue;
      }
      const next = Math.min(...waiting.map((e) => e.nextAt));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, next - Date.now()));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  private update(e: Entry, change: Partial<ImagePull>): void {
    Object.assign(e, change, { updatedAt: new Date().toISOString() });
  }

  private settle(e: Entry): void {
    for (const resolve of e.settled.splice(0)) resolve();
  }

  private async attempt(e: Entry): Promise<void> {
    try {
      if (await this.docker.imageExists(e.image)) {
        this.update(e, { state: "present", error: undefined, nextAttemptAt: undefined });
        if (e.attempts === 0) this.logger.info({ image: e.image }, "image already present; not pulled");
        return this.settle(e);
      }
      this.update(e, { state: "pulling", attempts: e.attempts + 1, error: undefined, nextAttemptAt: undefined });
      await this.pull(e);
      // The stream ending is not proof: the engine must now have the image.
      if (!(await this.docker.imageExists(e.image)))
        throw new Error("the pull ended but the engine does not have the image");
      this.update(e, { state: "present" });
      this.logger.info({ image: e.image, attempts: e.attempts, progress: e.progress }, "image pulled");
    } catch (err) {
      if (this.stopping.signal.aborted) return this.settle(e);
      const delay = Math.min(this.limits.retryCapMs, this.limits.retryBaseMs * 2 ** Math.max(0, e.attempts - 1));
      e.nextAt = Date.now() + delay;
      const error = dockerMessage(err).slice(0, 1000);
      this.update(e, { state: "failed", error, nextAttemptAt: new Date(e.nextAt).toISOString() });
      this.logger.warn(
        { image: e.image, attempts: e.attempts, err: error, retryInMs: delay },
        "image pull failed; retrying later",
      );
    }
    this.settle(e);
  }

  /** One pull, its stream read within the byte and time limits; rejects on the engine's error. */
  private async pull(e: Entry): Promise<void> {
    const abort = new AbortController();
    const stop = () => abort.abort();
    this.stopping.signal.addEventListener("abort", stop, { once: true });
    const timer = setTimeout(stop, this.limits.timeoutMs);
    const layers = new Map<string, { current: number; total: number }>();
    let lastLog = Date.now();
    try {
      const stream = await this.docker.pullImage(e.image, abort.signal);
      await readProgress(stream, abort.signal, this.limits, (line) => {
        if (line.error || line.errorDetail?.message) throw new Error(line.errorDetail?.message ?? line.error);
        trackLayer(layers, line);
        const progress = sumLayers(layers);
        if (progress) this.update(e, { progress });
        if (progress && Date.now() - lastLog >= PROGRESS_LOG_EVERY_MS) {
          lastLog = Date.now();
          this.logger.info({ image: e.image, ...progress }, "pulling image");
        }
      });
    } catch (err) {
      if (abort.signal.aborted && !this.stopping.signal.aborted)
        throw new Error(`the pull did not finish within ${Math.round(this.limits.timeoutMs / 1000)} s`, {
          cause: err,
        });
      throw err;
    } finally {
      clearTimeout(timer);
      this.stopping.signal.removeEventListener("abort", stop);
    }
  }
}

/** Layer progress from one line: downloading counts its bytes, a finished layer counts whole. */
function trackLayer(layers: Map<string, { current: number; total: number }>, line: ProgressLine): void {
  if (!line.id) return;
  const d = line.progressDetail;
  if (line.status === "Downloading" && d && typeof d.total === "number" && d.total > 0) {
    layers.set(line.id, { current: Math.min(d.current ?? 0, d.total), total: d.total });
  } else if (line.status === "Download complete" || line.status === "Pull complete") {
    const l = layers.get(line.id);
    if (l) l.current = l.total;
  }
}

function sumLayers(layers: Map<string, { current: number; total: number }>) {
  if (layers.size === 0) return undefined;
  let currentBytes = 0;
  let totalBytes = 0;
  for (const l of layers.values()) {
    currentBytes += l.current;
    totalBytes += l.total;
  }
  return { currentBytes, totalBytes };
}

/**
 * Reads the engine's JSON-lines progress stream, each line to `onLine` (which may throw to end
 * the pull), at most `maxBytes` in all; resolves at the stream's end, rejects on `signal`.
 */
function readProgress(
  stream: NodeJS.ReadableStream,
  signal: AbortSignal,
  limits: Pick<PullLimits, "maxBytes">,
  onLine: (line: ProgressLine) => void,
): Promise<void> {
  const s = stream as NodeJS.ReadableStream & { destroy: (err?: Error) => void };
  return new Promise<void>((resolve, reject) => {
    let read = 0;
    let rest = "";
    let done = false;
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      signal.removeEventListener("abort", aborted);
      s.destroy();
      if (err) reject(err instanceof Error ? err : new Error(dockerMessage(err)));
      else resolve();
    };
    const aborted = () => finish(new Error("the pull was stopped"));
    if (signal.aborted) return aborted();
    signal.addEventListener("abort", aborted, { once: true });
    s.on("data", (chunk: Buffer) => {
      read += chunk.length;
      if (read > limits.maxBytes) return finish(new Error(`the pull's progress passed ${limits.maxBytes} bytes`));
      const lines = (rest + chunk.toString("utf8")).split("\n");
      rest = lines.pop() ?? "";
      if (rest.length > PROGRESS_LINE_MAX_BYTES) return finish(new Error("the pull sent a progress line too long"));
      try {
        for (const text of lines) {
          const line = text.trim() ? parseLine(text) : null;
          if (line) onLine(line);
        }
      } catch (err) {
        finish(err);
      }
    });
    s.on("error", (err) => finish(err));
    s.on("end", () => {
      try {
        const line = rest.trim() ? parseLine(rest) : null;
        if (line) onLine(line);
        finish();
      } catch (err) {
        finish(err);
      }
    });
  });
}
