/**
 * pnpm, yarn 1 and yarn 2+ repos set up through the agent on the real engine, installing real
 * (tiny) packages from the registry this machine's npm uses, through the agent's egress proxy
 * (EGRESS_ALLOWLIST is that registry's host, read from `npm config get registry` at run time, and
 * EGRESS_ALLOWED_CIDRS the addresses it resolves to here), trusting this machine's TLS-inspecting
 * proxy through EXTRA_CA_CERTS. The test image stands in
 * for node:24-slim: Corepack and npx, no pnpm or yarn. Lockfiles are made here, before the
 * tests, by the managers themselves (on the host, through Corepack), so they point at this
 * machine's registry and no registry name is written in this file.
 *
 * Covered: pnpm pinned (hash checked by Corepack, store on the volume, hard links, then a warm
 * setup that skips the install and still starts), pnpm's main image (hard links kept, caches
 * left out, a new volume seeded from it), pnpm unpinned (Corepack's default), yarn 1 unpinned,
 * yarn 2+ pinned (node-modules linker) and with Plug'n'Play (installs every time), a bun repo on
 * an image without bun, and a pin that names another manager than the lockfile. The dev server of each says which manager ran it
 * (npm_config_user_agent, which every manager sets for scripts).
 */
import { execFile } from "node:child_process";
import { lookup } from "node:dns/promises";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecResponse } from "../src/api/contract.js";
import { startTestAgent, createContainer } from "./helpers/agent.js";
import { startReceiver, type Received, type Receiver } from "./helpers/callback-receiver.js";
import { docker, removeRepoArtifacts } from "./helpers/docker.js";
import { fixtureRoot, type FixtureRoot } from "./helpers/fixture-repo.js";
import { NODE_IMAGE, TEST_NAME_PREFIX } from "./helpers/images.js";
import { ARTIFACT_LABEL, mainImageTag } from "../src/setup/artifact-names.js";
import { SEED_DIR } from "../src/setup/main-image.js";

const run = promisify(execFile);
const SECRET = "callback-secret-0123456789";
/** The host's trust store: it holds the CA of this machine's TLS-inspecting proxy. */
const HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";
/** A real release and the hash Corepack checks it against (sha512 of its tarball). */
const PNPM_PIN =
  "pnpm@9.15.9+sha512.68046141893c66fad01c079231128e9afb89ef87e2691d69e4d40eee228988295fd4682181bae55b58418c3a253bde65a505ec7c5f9403ece5cc3cd37dcf2531";
const YARN_CLASSIC = "yarn@1.22.22+sha1.ac34549e6aa8e7ead463a7407e1c7390f61a6610";
const YARN_BERRY_VERSION = "4.9.4";
const DEPENDENCIES = { "is-number": "7.0.0", ms: "2.1.3" };
const SETUP_WAIT_MS = 150_000;

const SERVER_JS = `const http = require("http");
const ms = require("ms");
const isNumber = require("is-number");
const agent = (process.env.npm_config_user_agent || "").split(" ")[0];
http.createServer((req, res) => res.end(JSON.stringify({ pm: agent, ms: ms("2h"), isNumber: isNumber(5) })))
  .listen(Number(process.env.PORT || 3000), "0.0.0.0", () => console.log("dev server up"));
`;

const REPOS = {
  pnpmPinned: "pm/pnpm-pinned",
  pnpmDefault: "pm/pnpm-default",
  yarnClassic: "pm/yarn-classic",
  yarnBerry: "pm/yarn-berry",
  yarnPnp: "pm/yarn-pnp",
  pnpmMain: "pm/pnpm-main",
  bun: "pm/bun",
  mismatch: "pm/mismatch",
};

let fixtures: FixtureRoot;
let receiver: Receiver;
let agent: Awaited<ReturnType<typeof startTestAgent>>;
let registry: string;

const packageJson = (extra: Record<string, unknown> = {}) =>
  `${JSON.stringify({ name: "fixture", version: "1.0.0", private: true, scripts: { dev: "node server.js" }, dependencies: DEPENDENCIES, ...extra }, null, 2)}\n`;

