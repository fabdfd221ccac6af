/**
 * Updating a set-up workspace (/app, the environment's own volume) in place from one commit of
 * its branch to a newer one, for a redeploy (redeploy.ts), with nothing but what setup already
 * needs in the container (sh, tar, rm) and git on the agent's side only: the environment's
 * image need not have git.
 *
 * - `branchChanges`: the files that differ between the two commits (`git diff --no-renames`), in
 *   a host-side checkout of the newer one (a clone of the repo cache, so it holds the older
 *   commit too unless the branch was rewritten and the cache let it go).
 * - `localChanges`: which of those files the workspace changed since the older commit. Only the
 *   files the update would write or delete are compared: every other local change, a new file
 *   or an edit anywhere else, is kept by the update exactly as it is, so refusing for it would
 *   only get in the way. Each file is read back from the container (bounded) and its git blob id
 *   compared with the older commit's; a file the update adds that exists locally counts too
 *   (the local one would be overwritten). A local commit made in the environment shows up here
 *   as well: its files differ from the older commit.
 * - `applyChanges`: removes what the newer commit deleted or changed (a changed file is removed
 *   before it is written, so nothing is written through a link the workspace put there), writes
 *   the newer versions, and replaces /app/.git with the checkout's, so `git status` in the
 *   environment shows exactly its uncommitted changes against the new commit.
 *
 * What it leaves out: file modes (an executable bit changed locally is not a change), local
 * branches and stashes in /app/.git (replaced with the branch's history), and empty directories
 * a deletion leaves (git does not track them either).
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, mkdtemp, readlink, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Issue } from "../api/errors.js";
import {
  PATHS_PER_COMMAND_BYTES,
  REDEPLOY_MAX_CHECKED_FILES,
  REDEPLOY_MAX_PATH_ARG_BYTES,
  REDEPLOY_READ_MAX_BYTES,
  WORKSPACE_DIR,
} from "../config.js";
import { byteBatches } from "../lib/byte-batches.js";
import type { ContainerIO } from "./container-io.js";
import { git } from "./git.js";
import { SetupError } from "./setup-error.js";

/** One file the update touches: added, modified, deleted, or its type changed (file <-> link). */
export type Change = { path: string; status: "A" | "M" | "D" | "T" };

/** The checkout's git directory, which replaces the workspace's. */
const GIT_DIR = ".git";

type Git = { cwd: string; timeoutMs: number };

/** The commit the checkout is at. */
export async function headOf(o: Git): Promise<string> {
  return (await git(["rev-parse", "--verify", "HEAD^{commit}"], o)).trim();
}

/**
 * The files that differ between `from` and `to`; null when the checkout does not have `from`
 * (the branch was rewritten and its old commits are gone), so nothing can be compared.
 */
export async function branchChanges(o: Git, from: string, to: string): Promise<Change[] | null> {
  const known = await git(["cat-file", "-e", `${from}^{commit}`], o).then(
    () => true,
    () => false,
  );
  if (!known) return null;
  const out = await git(["diff", "--no-renames", "--no-ext-diff", "--name-status", "-z", from, to, "--"], o);
  const fields = out.split("\0").filter((f) => f !== "");
  const changes: Change[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const status = fields[i]!.charAt(0);
    if (status === "A" || status === "M" || status === "D" || status === "T")
      changes.push({ status, path: fields[i + 1]! });
  }
  return changes;
}

/** Every file of `commit`, as additions: what a forced redeploy writes when nothing can be compared. */
export async function allFiles(o: Git, commit: string): Promise<Change[]> {
  const out = await git(["ls-tree", "-r", "-z", "--name-only", commit], o);
  return out
    .split("\0")
    .filter((p) => p !== "")
    .map((p) => ({ path: p, status: "A" as const }));
}

