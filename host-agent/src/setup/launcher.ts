/**
 * How a container runs the repo's package manager, as the repo pins it: the argv prefix before
 * `install` or `run dev`, and the environment both get. The image is asked once per setup, by
 * one exec of a constant script (PROBE) that prints which of corepack, npx and the manager it
 * has, their versions and the registry npm would use there; chooseLauncher then decides from the
 * lockfile, package.json's `packageManager` pin and `.yarnrc.yml` (manager-files.ts):
 *
 * - npm runs as `npm`.
 * - pnpm and yarn pinned by `packageManager` (which must name the lockfile's manager) run that
 *   exact version through Corepack when the image has it (`corepack pnpm@9.12.0+sha512.… …`,
 *   so Corepack checks the pin's hash), else through `npx --yes`.
 * - Unpinned, they run as the image's own binary when it is on PATH (and, for yarn, of the
 *   lockfile's generation: 1 for a yarn 1 lockfile, 2+ for a berry one), else Corepack's default,
 *   else npx; a berry lockfile without a pin runs the repo's `yarnPath` release when it has one,
 *   else the yarn that writes its lockfile version (package-managers.ts).
 * - bun runs as the image's `bun`; an image without one is a SetupError saying to pick a base
 *   image that has it.
 *
 * Stores and caches go into a dot-directory of the dependency volume (PM_CACHE_DIR, on the same
 * file system as node_modules, so pnpm and bun hard-link from them) instead of HOME's small
 * tmpfs, through environment variables only: nothing is written into the repo. What it leaves
 * out: installing a manager into the image, and package managers other than these four.
 */
import {
  NODE_MODULES_DIR,
  PACKAGE_MANAGER_PROBE_MAX_BYTES,
  PACKAGE_MANAGER_PROBE_TIMEOUT_MS,
  WORKSPACE_DIR,
} from "../config.js";
import type { DockerClient } from "../docker/client.js";
import { BoundedCollector, endWithin } from "../lib/bounded-reader.js";
import { UNREADABLE, type ManagerFiles } from "./manager-files.js";
import type { PinnedManager } from "./package-json.js";
import { NPX_PACKAGE, PNPM_FOR_LOCKFILE, YARN_BERRY_FOR_LOCKFILE, type PackageManager } from "./package-managers.js";
import { SetupError } from "./setup-error.js";

export type Launcher = {
  /** The argv prefix that runs the manager in this container (`["corepack", "pnpm@9.12.0"]`). */
  argv: string[];
  /** `NAME=value` pairs for every process run through it: the install and the dev server. */
  env: string[];
  /** Yarn 2+: installs with `--immutable` (package-managers.ts). */
  berry: boolean;
  /** Why the install must run even when the volume holds this lockfile's dependencies; or null. */
  alwaysInstall: string | null;
  /** One line for the log: which manager, which version, how it runs. */
  summary: string;
};

/** npm, as every Node image has it. Also the launcher of a setup that never probed. */
export const NPM_LAUNCHER: Launcher = {
  argv: ["npm"],
  env: [],
  berry: false,
  alwaysInstall: null,
  summary: "npm from the image",
};

/**
 * The package managers' stores and caches, in a dot-directory of the dependency volume: a warm
 * install (the volume kept, its marker gone) finds them there, and they never fill HOME's tmpfs.
 * npm, pnpm, yarn 1 and yarn 2+'s pnpm linker leave unknown dot-directories in node_modules
 * alone. Yarn 2+'s node-modules linker empties node_modules on its first install into a volume,
 * so with it nothing is kept there (volumeCaches).
 */
export const PM_CACHE_DIR = `${NODE_MODULES_DIR}/.artie-pm`;

// --- the probe ------------------------------------------------------------------------------

/**
 * `sh -c PROBE probe <manager> <workspace>`: the manager's name arrives as $1 (one of four fixed
 * words, never repo input, and never part of the script's text), the workspace as $2. Prints `path <tool> <path>`, `version <tool>
 * <first line of --version>` and `registry <url>` lines; versions are asked from `/`, so no repo
 * file (a `yarnPath`, an `.npmrc`) answers for the image; the registry from the workspace, whose
 * `.npmrc` is what npm there would read.
 */
