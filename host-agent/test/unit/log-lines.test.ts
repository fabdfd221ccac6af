// Covers src/docker/log-lines.ts: Docker timestamps, demultiplexing the raw log stream into lines, and the resume cursor.
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { LogsQuery } from "../../src/api/contract.js";
import { LogCursor, logLines, parseDockerTimestamp, type LogLine } from "../../src/docker/log-lines.js";

// ---------------------------------------------------------------------------------------------
// Helpers: a synthetic Docker log stream
// ---------------------------------------------------------------------------------------------

const STDOUT = 1;
const STDERR = 2;
type StreamByte = typeof STDOUT | typeof STDERR;

/** One multiplexed frame: [stream, 0, 0, 0, size (u32 BE)] + payload. */
function frame(stream: StreamByte, payload: string): Buffer {
  const body = Buffer.from(payload, "utf8");
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

/** A timestamp `seconds` after a fixed base, with a 9-digit fraction. */
const BASE_SECONDS = 1_736_000_000;
const ts = (offsetSeconds: number, nanos = 0) =>
  `${new Date((BASE_SECONDS + offsetSeconds) * 1000).toISOString().slice(0, 19)}.${String(nanos).padStart(9, "0")}Z`;
const nanosOf = (offsetSeconds: number, nanos = 0) =>
  BigInt(BASE_SECONDS + offsetSeconds) * 1_000_000_000n + BigInt(nanos);

const out = (time: string, text: string) => frame(STDOUT, `${time} ${text}\n`);
const err = (time: string, text: string) => frame(STDERR, `${time} ${text}\n`);

/** Cuts a buffer into chunks at the given offsets. */
function cut(buf: Buffer, offsets: number[]): Buffer[] {
  const points = [0, ...offsets.filter((o) => o > 0 && o < buf.length).sort((a, b) => a - b), buf.length];
  return points.slice(1).map((end, i) => buf.subarray(points[i], end));
}

async function collect(chunks: Buffer[], tty = false): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  for await (const l of logLines(Readable.from(chunks), tty)) lines.push(l);
  return lines;
}

const texts = (lines: LogLine[]) => lines.map((l) => `${l.stream}:${l.line}`);

// ---------------------------------------------------------------------------------------------
// parseDockerTimestamp
// ---------------------------------------------------------------------------------------------

