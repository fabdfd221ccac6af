/**
 * Local fixture repositories for setup tests: bare git repos under a temp root, reachable by the
 * agent through GIT_REMOTE_TEMPLATE=file://<root>/{owner}/{repo}.git. Each has a package.json
 * whose dependency is a local tarball (installs offline), a lockfile, and a tiny HTTP dev server
 * that answers with its branch's message and its dependency's version. `createFromFiles` makes
 * one of `main` alone from the files a test wrote itself (the package manager tests' repos).
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "t",
  GIT_AUTHOR_EMAIL: "t@t",
  GIT_COMMITTER_NAME: "t",
  GIT_COMMITTER_EMAIL: "t@t",
};

const SERVER_JS = `const http = require("http");
const fs = require("fs");
const greet = require("greet");
const message = fs.readFileSync(__dirname + "/message.txt", "utf8").trim();
const port = Number(process.env.LISTEN_PORT || process.env.PORT || 3000);
const host = process.env.LISTEN_HOST || "0.0.0.0";
http.createServer((req, res) => res.end(JSON.stringify({ message, greet: greet.version, env: process.env.FIXTURE_ENV || null })))
  .listen(port, host, () => console.log("dev server listening on " + host + ":" + port));
`;

async function sh(cwd: string, cmd: string, args: string[]) {
  await run(cmd, args, { cwd, env: GIT_ENV });
}

/** A tarball npm can install offline: package `name` at `version`, with `files` extra files. */
async function makeTarball(dir: string, version: string, name = "greet", files = 0): Promise<string> {
  const pkg = path.join(dir, `${name}-src-${version}`, "package");
  await mkdir(pkg, { recursive: true });
  await writeFile(path.join(pkg, "package.json"), JSON.stringify({ name, version, main: "index.js" }));
  await writeFile(path.join(pkg, "index.js"), `module.exports = { version: ${JSON.stringify(version)} };\n`);
  for (let i = 0; i < files; i++)
    await writeFile(path.join(pkg, `lib-${i}.js`), `// ${"x".repeat(2000)}\nmodule.exports = ${i};\n`);
  const file = `${name}-${version}.tgz`;
  await sh(path.dirname(pkg), "tar", ["-czf", path.join(dir, file), "package"]);
  await rm(path.dirname(pkg), { recursive: true });
  return file;
}

export type FixtureBranch = {
  message: string;
  greetVersion: string;
  brokenDependency?: boolean;
  /** package.json's dev script (default `node server.js`; LISTEN_HOST / LISTEN_PORT move the server). */
  devScript?: string;
  /** Extra vendored packages (20 files each), to give installs a realistic weight (benchmarks). */
  extraDependencies?: number;
};

export type FixtureRoot = {
  root: string;
  remoteTemplate: string;
  /** Creates owner/repo with `main` and any extra branches. */
  createRepo: (repo: string, branches: Record<string, FixtureBranch>) => Promise<void>;
  /** Creates owner/repo whose `main` holds exactly `files` (path inside the repo → content). */
  createFromFiles: (repo: string, files: Record<string, string>) => Promise<void>;
  /** Pushes one new commit to `branch` of owner/repo that writes `files` (a redeploy's news). */
  commitTo: (repo: string, branch: string, files: Record<string, string>) => Promise<void>;
  /**
   * Pushes one commit to `branch` that moves its `greet` dependency to `greetVersion` (a new
   * vendored tarball, package.json and the lockfile regenerated offline): a redeploy whose
   * lockfile changed. The other vendored packages stay as they are.
   */
  commitGreetVersion: (repo: string, branch: string, greetVersion: string) => Promise<void>;
  dispose: () => Promise<void>;
};