const PROBE = [
  'm="$1"',
  'first() { IFS= read -r l; printf "%s" "$l"; }',
  'for b in corepack npx node "$m"; do p=$(command -v "$b" 2>/dev/null) && printf "path %s %s\\n" "$b" "$p"; done',
  // The three questions at once (npm starts slowly); each answer is one short write, so whole.
  'if [ "$m" = pnpm ] || [ "$m" = yarn ]; then command -v npm >/dev/null 2>&1 &&',
  '  (cd "$2" 2>/dev/null && r=$(npm config get registry 2>/dev/null | first) && printf "registry %s\\n" "$r") & fi',
  "cd / || exit 0",
  'command -v corepack >/dev/null 2>&1 && (v=$(corepack --version 2>/dev/null | first); printf "version corepack %s\\n" "$v") &',
  'command -v "$m" >/dev/null 2>&1 && (v=$("$m" --version 2>/dev/null | first); printf "version %s %s\\n" "$m" "$v") &',
  "wait",
  "exit 0",
].join("\n");

const PROBED_TOOLS = ["corepack", "npx", "node", "npm", "pnpm", "yarn", "bun"] as const;
type ProbedTool = (typeof PROBED_TOOLS)[number];

export type Probe = {
  /** Where each tool is on the image's PATH; absent when it is not there. */
  paths: Partial<Record<ProbedTool, string>>;
  /** What `<tool> --version` printed (first line), for corepack and the lockfile's manager. */
  versions: Partial<Record<ProbedTool, string>>;
  /** npm's registry in the workspace, without a trailing slash; null when unknown. */
  registry: string | null;
};

const PROBE_LINE = /^(path|version) ([a-z]+) (.{1,512})$/;
const VERSION_TEXT = /^v?(\d+\.\d+\.\d+[0-9A-Za-z.+-]*)$/;
const ABSOLUTE_PATH = /^\/[^\s]*$/;

/** Reads the probe's output (hostile: the image's shell printed it); what does not parse is ignored. */
export function parseProbe(text: string): Probe {
  const probe: Probe = { paths: {}, versions: {}, registry: null };
  for (const line of text.split("\n")) {
    if (line.startsWith("registry ")) {
      probe.registry = registryUrl(line.slice("registry ".length).trim());
      continue;
    }
    const m = line.match(PROBE_LINE);
    const tool = m?.[2] as ProbedTool | undefined;
    if (!m || !tool || !PROBED_TOOLS.includes(tool)) continue;
    const value = m[3]!.trim();
    if (m[1] === "path" && ABSOLUTE_PATH.test(value)) probe.paths[tool] = value;
    const version = value.match(VERSION_TEXT)?.[1];
    if (m[1] === "version" && version) probe.versions[tool] = version;
  }
  return probe;
}

/** An http(s) URL without credentials, trailing slash dropped (Corepack appends `/<name>`). */
function registryUrl(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (!["http:", "https:"].includes(url.protocol) || url.username || url.password || text.length > 512) return null;
  return url.href.replace(/\/+$/, "");
}

/**
 * Runs PROBE in the container as the environment's user, reading at most
 * PACKAGE_MANAGER_PROBE_MAX_BYTES for at most PACKAGE_MANAGER_PROBE_TIMEOUT_MS.
 */
export async function probeImage(
  docker: DockerClient,
  dockerId: string,
  o: { user: string; manager: PackageManager; env: string[] },
): Promise<Probe> {
  const { stream } = await docker.exec(dockerId, {
    cmd: ["sh", "-c", PROBE, "probe", o.manager, WORKSPACE_DIR],
    user: o.user,
    env: o.env,
    tty: false,
    stdin: false,
  });
  const out = new BoundedCollector(PACKAGE_MANAGER_PROBE_MAX_BYTES);
  docker.demux(stream, out, new BoundedCollector(0));
  try {
    await endWithin(stream, PACKAGE_MANAGER_PROBE_TIMEOUT_MS, "asking the image which package managers it has");
  } catch (err) {
    throw new SetupError(`Could not find out how to run ${o.manager} in this image: ${(err as Error).message}.`);
  }
  return parseProbe(out.text());
}

// --- the decision ---------------------------------------------------------------------------

export type LauncherInput = {
  manager: PackageManager;
  /** The lockfile that named the manager; null when package.json's pin did. */
  lockfile: string | null;
  pin: PinnedManager | null;
  files: ManagerFiles;
  probe: Probe;
  /** The image, named in errors. */
  image: string;
  /** The container's HTTP(S)_PROXY, which yarn 2+ does not read by itself. */
  proxy: { http: string | null; https: string | null };
};

/** An argv, what it is for the log line, and whether npx runs it (its cache goes on the volume). */
type Run = { argv: string[]; how: string; npx: boolean };

const corepackName = (probe: Probe) => (probe.versions.corepack ? `Corepack ${probe.versions.corepack}` : "Corepack");

