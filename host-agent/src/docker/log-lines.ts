/**
 * Turns Docker's timestamped log stream into lines, and keeps the cursor that lets a client
 * resume without loss or duplicates.
 *
 * Frames are parsed here rather than with dockerode's demuxStream, which splits the stream in
 * two and loses the order between stdout and stderr. Docker timestamps each line when it reads
 * it, per stream, and writes both streams into one file: within a stream the file order is the
 * timestamp order, across streams it is not (a stderr line can land hundreds of lines after
 * stdout lines stamped later). So the cursor keeps one position per stream, each a timestamp
 * and the line's rank among that stream's lines sharing it, plus an origin for a stream that has
 * delivered nothing yet: the first delivered line's time minus REORDER_MARGIN. Resuming asks
 * Docker for lines since the earliest of these (inclusive) and skips what each stream already
 * delivered. Format: `<origin>:<stdoutNanos>.<rank>_<stderrNanos>.<rank>`, -1 meaning "none".
 */

import { LOG_LINE_MAX_BYTES } from "../config.js";
import { cutMarker } from "../lib/bounded-reader.js";

/** How far across streams Docker's file order may stray from timestamp order. */
const REORDER_MARGIN_NANOS = 5_000_000_000n;

export type LogStreamName = "stdout" | "stderr";

export type LogLine = {
  nanos: bigint;
  /** Position among lines of the same stream with the same timestamp. */
  seq: number;
  timestamp: number;
  line: string;
  stream: LogStreamName;
};

type Position = { nanos: bigint; seq: number };
const NONE: Position = { nanos: -1n, seq: 0 };

const HEADER_BYTES = 8;
const STREAM_BY_BYTE: Record<number, LogStreamName> = { 1: "stdout", 2: "stderr" };

/** Parses RFC3339Nano (Go trims trailing zeros) to nanoseconds since the epoch. */
export function parseDockerTimestamp(ts: string): bigint | null {
  const m = ts.match(/^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/);
  if (!m) return null;
  const seconds = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(seconds)) return null;
  return BigInt(seconds) * 1_000_000n + BigInt((m[2] ?? "").padEnd(9, "0"));
}

const after = (a: Position, b: Position) => a.nanos > b.nanos || (a.nanos === b.nanos && a.seq > b.seq);

export class LogCursor {
  private constructor(
    private readonly origin: bigint,
    private readonly at: Record<LogStreamName, Position>,
  ) {}

  static start(): LogCursor {
    return new LogCursor(-1n, { stdout: NONE, stderr: NONE });
  }

  static parse(value: string): LogCursor | null {
    const n = "(-1|\\d{1,25})";
    const m = value.match(new RegExp(`^${n}:${n}\\.(\\d{1,9})_${n}\\.(\\d{1,9})$`));
    if (!m) return null;
    return new LogCursor(BigInt(m[1]!), {
      stdout: { nanos: BigInt(m[2]!), seq: Number(m[3]) },
      stderr: { nanos: BigInt(m[4]!), seq: Number(m[5]) },
    });
  }

  toString(): string {
    const { stdout: o, stderr: e } = this.at;
    return `${this.origin}:${o.nanos}.${o.seq}_${e.nanos}.${e.seq}`;
  }

  /** Docker's `since` (fractional seconds, inclusive): the earliest point still needed. */
  since(): string {
    const needed = [this.at.stdout.nanos, this.at.stderr.nanos].map((n) => (n >= 0n ? n : this.origin));
    const nanos = needed.reduce((a, b) => (a < b ? a : b));
    const clamped = nanos < 0n ? 0n : nanos;
    return `${clamped / 1_000_000_000n}.${(clamped % 1_000_000_000n).toString().padStart(9, "0")}`;
  }

  /** Whether a line comes after what this cursor has delivered of its stream. */
  isNew(l: LogLine): boolean {
    const own = this.at[l.stream];
    return own.nanos >= 0n ? after(l, own) : l.nanos >= this.origin;
  }

