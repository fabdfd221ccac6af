// Covers src/setup/run-marker.ts: the last setup's record, written atomically, read bounded and parsed, never a secret.
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RUN_MARKER_MAX_BYTES } from "../../src/config.js";
import { NO_MANAGER_FILES } from "../../src/setup/manager-files.js";
import { forgetRun, listRuns, readRun, recordRun, type RunFacts } from "../../src/setup/run-marker.js";

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), "artie-run-marker-"));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const facts = (over: Partial<RunFacts> = {}): Omit<RunFacts, "recordedAt"> => ({
  containerId: "env-1",
  repo: "acme/shop",
  branch: "main",
  tenant: "team-a",
  commit: "a".repeat(40),
  containerPort: 3000,
  image: "node:24-slim",
  deps: {
    manager: "pnpm",
    lockfile: "pnpm-lock.yaml",
    hash: "b".repeat(64),
    pkg: {
      scripts: { dev: "vite" },
      dependencies: ["vite"],
      ranges: { vite: "^8.0.0" },
      packageManager: { name: "pnpm", version: "9.12.0" },
      packageManagerUnknown: null,
    },
    files: { ...NO_MANAGER_FILES, pnpmLockVersion: 9 },
  },
  launcherArgv: ["corepack", "pnpm@9.12.0"],
  ...over,
});

const file = (id = "env-1") => path.join(dataDir, "runs", `${id}.json`);

describe("run marker", () => {
  it("reads back what was recorded, with the time it was recorded", async () => {
    expect(await recordRun(dataDir, facts())).toBe(true);
    const read = await readRun(dataDir, "env-1");
    expect(read).toMatchObject(facts());
    expect(read!.recordedAt).toBeGreaterThan(0);
    expect(await listRuns(dataDir)).toEqual({ ids: ["env-1"], partials: [] });
  });

  it("holds no field for an environment value, a dev command or a callback secret", async () => {
    const withSecrets = { ...facts(), envVars: { TOKEN: "s3cret" }, callbackSecret: "whsec_x", devCommand: ["x"] };
    await recordRun(dataDir, withSecrets);
    const text = await readFile(file(), "utf8");
    expect(text).not.toContain("s3cret");
    expect(text).not.toContain("whsec_x");
    expect(Object.keys(JSON.parse(text) as object)).not.toContain("devCommand");
  });

  it("is null when there is none, when it is not a marker, when it names another container", async () => {
    expect(await readRun(dataDir, "env-1")).toBeNull();
    await mkdir(path.join(dataDir, "runs"), { recursive: true });
    await writeFile(file(), "{not json");
    expect(await readRun(dataDir, "env-1")).toBeNull();
    await writeFile(file(), JSON.stringify({ ...facts(), recordedAt: 1, containerPort: "3000" }));
    expect(await readRun(dataDir, "env-1")).toBeNull();
    await writeFile(file(), JSON.stringify({ ...facts({ containerId: "env-2" }), recordedAt: 1 }));
    expect(await readRun(dataDir, "env-1")).toBeNull();
  });

  it("reads a record written before package ranges were kept: no range known", async () => {
    await mkdir(path.join(dataDir, "runs"), { recursive: true });
    const old = facts();
    const { ranges: _dropped, ...pkg } = old.deps.pkg;
    await writeFile(file(), JSON.stringify({ ...old, deps: { ...old.deps, pkg }, recordedAt: 1 }));
    expect((await readRun(dataDir, "env-1"))?.deps.pkg.ranges).toEqual({});
  });

  it("follows no link and reads nothing larger than its limit", async () => {
    await recordRun(dataDir, facts({ containerId: "env-2" }));
    await symlink(file("env-2"), file());
    expect(await readRun(dataDir, "env-1")).toBeNull();
    await rm(file());
    await writeFile(file(), JSON.stringify({ ...facts(), recordedAt: 1 }).padEnd(RUN_MARKER_MAX_BYTES + 1, " "));
    expect(await readRun(dataDir, "env-1")).toBeNull();
  });

  it("writes nothing for facts over the limit (a package.json of megabytes)", async () => {
    const scripts = { dev: "x".repeat(RUN_MARKER_MAX_BYTES) };
    const big = facts();
    big.deps.pkg.scripts = scripts;
    expect(await recordRun(dataDir, big)).toBe(false);
    expect(await readRun(dataDir, "env-1")).toBeNull();
  });

  it("is forgotten on request, and never takes a path out of its directory", async () => {
    await recordRun(dataDir, facts());
    await forgetRun(dataDir, "env-1");
    expect(await readRun(dataDir, "env-1")).toBeNull();
    await expect(readRun(dataDir, "../secrets")).rejects.toThrow(/not a container id/);
    await expect(forgetRun(dataDir, "../x")).rejects.toThrow(/not a container id/);
  });

  it("lists half-written records for the start-up sweep", async () => {
    await mkdir(path.join(dataDir, "runs"), { recursive: true });
    await writeFile(path.join(dataDir, "runs", "env-1.json.77.partial"), "{");
    const { ids, partials } = await listRuns(dataDir);
    expect(ids).toEqual([]);
    expect(partials.map((p) => path.basename(p))).toEqual(["env-1.json.77.partial"]);
  });
});