/** What Corepack needs to run without asking, pinning or reaching for another registry. */
function corepackEnv(volume: boolean, registry: string | null): string[] {
  return [
    ...(volume ? [`COREPACK_HOME=${PM_CACHE_DIR}/corepack`] : []),
    // No "download pnpm? [Y/n]" prompt: nobody answers it.
    "COREPACK_ENABLE_DOWNLOAD_PROMPT=0",
    // Never write a packageManager field into the repo's package.json.
    "COREPACK_ENABLE_AUTO_PIN=0",
    // Unpinned means Corepack's own default, not whatever is newest (which may not run on this Node).
    "COREPACK_DEFAULT_TO_LATEST=0",
    // Corepack fetches from its built-in registry host unless told: the environment's npm one,
    // which is the one its egress allows. With it, yarn releases come from the npm registry too.
    ...(registry ? [`COREPACK_NPM_REGISTRY=${registry}`] : []),
  ];
}

const versionOf = (spec: PinnedManager) => `${spec.version}${spec.hash ? `+${spec.hash}` : ""}`;
const major = (version: string | undefined) => (version === undefined ? null : Number(version.split(".")[0]));

/** The launcher for this container, or a SetupError a person can act on. Pure: unit-tested. */
export function chooseLauncher(input: LauncherInput): Launcher {
  const { manager, lockfile, pin, files, probe } = input;
  if (pin && lockfile && pin.name !== manager)
    throw new SetupError(
      `package.json pins ${pin.name}@${pin.version} (its packageManager field), but the lockfile is ${lockfile}, which ${manager} writes. Remove the lockfile of the manager this repo does not use, or set packageManager to the ${manager} version that wrote ${lockfile}.`,
    );
  if (manager === "npm")
    return pin && pin.name === "npm"
      ? {
          ...NPM_LAUNCHER,
          summary: `npm from the image (package.json pins npm@${pin.version}; the image's npm is used)`,
        }
      : NPM_LAUNCHER;
  if (manager === "bun") return bunLauncher(input);
  const berry = manager === "yarn" && yarnIsBerry(input);
  const linker = berry ? files.yarnrc.nodeLinker : null;
  // Yarn 2+'s node-modules linker (ours when the repo sets none) empties node_modules on a first
  // install, caches and Corepack's home with it: none of them may live on the volume then.
  const volume = !(berry && (linker === null || linker === "node-modules"));
  const run = manager === "pnpm" ? pnpmRun(input) : berry ? berryRun(input) : classicRun(input);
  const env = [
    ...(probe.paths.corepack ? corepackEnv(volume, probe.registry) : []),
    // npx keeps the manager it fetched in npm's cache: on the volume it is fetched once per lockfile.
    ...(run.npx && volume ? [`npm_config_cache=${PM_CACHE_DIR}/npm`] : []),
    ...managerEnv(manager, berry, volume, input),
  ];
  return {
    argv: run.argv,
    env,
    berry,
    alwaysInstall: alwaysInstall(berry, linker),
    summary: run.how,
  };
}

function yarnIsBerry({ pin, files, lockfile }: LauncherInput): boolean {
  const lockBerry = files.yarnLock?.berry ?? null;
  const pinBerry = pin ? major(pin.version)! >= 2 : null;
  if (lockBerry !== null && pinBerry !== null && lockBerry !== pinBerry)
    throw new SetupError(
      `package.json pins yarn@${pin!.version}, but ${lockfile} was written by yarn ${lockBerry ? "2 or later" : "1"}: ${pinBerry ? "yarn 2+" : "yarn 1"} would rewrite it, and a frozen install refuses that. Set packageManager to the yarn that wrote the lockfile, or commit the lockfile yarn ${pin!.version} writes.`,
    );
  return pinBerry ?? lockBerry ?? false;
}

/**
 * A manager fetched at `version` (a pin, a range or a tag), through Corepack, else npx. Corepack
 * gets a pin whole, hash included, and checks it; npx gets the version (npm checks what it
 * fetches against the registry's integrity).
 */
function fetched(input: LauncherInput, name: "pnpm" | "yarn", version: string, npxPackage: string, what: string): Run {
  const { probe } = input;
  if (probe.paths.corepack) {
    const corepack = corepackName(probe);
    return {
      argv: ["corepack", `${name}@${version}`],
      how: `${what}, run through ${corepack}`,
      npx: false,
    };
  }
  if (probe.paths.npx) {
    // `--package … -- <bin>` runs the package's `name` binary whatever the package is called.
    const argv = ["npx", "--yes", "--package", `${npxPackage}@${version.replace(/\+.*/, "")}`, "--", name];
    return { argv, how: `${what}, fetched by npx (the image has no corepack)`, npx: true };
  }
  throw new SetupError(
    `This repository installs with ${name}, which the image ${input.image} does not have, and the image has neither corepack nor npx to fetch it. Set a base image with Node.js (for example node:24-slim) in the repo's settings (Base image).`,
  );
}

