/**
 * What setup reads from a repo's package manager files besides package.json, at the commit,
 * before any container runs (launcher.ts decides with it): which yarn wrote `yarn.lock` (yarn 1,
 * "classic", writes a `# yarn lockfile v1` header; yarn 2+, "berry", a YAML document with
 * `__metadata: version: N`), the `lockfileVersion` of `pnpm-lock.yaml`, and from `.yarnrc.yml`
 * the settings that change how setup runs yarn: `nodeLinker` (Plug'n'Play writes `.pnp.cjs` into
 * the workspace, not the dependency volume), `yarnPath` (the repo's own yarn release) and whether
 * it names its registry (`npmRegistryServer`).
 *
 * These files are the repo's, so hostile: read as text, never evaluated, and only simple top-level
 * `key: value` lines are understood. What it leaves out: YAML beyond that (a `nodeLinker` written
 * any other way is reported as unreadable, and the caller then assumes nothing about it), and
 * yarnrc files above the repo root or in HOME.
 */

export type YarnLock = {
  /** True for a yarn 2+ lockfile (`__metadata:`), false for yarn 1's. */
  berry: boolean;
  /** `__metadata.version` of a berry lockfile; null for yarn 1 or when it is missing. */
  version: number | null;
};

export type YarnRc = {
  /**
   * `nodeLinker` as set (`pnp`, `node-modules`, `pnpm`), null when the file sets none, and
   * UNREADABLE when it mentions one in a form this reader does not understand.
   */
  nodeLinker: string | null;
  /** `yarnPath` when it is a plain relative path inside the repo; null otherwise. */
  yarnPath: string | null;
  /** Whether it sets `npmRegistryServer` (yarn 2+'s registry), in whatever form. */
  registrySet: boolean;
};

/** A nodeLinker value no linker has (it holds a space): "set, but not in a form read here". */
export const UNREADABLE = "not readable";

export const NO_YARNRC: YarnRc = { nodeLinker: null, yarnPath: null, registrySet: false };

export type ManagerFiles = {
  /** What `yarn.lock` says about its writer; null when the lockfile is not yarn's. */
  yarnLock: YarnLock | null;
  /** The major of `pnpm-lock.yaml`'s `lockfileVersion` (`'9.0'` is 9); null when unknown. */
  pnpmLockVersion: number | null;
  /** `.yarnrc.yml`'s settings; NO_YARNRC when the repo has none or is not yarn's. */
  yarnrc: YarnRc;
};

export const NO_MANAGER_FILES: ManagerFiles = { yarnLock: null, pnpmLockVersion: null, yarnrc: NO_YARNRC };

/** Yarn 1 writes this comment on its second line; berry never does. */
const CLASSIC_HEADER = /^# yarn lockfile v1\s*$/m;
const BERRY_METADATA = /^__metadata:\s*$/m;
/** `  version: 8`, one indented line of the `__metadata:` block (matched line by line: no backtracking). */
const BERRY_VERSION_LINE = /^[ \t]+version:[ \t]*(\d{1,4})[ \t]*$/;
/** Only the head is looked at: both markers are in a lockfile's first lines. */
const LOCK_HEAD_CHARS = 4096;

export function parseYarnLock(text: string): YarnLock {
  const head = text.slice(0, LOCK_HEAD_CHARS);
  if (CLASSIC_HEADER.test(head) || !BERRY_METADATA.test(head)) return { berry: false, version: null };
  return { berry: true, version: berryVersion(head) };
}

/** The version in the `__metadata:` block: its indented lines, each matched on its own. */
function berryVersion(head: string): number | null {
  const lines = head.split(/\r?\n/);
  const start = lines.findIndex((l) => /^__metadata:[ \t]*$/.test(l));
  for (const line of start < 0 ? [] : lines.slice(start + 1)) {
    if (!/^[ \t]/.test(line)) break;
    const version = BERRY_VERSION_LINE.exec(line)?.[1];
    if (version !== undefined) return Number(version);
  }
  return null;
}

/** `lockfileVersion: '9.0'` (or 5.4, unquoted, as pnpm 7 wrote it), near the top. */
const PNPM_LOCK_VERSION = /^lockfileVersion:[ \t]*['"]?(\d{1,3})(?:\.\d{1,3})?['"]?[ \t]*\r?$/m;

export function parsePnpmLockVersion(text: string): number | null {
  const major = text.slice(0, LOCK_HEAD_CHARS).match(PNPM_LOCK_VERSION)?.[1];
  return major === undefined ? null : Number(major);
}

/**
 * A top-level `key: value` line: no indent, an optional quote pair, an optional comment. Lines
 * longer than YARNRC_LINE_MAX are not matched at all (the pattern's optional parts backtrack on a
 * long run of blanks): a setting line is short.
 */
const YARNRC_LINE_MAX = 1024;
const TOP_LEVEL = /^([A-Za-z][A-Za-z0-9]*)[ \t]*:[ \t]*(?:"([^"\n]*)"|'([^'\n]*)'|([^\s#"'][^\s#]*))?[ \t]*(?:#.*)?$/;
const LINKER = /^[a-z][a-z-]{0,31}$/;
/** A relative path of plain segments: no `..`, no absolute path, nothing a shell or yarn expands. */
const SAFE_RELATIVE = /^(?!.*(?:^|\/)\.\.(?:\/|$))[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

export function parseYarnrc(text: string | null): YarnRc {
  if (text === null) return NO_YARNRC;
  let nodeLinker: YarnRc["nodeLinker"] = null;
  let yarnPath: string | null = null;
  let registrySet = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\uFEFF/, "");
    if (/^\s*(#|$)/.test(line)) continue;
    if (/\bnpmRegistryServer\b/.test(line)) registrySet = true;
    const m = line.length <= YARNRC_LINE_MAX ? line.match(TOP_LEVEL) : null;
    const key = m?.[1];
    const value = m ? (m[2] ?? m[3] ?? m[4] ?? "") : null;
    if (key === "nodeLinker") nodeLinker = value !== null && LINKER.test(value) ? value : UNREADABLE;
    else if (key === "yarnPath") yarnPath = value !== null && SAFE_RELATIVE.test(value) ? value : null;
    // Mentioned, but not as a plain top-level line (indented, flow style, an anchor): say so.
    else if (!m && /\bnodeLinker\b/.test(line)) nodeLinker = UNREADABLE;
  }
  return { nodeLinker, yarnPath, registrySet };
}