/** Why the local-change check cannot be made (so only `force` proceeds); null when it can. */
export function uncheckable(changes: Change[]): string | null {
  if (changes.length > REDEPLOY_MAX_CHECKED_FILES)
    return `the branch's new commits change ${changes.length} files, more than the ${REDEPLOY_MAX_CHECKED_FILES} a redeploy compares`;
  const bytes = changes.reduce((n, c) => n + Buffer.byteLength(c.path) + 3, 0);
  if (bytes > REDEPLOY_MAX_PATH_ARG_BYTES)
    return `the names of the files the new commits change are too long to compare`;
  return null;
}

/**
 * The files among `changes` whose copy in the workspace differs from commit `base` (each with
 * what happened to it locally), read back from the container. Empty: the update loses nothing.
 */
export async function localChanges(
  io: ContainerIO,
  dockerId: string,
  o: Git,
  base: string,
  changes: Change[],
): Promise<Issue[]> {
  if (changes.length === 0) return [];
  const paths = changes.map((c) => c.path);
  const blobs = await blobsAt(o, base, paths);
  const scratch = await mkdtemp(path.join(os.tmpdir(), "artie-redeploy-"));
  try {
    await io.getPaths(dockerId, WORKSPACE_DIR, paths, scratch, REDEPLOY_READ_MAX_BYTES);
    const issues: Issue[] = [];
    for (const p of paths) {
      const local = await localBlob(path.join(scratch, p), blobs.get(p)?.length ?? 40);
      const tracked = blobs.get(p) ?? null;
      if (local === tracked) continue;
      const message = tracked === null ? "added locally" : local === null ? "deleted locally" : "modified locally";
      issues.push({ path: p, message });
    }
    return issues;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Brings the workspace from the older commit to the checkout's (see the module comment). */
export async function applyChanges(io: ContainerIO, dockerId: string, checkoutDir: string, changes: Change[]) {
  const written = changes.filter((c) => c.status !== "D").map((c) => c.path);
  await io.removePaths(dockerId, WORKSPACE_DIR, [GIT_DIR, ...changes.map((c) => c.path)]);
  try {
    await io.putDirectory(dockerId, checkoutDir, WORKSPACE_DIR, [GIT_DIR, ...written]);
  } catch (err) {
    // No rollback (the removed files are not kept anywhere): the words say what state /app is in.
    throw new SetupError(
      `Redeploy failed while writing the branch's files (${err instanceof Error ? err.message : String(err)}): the workspace is partly updated and /app/.git may be missing. Redeploy with force to write the branch's files again; local changes to other files are kept.`,
    );
  }
}

/** Blob ids of `paths` at `commit` (paths it does not have are absent). */
async function blobsAt(o: Git, commit: string, paths: string[]): Promise<Map<string, string>> {
  const blobs = new Map<string, string>();
  for (const batch of byteBatches(paths, PATHS_PER_COMMAND_BYTES)) {
    const out = await git(["ls-tree", "-z", "--full-tree", commit, "--", ...batch], o);
    for (const entry of out.split("\0")) {
      // `<mode> <type> <object>\t<path>`
      const m = /^\d+ blob ([0-9a-f]+)\t(.*)$/s.exec(entry);
      if (m) blobs.set(m[2]!, m[1]!);
    }
  }
  return blobs;
}

/**
 * The git blob id of a file as the workspace has it (a link's blob is its target, as git stores
 * links); null when it is missing or is something git would not store as a blob (a directory).
 * `oidLength` says the repo's hash: 40 hex for SHA-1, 64 for SHA-256.
 */
async function localBlob(file: string, oidLength: number): Promise<string | null> {
  const st = await lstat(file).catch(() => null);
  if (!st || !(st.isFile() || st.isSymbolicLink())) return null;
  const hash = createHash(oidLength === 64 ? "sha256" : "sha1");
  if (st.isSymbolicLink()) {
    const target = Buffer.from(await readlink(file));
    return hash.update(`blob ${target.length}\0`).update(target).digest("hex");
  }
  hash.update(`blob ${st.size}\0`);
  // Streamed: a large file is hashed without being held in memory.
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
