/**
 * The host-side git cache: one bare repository per repo under DATA_DIR/repo-cache/<owner>/<repo>.git,
 * cloned once and fetched before every use. Every git command on a cache runs under that repo's
 * lock: no two git processes ever work on one cache at once. The cache's config holds the plain
 * remote URL, never a token. Checkouts for containers are made from the cache into a directory
 * under DATA_DIR/checkouts whose `origin` points at the plain remote.
 *
 * The cache authorizes each setup: every setup fetches with its own credential (concurrent
 * setups share a fetch only when they present the same one, compared by hash; the token itself
 * lives only as long as the call), so a setup whose credential the remote refuses ends in an
 * error instead of reading what another setup fetched. A tokenless setup of a repo last fetched
 * with a token first proves with `git ls-remote` that the remote answers it anonymously.
 * What it leaves out: which branches or commits a token may read (a GitHub App token is per repo).
 */
import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { createHash } from "node:crypto";
import { YARNRC_MAX_BYTES } from "../config.js";
import { readSmallFile } from "../lib/bounded-reader.js";
import { KeyedLock } from "../lib/keyed-lock.js";
import { GitError, git, isAuthFailure } from "./git.js";
import {
  NO_MANAGER_FILES,
  parsePnpmLockVersion,
  parseYarnLock,
  parseYarnrc,
  UNREADABLE,
  type ManagerFiles,
} from "./manager-files.js";
import { parsePackageJson, type PackageFacts } from "./package-json.js";
import { LOCKFILES, type PackageManager } from "./package-managers.js";
import { SetupError, privateRepoError, tokenRefusedError } from "./setup-error.js";

/** Checkouts are `<checkoutRoot>/artie-checkout-*`; caches being cloned `<cache>.git.partial-*`. */
export const CHECKOUT_PREFIX = "artie-checkout-";
export const PARTIAL_CLONE_MARK = ".partial-";
/** The checkout root of a cache root: its sibling `checkouts` (DATA_DIR/checkouts). */
export const checkoutRootFor = (cacheRoot: string) => path.join(path.dirname(cacheRoot), "checkouts");

/** Written into a cache after each fetch: whether it was made with a token (`token`) or not. */
const FETCHED_WITH_FILE = "artie-fetched-with";
/** It holds one word; anything longer is not that note. */
const FETCHED_WITH_MAX_BYTES = 16;

/** What `git show <commit>:<path>` says when the commit has no such file (and only then). */
const NO_SUCH_FILE = /fatal: path '[^']*' (does not exist in|exists on disk, but not in) '/;

export type Dependencies = {
  manager: PackageManager;
  lockfile: string | null;
  hash: string;
  /** What package.json says (scripts, dependency names, pinned package manager). */
  pkg: PackageFacts;
  /** What the lockfile's header and `.yarnrc.yml` say about how to run its manager. */
  files: ManagerFiles;
};

export class RepoCache {
  private readonly busy = new Map<string, Promise<void>>();
  private readonly locks = new KeyedLock();

  constructor(
    private readonly root: string,
    private readonly remoteTemplate: string,
    private readonly timeoutMs: number,
    /** CA bundle git trusts instead of the host's (EXTRA_CA_CERTS set); undefined: the host's. */
    private readonly caFile?: string,
    /** Where checkouts are made (next to the cache, under DATA_DIR; swept at start-up). */
    readonly checkoutRoot = checkoutRootFor(root),
  ) {}

  /** What every git command of the cache runs with. */
  private gitOptions(): { timeoutMs: number; caFile?: string } {
    return { timeoutMs: this.timeoutMs, caFile: this.caFile };
  }

  remoteUrl(repo: string): string {
    const [owner, name] = repo.split("/") as [string, string];
    return this.remoteTemplate.replace("{owner}", owner).replace("{repo}", name);
  }

  pathFor(repo: string): string {
    const [owner, name] = repo.split("/") as [string, string];
    return path.join(this.root, owner, `${name}.git`);
  }

  /**
   * Clones or fetches, once for all callers with the same credential arriving while it runs. A
   * caller that arrives after a fetch finished starts a new one: every setup sees the remote as
   * of its own start, through its own credential. Git's refusals become SetupErrors saying why.
   */
  refresh(repo: string, token?: string): Promise<void> {
    const key = `${repo}\0${credentialKey(token)}`;
    const running = this.busy.get(key);
    if (running) return running;
    const work = this.authorizedFetch(repo, token).finally(() => this.busy.delete(key));
    this.busy.set(key, work);
    return work;
  }

