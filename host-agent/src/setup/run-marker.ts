/**
 * What the agent remembers of a container's last successful setup, so a start or a restart can
 * bring its dev server back (relaunch.ts): DATA_DIR/runs/<id>.json, written by the agent alone
 * just before `ready`, removed when a new setup of that container begins (its workspace is about
 * to change), when the container is deleted, and at start-up when its container is gone.
 *
 * It holds only facts about the repo and how it runs, none of them secret: repo, branch, commit,
 * tenant, the container port, the image, the lockfile's package manager and what package.json
 * and the manager files say (the inputs the dev server's command is chosen from), and the
 * launcher's argv for the log. Never an environment variable's value, the dev command from the
 * repo's settings, the callback secret or a token: the control plane sends the run settings again
 * with each start. Read back bounded (RUN_MARKER_MAX_BYTES, no links, regular files only) and
 * parsed with zod: a file that is not a marker counts as "no setup to bring back".
 */
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { ContainerId, RepoFullName, BranchName, TenantName } from "../api/contract.js";
import { RUN_MARKER_MAX_BYTES } from "../config.js";
import { readSmallFile } from "../lib/bounded-reader.js";
import { PACKAGE_MANAGER_NAMES } from "./package-managers.js";
import { forgetComebackRecord } from "./run-settings.js";
import type { Dependencies } from "./repo-cache.js";

const Manager = z.enum(PACKAGE_MANAGER_NAMES);

/** repo-cache.ts's Dependencies, checked against its type so the two cannot drift. */
const DependenciesSchema = z.object({
  manager: Manager,
  lockfile: z.string().nullable(),
  hash: z.string(),
  pkg: z.object({
    scripts: z.record(z.string(), z.string()),
    dependencies: z.array(z.string()),
    // Absent in records written before the framework table read ranges: then none is known.
    ranges: z.record(z.string(), z.string()).default({}),
    packageManager: z.object({ name: Manager, version: z.string(), hash: z.string().optional() }).nullable(),
    packageManagerUnknown: z.string().nullable(),
  }),
  files: z.object({
    yarnLock: z.object({ berry: z.boolean(), version: z.number().nullable() }).nullable(),
    pnpmLockVersion: z.number().nullable(),
    yarnrc: z.object({ nodeLinker: z.string().nullable(), yarnPath: z.string().nullable(), registrySet: z.boolean() }),
  }),
}) satisfies z.ZodType<Dependencies>;

const RunMarker = z.object({
  containerId: ContainerId,
  repo: RepoFullName,
  branch: BranchName,
  tenant: TenantName,
  commit: z.string().regex(/^[0-9a-f]{40,64}$/),
  containerPort: z.number().int().min(1).max(65535),
  image: z.string().max(512),
  deps: DependenciesSchema,
  launcherArgv: z.array(z.string()).max(64),
  recordedAt: z.number(),
});
export type RunFacts = z.infer<typeof RunMarker>;

const dirOf = (dataDir: string) => path.join(dataDir, "runs");

function markerPath(dataDir: string, id: string): string {
  // Container ids are validated at the routes; checked again before one becomes a file name.
  if (!ContainerId.safeParse(id).success) throw new Error(`"${id}" is not a container id`);
  return path.join(dirOf(dataDir), `${id}.json`);
}

/**
 * Records a successful setup (atomically: a torn write is never a marker). Answers false, and
 * writes nothing, when the facts would not fit RUN_MARKER_MAX_BYTES (a package.json of megabytes).
 */
export async function recordRun(dataDir: string, facts: Omit<RunFacts, "recordedAt">): Promise<boolean> {
  const file = markerPath(dataDir, facts.containerId);
  const text = JSON.stringify(RunMarker.parse({ ...facts, recordedAt: Date.now() }));
  if (Buffer.byteLength(text) > RUN_MARKER_MAX_BYTES) return false;
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const partial = `${file}.${process.pid}.partial`;
  await writeFile(partial, text, { mode: 0o600 });
  await rename(partial, file);
  return true;
}

/** The last successful setup of `id`, or null when there is none (or the file is not a marker). */
export async function readRun(dataDir: string, id: string): Promise<RunFacts | null> {
  const bytes = await readSmallFile(markerPath(dataDir, id), RUN_MARKER_MAX_BYTES).catch(() => null);
  if (!bytes) return null;
  try {
    const parsed = RunMarker.safeParse(JSON.parse(bytes.toString("utf8")));
    return parsed.success && parsed.data.containerId === id ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Forgets `id`'s last setup, and with it where a dev server brought back would report. */
export async function forgetRun(dataDir: string, id: string): Promise<void> {
  await rm(markerPath(dataDir, id), { force: true });
  await forgetComebackRecord(dataDir, id);
}

/** Ids that have a marker, and half-written markers (`.partial`) an interrupted write left. */
export async function listRuns(dataDir: string): Promise<{ ids: string[]; partials: string[] }> {
  const names = await readdir(dirOf(dataDir)).catch(() => [] as string[]);
  const ids = names
    .filter((n) => n.endsWith(".json"))
    .map((n) => n.slice(0, -".json".length))
    .filter((id) => ContainerId.safeParse(id).success);
  const partials = names.filter((n) => n.endsWith(".partial")).map((n) => path.join(dirOf(dataDir), n));
  return { ids, partials };
}