  /** The cursor after delivering `l`. */
  advance(l: LogLine): LogCursor {
    const origin = this.origin >= 0n ? this.origin : l.nanos - REORDER_MARGIN_NANOS;
    return new LogCursor(origin, { ...this.at, [l.stream]: { nanos: l.nanos, seq: l.seq } });
  }
}

/** Splits Docker's raw log stream (multiplexed unless `tty`) into messages with their stream. */
async function* frames(source: AsyncIterable<Buffer>, tty: boolean): AsyncGenerator<[LogStreamName, Buffer]> {
  let buf: Buffer = Buffer.alloc(0);
  for await (const chunk of source) {
    if (tty) {
      yield ["stdout", chunk];
      continue;
    }
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= HEADER_BYTES) {
      const size = buf.readUInt32BE(4);
      if (buf.length < HEADER_BYTES + size) break;
      yield [STREAM_BY_BYTE[buf[0]!] ?? "stdout", buf.subarray(HEADER_BYTES, HEADER_BYTES + size)];
      buf = buf.subarray(HEADER_BYTES + size);
    }
  }
}

/**
 * Yields complete lines. Each Docker message starts with its timestamp; a line Docker split
 * into partial messages (over 16 KiB) is joined and keeps the first part's timestamp. A line
 * is kept up to LOG_LINE_MAX_BYTES (characters) and cut there with a marker: a container that
 * never prints a newline cannot make the agent accumulate it.
 */
export async function* logLines(source: AsyncIterable<Buffer>, tty: boolean): AsyncGenerator<LogLine> {
  const partial: Record<LogStreamName, { nanos: bigint; text: string; cut: boolean } | null> = {
    stdout: null,
    stderr: null,
  };
  const pending: Record<LogStreamName, string> = { stdout: "", stderr: "" };
  const last: Record<LogStreamName, Position> = { stdout: NONE, stderr: NONE };

  const emit = (stream: LogStreamName, nanos: bigint, line: string): LogLine => {
    const seq = nanos === last[stream].nanos ? last[stream].seq + 1 : 0;
    last[stream] = { nanos, seq };
    return { nanos, seq, timestamp: Number(nanos / 1_000_000n), line, stream };
  };

  for await (const [stream, payload] of frames(source, tty)) {
    // TTY streams are not framed per message: re-split them on newlines first.
    const text = pending[stream] + payload.toString("utf8");
    const messages = tty ? text.split("\n") : [text];
    pending[stream] = tty ? (messages.pop() ?? "") : "";
    // A TTY line past the limit is delivered as it stands, so `pending` stays bounded.
    if (tty && pending[stream].length > LOG_LINE_MAX_BYTES) {
      messages.push(pending[stream]);
      pending[stream] = "";
    }
    for (const raw of messages) {
      const space = raw.indexOf(" ");
      const nanos = parseDockerTimestamp(raw.slice(0, space)) ?? partial[stream]?.nanos ?? 0n;
      const body = space >= 0 ? raw.slice(space + 1) : raw;
      const complete = tty || body.endsWith("\n");
      const prev = partial[stream];
      const piece = complete && !tty ? body.slice(0, -1) : body;
      const whole = prev?.cut ? prev.text : (prev?.text ?? "") + piece;
      const cut = prev?.cut === true || whole.length > LOG_LINE_MAX_BYTES;
      const joined = whole.slice(0, LOG_LINE_MAX_BYTES);
      if (!complete) {
        partial[stream] = { nanos: prev?.nanos ?? nanos, text: joined, cut };
        continue;
      }
      const lineNanos = prev?.nanos ?? nanos;
      partial[stream] = null;
      const line = joined.replace(/\r$/, "");
      yield emit(stream, lineNanos, cut ? line + cutMarker(LOG_LINE_MAX_BYTES) : line);
    }
  }
}
