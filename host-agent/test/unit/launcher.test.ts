// Covers src/setup/launcher.ts without an engine: the probe's output parser (hostile text), and
// chooseLauncher's decision table: pin, PATH, Corepack, npx, yarn 1 and 2+, bun, the errors, and
// where each manager's stores go. The real images are in test/package-managers.int.test.ts.
import { describe, expect, it } from "vitest";
import { SetupError } from "../../src/setup/setup-error.js";
import { PM_CACHE_DIR, chooseLauncher, parseProbe, type LauncherInput, type Probe } from "../../src/setup/launcher.js";
import { NO_MANAGER_FILES, NO_YARNRC, UNREADABLE, type ManagerFiles } from "../../src/setup/manager-files.js";
import { installArgv, runScriptArgv } from "../../src/setup/package-managers.js";

const HASH = "sha512.68046141893c66fad01c079231128e9afb89ef87e2691d69e4d40eee2289882";
const REGISTRY = "https://registry.test";

const probe = (p: Partial<Probe> = {}): Probe => ({ paths: {}, versions: {}, registry: null, ...p });
/** node:24-slim: Corepack and npx, no pnpm or yarn. */
const SLIM = probe({
  paths: { corepack: "/usr/local/bin/corepack", npx: "/usr/local/bin/npx", node: "/usr/local/bin/node" },
  versions: { corepack: "0.34.6" },
  registry: REGISTRY,
});
/** An image with npx only (Node 25 dropped Corepack). */
const NPX_ONLY = probe({ paths: { npx: "/usr/local/bin/npx", node: "/usr/local/bin/node" }, registry: REGISTRY });

const classicFiles: ManagerFiles = { ...NO_MANAGER_FILES, yarnLock: { berry: false, version: null } };
const berryFiles = (version = 8, nodeLinker: string | null = null, yarnPath: string | null = null): ManagerFiles => ({
  ...NO_MANAGER_FILES,
  yarnLock: { berry: true, version },
  yarnrc: { nodeLinker, yarnPath, registrySet: false },
});

function input(o: Partial<LauncherInput> & Pick<LauncherInput, "manager">): LauncherInput {
  const lockfile = { npm: "package-lock.json", pnpm: "pnpm-lock.yaml", yarn: "yarn.lock", bun: "bun.lock" }[o.manager];
  return {
    lockfile,
    pin: null,
    files: o.manager === "pnpm" ? { ...NO_MANAGER_FILES, pnpmLockVersion: 9 } : NO_MANAGER_FILES,
    probe: SLIM,
    image: "node:24-slim",
    proxy: { http: "http://10.0.0.1:3128", https: "http://10.0.0.1:3128" },
    ...o,
  };
}

const envOf = (env: string[]) =>
  Object.fromEntries(env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));

describe("parseProbe", () => {
  it("reads paths, first-line versions and the registry without its trailing slash", () => {
    const p = parseProbe(
      [
        "path corepack /usr/local/bin/corepack",
        "path npx /usr/local/bin/npx",
        "path pnpm /usr/local/bin/pnpm",
        "version corepack 0.34.6",
        "version pnpm 9.15.9",
        "version yarn v1.22.22",
        "registry https://registry.test/",
      ].join("\n"),
    );
    expect(p).toEqual({
      paths: { corepack: "/usr/local/bin/corepack", npx: "/usr/local/bin/npx", pnpm: "/usr/local/bin/pnpm" },
      versions: { corepack: "0.34.6", pnpm: "9.15.9", yarn: "1.22.22" },
      registry: "https://registry.test",
    });
  });

  it("ignores what does not parse: other tools, relative paths, odd versions, registries with credentials", () => {
    const p = parseProbe(
      [
        "path evil /bin/sh",
        "path pnpm pnpm",
        "path yarn /usr/bin/yarn --version",
        "version pnpm is not installed",
        "version bun ",
        "registry https://user:secret@registry.test/",
        "x".repeat(10_000),
      ].join("\n"),
    );
    expect(p).toEqual({ paths: {}, versions: {}, registry: null });
    expect(parseProbe("registry file:///etc/passwd").registry).toBeNull();
    expect(parseProbe("registry not a url").registry).toBeNull();
  });
});