function pinned(input: LauncherInput, name: "pnpm" | "yarn", npxPackage: string, label: string): Run {
  const pin = input.pin!;
  return fetched(
    input,
    name,
    versionOf(pin),
    npxPackage,
    `${label} ${pin.version}, pinned in package.json (packageManager)`,
  );
}

function onPath(input: LauncherInput, label: string): Run {
  const { manager, probe } = input;
  const version = probe.versions[manager];
  const how = `${label}${version ? ` ${version}` : ""} from the image (${probe.paths[manager]}), as package.json pins none`;
  return { argv: [manager], how, npx: false };
}

function pnpmRun(input: LauncherInput): Run {
  const { pin, probe, files } = input;
  if (pin) return pinned(input, "pnpm", NPX_PACKAGE.pnpm, "pnpm");
  if (probe.paths.pnpm) return onPath(input, "pnpm");
  const lockMajor = files.pnpmLockVersion;
  const range = lockMajor === null ? undefined : PNPM_FOR_LOCKFILE[lockMajor];
  // Corepack's own default pnpm reads today's lockfile (9.0); an older one needs its own pnpm.
  if (probe.paths.corepack && (lockMajor === 9 || lockMajor === null)) {
    const corepack = corepackName(probe);
    return {
      argv: ["corepack", "pnpm"],
      how: `pnpm, ${corepack}'s default, as package.json pins none`,
      npx: false,
    };
  }
  const version = range ?? "latest";
  return fetched(
    input,
    "pnpm",
    version,
    NPX_PACKAGE.pnpm,
    `pnpm@${version} (for lockfile version ${lockMajor ?? "unknown"}), as package.json pins none`,
  );
}

function classicRun(input: LauncherInput): Run {
  const { pin, probe } = input;
  if (pin) return pinned(input, "yarn", NPX_PACKAGE.yarnClassic, "yarn");
  if (probe.paths.yarn && major(probe.versions.yarn) === 1) return onPath(input, "yarn");
  if (probe.paths.corepack) {
    // Corepack's default yarn is yarn 1, the one that reads a yarn 1 lockfile as written.
    const corepack = corepackName(probe);
    return {
      argv: ["corepack", "yarn"],
      how: `yarn 1, ${corepack}'s default, as package.json pins none`,
      npx: false,
    };
  }
  return fetched(input, "yarn", "1", NPX_PACKAGE.yarnClassic, "yarn@1, as package.json pins none");
}

function berryRun(input: LauncherInput): Run {
  const { pin, probe, files } = input;
  if (pin) return pinned(input, "yarn", NPX_PACKAGE.yarnBerry, "yarn");
  const yarnPath = files.yarnrc.yarnPath;
  // The repo's own committed release: exactly the yarn its developers run, nothing to fetch.
  if (yarnPath)
    return {
      argv: ["node", `${WORKSPACE_DIR}/${yarnPath}`],
      how: `yarn from the repo's yarnPath (${yarnPath}), as package.json pins none`,
      npx: false,
    };
  if (probe.paths.yarn && (major(probe.versions.yarn) ?? 0) >= 2) return onPath(input, "yarn");
  const lockVersion = files.yarnLock?.version ?? null;
  // The newest release is npm's `latest` tag of @yarnpkg/cli-dist; Corepack without an npm
  // registry to ask reads yarn's own tag list, which calls it `stable`.
  const newest = probe.paths.corepack && !probe.registry ? "stable" : "latest";
  const version = (lockVersion !== null && YARN_BERRY_FOR_LOCKFILE[lockVersion]) || newest;
  const what = `yarn@${version} (for lockfile version ${lockVersion ?? "unknown"}), as package.json pins neither a version nor a yarnPath`;
  return fetched(input, "yarn", version, NPX_PACKAGE.yarnBerry, what);
}

function bunLauncher(input: LauncherInput): Launcher {
  const { probe, pin, lockfile, image } = input;
  if (!probe.paths.bun)
    throw new SetupError(
      `This repository installs with bun (${lockfile ?? "package.json's packageManager"}), but the image ${image} has no bun on its PATH. Set a base image that has bun (for example oven/bun:1) in the repo's settings (Base image).`,
    );
  const version = probe.versions.bun;
  const pinNote = pin
    ? pin.version === version
      ? ", as package.json pins"
      : `; package.json pins bun@${pin.version}, which this image does not have`
    : "";
  return {
    argv: ["bun"],
    env: [`BUN_INSTALL_CACHE_DIR=${PM_CACHE_DIR}/bun`],
    berry: false,
    alwaysInstall: null,
    summary: `bun${version ? ` ${version}` : ""} from the image (${probe.paths.bun})${pinNote}`,
  };
}