export async function fixtureRoot(): Promise<FixtureRoot> {
  const root = await mkdtemp(path.join(tmpdir(), "artie-fixtures-"));
  const createRepo = async (repo: string, branches: Record<string, FixtureBranch>) => {
    const work = await mkdtemp(path.join(tmpdir(), "artie-fixture-work-"));
    try {
      await sh(work, "git", ["init", "--quiet", "--initial-branch=main"]);
      for (const [branch, spec] of Object.entries(branches)) {
        if (branch !== "main") await sh(work, "git", ["checkout", "--quiet", "-B", branch, "main"]);
        await mkdir(path.join(work, "vendor"), { recursive: true });
        const tarball = await makeTarball(path.join(work, "vendor"), spec.greetVersion);
        const dependency = spec.brokenDependency ? "file:vendor/does-not-exist.tgz" : `file:vendor/${tarball}`;
        const dependencies: Record<string, string> = { greet: dependency };
        for (let i = 0; i < (spec.extraDependencies ?? 0); i++) {
          dependencies[`dep${i}`] =
            `file:vendor/${await makeTarball(path.join(work, "vendor"), "1.0.0", `dep${i}`, 20)}`;
        }
        const pkg = {
          name: "fixture",
          version: "1.0.0",
          private: true,
          scripts: { dev: spec.devScript ?? "node server.js" },
          dependencies,
        };
        await writeFile(path.join(work, "package.json"), JSON.stringify(pkg, null, 2));
        await writeFile(path.join(work, "server.js"), SERVER_JS);
        await writeFile(path.join(work, "message.txt"), `${spec.message}\n`);
        await writeFile(path.join(work, ".gitignore"), "node_modules\n");
        if (!spec.brokenDependency) {
          await sh(work, "npm", ["install", "--package-lock-only", "--offline", "--no-audit", "--no-fund"]);
        } else {
          await writeFile(
            path.join(work, "package-lock.json"),
            JSON.stringify({ name: "fixture", lockfileVersion: 3, requires: true, packages: {} }),
          );
        }
        await sh(work, "git", ["add", "-A"]);
        await sh(work, "git", ["commit", "--quiet", "-m", `${branch}: ${spec.message}`]);
        if (branch !== "main") await sh(work, "git", ["checkout", "--quiet", "main"]);
      }
      const [owner, name] = repo.split("/") as [string, string];
      await mkdir(path.join(root, owner), { recursive: true });
      await sh(work, "git", ["clone", "--quiet", "--bare", work, path.join(root, owner, `${name}.git`)]);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  };
  const createFromFiles = async (repo: string, files: Record<string, string>) => {
    const work = await mkdtemp(path.join(tmpdir(), "artie-fixture-work-"));
    try {
      await sh(work, "git", ["init", "--quiet", "--initial-branch=main"]);
      for (const [name, text] of Object.entries(files)) {
        await mkdir(path.dirname(path.join(work, name)), { recursive: true });
        await writeFile(path.join(work, name), text);
      }
      await sh(work, "git", ["add", "-A"]);
      await sh(work, "git", ["commit", "--quiet", "-m", "fixture"]);
      const [owner, name] = repo.split("/") as [string, string];
      await mkdir(path.join(root, owner), { recursive: true });
      await sh(work, "git", ["clone", "--quiet", "--bare", work, path.join(root, owner, `${name}.git`)]);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  };
  /** Clones `branch` of owner/repo, lets `edit` change the work tree, commits it all and pushes. */
  const commitWith = async (repo: string, branch: string, message: string, edit: (work: string) => Promise<void>) => {
    const work = await mkdtemp(path.join(tmpdir(), "artie-fixture-work-"));
    try {
      const [owner, name] = repo.split("/") as [string, string];
      await sh(work, "git", ["clone", "--quiet", "--branch", branch, path.join(root, owner, `${name}.git`), "."]);
      await edit(work);
      await sh(work, "git", ["add", "-A"]);
      await sh(work, "git", ["commit", "--quiet", "-m", message]);
      await sh(work, "git", ["push", "--quiet", "origin", branch]);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  };
  const commitTo = (repo: string, branch: string, files: Record<string, string>) =>
    commitWith(repo, branch, `update ${Object.keys(files).join(", ")}`, async (work) => {
      for (const [file, text] of Object.entries(files)) {
        await mkdir(path.dirname(path.join(work, file)), { recursive: true });
        await writeFile(path.join(work, file), text);
      }
    });
  const commitGreetVersion = (repo: string, branch: string, greetVersion: string) =>
    commitWith(repo, branch, `greet ${greetVersion}`, async (work) => {
      const tarball = await makeTarball(path.join(work, "vendor"), greetVersion);
      const file = path.join(work, "package.json");
      const pkg = JSON.parse(await readFile(file, "utf8")) as { dependencies: Record<string, string> };
      pkg.dependencies.greet = `file:vendor/${tarball}`;
      await writeFile(file, JSON.stringify(pkg, null, 2));
      await sh(work, "npm", ["install", "--package-lock-only", "--offline", "--no-audit", "--no-fund"]);
    });
  return {
    root,
    remoteTemplate: `file://${root}/{owner}/{repo}.git`,
    createRepo,
    createFromFiles,
    commitTo,
    commitGreetVersion,
    dispose: () => rm(root, { recursive: true, force: true }),
  };
}
