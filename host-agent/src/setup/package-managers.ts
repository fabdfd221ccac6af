/**
 * The package managers setup knows, in one table: which lockfile names each one, how it installs
 * a lockfile as written, and how it passes extra arguments to a script (`npm run dev -- --host`
 * needs the `--`; pnpm, yarn and bun pass what follows the script's name, and would hand a `--`
 * to the script, where Vite's argument parser takes everything after it as positional). Beside
 * it, the versions to fetch when a repo pins none and the image has no manager of its own.
 *
 * A launcher (launcher.ts) is how a manager runs in a given container: `["pnpm"]` when it is on
 * the image's PATH, or a pinned one run through Corepack or npx, with its environment.
 */
import type { Launcher } from "./launcher.js";

export const PACKAGE_MANAGER_NAMES = ["npm", "pnpm", "yarn", "bun"] as const;
export type PackageManager = (typeof PACKAGE_MANAGER_NAMES)[number];

type ManagerRow = {
  /** The install for its lockfile when the repo's settings name none (after the launcher). */
  install: string[];
  /** Arguments that run `script` with `args` appended (after the launcher). */
  runScript: (script: string, args: string[]) => string[];
};

export const PACKAGE_MANAGERS: Record<PackageManager, ManagerRow> = {
  // `npm ci` would try to delete node_modules, which is a volume mount point: install instead.
  npm: {
    install: ["install", "--no-audit", "--no-fund", "--prefer-offline"],
    runScript: (script, args) => ["run", script, ...(args.length ? ["--", ...args] : [])],
  },
  pnpm: {
    install: ["install", "--frozen-lockfile", "--prefer-offline"],
    runScript: (script, args) => ["run", script, ...args],
  },
  // Yarn 1 ("classic"); yarn 2+ installs with YARN_BERRY_INSTALL.
  yarn: {
    install: ["install", "--frozen-lockfile", "--prefer-offline"],
    runScript: (script, args) => ["run", script, ...args],
  },
  bun: {
    install: ["install", "--frozen-lockfile"],
    runScript: (script, args) => ["run", script, ...args],
  },
};

/**
 * Yarn 2+ ("berry") installs a lockfile as written with `--immutable`. Yarn 1's flags are
 * deprecated there (`--frozen-lockfile` warns, `--prefer-offline` fails the install).
 */
export const YARN_BERRY_INSTALL = ["install", "--immutable"];

/** Lockfiles in order of precedence: the first one present decides the package manager. */
export const LOCKFILES: [string, PackageManager][] = [
  ["pnpm-lock.yaml", "pnpm"],
  ["yarn.lock", "yarn"],
  ["bun.lock", "bun"],
  ["bun.lockb", "bun"],
  ["package-lock.json", "npm"],
];

/**
 * The pnpm to fetch for a `pnpm-lock.yaml` whose repo pins none, by the lockfile's major
 * version: the newest pnpm that writes that version and still runs on Node 18 (pnpm 11 needs
 * 22), so a frozen install reads it as it is. Another version gets npm's `latest`.
 */
export const PNPM_FOR_LOCKFILE: Record<number, string> = { 5: "7", 6: "8", 9: "10" };

/**
 * The yarn 2+ to fetch for a berry `yarn.lock` whose repo pins none (no `packageManager`, no
 * `yarnPath`), by its `__metadata.version`: a newer yarn rewrites an older lockfile's metadata,
 * which `--immutable` refuses. 4 is yarn 2, 6 yarn 3.2+, 8 yarn 4.0 to 4.9 (4.10 writes 9).
 * Another version gets the newest release (`latest`).
 */
export const YARN_BERRY_FOR_LOCKFILE: Record<number, string> = { 4: "2", 6: "3", 8: "~4.9.0" };

/** The npm packages npx fetches a manager from: yarn 2+ is published as `@yarnpkg/cli-dist`. */
export const NPX_PACKAGE = { pnpm: "pnpm", yarnClassic: "yarn", yarnBerry: "@yarnpkg/cli-dist" } as const;

/** Flags that install "as the lockfile says": without a lockfile they refuse to install at all. */
const LOCKED = new Set(["--frozen-lockfile", "--immutable"]);

export const installArgv = (launcher: Launcher, manager: PackageManager, lockfile: string | null) => [
  ...launcher.argv,
  ...(manager === "yarn" && launcher.berry ? YARN_BERRY_INSTALL : PACKAGE_MANAGERS[manager].install).filter(
    (flag) => lockfile !== null || !LOCKED.has(flag),
  ),
];

export const runScriptArgv = (launcher: Launcher, manager: PackageManager, script: string, args: string[] = []) => [
  ...launcher.argv,
  ...PACKAGE_MANAGERS[manager].runScript(script, args),
];