function managerEnv(manager: PackageManager, berry: boolean, volume: boolean, input: LauncherInput): string[] {
  if (manager === "pnpm") {
    // pnpm 10 and before read npm_config_*, pnpm 11 pnpm_config_*: both are set.
    const both = (key: string, value: string) => [`npm_config_${key}=${value}`, `pnpm_config_${key}=${value}`];
    return [
      // The store on the volume is on node_modules' own file system: pnpm hard-links from it.
      ...both("store_dir", `${PM_CACHE_DIR}/pnpm-store`),
      ...both("cache_dir", `${PM_CACHE_DIR}/pnpm-cache`),
      // Without a terminal pnpm would abort where it asks before replacing a node_modules it did
      // not lay out (one seeded from an older main image, say): replace it without asking.
      ...both("confirm_modules_purge", "false"),
    ];
  }
  if (!berry) return volume ? [`YARN_CACHE_FOLDER=${PM_CACHE_DIR}/yarn-cache`] : [];
  const { nodeLinker, registrySet } = input.files.yarnrc;
  const { http, https } = input.proxy;
  const registry = input.probe.registry;
  return [
    "YARN_ENABLE_TELEMETRY=0",
    // Plug'n'Play (yarn 2+'s default) writes .pnp.cjs into the workspace, which a setup that finds
    // the volume installed would not have: node_modules instead, unless the repo chose a linker.
    ...(nodeLinker === null ? ["YARN_NODE_LINKER=node-modules"] : []),
    ...(volume ? [`YARN_GLOBAL_FOLDER=${PM_CACHE_DIR}/yarn-berry`] : []),
    // Yarn 2+ reads no .npmrc and has its own default registry host: unless the repo names one,
    // it uses npm's in this environment, like every other manager here (and the egress allows).
    ...(registry && !registrySet ? [`YARN_NPM_REGISTRY_SERVER=${registry}`] : []),
    // Yarn 2+ ignores HTTP(S)_PROXY (it has no NO_PROXY either): its own settings carry them.
    ...(http ? [`YARN_HTTP_PROXY=${http}`] : []),
    ...(https ? [`YARN_HTTPS_PROXY=${https}`] : []),
  ];
}

function alwaysInstall(berry: boolean, linker: string | null): string | null {
  if (!berry) return null;
  // Plug'n'Play keeps its map of the dependencies in /app/.pnp.cjs (and .pnp.loader.mjs), on the
  // workspace, not the volume: a setup that skipped the install would start without them. With
  // the cache on the volume the install is quick: it only writes those files.
  if (linker === "pnp") return "yarn's Plug'n'Play (nodeLinker: pnp) keeps .pnp.cjs in the workspace, not the volume";
  if (linker === UNREADABLE)
    return "the repo's .yarnrc.yml sets nodeLinker in a form setup does not read, and Plug'n'Play would keep .pnp.cjs in the workspace";
  return null;
}

// --- resolving it for a container -----------------------------------------------------------

/** The container's own proxy settings (the agent set them at create), from Docker. */
async function containerProxy(docker: DockerClient, dockerId: string): Promise<LauncherInput["proxy"]> {
  const env = (await docker.inspect(dockerId))?.Config?.Env ?? [];
  const get = (name: string) => env.find((e) => e.startsWith(`${name}=`))?.slice(name.length + 1) || null;
  return { http: get("HTTP_PROXY"), https: get("HTTPS_PROXY") };
}

/** Probes the container's image (not for npm, which every Node image has) and chooses. */
export async function resolveLauncher(
  docker: DockerClient,
  dockerId: string,
  o: {
    user: string;
    manager: PackageManager;
    lockfile: string | null;
    pin: PinnedManager | null;
    files: ManagerFiles;
    image: string;
    /** The repo's environment variables as `NAME=value` (npm's registry may come from them). */
    env: string[];
  },
): Promise<Launcher> {
  if (o.manager === "npm")
    return chooseLauncher({
      ...o,
      probe: { paths: {}, versions: {}, registry: null },
      proxy: { http: null, https: null },
    });
  // `pnpm --version` may start a Corepack shim, which must not prompt or pin either.
  const env = [...o.env, ...corepackEnv(false, null)];
  const probe = await probeImage(docker, dockerId, { user: o.user, manager: o.manager, env });
  const proxy = await containerProxy(docker, dockerId);
  return chooseLauncher({ ...o, probe, proxy });
}