/**
 * Runs a manager through the host's Corepack in a scratch directory holding `package.json` and
 * answers the lockfile it wrote (and Corepack's home, for the hash of what it fetched).
 */
async function makeLockfile(spec: string, args: string[], lockfile: string, env: Record<string, string> = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), "artie-pm-lock-"));
  try {
    await writeFile(path.join(dir, "package.json"), packageJson());
    await run("corepack", [spec, ...args], {
      cwd: dir,
      timeout: 120_000,
      env: {
        ...process.env,
        COREPACK_HOME: path.join(dir, ".corepack"),
        COREPACK_ENABLE_DOWNLOAD_PROMPT: "0",
        COREPACK_ENABLE_AUTO_PIN: "0",
        COREPACK_NPM_REGISTRY: registry,
        ...env,
      },
    });
    const text = await readFile(path.join(dir, lockfile), "utf8");
    const corepack = await readFile(
      path.join(dir, ".corepack", "v1", spec.split("@")[0]!, spec.split("@")[1]!.split("+")[0]!, ".corepack"),
      "utf8",
    ).catch(() => null);
    return { text, hash: corepack ? (JSON.parse(corepack) as { hash: string }).hash : null };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  registry = (await run("npm", ["config", "get", "registry"])).stdout.trim().replace(/\/+$/, "");
  const host = new URL(registry).hostname;
  // The egress proxy refuses private and reserved addresses unless opened: where this machine
  // resolves the registry (its TLS-inspecting proxy answers for it on such an address) is.
  const addresses = await lookup(host, { all: true });
  const cidrs = addresses.map((a) => `${a.address}/${a.family === 6 ? 128 : 32}`).join(",");
  const pnpmLock = await makeLockfile(
    PNPM_PIN,
    ["install", "--lockfile-only", `--registry=${registry}/`],
    "pnpm-lock.yaml",
  );
  // Yarn 1 writes the registry it fetched from into every `resolved` URL: this machine's.
  const classicLock = await makeLockfile(
    YARN_CLASSIC,
    ["install", `--registry=${registry}/`, "--ignore-scripts", "--no-progress", "--non-interactive"],
    "yarn.lock",
  );
  // No signature check for the unhashed spec here (this machine's registry serves none); the
  // fixture then pins what Corepack fetched with its hash, as `yarn set version` would.
  const berryLock = await makeLockfile(
    `yarn@${YARN_BERRY_VERSION}`,
    ["install", "--mode=update-lockfile"],
    "yarn.lock",
    {
      COREPACK_INTEGRITY_KEYS: "0",
      YARN_NPM_REGISTRY_SERVER: registry,
      YARN_ENABLE_TELEMETRY: "0",
      YARN_GLOBAL_FOLDER: path.join(tmpdir(), `artie-pm-yarn-${process.pid}`),
    },
  );
  expect(berryLock.hash).toMatch(/^sha512\./);
  fixtures = await fixtureRoot();
  const app = { "server.js": SERVER_JS, ".gitignore": "node_modules\n" };
  await fixtures.createFromFiles(REPOS.pnpmPinned, {
    ...app,
    "package.json": packageJson({ packageManager: PNPM_PIN }),
    "pnpm-lock.yaml": pnpmLock.text,
  });
  await fixtures.createFromFiles(REPOS.pnpmDefault, {
    ...app,
    "package.json": packageJson(),
    "pnpm-lock.yaml": pnpmLock.text,
  });
  await fixtures.createFromFiles(REPOS.yarnClassic, {
    ...app,
    "package.json": packageJson(),
    "yarn.lock": classicLock.text,
  });
  await fixtures.createFromFiles(REPOS.yarnBerry, {
    ...app,
    "package.json": packageJson({ packageManager: `yarn@${YARN_BERRY_VERSION}+${berryLock.hash}` }),
    "yarn.lock": berryLock.text,
  });
  await fixtures.createFromFiles(REPOS.yarnPnp, {
    ...app,
    "package.json": packageJson({ packageManager: `yarn@${YARN_BERRY_VERSION}+${berryLock.hash}` }),
    "yarn.lock": berryLock.text,
    ".yarnrc.yml": "nodeLinker: pnp\n",
  });
  await fixtures.createFromFiles(REPOS.pnpmMain, {
    ...app,
    "package.json": packageJson({ packageManager: PNPM_PIN }),
    "pnpm-lock.yaml": pnpmLock.text,
  });
  await fixtures.createFromFiles(REPOS.bun, { ...app, "package.json": packageJson(), "bun.lock": "{}\n" });
  await fixtures.createFromFiles(REPOS.mismatch, {
    ...app,
    "package.json": packageJson({ packageManager: "yarn@1.22.22" }),
    "pnpm-lock.yaml": pnpmLock.text,
  });
  receiver = await startReceiver(SECRET);
  agent = await startTestAgent({
    DEFAULT_IMAGE: NODE_IMAGE,
    GIT_REMOTE_TEMPLATE: fixtures.remoteTemplate,
    DATA_DIR: path.join(fixtures.root, "agent-data"),
    CONTAINER_MEMORY_MB: "1024",
    TMP_TMPFS_MB: "256",
    SETUP_START_TIMEOUT_MS: "20000",
    EGRESS_ALLOWLIST: host,
    EGRESS_ALLOWED_CIDRS: cidrs,
    EXTRA_CA_CERTS: HOST_CA_BUNDLE,
  });
}, 300_000);