describe("parseDockerTimestamp", () => {
  const second = BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) * 1_000_000n;

  it("reads a fraction Go trimmed to one digit as tenths", () => {
    expect(parseDockerTimestamp("2024-01-02T03:04:05.1Z")).toBe(second + 100_000_000n);
  });

  it("reads a full 9-digit fraction exactly", () => {
    expect(parseDockerTimestamp("2024-01-02T03:04:05.123456789Z")).toBe(second + 123_456_789n);
  });

  it("keeps leading zeros of the fraction", () => {
    expect(parseDockerTimestamp("2024-01-02T03:04:05.000000007Z")).toBe(second + 7n);
  });

  it("reads a timestamp without a fraction", () => {
    expect(parseDockerTimestamp("2024-01-02T03:04:05Z")).toBe(second);
  });

  it("applies a timezone offset", () => {
    expect(parseDockerTimestamp("2024-01-02T05:04:05.5+02:00")).toBe(second + 500_000_000n);
    expect(parseDockerTimestamp("2024-01-01T21:34:05-05:30")).toBe(second);
  });

  it("is precise beyond what a double holds", () => {
    const a = parseDockerTimestamp("2024-01-02T03:04:05.123456789Z")!;
    const b = parseDockerTimestamp("2024-01-02T03:04:05.123456790Z")!;
    expect(b - a).toBe(1n);
  });

  it.each([
    "",
    "hello",
    "2024-01-02",
    "2024-01-02 03:04:05Z",
    "2024-01-02T03:04:05",
    "2024-01-02T03:04:05.Z",
    "2024-01-02T03:04:05.1234567890Z",
    "2024-13-02T03:04:05Z",
    "2024-01-02T03:04:05.1Z trailing",
  ])("returns null for %j", (value) => {
    expect(parseDockerTimestamp(value)).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------
// logLines
// ---------------------------------------------------------------------------------------------

describe("logLines: framing", () => {
  it("yields one line per frame with its stream, text and Docker's time", async () => {
    const [l] = await collect([out(ts(0, 123_456_789), "hello world")]);
    expect(l).toEqual({
      nanos: nanosOf(0, 123_456_789),
      seq: 0,
      timestamp: BASE_SECONDS * 1000 + 123,
      line: "hello world",
      stream: "stdout",
    });
  });

  it("reads several frames from one chunk", async () => {
    const lines = await collect([Buffer.concat([out(ts(0), "a"), err(ts(1), "b"), out(ts(2), "c")])]);
    expect(texts(lines)).toEqual(["stdout:a", "stderr:b", "stdout:c"]);
  });

  it("gives the same lines however the byte stream is cut into chunks", async () => {
    const all = Buffer.concat([out(ts(0), "first"), err(ts(0, 5), "second ✓"), out(ts(1), "third")]);
    const expected = await collect([all]);
    expect(expected).toHaveLength(3);
    for (let i = 1; i < all.length; i++) {
      expect(await collect(cut(all, [i]))).toEqual(expected);
    }
    expect(
      await collect(
        cut(
          all,
          Array.from({ length: all.length }, (_, i) => i),
        ),
      ),
    ).toEqual(expected);
  });

  it("waits for a header split across chunks", async () => {
    const f = out(ts(0), "split header");
    expect(texts(await collect(cut(f, [1, 3, 5, 7])))).toEqual(["stdout:split header"]);
  });

  it("waits for a payload split across chunks, even inside a multi-byte character", async () => {
    const f = out(ts(0), "héllo ✓ wörld");
    const tick = f.indexOf(Buffer.from("✓"));
    expect(texts(await collect(cut(f, [8, tick + 1, tick + 2])))).toEqual(["stdout:héllo ✓ wörld"]);
  });

  it("yields nothing for an incomplete trailing frame", async () => {
    const f = out(ts(0), "never finished");
    expect(await collect([f.subarray(0, f.length - 3)])).toEqual([]);
  });

  it("keeps spaces inside the text and strips a trailing carriage return", async () => {
    const lines = await collect([out(ts(0), "  indented  text  "), out(ts(1), "windows\r")]);
    expect(lines.map((l) => l.line)).toEqual(["  indented  text  ", "windows"]);
  });

  it("yields an empty line for an empty message", async () => {
    expect((await collect([out(ts(0), "")])).map((l) => l.line)).toEqual([""]);
  });
});

describe("logLines: order and partial messages", () => {
  it("preserves the interleaving of stdout and stderr as Docker sent it", async () => {
    const lines = await collect([
      Buffer.concat([out(ts(3), "o1"), err(ts(1), "e1"), err(ts(2), "e2"), out(ts(4), "o2"), err(ts(5), "e3")]),
    ]);
    expect(texts(lines)).toEqual(["stdout:o1", "stderr:e1", "stderr:e2", "stdout:o2", "stderr:e3"]);
  });

  it("joins a partial message with the next message of the same stream and keeps the first timestamp", async () => {
    const lines = await collect([
      frame(STDOUT, `${ts(0, 1)} first half, `),
      err(ts(0, 2), "meanwhile on stderr"),
      frame(STDOUT, `${ts(0, 3)} second half, `),
      out(ts(0, 4), "end"),
      out(ts(0, 5), "next"),
    ]);
    expect(texts(lines)).toEqual(["stderr:meanwhile on stderr", "stdout:first half, second half, end", "stdout:next"]);
    expect(lines[1]!.nanos).toBe(nanosOf(0, 1));
    expect(lines[2]!.nanos).toBe(nanosOf(0, 5));
  });

  it("keeps partial messages of stdout and stderr apart", async () => {
    const lines = await collect([
      frame(STDOUT, `${ts(0)} out-`),
      frame(STDERR, `${ts(1)} err-`),
      out(ts(2), "tail"),
      err(ts(3), "tail"),
    ]);
    expect(texts(lines)).toEqual(["stdout:out-tail", "stderr:err-tail"]);
    expect(lines.map((l) => l.nanos)).toEqual([nanosOf(0), nanosOf(1)]);
  });
});

describe("logLines: seq", () => {
  it("numbers lines of one stream sharing a timestamp 0, 1, 2 and restarts at a new timestamp", async () => {
    const t = ts(7, 42);
    const lines = await collect([out(t, "a"), out(t, "b"), out(t, "c"), out(ts(8), "d")]);
    expect(lines.map((l) => l.seq)).toEqual([0, 1, 2, 0]);
  });

  it("counts each stream on its own", async () => {
    const t = ts(7);
    const lines = await collect([out(t, "o1"), err(t, "e1"), out(t, "o2"), err(t, "e2")]);
    expect(lines.map((l) => `${l.stream}:${l.seq}`)).toEqual(["stdout:0", "stderr:0", "stdout:1", "stderr:1"]);
  });
});

describe("logLines: TTY", () => {
  it("splits an unframed stream on newlines across chunks", async () => {
    const raw = Buffer.from(`${ts(0)} one\r\n${ts(1)} two\r\n${ts(2)} thr`);
    const lines = await collect([raw, Buffer.from("ee\r\n")], true);
    expect(lines.map((l) => l.line)).toEqual(["one", "two", "three"]);
    expect(lines.every((l) => l.stream === "stdout")).toBe(true);
    expect(lines[2]!.nanos).toBe(nanosOf(2));
  });
});

// ---------------------------------------------------------------------------------------------
// LogCursor
// ---------------------------------------------------------------------------------------------

const line = (stream: "stdout" | "stderr", nanos: bigint, seq = 0): LogLine => ({
  nanos,
  seq,
  timestamp: Number(nanos / 1_000_000n),
  line: "x",
  stream,
});

describe("LogCursor serialisation", () => {
  it("round-trips the start cursor", () => {
    const s = LogCursor.start().toString();
    expect(LogCursor.parse(s)?.toString()).toBe(s);
  });

  it("round-trips a cursor that delivered both streams", () => {
    const c = LogCursor.start()
      .advance(line("stdout", nanosOf(1, 5), 2))
      .advance(line("stderr", nanosOf(0, 9), 0));
    const parsed = LogCursor.parse(c.toString());
    expect(parsed?.toString()).toBe(c.toString());
    expect(parsed?.since()).toBe(c.since());
  });

  it("issues cursors the logs query accepts back as lastEventId, even after 100+ lines sharing a timestamp", () => {
    const c = LogCursor.start()
      .advance(line("stdout", nanosOf(1, 999_999_999), 123))
      .advance(line("stderr", nanosOf(2), 7));
    const query = LogsQuery.safeParse({ lastEventId: c.toString() });
    expect(query.success).toBe(true);
    expect(LogCursor.parse(query.data?.lastEventId ?? "")?.toString()).toBe(c.toString());
  });

  it.each([
    "",
    "garbage",
    "1:2.3",
    "1:2.3_4",
    "1:2.3_4.5_6.7",
    "1:2.x_4.5",
    "a:2.3_4.5",
    "-2:2.3_4.5",
    " 1:2.3_4.5",
    "1:2.3_4.5\n",
    "1:2.1234567890_4.5",
  ])("refuses %j", (value) => {
    expect(LogCursor.parse(value)).toBeNull();
  });
});

describe("LogCursor.since", () => {
  it("starts at the epoch", () => {
    expect(LogCursor.start().since()).toBe("0.000000000");
  });

  it("is the earlier stream's time as seconds.nanoseconds with 9 digits", () => {
    const c = LogCursor.start()
      .advance(line("stdout", nanosOf(10, 5)))
      .advance(line("stderr", nanosOf(3, 120_000_000)));
    expect(c.since()).toBe(`${BASE_SECONDS + 3}.120000000`);
    const d = LogCursor.start()
      .advance(line("stderr", nanosOf(10, 5)))
      .advance(line("stdout", nanosOf(20)));
    expect(d.since()).toBe(`${BASE_SECONDS + 10}.000000005`);
  });

  it("reaches back before the first line for a stream that delivered nothing yet", () => {
    const c = LogCursor.start()
      .advance(line("stdout", nanosOf(100, 7)))
      .advance(line("stdout", nanosOf(200)));
    const since = c.since();
    expect(since).toMatch(/^\d+\.\d{9}$/);
    const [secs, frac] = since.split(".");
    const sinceNanos = BigInt(secs!) * 1_000_000_000n + BigInt(frac!);
    expect(sinceNanos).toBeLessThan(nanosOf(100, 7));
  });
});

describe("LogCursor.isNew / advance", () => {
  it("treats every line as new at the start", () => {
    expect(LogCursor.start().isNew(line("stdout", 0n))).toBe(true);
  });

  it("treats a line as delivered once the cursor advanced past it, per stream", () => {
    const t = nanosOf(5);
    const c = LogCursor.start().advance(line("stdout", t, 1));
    expect(c.isNew(line("stdout", t, 0))).toBe(false);
    expect(c.isNew(line("stdout", t, 1))).toBe(false);
    expect(c.isNew(line("stdout", t, 2))).toBe(true);
    expect(c.isNew(line("stdout", t + 1n, 0))).toBe(true);
    expect(c.isNew(line("stdout", t - 1n, 9))).toBe(false);
    expect(c.isNew(line("stderr", t, 0))).toBe(true);
  });

  it("does not change the cursor it advances from", () => {
    const c = LogCursor.start();
    c.advance(line("stdout", nanosOf(1)));
    expect(c.toString()).toBe(LogCursor.start().toString());
  });

  it("keeps a stderr line stamped a little before the first stdout line as new", () => {
    const c = LogCursor.start().advance(line("stdout", nanosOf(10)));
    expect(c.isNew(line("stderr", nanosOf(9)))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Resuming: cursor after line k + replay = exactly lines k+1..
// ---------------------------------------------------------------------------------------------

/** Docker's `since` filter on complete single-message frames: drops messages stamped before it. */
function sinceFilter(frames: Buffer[], since: string): Buffer[] {
  const [secs, frac] = since.split(".");
  const limit = BigInt(secs!) * 1_000_000_000n + BigInt(frac!);
  return frames.filter((f) => {
    const stamp = parseDockerTimestamp(f.subarray(8).toString("utf8").split(" ")[0]!);
    return stamp !== null && stamp >= limit;
  });
}

async function resumeAfter(lines: LogLine[], k: number, replay: Buffer[]): Promise<LogLine[]> {
  const cursor = LogCursor.parse(
    lines
      .slice(0, k + 1)
      .reduce((c, l) => c.advance(l), LogCursor.start())
      .toString(),
  )!;
  return (await collect(replay)).filter((l) => cursor.isNew(l));
}

describe("resuming from a cursor", () => {
  const same = ts(1, 500);
  const frames = [
    out(ts(0), "boot"),
    out(same, "s1"),
    err(same, "e1"),
    out(same, "s2"),
    out(same, "s3"),
    err(same, "e2"),
    // Docker wrote a later-stamped stdout line before an earlier-stamped stderr line.
    out(ts(3), "late stdout"),
    err(ts(2), "early stderr"),
    out(ts(3), "late stdout again"),
    err(ts(4), "end"),
  ];

  it("replays the same stream into exactly the lines after k, for every k", async () => {
    const lines = await collect(frames);
    expect(lines).toHaveLength(frames.length);
    for (let k = 0; k < lines.length; k++) {
      const rest = await resumeAfter(lines, k, frames);
      expect(texts(rest), `after line ${k}`).toEqual(texts(lines.slice(k + 1)));
    }
  });

  it("replays what Docker sends for `since` into exactly the lines after k, for every k", async () => {
    const lines = await collect(frames);
    for (let k = 0; k < lines.length; k++) {
      const cursor = lines.slice(0, k + 1).reduce((c, l) => c.advance(l), LogCursor.start());
      const rest = await resumeAfter(lines, k, sinceFilter(frames, cursor.since()));
      expect(texts(rest), `after line ${k}`).toEqual(texts(lines.slice(k + 1)));
    }
  });

  it("resumes correctly when the first lines delivered are all stderr", async () => {
    const stderrFirst = [err(ts(0), "e0"), err(ts(0), "e1"), out(ts(0), "o0"), out(ts(1), "o1"), err(ts(1), "e2")];
    const lines = await collect(stderrFirst);
    for (let k = 0; k < lines.length; k++) {
      const cursor = lines.slice(0, k + 1).reduce((c, l) => c.advance(l), LogCursor.start());
      const rest = await resumeAfter(lines, k, sinceFilter(stderrFirst, cursor.since()));
      expect(texts(rest), `after line ${k}`).toEqual(texts(lines.slice(k + 1)));
    }
  });

  it("resumes across a line joined from partial messages", async () => {
    const withPartial = [
      out(ts(0), "a"),
      frame(STDOUT, `${ts(0, 1)} long-`),
      frame(STDOUT, `${ts(0, 2)} line\n`),
      err(ts(0, 3), "b"),
      out(ts(0, 4), "c"),
    ];
    const lines = await collect(withPartial);
    expect(texts(lines)).toEqual(["stdout:a", "stdout:long-line", "stderr:b", "stdout:c"]);
    for (let k = 0; k < lines.length; k++) {
      expect(texts(await resumeAfter(lines, k, withPartial))).toEqual(texts(lines.slice(k + 1)));
    }
  });
});