  private async authorizedFetch(repo: string, token: string | undefined): Promise<void> {
    // Outside the repo's lock: the check must not wait behind a tokened fetch of the same repo.
    if (!token && (await this.fetchedWith(repo)) !== "anonymous") await this.checkAnonymous(repo);
    try {
      await this.locks.run(repo, () => this.fetchOrClone(repo, token));
    } catch (err) {
      if (!isAuthFailure(err)) throw err;
      throw token ? tokenRefusedError(repo) : privateRepoError(repo);
    }
  }

  /** `git ls-remote` without a credential: passes only when the remote serves the repo to anyone. */
  private async checkAnonymous(repo: string): Promise<void> {
    try {
      await git(["ls-remote", "--heads", "--", this.remoteUrl(repo)], this.gitOptions());
    } catch (err) {
      if (isAuthFailure(err)) throw privateRepoError(repo);
      throw err;
    }
  }

  /** How the cache was last fetched; null for no cache or one from before this was recorded. */
  private async fetchedWith(repo: string): Promise<"token" | "anonymous" | null> {
    const bytes = await readSmallFile(path.join(this.pathFor(repo), FETCHED_WITH_FILE), FETCHED_WITH_MAX_BYTES).catch(
      () => null,
    );
    const text = bytes?.toString("utf8");
    return text === "token" || text === "anonymous" ? text : null;
  }

  /** The commit a branch points at in the cache, or null when the branch does not exist. */
  resolveBranch(repo: string, branch: string): Promise<string | null> {
    return this.locks.run(repo, () => this.revParse(repo, branch));
  }

  private async revParse(repo: string, branch: string): Promise<string | null> {
    try {
      const out = await git(["rev-parse", "--verify", "--quiet", `refs/heads/${branch}^{commit}`], {
        cwd: this.pathFor(repo),
        ...this.gitOptions(),
      });
      return out.trim() || null;
    } catch {
      return null;
    }
  }

  /**
   * Package manager, lockfile hash (of package.json when there is no lockfile), package.json's
   * facts and the manager's own files (manager-files.ts) at a commit.
   */
  dependencies(repo: string, commit: string): Promise<Dependencies> {
    return this.locks.run(repo, () => this.readDependencies(repo, commit));
  }

  private async readDependencies(repo: string, commit: string): Promise<Dependencies> {
    const text = await this.show(repo, commit, "package.json");
    const pkg = parsePackageJson(text);
    for (const [file, manager] of LOCKFILES) {
      const content = await this.show(repo, commit, file);
      if (content === null) continue;
      const files = await this.managerFiles(repo, commit, manager, content);
      return { manager, lockfile: file, hash: sha256(content), pkg, files };
    }
    const manager = pkg.packageManager?.name ?? "npm";
    const files = await this.managerFiles(repo, commit, manager, null);
    return { manager, lockfile: null, hash: sha256(text ?? ""), pkg, files };
  }

  private async managerFiles(
    repo: string,
    commit: string,
    manager: PackageManager,
    lockfile: string | null,
  ): Promise<ManagerFiles> {
    if (manager === "pnpm")
      return { ...NO_MANAGER_FILES, pnpmLockVersion: lockfile === null ? null : parsePnpmLockVersion(lockfile) };
    if (manager !== "yarn") return NO_MANAGER_FILES;
    const yarnrc = await this.showSmall(repo, commit, ".yarnrc.yml", YARNRC_MAX_BYTES);
    return {
      ...NO_MANAGER_FILES,
      yarnLock: lockfile === null ? null : parseYarnLock(lockfile),
      // One too large to read is one whose settings are unknown: assume nothing about its linker
      // or its registry.
      yarnrc:
        yarnrc === "too large" ? { nodeLinker: UNREADABLE, yarnPath: null, registrySet: true } : parseYarnrc(yarnrc),
    };
  }

  /**
   * A file at a commit that is read only when it is at most `maxBytes` (git tells its size
   * first); null when the commit has no such file, "too large" when it is larger.
   */
  private async showSmall(repo: string, commit: string, file: string, maxBytes: number) {
    const o = { cwd: this.pathFor(repo), timeoutMs: this.timeoutMs };
    let listed: string;
    try {
      listed = await git(["ls-tree", "-l", commit, "--", file], o);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new SetupError(`Could not read ${file} of ${repo} at ${commit.slice(0, 12)}: ${why}.`);
    }
    // `<mode> blob <object> <size>\t<path>`; nothing at all when there is no such file.
    const size = listed.match(/^\d+ blob [0-9a-f]+ +(\d+)\t/)?.[1];
    if (size === undefined) return null;
    if (Number(size) > maxBytes) return "too large" as const;
    return this.show(repo, commit, file);
  }