describe("chooseLauncher", () => {
  it("runs npm as npm, whatever it pins", () => {
    expect(chooseLauncher(input({ manager: "npm" })).argv).toEqual(["npm"]);
    const pinned = chooseLauncher(input({ manager: "npm", pin: { name: "npm", version: "10.9.0" } }));
    expect(pinned.argv).toEqual(["npm"]);
    expect(pinned.summary).toMatch(/pins npm@10\.9\.0/);
  });

  it("refuses a pin that names another manager than the lockfile's, naming both", () => {
    for (const [manager, pin] of [
      ["pnpm", "yarn"],
      ["yarn", "pnpm"],
      ["npm", "pnpm"],
    ] as const) {
      const run = () => chooseLauncher(input({ manager, pin: { name: pin, version: "9.1.0" } }));
      expect(run).toThrow(SetupError);
      expect(run).toThrow(new RegExp(`pins ${pin}@9\\.1\\.0 .* the lockfile is .*, which ${manager} writes`));
    }
  });

  describe("pnpm", () => {
    it("pinned: the pin whole (hash included) through Corepack, with Corepack quiet and on the registry", () => {
      const l = chooseLauncher(input({ manager: "pnpm", pin: { name: "pnpm", version: "9.15.9", hash: HASH } }));
      expect(l.argv).toEqual(["corepack", `pnpm@9.15.9+${HASH}`]);
      expect(installArgv(l, "pnpm", "pnpm-lock.yaml")).toEqual([
        "corepack",
        `pnpm@9.15.9+${HASH}`,
        "install",
        "--frozen-lockfile",
        "--prefer-offline",
      ]);
      expect(runScriptArgv(l, "pnpm", "dev", ["--host"])).toEqual([
        "corepack",
        `pnpm@9.15.9+${HASH}`,
        "run",
        "dev",
        "--host",
      ]);
      expect(envOf(l.env)).toMatchObject({
        COREPACK_HOME: `${PM_CACHE_DIR}/corepack`,
        COREPACK_ENABLE_DOWNLOAD_PROMPT: "0",
        COREPACK_ENABLE_AUTO_PIN: "0",
        COREPACK_DEFAULT_TO_LATEST: "0",
        COREPACK_NPM_REGISTRY: REGISTRY,
        npm_config_store_dir: `${PM_CACHE_DIR}/pnpm-store`,
        pnpm_config_store_dir: `${PM_CACHE_DIR}/pnpm-store`,
        npm_config_confirm_modules_purge: "false",
      });
      expect(l.summary).toBe("pnpm 9.15.9, pinned in package.json (packageManager), run through Corepack 0.34.6");
      expect(l.alwaysInstall).toBeNull();
    });

    it("pinned without Corepack: npx fetches the version (no hash), its cache on the volume", () => {
      const l = chooseLauncher(
        input({ manager: "pnpm", pin: { name: "pnpm", version: "9.15.9", hash: HASH }, probe: NPX_ONLY }),
      );
      expect(l.argv).toEqual(["npx", "--yes", "--package", "pnpm@9.15.9", "--", "pnpm"]);
      expect(envOf(l.env)).toMatchObject({ npm_config_cache: `${PM_CACHE_DIR}/npm` });
      expect(envOf(l.env).COREPACK_HOME).toBeUndefined();
      expect(l.summary).toMatch(/fetched by npx \(the image has no corepack\)/);
    });

    it("unpinned: the image's pnpm, else Corepack's default, else npx with the lockfile's pnpm", () => {
      const withPnpm = probe({
        ...SLIM,
        paths: { ...SLIM.paths, pnpm: "/usr/bin/pnpm" },
        versions: { pnpm: "8.15.0" },
      });
      const own = chooseLauncher(input({ manager: "pnpm", probe: withPnpm }));
      expect(own.argv).toEqual(["pnpm"]);
      expect(own.summary).toBe("pnpm 8.15.0 from the image (/usr/bin/pnpm), as package.json pins none");
      expect(chooseLauncher(input({ manager: "pnpm" })).argv).toEqual(["corepack", "pnpm"]);
      expect(chooseLauncher(input({ manager: "pnpm", probe: NPX_ONLY })).argv).toEqual([
        "npx",
        "--yes",
        "--package",
        "pnpm@10",
        "--",
        "pnpm",
      ]);
      // An older lockfile gets the pnpm that writes it, through Corepack too.
      const old = { ...NO_MANAGER_FILES, pnpmLockVersion: 6 };
      expect(chooseLauncher(input({ manager: "pnpm", files: old })).argv).toEqual(["corepack", "pnpm@8"]);
    });

    it("says what to do when the image has neither the manager, nor Corepack, nor npx", () => {
      const bare = probe({ paths: { node: "/usr/bin/node" } });
      expect(() => chooseLauncher(input({ manager: "pnpm", probe: bare, image: "acme/tiny" }))).toThrow(
        /installs with pnpm, which the image acme\/tiny does not have, and the image has neither corepack nor npx/,
      );
    });
  });

  describe("yarn 1", () => {
    it("pinned through Corepack; its cache on the volume, with yarn 1's install flags", () => {
      const l = chooseLauncher(
        input({ manager: "yarn", files: classicFiles, pin: { name: "yarn", version: "1.22.22" } }),
      );
      expect(l.argv).toEqual(["corepack", "yarn@1.22.22"]);
      expect(l.berry).toBe(false);
      expect(installArgv(l, "yarn", "yarn.lock")).toEqual([
        "corepack",
        "yarn@1.22.22",
        "install",
        "--frozen-lockfile",
        "--prefer-offline",
      ]);
      expect(envOf(l.env)).toMatchObject({ YARN_CACHE_FOLDER: `${PM_CACHE_DIR}/yarn-cache` });
      expect(envOf(l.env).YARN_NODE_LINKER).toBeUndefined();
    });

    it("unpinned: the image's yarn 1, not a yarn 2+ there; else Corepack's default (yarn 1); else npx yarn@1", () => {
      const own = probe({
        ...SLIM,
        paths: { ...SLIM.paths, yarn: "/usr/local/bin/yarn" },
        versions: { yarn: "1.22.22" },
      });
      expect(chooseLauncher(input({ manager: "yarn", files: classicFiles, probe: own })).argv).toEqual(["yarn"]);
      const berryOnPath = { ...own, versions: { yarn: "4.5.0" } };
      expect(chooseLauncher(input({ manager: "yarn", files: classicFiles, probe: berryOnPath })).argv).toEqual([
        "corepack",
        "yarn",
      ]);
      expect(chooseLauncher(input({ manager: "yarn", files: classicFiles, probe: NPX_ONLY })).argv).toEqual([
        "npx",
        "--yes",
        "--package",
        "yarn@1",
        "--",
        "yarn",
      ]);
    });
  });

  describe("yarn 2+", () => {
    it("pinned: --immutable, telemetry off, node-modules unless the repo chose, proxies in yarn's own settings", () => {
      const l = chooseLauncher(
        input({ manager: "yarn", files: berryFiles(), pin: { name: "yarn", version: "4.9.4", hash: "sha224.abc" } }),
      );
      expect(l.argv).toEqual(["corepack", "yarn@4.9.4+sha224.abc"]);
      expect(l.berry).toBe(true);
      expect(installArgv(l, "yarn", "yarn.lock")).toEqual([
        "corepack",
        "yarn@4.9.4+sha224.abc",
        "install",
        "--immutable",
      ]);
      // Pinned but no lockfile committed yet: the install makes one instead of refusing.
      expect(installArgv(l, "yarn", null)).toEqual(["corepack", "yarn@4.9.4+sha224.abc", "install"]);
      const env = envOf(l.env);
      expect(env).toMatchObject({
        YARN_ENABLE_TELEMETRY: "0",
        YARN_NODE_LINKER: "node-modules",
        YARN_HTTP_PROXY: "http://10.0.0.1:3128",
        YARN_HTTPS_PROXY: "http://10.0.0.1:3128",
        YARN_NPM_REGISTRY_SERVER: REGISTRY,
      });
      // The node-modules linker empties node_modules on its first install: nothing of ours there.
      expect(l.env.some((e) => e.includes(PM_CACHE_DIR))).toBe(false);
      expect(l.alwaysInstall).toBeNull();
    });

    it("Plug'n'Play as the repo chose: always installs (.pnp.cjs is in the workspace), caches on the volume", () => {
      const l = chooseLauncher(
        input({ manager: "yarn", files: berryFiles(8, "pnp"), pin: { name: "yarn", version: "4.9.4" } }),
      );
      const env = envOf(l.env);
      expect(env.YARN_NODE_LINKER).toBeUndefined();
      expect(env).toMatchObject({
        YARN_GLOBAL_FOLDER: `${PM_CACHE_DIR}/yarn-berry`,
        COREPACK_HOME: `${PM_CACHE_DIR}/corepack`,
      });
      expect(l.alwaysInstall).toMatch(/Plug'n'Play .*\.pnp\.cjs/);
      const unknown = chooseLauncher(
        input({ manager: "yarn", files: berryFiles(8, UNREADABLE), pin: { name: "yarn", version: "4.9.4" } }),
      );
      expect(unknown.alwaysInstall).toMatch(/nodeLinker in a form/);
      expect(envOf(unknown.env).YARN_NODE_LINKER).toBeUndefined();
      const pnpmLinker = chooseLauncher(
        input({ manager: "yarn", files: berryFiles(8, "pnpm"), pin: { name: "yarn", version: "4.9.4" } }),
      );
      expect(pnpmLinker.alwaysInstall).toBeNull();
      // A registry the repo names is the repo's.
      const ownRegistry = { ...berryFiles(8), yarnrc: { ...berryFiles(8).yarnrc, registrySet: true } };
      const named = chooseLauncher(
        input({ manager: "yarn", files: ownRegistry, pin: { name: "yarn", version: "4.9.4" } }),
      );
      expect(envOf(named.env).YARN_NPM_REGISTRY_SERVER).toBeUndefined();
      expect(envOf(pnpmLinker.env).YARN_GLOBAL_FOLDER).toBe(`${PM_CACHE_DIR}/yarn-berry`);
    });

    it("unpinned: the repo's yarnPath, else a yarn 2+ on PATH, else the yarn of its lockfile version", () => {
      const own = chooseLauncher(
        input({ manager: "yarn", files: berryFiles(8, null, ".yarn/releases/yarn-4.5.0.cjs") }),
      );
      expect(own.argv).toEqual(["node", "/app/.yarn/releases/yarn-4.5.0.cjs"]);
      expect(own.summary).toMatch(/yarnPath/);
      const onPath = probe({ ...SLIM, paths: { ...SLIM.paths, yarn: "/usr/bin/yarn" }, versions: { yarn: "4.1.0" } });
      expect(chooseLauncher(input({ manager: "yarn", files: berryFiles(), probe: onPath })).argv).toEqual(["yarn"]);
      // A yarn 1 on PATH would rewrite a berry lockfile: not used.
      const classicOnPath = { ...onPath, versions: { yarn: "1.22.22" } };
      expect(chooseLauncher(input({ manager: "yarn", files: berryFiles(6), probe: classicOnPath })).argv).toEqual([
        "corepack",
        "yarn@3",
      ]);
      expect(chooseLauncher(input({ manager: "yarn", files: berryFiles(8) })).argv).toEqual([
        "corepack",
        "yarn@~4.9.0",
      ]);
      expect(chooseLauncher(input({ manager: "yarn", files: berryFiles(9) })).argv).toEqual([
        "corepack",
        "yarn@latest",
      ]);
      const noRegistry = { ...SLIM, registry: null };
      expect(chooseLauncher(input({ manager: "yarn", files: berryFiles(9), probe: noRegistry })).argv).toEqual([
        "corepack",
        "yarn@stable",
      ]);
      expect(chooseLauncher(input({ manager: "yarn", files: berryFiles(8), probe: NPX_ONLY })).argv).toEqual([
        "npx",
        "--yes",
        "--package",
        "@yarnpkg/cli-dist@~4.9.0",
        "--",
        "yarn",
      ]);
    });

    it("refuses a pin of one yarn generation over a lockfile of the other", () => {
      expect(() =>
        chooseLauncher(input({ manager: "yarn", files: classicFiles, pin: { name: "yarn", version: "4.9.4" } })),
      ).toThrow(/pins yarn@4\.9\.4, but yarn\.lock was written by yarn 1/);
      expect(() =>
        chooseLauncher(input({ manager: "yarn", files: berryFiles(), pin: { name: "yarn", version: "1.22.22" } })),
      ).toThrow(/pins yarn@1\.22\.22, but yarn\.lock was written by yarn 2 or later/);
    });

    it("with no lockfile yet, the pin's major decides", () => {
      const l = chooseLauncher(
        input({ manager: "yarn", lockfile: null, files: NO_MANAGER_FILES, pin: { name: "yarn", version: "4.9.4" } }),
      );
      expect(l.berry).toBe(true);
      expect(NO_YARNRC.nodeLinker).toBeNull();
    });
  });

  describe("bun", () => {
    it("runs the image's bun, its cache on the volume, and notes a pin the image does not match", () => {
      const withBun = probe({ paths: { bun: "/usr/local/bin/bun" }, versions: { bun: "1.1.30" } });
      const l = chooseLauncher(input({ manager: "bun", probe: withBun, pin: { name: "bun", version: "1.2.0" } }));
      expect(l.argv).toEqual(["bun"]);
      expect(envOf(l.env)).toEqual({ BUN_INSTALL_CACHE_DIR: `${PM_CACHE_DIR}/bun` });
      expect(l.summary).toBe(
        "bun 1.1.30 from the image (/usr/local/bin/bun); package.json pins bun@1.2.0, which this image does not have",
      );
    });

    it("without bun on the image: an error that names bun and the setting that fixes it", () => {
      const run = () => chooseLauncher(input({ manager: "bun", image: "node:24-slim" }));
      expect(run).toThrow(SetupError);
      expect(run).toThrow(
        /installs with bun \(bun\.lock\), but the image node:24-slim has no bun on its PATH\. Set a base image that has bun .* \(Base image\)/,
      );
    });
  });
});
