/**
 * The host-side repo cache with real git on local fixture repos (no Docker): clone once, shared
 * fetches, branch and lockfile resolution (an unreadable lockfile fails, never "no lockfile"),
 * what a yarn or pnpm lockfile's header and `.yarnrc.yml` say, checkouts whose origin is the
 * plain remote.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GIT_MAX_BUFFER_BYTES, YARNRC_MAX_BYTES } from "../src/config.js";
import { UNREADABLE } from "../src/setup/manager-files.js";
import { RepoCache } from "../src/setup/repo-cache.js";
import { fixtureRoot, type FixtureRoot } from "./helpers/fixture-repo.js";

let fixtures: FixtureRoot;
let cache: RepoCache;
beforeAll(async () => {
  fixtures = await fixtureRoot();
  await fixtures.createRepo("acme/lib", {
    main: { message: "main", greetVersion: "1.0.0" },
    feature: { message: "feature", greetVersion: "2.0.0" },
  });
  cache = new RepoCache(path.join(fixtures.root, "cache"), fixtures.remoteTemplate, 30_000);
}, 60_000);
afterAll(async () => fixtures?.dispose());

/** Commits files (null deletes one) onto main of a fixture's bare repo. */
async function pushFiles(repo: string, files: Record<string, string | null>) {
  const work = await mkdtemp(path.join(tmpdir(), "artie-push-"));
  try {
    const run = (args: string[]) =>
      execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { cwd: work });
    run(["clone", "--quiet", path.join(fixtures.root, `${repo}.git`), "."]);
    for (const [name, text] of Object.entries(files)) {
      if (text === null) run(["rm", "--quiet", name]);
      else {
        await writeFile(path.join(work, name), text);
        run(["add", name]);
      }
    }
    run(["commit", "--quiet", "-m", "files"]);
    run(["push", "--quiet", "origin", "main"]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

describe("RepoCache", () => {
  it("shares one fetch between concurrent callers", async () => {
    const first = cache.refresh("acme/lib");
    expect(cache.refresh("acme/lib")).toBe(first);
    await first;
    const later = cache.refresh("acme/lib");
    expect(later).not.toBe(first);
    await later;
  });

  it("resolves branches, and null for a missing one", async () => {
    await cache.refresh("acme/lib");
    expect(await cache.resolveBranch("acme/lib", "main")).toMatch(/^[0-9a-f]{40}$/);
    expect(await cache.resolveBranch("acme/lib", "nope")).toBeNull();
  });

  it("detects npm from package-lock.json and hashes the lockfile per branch", async () => {
    const main = await cache.dependencies("acme/lib", (await cache.resolveBranch("acme/lib", "main"))!);
    const feature = await cache.dependencies("acme/lib", (await cache.resolveBranch("acme/lib", "feature"))!);
    expect(main).toMatchObject({ manager: "npm", lockfile: "package-lock.json" });
    expect(main.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(feature.hash).not.toBe(main.hash);
  });

  it("fails clearly on a lockfile it cannot read (over the output limit), never falling back to npm", async () => {
    const repo = "acme/huge";
    await fixtures.createRepo(repo, { main: { message: "huge", greetVersion: "1.0.0" } });
    // A pnpm lockfile just over GIT_MAX_BUFFER_BYTES, pushed straight into the bare repo.
    const work = await mkdtemp(path.join(tmpdir(), "artie-huge-"));
    try {
      const run = (args: string[]) =>
        execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { cwd: work });
      run(["clone", "--quiet", path.join(fixtures.root, `${repo}.git`), "."]);
      await writeFile(path.join(work, "pnpm-lock.yaml"), "x".repeat(GIT_MAX_BUFFER_BYTES + 1));
      run(["add", "pnpm-lock.yaml"]);
      run(["commit", "--quiet", "-m", "huge lockfile"]);
      run(["push", "--quiet", "origin", "main"]);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    await cache.refresh(repo);
    const commit = (await cache.resolveBranch(repo, "main"))!;
    await expect(cache.dependencies(repo, commit)).rejects.toThrow(
      /Could not read pnpm-lock\.yaml of acme\/huge .*printed more than 16 MiB/,
    );
  });

  it("reads which yarn wrote yarn.lock and .yarnrc.yml's settings; a yarnrc too large is unreadable", async () => {
    const repo = "acme/berry";
    await fixtures.createRepo(repo, { main: { message: "berry", greetVersion: "1.0.0" } });
    const berryLock = '# yarn\n\n__metadata:\n  version: 8\n  cacheKey: 10c0\n\n"ms@npm:2.1.3":\n  version: 2.1.3\n';
    await pushFiles(repo, {
      "package.json": JSON.stringify({ name: "b", packageManager: "yarn@4.9.4+sha224.abc" }),
      "yarn.lock": berryLock,
      ".yarnrc.yml": "nodeLinker: pnp\nyarnPath: .yarn/releases/yarn-4.9.4.cjs\n",
      "package-lock.json": null,
    });
    await cache.refresh(repo);
    const deps = await cache.dependencies(repo, (await cache.resolveBranch(repo, "main"))!);
    expect(deps).toMatchObject({
      manager: "yarn",
      lockfile: "yarn.lock",
      pkg: { packageManager: { name: "yarn", version: "4.9.4", hash: "sha224.abc" } },
      files: {
        yarnLock: { berry: true, version: 8 },
        yarnrc: { nodeLinker: "pnp", yarnPath: ".yarn/releases/yarn-4.9.4.cjs", registrySet: false },
        pnpmLockVersion: null,
      },
    });

    await pushFiles(repo, { ".yarnrc.yml": `nodeLinker: node-modules\n#${"x".repeat(YARNRC_MAX_BYTES)}\n` });
    await cache.refresh(repo);
    const big = await cache.dependencies(repo, (await cache.resolveBranch(repo, "main"))!);
    expect(big.files.yarnrc).toEqual({ nodeLinker: UNREADABLE, yarnPath: null, registrySet: true });
  });

  it("reads pnpm-lock.yaml's lockfile version", async () => {
    const repo = "acme/pnpm";
    await fixtures.createRepo(repo, { main: { message: "pnpm", greetVersion: "1.0.0" } });
    await pushFiles(repo, { "pnpm-lock.yaml": "lockfileVersion: '9.0'\n\nsettings:\n  autoInstallPeers: true\n" });
    await cache.refresh(repo);
    const deps = await cache.dependencies(repo, (await cache.resolveBranch(repo, "main"))!);
    expect(deps).toMatchObject({ manager: "pnpm", files: { pnpmLockVersion: 9, yarnLock: null } });
  });

  it("checks out a branch with origin set to the plain remote", async () => {
    const co = await cache.checkout("acme/lib", "feature");
    try {
      expect(await readFile(path.join(co.dir, "message.txt"), "utf8")).toBe("feature\n");
      const config = await readFile(path.join(co.dir, ".git", "config"), "utf8");
      expect(config).toContain(`url = ${fixtures.remoteTemplate.replace("{owner}", "acme").replace("{repo}", "lib")}`);
    } finally {
      await co.dispose();
    }
  });

  it("keeps the plain remote URL in the cache's own config", async () => {
    const config = await readFile(path.join(cache.pathFor("acme/lib"), "config"), "utf8");
    expect(config).toContain("url = file://");
  });
});