afterAll(async () => {
  await agent?.close();
  await receiver?.close();
  await fixtures?.dispose();
  for (const repo of Object.values(REPOS)) await removeRepoArtifacts(repo);
});

const mine = (id: string) => receiver.received.filter((r) => r.body.containerId === id);

/** Sets up `repo` in a new container and answers its last callback and the container. */
async function setUp(repo: string, extra: Record<string, unknown> = {}) {
  const c = await createContainer(agent.api, { image: NODE_IMAGE });
  const res = await agent.api.post(`/api/containers/${c.id}/setup`, {
    callbackUrl: receiver.url,
    callbackSecret: SECRET,
    repo,
    branch: "main",
    ...extra,
  });
  expect(res.status).toBe(202);
  const done = (rs: Received[]) =>
    rs.some(
      (r) =>
        r.body.containerId === c.id &&
        (r.body.phase === "error" || (r.body.phase === "ready" && (!extra.buildMainImage || r.body.mainImage))),
    );
  await receiver.waitFor(done, SETUP_WAIT_MS);
  return { c, last: mine(c.id).at(-1)!.body };
}

/** Runs `cmd` in a throwaway container of `image` (named for the test cleanup) and answers its output. */
async function runIn(image: string, cmd: string[]): Promise<string> {
  const container = await docker.createContainer({
    Image: image,
    Cmd: cmd,
    User: "1000:1000",
    // A TTY: the log comes back as plain text, not Docker's multiplexed frames.
    Tty: true,
    name: `${TEST_NAME_PREFIX}pm-${Date.now()}`,
    HostConfig: { NetworkMode: "none" },
  });
  try {
    await container.start();
    await container.wait();
    return (await container.logs({ stdout: true, stderr: true })).toString();
  } finally {
    await container.remove({ force: true });
  }
}

async function logsOf(id: string): Promise<string> {
  return (await docker.getContainer(`artie-${id}`).logs({ stdout: true, stderr: true })).toString();
}

async function page(hostPort: number) {
  return (await (await fetch(`http://127.0.0.1:${hostPort}/`)).json()) as Record<string, unknown>;
}

async function exec(id: string, command: string[]) {
  const res = await agent.api.post(`/api/containers/${id}/exec`, { command });
  return ExecResponse.parse(await res.json());
}

