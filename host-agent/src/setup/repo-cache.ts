/**
 * The host-side git cache: one bare repository per repo under DATA_DIR/repo-cache/<owner>/<repo>.git,
 * cloned once and fetched before every use. Concurrent setups of one repo share a single fetch,
 * and every git command on a cache runs under that repo's lock: no two git processes ever work
 * on one cache at once. The cache's config holds the plain
 * remote URL, never a token. Checkouts for containers are made from the cache into a temp dir
 * whose `origin` points at the plain remote.
 */
import { mkdir, mkdtemp, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createHash } from "node:crypto";
import { KeyedLock } from "../lib/keyed-lock.js";
import { git } from "./git.js";

export type PackageManager = "npm" | "pnpm" | "yarn";

/** Lockfiles in order of precedence: the first one present decides the package manager. */
const LOCKFILES: [string, PackageManager][] = [
  ["pnpm-lock.yaml", "pnpm"],
  ["yarn.lock", "yarn"],
  ["package-lock.json", "npm"],
];

export type Dependencies = { manager: PackageManager; lockfile: string | null; hash: string };

export class RepoCache {
  private readonly busy = new Map<string, Promise<void>>();
  private readonly locks = new KeyedLock();

  constructor(
    private readonly root: string,
    private readonly remoteTemplate: string,
    private readonly timeoutMs: number,
  ) {}

  remoteUrl(repo: string): string {
    const [owner, name] = repo.split("/") as [string, string];
    return this.remoteTemplate.replace("{owner}", owner).replace("{repo}", name);
  }

  pathFor(repo: string): string {
    const [owner, name] = repo.split("/") as [string, string];
    return path.join(this.root, owner, `${name}.git`);
  }

  /**
   * Clones or fetches, once for all callers arriving while it runs. A caller that arrives after
   * a fetch finished starts a new one: every setup sees the remote as of its own start.
   */
  refresh(repo: string, token?: string): Promise<void> {
    const running = this.busy.get(repo);
    if (running) return running;
    const work = this.locks.run(repo, () => this.fetchOrClone(repo, token)).finally(() => this.busy.delete(repo));
    this.busy.set(repo, work);
    return work;
  }

  /** The commit a branch points at in the cache, or null when the branch does not exist. */
  resolveBranch(repo: string, branch: string): Promise<string | null> {
    return this.locks.run(repo, () => this.revParse(repo, branch));
  }

  private async revParse(repo: string, branch: string): Promise<string | null> {
    try {
      const out = await git(["rev-parse", "--verify", "--quiet", `refs/heads/${branch}^{commit}`], {
        cwd: this.pathFor(repo),
        timeoutMs: this.timeoutMs,
      });
      return out.trim() || null;
    } catch {
      return null;
    }
  }

  /** Package manager and lockfile hash at a commit (hash of package.json when no lockfile). */
  dependencies(repo: string, commit: string): Promise<Dependencies> {
    return this.locks.run(repo, () => this.readDependencies(repo, commit));
  }

  private async readDependencies(repo: string, commit: string): Promise<Dependencies> {
    const cwd = this.pathFor(repo);
    for (const [file, manager] of LOCKFILES) {
      const content = await this.show(cwd, commit, file);
      if (content !== null) return { manager, lockfile: file, hash: sha256(content) };
    }
    const pkg = (await this.show(cwd, commit, "package.json")) ?? "";
    return { manager: "npm", lockfile: null, hash: sha256(pkg) };
  }

  /** A full local clone of the cache checked out at `branch`, origin set to the plain remote. */
  checkout(repo: string, branch: string): Promise<{ dir: string; dispose: () => Promise<void> }> {
    return this.locks.run(repo, () => this.cloneFromCache(repo, branch));
  }

  private async cloneFromCache(repo: string, branch: string): Promise<{ dir: string; dispose: () => Promise<void> }> {
    const dir = await mkdtemp(path.join(tmpdir(), "artie-checkout-"));
    const o = { timeoutMs: this.timeoutMs };
    try {
      await git(["clone", "--quiet", "--branch", branch, "--", this.pathFor(repo), dir], o);
      await git(["remote", "set-url", "origin", this.remoteUrl(repo)], { ...o, cwd: dir });
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return { dir, dispose: () => rm(dir, { recursive: true, force: true }) };
  }

  private async fetchOrClone(repo: string, token?: string): Promise<void> {
    const target = this.pathFor(repo);
    const o = { token, timeoutMs: this.timeoutMs };
    if (await exists(target)) {
      await git(["fetch", "--quiet", "--prune", "--", this.remoteUrl(repo), "+refs/heads/*:refs/heads/*"], {
        ...o,
        cwd: target,
      });
      return;
    }
    // Clone next to the target and rename: a half-finished clone is never taken for a cache.
    await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    const partial = `${target}.partial-${process.pid}-${Date.now()}`;
    try {
      await git(["clone", "--bare", "--quiet", "--", this.remoteUrl(repo), partial], o);
      await rename(partial, target);
    } finally {
      await rm(partial, { recursive: true, force: true });
    }
  }

  private async show(cwd: string, commit: string, file: string): Promise<string | null> {
    try {
      return await git(["show", `${commit}:${file}`], { cwd, timeoutMs: this.timeoutMs });
    } catch {
      return null;
    }
  }
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