  /** A full local clone of the cache checked out at `branch`, origin set to the plain remote. */
  checkout(repo: string, branch: string): Promise<{ dir: string; dispose: () => Promise<void> }> {
    return this.locks.run(repo, () => this.cloneFromCache(repo, branch));
  }

  private async cloneFromCache(repo: string, branch: string): Promise<{ dir: string; dispose: () => Promise<void> }> {
    await mkdir(this.checkoutRoot, { recursive: true, mode: 0o700 });
    const dir = await mkdtemp(path.join(this.checkoutRoot, CHECKOUT_PREFIX));
    const o = this.gitOptions();
    try {
      await git(["clone", "--quiet", "--branch", branch, "--", this.pathFor(repo), dir], o);
      await git(["remote", "set-url", "origin", this.remoteUrl(repo)], { ...o, cwd: dir });
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return { dir, dispose: () => rm(dir, { recursive: true, force: true }) };
  }

  /** The repos the cache holds (`owner/name`), from its directories; half-made clones are not. */
  async cachedRepos(): Promise<string[]> {
    const repos: string[] = [];
    for (const owner of await readdir(this.root).catch(() => [] as string[]))
      for (const entry of await readdir(path.join(this.root, owner)).catch(() => [] as string[]))
        if (entry.endsWith(".git") && !entry.includes(PARTIAL_CLONE_MARK)) repos.push(`${owner}/${entry.slice(0, -4)}`);
    return repos;
  }

  /**
   * When the repo was last fetched (every setup and redeploy fetches first): the mtime of the
   * note written after each fetch, else of the cache's directory; null when there is no cache.
   */
  async lastUsed(repo: string): Promise<number | null> {
    const dir = this.pathFor(repo);
    const note = await stat(path.join(dir, FETCHED_WITH_FILE)).catch(() => null);
    if (note) return note.mtimeMs;
    return (await stat(dir).catch(() => null))?.mtimeMs ?? null;
  }

  /**
   * Removes the repo's cache, under its lock (no git command runs on it meanwhile), if it was
   * still last used before `cutoffMs` once the lock is held; answers whether it went.
   */
  removeIfUnusedSince(repo: string, cutoffMs: number): Promise<boolean> {
    return this.locks.run(repo, async () => {
      const last = await this.lastUsed(repo);
      if (last === null || last >= cutoffMs) return false;
      await rm(this.pathFor(repo), { recursive: true, force: true });
      return true;
    });
  }

  private async fetchOrClone(repo: string, token?: string): Promise<void> {
    const target = this.pathFor(repo);
    const o = { ...this.gitOptions(), token };
    const fetchedWith = token ? "token" : "anonymous";
    if (await exists(target)) {
      await git(["fetch", "--quiet", "--prune", "--", this.remoteUrl(repo), "+refs/heads/*:refs/heads/*"], {
        ...o,
        cwd: target,
      });
      await writeFile(path.join(target, FETCHED_WITH_FILE), fetchedWith);
      return;
    }
    // Clone next to the target and rename: a half-finished clone is never taken for a cache.
    await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    const partial = `${target}${PARTIAL_CLONE_MARK}${process.pid}-${Date.now()}`;
    try {
      await git(["clone", "--bare", "--quiet", "--", this.remoteUrl(repo), partial], o);
      await writeFile(path.join(partial, FETCHED_WITH_FILE), fetchedWith);
      await rename(partial, target);
    } finally {
      await rm(partial, { recursive: true, force: true });
    }
  }

  /**
   * A file's content at a commit; null only when the commit has no such file. Anything else (a
   * lockfile over GIT_MAX_BUFFER_BYTES, a broken cache) fails the setup: taking it for "no
   * lockfile" would silently install with another package manager.
   */
  private async show(repo: string, commit: string, file: string): Promise<string | null> {
    try {
      return await git(["show", `${commit}:${file}`], { ...this.gitOptions(), cwd: this.pathFor(repo) });
    } catch (err) {
      if (err instanceof GitError && NO_SUCH_FILE.test(err.stderr)) return null;
      const why = err instanceof Error ? err.message : String(err);
      throw new SetupError(`Could not read ${file} of ${repo} at ${commit.slice(0, 12)}: ${why}.`);
    }
  }
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** What concurrent fetches are keyed by: a hash of the token, never the token. */
const credentialKey = (token: string | undefined) => (token ? `token:${sha256(token)}` : "anonymous");

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
