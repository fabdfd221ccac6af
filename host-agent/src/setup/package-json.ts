/**
 * What setup needs from a repo's `package.json`: its scripts, the names of its dependencies (the
 * framework table's evidence, frameworks.ts) and the package manager it pins (`packageManager`,
 * Corepack's field: `pnpm@9.12.0+sha512.…`). The file is the repo's, so hostile: parsed once,
 * leniently (a field of the wrong type is ignored, never a crash), and only these fields are kept.
 */
import { z } from "zod";
import { PACKAGE_MANAGER_NAMES, type PackageManager } from "./package-managers.js";

export type PinnedManager = {
  name: PackageManager;
  version: string;
  /** The pin's `+<algo>.<hex>` part without the `+`, when it has one: Corepack checks it. */
  hash?: string;
};

export type PackageFacts = {
  scripts: Record<string, string>;
  /** Names in `dependencies` and `devDependencies`. */
  dependencies: string[];
  /** Their declared version ranges, as written (`^8.0.16`), where the value is a string. */
  ranges: Record<string, string>;
  /** `packageManager` when it names one this agent knows, with an exact version. */
  packageManager: PinnedManager | null;
  /** `packageManager` as written when it is set but not understood (said in the log). */
  packageManagerUnknown: string | null;
};

export const NO_PACKAGE_FACTS: PackageFacts = {
  scripts: {},
  dependencies: [],
  ranges: {},
  packageManager: null,
  packageManagerUnknown: null,
};

const StringRecord = z.record(z.string(), z.unknown()).catch({});
const Shape = z.object({
  scripts: StringRecord,
  dependencies: StringRecord,
  devDependencies: StringRecord,
  packageManager: z.string().max(256).optional().catch(undefined),
});

/** Longer than any real range; a longer value is kept out rather than cut (it would read wrong). */
const MAX_RANGE_CHARS = 200;

/** Corepack's grammar: `<name>@<semver>` with an optional `+<hash>`; versions are exact. */
const PINNED = /^(npm|pnpm|yarn|bun)@(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)(?:\+([0-9A-Za-z.:-]+))?$/;

export function parsePackageJson(text: string | null): PackageFacts {
  if (text === null) return NO_PACKAGE_FACTS;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return NO_PACKAGE_FACTS;
  }
  const parsed = Shape.safeParse(raw && typeof raw === "object" ? raw : {});
  if (!parsed.success) return NO_PACKAGE_FACTS;
  const { scripts, dependencies, devDependencies, packageManager } = parsed.data;
  const pin = packageManager?.match(PINNED);
  const name = pin?.[1] as PackageManager | undefined;
  return {
    scripts: Object.fromEntries(Object.entries(scripts).filter((e): e is [string, string] => typeof e[1] === "string")),
    dependencies: [...new Set([...Object.keys(dependencies), ...Object.keys(devDependencies)])],
    ranges: Object.fromEntries(
      Object.entries({ ...devDependencies, ...dependencies }).filter(
        (e): e is [string, string] => typeof e[1] === "string" && e[1].length <= MAX_RANGE_CHARS,
      ),
    ),
    packageManager:
      pin && name && PACKAGE_MANAGER_NAMES.includes(name)
        ? { name, version: pin[2]!, ...(pin[3] ? { hash: pin[3] } : {}) }
        : null,
    packageManagerUnknown: packageManager && !pin ? packageManager : null,
  };
}
