// Covers src/setup/leftovers.ts: the start-up sweep removes setups' leftovers under DATA_DIR, nothing else.
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, it, onTestFinished } from "vitest";
import { createLogger } from "../../src/lib/logger.js";
import { sweepLeftovers } from "../../src/setup/leftovers.js";

it("removes build contexts, checkouts, partial clones and partial markers; keeps caches and markers", async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), "leftovers-"));
  onTestFinished(() => rm(dataDir, { recursive: true, force: true }));
  const at = (...p: string[]) => path.join(dataDir, ...p);
  const dirs = [
    ["main-image-builds", "artie-main-image-abc", "node_modules"],
    ["checkouts", "artie-checkout-xyz", ".git"],
    ["repo-cache", "acme", "app.git"],
    ["repo-cache", "acme", "app.git.partial-123-456"],
    ["repo-cache", "acme", "other.git.partial-1-2"],
    ["deps"],
  ];
  for (const d of dirs) await mkdir(at(...d), { recursive: true });
  await writeFile(at("deps", "artie-deps-1.json"), "{}");
  await writeFile(at("deps", "artie-deps-1.json.42.partial"), "{");
  await writeFile(at("main-image-builds", "unrelated"), "");

  const removed = await sweepLeftovers(
    { dataDir, repoCacheRoot: at("repo-cache"), checkoutRoot: at("checkouts") },
    createLogger("silent"),
  );
  expect(removed).toBe(5);
  expect(await readdir(at("main-image-builds"))).toEqual(["unrelated"]);
  expect(await readdir(at("checkouts"))).toEqual([]);
  expect(await readdir(at("repo-cache", "acme"))).toEqual(["app.git"]);
  expect(await readdir(at("deps"))).toEqual(["artie-deps-1.json"]);
});

it("is a no-op on a fresh DATA_DIR", async () => {
  const dataDir = path.join(tmpdir(), `leftovers-missing-${process.pid}`);
  const roots = { dataDir, repoCacheRoot: path.join(dataDir, "repo-cache"), checkoutRoot: path.join(dataDir, "c") };
  expect(await sweepLeftovers(roots, createLogger("silent"))).toBe(0);
});
