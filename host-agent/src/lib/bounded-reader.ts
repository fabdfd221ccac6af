/**
 * The one way the agent reads what a container (or a volume, or a file a container could have
 * influenced) produces: every read has a byte limit and a deadline, and a line buffer never
 * grows past its limit. Whatever runs in a container is hostile: it may print forever, never
 * print a newline, stall, or be a FIFO or /dev/zero behind a friendly name. Nothing here knows
 * about Docker; callers hand in streams and say what to do at the limit (fail or truncate).
 */
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { Transform, Writable, type TransformCallback } from "node:stream";

/** A read went over its byte limit or its deadline; the message says which and what. */
export class ReadLimitError extends Error {
  override name = "ReadLimitError";
  constructor(
    message: string,
    readonly kind: "bytes" | "time",
  ) {
    super(message);
  }
}

export const formatBytes = (n: number) =>
  n >= 1024 ** 3
    ? `${+(n / 1024 ** 3).toFixed(1)} GiB`
    : n >= 1024 ** 2
      ? `${+(n / 1024 ** 2).toFixed(1)} MiB`
      : n >= 1024
        ? `${+(n / 1024).toFixed(1)} KiB`
        : `${n} B`;

/** Collects at most `max` bytes; more is dropped, remembered as `truncated`, announced once ("truncated"). */
export class BoundedCollector extends Writable {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly max: number) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void) {
    const room = this.max - this.size;
    if (chunk.length > room && !this.truncated) {
      this.truncated = true;
      this.emit("truncated");
    }
    if (room > 0) {
      const part = Buffer.from(chunk.subarray(0, room));
      this.chunks.push(part);
      this.size += part.length;
    }
    done();
  }

  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}

/** Passes bytes through until `max` have passed; the next byte fails the stream. */
export class ByteLimit extends Transform {
  private seen = 0;

  constructor(
    private readonly max: number,
    private readonly what: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
    this.seen += chunk.length;
    if (this.seen > this.max)
      return done(new ReadLimitError(`${this.what} is larger than the limit of ${formatBytes(this.max)}`, "bytes"));
    done(null, chunk);
  }
}

/** Marker appended to a line that was cut at the limit (the rest of it, up to its newline, is dropped). */
export const cutMarker = (max: number) => ` … [line cut at ${formatBytes(max)}]`;

/**
 * Splits a byte stream into lines of at most `max` bytes. A line without a newline is kept only
 * up to `max` bytes and the rest is dropped until the next newline, so memory stays at `max`
 * whatever arrives; a cut line ends with `cutMarker`.
 */
export class LineCutter {
  private parts: Buffer[] = [];
  private size = 0;
  private cut = false;

  constructor(
    private readonly max: number,
    private readonly onLine: (line: string) => void,
  ) {}

  push(chunk: Buffer | string): void {
    let buf = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10)) {
      this.take(buf.subarray(0, nl));
      this.emit();
      buf = buf.subarray(nl + 1);
    }
    this.take(buf);
  }

  /** Emits a last line that never got its newline (the stream ended). */
  end(): void {
    if (this.size > 0 || this.cut) this.emit();
  }

  private take(piece: Buffer) {
    if (this.cut || piece.length === 0) return;
    const room = this.max - this.size;
    if (piece.length > room) this.cut = true;
    // Copied: a slice would keep the whole (possibly huge) chunk alive.
    const kept = Buffer.from(piece.subarray(0, room));
    this.parts.push(kept);
    this.size += kept.length;
  }

  private emit() {
    const text = Buffer.concat(this.parts).toString("utf8");
    const line = this.cut ? text + cutMarker(this.max) : text;
    this.parts = [];
    this.size = 0;
    this.cut = false;
    this.onLine(line);
  }
}

type Endable = NodeJS.ReadableStream & { destroy(err?: Error): unknown };

/**
 * Resolves when `stream` ends or closes; past `ms` it destroys the stream and rejects with a
 * ReadLimitError naming `what`. A stream error rejects too.
 */
export function endWithin(stream: Endable, ms: number, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      const err = new ReadLimitError(`${what} did not finish within ${Math.round(ms / 1000)} s`, "time");
      stream.destroy();
      reject(err);
    }, ms);
    const done = (err?: Error) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
    stream.once("end", () => done());
    stream.once("close", () => done());
    stream.once("error", (err: Error) => done(err));
  });
}

/**
 * A small file of the agent's own (a marker under DATA_DIR, a note in a repo cache), read as a
 * hostile one: no following a link, no blocking on a FIFO, a regular file of at most `maxBytes`.
 * Null when it is missing, anything but such a file, or larger.
 */
export async function readSmallFile(file: string, maxBytes: number): Promise<Buffer | null> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => null);
  if (!handle) return null;
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.size > maxBytes) return null;
    const buf = Buffer.alloc(maxBytes);
    const { bytesRead } = await handle.read(buf, 0, maxBytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
