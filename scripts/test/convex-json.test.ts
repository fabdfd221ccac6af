/**
 * The root `convex.json` as the Convex CLI reads it: codegen with it regenerates exactly the
 * committed `convex/_generated` (so it breaks neither `npx convex dev` nor codegen, and the
 * committed files are current), and it keeps the CLI from writing AI files into the repo.
 */
import { execFile } from "node:child_process";
import { cp, mkdtemp, readdir, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it, vi } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
// Codegen runs the real Convex CLI: seconds on a busy machine.
vi.setConfig({ testTimeout: 60_000 });
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "convex-json-"));
  for (const entry of ["convex", "convex.json", "package.json", "tsconfig.json", "host-agent"]) {
    await cp(path.join(root, entry), path.join(dir, entry), {
      recursive: true,
      filter: (src) => !src.includes("node_modules"),
    });
  }
  await rm(path.join(dir, "convex/_generated"), { recursive: true });
  await symlink(path.join(root, "node_modules"), path.join(dir, "node_modules"));
  await symlink(path.join(root, "host-agent/node_modules"), path.join(dir, "host-agent/node_modules"));
});
afterAll(async () => dir && rm(dir, { recursive: true, force: true }));

it("holds the functions folder, Node 24 for Node actions, and no AI files", async () => {
  const config = JSON.parse(await readFile(path.join(root, "convex.json"), "utf8")) as Record<string, unknown>;
  expect(config).toMatchObject({ functions: "convex/", node: { nodeVersion: "24" }, aiFiles: { enabled: false } });
});

it("codegen with it regenerates the committed convex/_generated exactly", async () => {
  await promisify(execFile)(
    path.join(root, "node_modules/.bin/convex"),
    ["codegen", "--system-udfs", "--typecheck", "disable"],
    {
      cwd: dir,
      timeout: 60_000,
    },
  );
  const committed = path.join(root, "convex/_generated");
  const files = (await readdir(committed)).sort();
  expect((await readdir(path.join(dir, "convex/_generated"))).sort()).toEqual(files);
  for (const file of files) {
    const fresh = await readFile(path.join(dir, "convex/_generated", file), "utf8");
    expect(fresh, `convex/_generated/${file} is stale: run npm run convex:codegen`).toBe(
      await readFile(path.join(committed, file), "utf8"),
    );
  }
});
