/**
 * The package managers setup knows, in one table: which lockfile names each one, how it installs
 * a lockfile as written, and how it passes extra arguments to a script (`npm run dev -- --host`
 * needs the `--`; pnpm, yarn and bun pass what follows the script's name, and would hand a `--`
 * to the script, where Vite's argument parser takes everything after it as positional).
 *
 * A launcher is the argv prefix that runs the manager in a given container: `["pnpm"]` when it
 * is on the image's PATH, or a pinned one run through Corepack or npx (install.ts decides).
 */

/** How to run the package manager in one container: argv prefix and the variables it needs. */
export type Launcher = { argv: string[]; env: string[] };

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
  yarn: {
    install: ["install", "--frozen-lockfile", "--prefer-offline"],
    runScript: (script, args) => ["run", script, ...args],
  },
  bun: {
    install: ["install", "--frozen-lockfile"],
    runScript: (script, args) => ["run", script, ...args],
  },
};

/** Lockfiles in order of precedence: the first one present decides the package manager. */
export const LOCKFILES: [string, PackageManager][] = [
  ["pnpm-lock.yaml", "pnpm"],
  ["yarn.lock", "yarn"],
  ["bun.lock", "bun"],
  ["bun.lockb", "bun"],
  ["package-lock.json", "npm"],
];

export const installArgv = (launcher: string[], manager: PackageManager) => [
  ...launcher,
  ...PACKAGE_MANAGERS[manager].install,
];

export const runScriptArgv = (launcher: string[], manager: PackageManager, script: string, args: string[] = []) => [
  ...launcher,
  ...PACKAGE_MANAGERS[manager].runScript(script, args),
];