describe("package managers as the repo pins them", () => {
  it(
    "pnpm pinned: Corepack runs the pin (hash checked), the store is on the volume and hard-linked, and a warm setup skips the install and still starts",
    async () => {
      const { c, last } = await setUp(REPOS.pnpmPinned);
      expect(last.error).toBeUndefined();
      expect(mine(c.id).map((r) => r.body.phase)).toEqual(["cloning", "installing", "starting", "ready"]);
      expect(await page(c.hostPort)).toEqual({ pm: "pnpm/9.15.9", ms: 7_200_000, isNumber: true });
      const logs = await logsOf(c.id);
      expect(logs).toContain(
        "[cloning] package manager: pnpm 9.15.9, pinned in package.json (packageManager), run through Corepack",
      );
      // Downloaded from the registry (through the egress proxy: the network has no other way out).
      expect(logs).toMatch(/\[installing\] .*downloaded 2/);
      const caches = await exec(c.id, ["ls", "/app/node_modules/.artie-pm"]);
      expect(caches.stdout.split("\n")).toEqual(expect.arrayContaining(["corepack", "pnpm-store"]));
      // Linked from the store, which is on node_modules' own file system.
      const links = await exec(c.id, ["stat", "-c", "%h", "/app/node_modules/.pnpm/ms@2.1.3/node_modules/ms/index.js"]);
      expect(Number(links.stdout.trim())).toBeGreaterThanOrEqual(2);
      // Nothing of the manager's was written into the repo.
      const workspace = await exec(c.id, ["ls", "-A", "/app"]);
      expect(workspace.stdout.split("\n").filter(Boolean).sort()).toEqual([
        ".git",
        ".gitignore",
        "node_modules",
        "package.json",
        "pnpm-lock.yaml",
        "server.js",
      ]);

      const warm = await setUp(REPOS.pnpmPinned);
      expect(warm.last.error).toBeUndefined();
      expect(warm.last.phase).toBe("ready");
      const warmLogs = await logsOf(warm.c.id);
      expect(warmLogs).toMatch(/dependencies for this lockfile are already installed/);
      expect(warmLogs).not.toMatch(/downloaded/);
      expect(await page(warm.c.hostPort)).toEqual({ pm: "pnpm/9.15.9", ms: 7_200_000, isNumber: true });
    },
    2 * SETUP_WAIT_MS,
  );

  it(
    "pnpm unpinned: Corepack's default pnpm",
    async () => {
      const { c, last } = await setUp(REPOS.pnpmDefault);
      expect(last.error).toBeUndefined();
      expect(last.phase).toBe("ready");
      expect(await logsOf(c.id)).toMatch(/\[cloning\] package manager: pnpm, Corepack [\d.]+'s default/);
      const answer = await page(c.hostPort);
      expect(answer.pm).toMatch(/^pnpm\/\d+\./);
      expect(answer).toMatchObject({ ms: 7_200_000, isNumber: true });
    },
    SETUP_WAIT_MS,
  );

  it(
    "yarn 1 unpinned: Corepack's default yarn 1, its cache on the volume",
    async () => {
      const { c, last } = await setUp(REPOS.yarnClassic);
      expect(last.error).toBeUndefined();
      expect(last.phase).toBe("ready");
      expect(await logsOf(c.id)).toMatch(/\[cloning\] package manager: yarn 1, Corepack [\d.]+'s default/);
      expect(await page(c.hostPort)).toEqual({ pm: "yarn/1.22.22", ms: 7_200_000, isNumber: true });
      const cache = await exec(c.id, ["ls", "/app/node_modules/.artie-pm"]);
      expect(cache.stdout).toMatch(/yarn-cache/);
    },
    SETUP_WAIT_MS,
  );

  it(
    "yarn 2+ pinned: the pin through Corepack, --immutable, node_modules (no .pnp.cjs) from the registry",
    async () => {
      const { c, last } = await setUp(REPOS.yarnBerry);
      expect(last.error).toBeUndefined();
      expect(last.phase).toBe("ready");
      expect(await logsOf(c.id)).toContain(
        `[cloning] package manager: yarn ${YARN_BERRY_VERSION}, pinned in package.json (packageManager), run through Corepack`,
      );
      expect(await page(c.hostPort)).toEqual({ pm: `yarn/${YARN_BERRY_VERSION}`, ms: 7_200_000, isNumber: true });
      const files = await exec(c.id, ["sh", "-c", "ls -a /app; ls /app/node_modules"]);
      expect(files.stdout).not.toContain(".pnp.cjs");
      expect(files.stdout).toMatch(/\nms\n/);
    },
    SETUP_WAIT_MS,
  );

  it(
    "yarn 2+ with Plug'n'Play as the repo chose: installs on every setup (.pnp.cjs lives in the workspace), cache on the volume",
    async () => {
      const first = await setUp(REPOS.yarnPnp);
      expect(first.last.error).toBeUndefined();
      expect(await page(first.c.hostPort)).toEqual({ pm: `yarn/${YARN_BERRY_VERSION}`, ms: 7_200_000, isNumber: true });
      const files = await exec(first.c.id, ["sh", "-c", "ls -A /app; ls -A /app/node_modules/.artie-pm"]);
      expect(files.stdout).toContain(".pnp.cjs");
      expect(files.stdout).toContain("yarn-berry");

      const again = await setUp(REPOS.yarnPnp);
      expect(again.last.error).toBeUndefined();
      expect(again.last.phase).toBe("ready");
      expect(await logsOf(again.c.id)).toMatch(/\[installing\] installing anyway: yarn's Plug'n'Play/);
      expect(await page(again.c.hostPort)).toEqual({ pm: `yarn/${YARN_BERRY_VERSION}`, ms: 7_200_000, isNumber: true });
    },
    2 * SETUP_WAIT_MS,
  );

  it(
    "pnpm's main image holds all of node_modules and none of the caches; a new volume seeded from it starts",
    async () => {
      const { c, last } = await setUp(REPOS.pnpmMain, { buildMainImage: true });
      expect(last.error).toBeUndefined();
      expect(last.mainImage).toMatchObject({ tag: mainImageTag("default", REPOS.pnpmMain) });
      const seed = await runIn(last.mainImage!.tag, [
        "sh",
        "-c",
        `ls -A1 ${SEED_DIR}; node -e 'process.stdout.write(String(require("${SEED_DIR}/ms")("1s")))'`,
      ]);
      expect(seed.split(/\r?\n/)).toEqual(expect.arrayContaining([".pnpm", "ms", "is-number", "1000"]));
      expect(seed).not.toContain(".artie-pm");

      // A volume made anew (a lockfile's first setup on another host, say) starts from the image.
      expect((await agent.api.del(`/api/containers/${c.id}`)).status).toBeLessThan(300);
      const filters = { label: [`${ARTIFACT_LABEL.repo}=${REPOS.pnpmMain}`] };
      for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) await docker.getVolume(v.Name).remove();
      const warm = await setUp(REPOS.pnpmMain, { hasMainImage: true });
      expect(warm.last.error).toBeUndefined();
      expect(warm.last.phase).toBe("ready");
      expect(await page(warm.c.hostPort)).toEqual({ pm: "pnpm/9.15.9", ms: 7_200_000, isNumber: true });
    },
    2 * SETUP_WAIT_MS,
  );

  it("bun on an image without bun: an error naming bun and the setting that fixes it", async () => {
    const { last } = await setUp(REPOS.bun);
    expect(last.phase).toBe("error");
    expect(last.error).toMatch(
      /installs with bun \(bun\.lock\), but the image artie-test\/node:20 has no bun on its PATH\. Set a base image that has bun .*\(Base image\)/,
    );
  });

  it(
    "bun on an image without bun, with both commands in the repo's settings: those run, the manager is not needed",
    async () => {
      const { c, last } = await setUp(REPOS.bun, {
        installCommand: ["npm", "install", "--no-audit", "--no-fund"],
        devCommand: ["node", "server.js"],
      });
      expect(last.error).toBeUndefined();
      expect(last.phase).toBe("ready");
      expect(await logsOf(c.id)).toMatch(
        /\[cloning\] package manager: not used \(the repo's settings name both commands\)/,
      );
      expect(await page(c.hostPort)).toMatchObject({ ms: 7_200_000, isNumber: true });
    },
    SETUP_WAIT_MS,
  );

  it("a packageManager pin naming another manager than the lockfile: an error naming both", async () => {
    const { last } = await setUp(REPOS.mismatch);
    expect(last.phase).toBe("error");
    expect(last.error).toMatch(/pins yarn@1\.22\.22 .* the lockfile is pnpm-lock\.yaml, which pnpm writes/);
  });
});
