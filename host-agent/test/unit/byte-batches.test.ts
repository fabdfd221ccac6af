import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { byteBatches } from "../../src/lib/byte-batches.js";
import { git, gitEnv } from "../../src/setup/git.js";

describe("byteBatches", () => {
  it("keeps order and every item, each batch within the bytes (NUL counted)", () => {
    const items = Array.from({ length: 1_000 }, (_, i) => `src/file-${i}.js`);
    const batches = byteBatches(items, 1_024);
    expect(batches.flat()).toEqual(items);
    for (const b of batches) expect(b.reduce((n, p) => n + Buffer.byteLength(p) + 1, 0)).toBeLessThanOrEqual(1_024);
    expect(batches.length).toBeGreaterThan(10);
  });

  it("puts an item larger than the limit in a batch of its own, and answers none for none", () => {
    expect(byteBatches(["a", "x".repeat(50), "b"], 10)).toEqual([["a"], ["x".repeat(50)], ["b"]]);
    expect(byteBatches([], 10)).toEqual([]);
  });
});

describe("git's pathspecs", () => {
  it("take a repo's file names literally: a file named :(glob)*.txt is that file, not a pattern", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "literal-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const env = {
      ...gitEnv(undefined),
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@t",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@t",
    };
    const run = (...args: string[]) => execFileSync("git", args, { cwd: dir, env });
    run("init", "-q");
    writeFileSync(path.join(dir, "a.txt"), "a");
    writeFileSync(path.join(dir, ":(glob)*.txt"), "magic");
    run("add", "-A");
    run("commit", "-qm", "files");
    const out = await git(["ls-tree", "-z", "--name-only", "--full-tree", "HEAD", "--", ":(glob)*.txt"], {
      cwd: dir,
      timeoutMs: 10_000,
    });
    expect(out.split("\0").filter(Boolean)).toEqual([":(glob)*.txt"]);
  });
});
