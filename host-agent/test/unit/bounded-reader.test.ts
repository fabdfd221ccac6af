/** The bounded reader and LineTail: lines cut at their limit, bytes and time bounded. */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import {
  BoundedCollector,
  ByteLimit,
  LineCutter,
  ReadLimitError,
  cutMarker,
  endWithin,
  readSmallFile,
} from "../../src/lib/bounded-reader.js";
import { LineTail, safeEntry } from "../../src/setup/container-io.js";

describe("LineCutter", () => {
  it("splits chunks into lines, across chunk boundaries", () => {
    const lines: string[] = [];
    const c = new LineCutter(100, (l) => lines.push(l));
    c.push("a\nb");
    c.push("c\n\nd");
    c.end();
    expect(lines).toEqual(["a", "bc", "", "d"]);
  });

  it("cuts a line at the limit, marks it, and drops the rest up to its newline", () => {
    const lines: string[] = [];
    const c = new LineCutter(8, (l) => lines.push(l));
    c.push("0123456");
    c.push("789abcdef");
    c.push("ghij\nnext\n");
    expect(lines).toEqual([`01234567${cutMarker(8)}`, "next"]);
  });

  it("keeps memory at the limit for 50 MB without a newline", () => {
    const lines: string[] = [];
    const c = new LineCutter(16 * 1024, (l) => lines.push(l));
    const chunk = Buffer.alloc(1024 * 1024, "x");
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 50; i++) c.push(chunk);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(8 * 1024 * 1024);
    c.push("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe("x".repeat(16 * 1024) + cutMarker(16 * 1024));
  });
});

describe("LineTail", () => {
  it("keeps the last lines, each bounded", () => {
    const tail = new LineTail(2, 4);
    tail.push("one\ntwo\nthree-is-long\nfour\n");
    expect(tail.lines).toEqual([`thre${cutMarker(4)}`, "four"]);
  });
});

describe("BoundedCollector", () => {
  it("collects up to the limit and says it truncated, once", async () => {
    const c = new BoundedCollector(5);
    let events = 0;
    c.on("truncated", () => events++);
    await pipeline(Readable.from([Buffer.from("abc"), Buffer.from("defg"), Buffer.from("h")]), c);
    expect(c.text()).toBe("abcde");
    expect(c.truncated).toBe(true);
    expect(events).toBe(1);
  });
});

describe("ByteLimit", () => {
  it("passes up to the limit and fails past it, naming what", async () => {
    const ok = new BoundedCollector(100);
    await pipeline(Readable.from([Buffer.alloc(10)]), new ByteLimit(10, "x"), ok);
    const over = pipeline(Readable.from([Buffer.alloc(6), Buffer.alloc(6)]), new ByteLimit(10, "the dir"), ok);
    await expect(over).rejects.toThrow(/the dir is larger than the limit of 10 B/);
  });
});

describe("endWithin", () => {
  it("resolves on end", async () => {
    const s = new PassThrough();
    const p = endWithin(s, 1000, "x");
    s.resume();
    s.end();
    await expect(p).resolves.toBeUndefined();
  });

  it("destroys a stalled stream at its deadline and says so", async () => {
    const s = new PassThrough();
    const err = await endWithin(s, 50, "reading a FIFO").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReadLimitError);
    expect((err as ReadLimitError).kind).toBe("time");
    expect(String(err)).toMatch(/reading a FIFO did not finish/);
    expect(s.destroyed).toBe(true);
  });
});

describe("safeEntry", () => {
  const root = "/ctx/node_modules";
  const h = (type: string, linkname?: string) => ({ name: "x", type, linkname }) as never;
  it("keeps files, dirs and links inside the root", () => {
    expect(safeEntry(root, `${root}/a`, h("file"))).toBe(true);
    expect(safeEntry(root, `${root}/a`, h("directory"))).toBe(true);
    expect(safeEntry(root, `${root}/.bin/x`, h("symlink", "../x/bin.js"))).toBe(true);
  });
  it("skips devices, FIFOs, hard links and links that escape", () => {
    for (const t of ["character-device", "block-device", "fifo", "link"])
      expect(safeEntry(root, `${root}/a`, h(t, "b"))).toBe(false);
    expect(safeEntry(root, `${root}/.artie-deps`, h("symlink", "/dev/zero"))).toBe(false);
    expect(safeEntry(root, `${root}/a`, h("symlink", "../../etc/passwd"))).toBe(false);
    expect(safeEntry(root, `${root}/a`, h("symlink", "../node_modules_evil"))).toBe(false);
  });
  it("keeps a hard link only to a file this copy already wrote (pnpm's store links)", () => {
    const written = new Set<string>();
    expect(safeEntry(root, `${root}/.pnpm/ms/index.js`, h("file"), written)).toBe(true);
    expect(safeEntry(root, `${root}/.pnpm/ms2/index.js`, h("link", "./.pnpm/ms/index.js"), written)).toBe(true);
    // Not written (skipped, later, or elsewhere), or outside: skipped, never a failed extract.
    expect(safeEntry(root, `${root}/b`, h("link", "./.pnpm/other.js"), written)).toBe(false);
    expect(safeEntry(root, `${root}/b`, h("link", "../../etc/passwd"), written)).toBe(false);
    expect(safeEntry(root, `${root}/b`, h("link", ""), written)).toBe(false);
    expect(safeEntry(root, `${root}/b`, h("link", "./.pnpm/ms/index.js"))).toBe(false);
  });
});

describe("readSmallFile", () => {
  it("reads a small regular file, and nothing else: no link followed, no FIFO waited on, no big file", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "artie-small-file-"));
    try {
      await writeFile(path.join(dir, "ok"), "token");
      await writeFile(path.join(dir, "big"), "x".repeat(17));
      await symlink(path.join(dir, "ok"), path.join(dir, "link"));
      execFileSync("mkfifo", [path.join(dir, "fifo")]);
      expect((await readSmallFile(path.join(dir, "ok"), 16))?.toString()).toBe("token");
      expect(await readSmallFile(path.join(dir, "big"), 16)).toBeNull();
      expect(await readSmallFile(path.join(dir, "link"), 16)).toBeNull();
      expect(await readSmallFile(path.join(dir, "fifo"), 16)).toBeNull();
      expect(await readSmallFile(path.join(dir, "missing"), 16)).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
