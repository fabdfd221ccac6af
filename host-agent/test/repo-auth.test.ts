/**
 * The repo cache's authorization with real git against a real smart-HTTP server (no Docker):
 * right, wrong and missing tokens; fetches shared only between equal credentials; a tokenless
 * setup racing or following a tokened fetch of a private repo (also of a cache last fetched
 * anonymously, when the repo was public); host git configuration and
 * credentials (a HOME with a credential helper and a .netrc, askpass programs) never used.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RepoCache } from "../src/setup/repo-cache.js";
import { SetupError } from "../src/setup/setup-error.js";
import { fixtureRoot, type FixtureRoot } from "./helpers/fixture-repo.js";
import { startGitHttpServer, type GitHttpServer } from "./helpers/git-http-server.js";

const TOKEN = "ghs_RIGHTtoken0123456789abcdefLEAKCHECK";
const WRONG = "ghs_WRONGtoken0123456789abcdefLEAKCHECK";
const HOST_SECRET = "ghs_HOSTsecret0123456789abcdefLEAKCHECK";
const PRIVATE = "acme/secret";
const PUBLIC = "acme/open";

let fixtures: FixtureRoot;
let server: GitHttpServer;
let cacheRoot: string;
let n = 0;
/** A cache of its own per test: what one test fetched never helps another. */
const cache = () => new RepoCache(path.join(cacheRoot, String(n++)), server.remoteTemplate, 30_000);

beforeAll(async () => {
  fixtures = await fixtureRoot();
  await fixtures.createRepo(PRIVATE, { main: { message: "private main", greetVersion: "1.0.0" } });
  await fixtures.createRepo(PUBLIC, { main: { message: "public main", greetVersion: "1.0.0" } });
  cacheRoot = await mkdtemp(path.join(tmpdir(), "artie-repo-auth-"));
  server = await startGitHttpServer(fixtures.root);
  server.makePrivate(PRIVATE, TOKEN);
}, 60_000);
afterAll(async () => {
  await server?.close();
  await fixtures?.dispose();
  if (cacheRoot) await rm(cacheRoot, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<SetupError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SetupError);
  return err as SetupError;
}

/** Nothing the server saw carries a token in its URL. */
function expectNoTokenInUrls() {
  for (const r of server.requests)
    for (const secret of [TOKEN, WRONG, HOST_SECRET]) expect(r.url).not.toContain(secret);
}

describe("private repositories", () => {
  it("fetch with the right token; the token never travels in a URL", async () => {
    const c = cache();
    await c.refresh(PRIVATE, TOKEN);
    expect(await c.resolveBranch(PRIVATE, "main")).toMatch(/^[0-9a-f]{40}$/);
    await c.refresh(PRIVATE, TOKEN); // a second, warm fetch
    expectNoTokenInUrls();
  });

  it("a wrong token ends in an error saying the token was refused, without the token", async () => {
    const err = await failure(cache().refresh(PRIVATE, WRONG));
    expect(err.message).toMatch(/refused the token for acme\/secret/);
    expect(err.message).toMatch(/install the GitHub App on acme\/secret and link it to your team/);
    expect(err.message).not.toContain(WRONG);
  });

  it("no token ends in an error saying the repo is private and how to grant access", async () => {
    const err = await failure(cache().refresh(PRIVATE));
    expect(err.message).toMatch(/acme\/secret is private/);
    expect(err.message).toMatch(/install the GitHub App on acme\/secret and link it to your team/);
  });

  it("a public repo fetches anonymously", async () => {
    const c = cache();
    await c.refresh(PUBLIC);
    await c.refresh(PUBLIC);
    expect(await c.resolveBranch(PUBLIC, "main")).toMatch(/^[0-9a-f]{40}$/);
  });
});

describe("the cache authorizes each setup", () => {
  it("shares a fetch only between setups presenting the same credential", async () => {
    const c = cache();
    const first = c.refresh(PUBLIC, TOKEN);
    expect(c.refresh(PUBLIC, TOKEN)).toBe(first);
    const other = c.refresh(PUBLIC, WRONG);
    const anonymous = c.refresh(PUBLIC);
    expect(other).not.toBe(first);
    expect(anonymous).not.toBe(first);
    expect(anonymous).not.toBe(other);
    await Promise.allSettled([first, other, anonymous]);
  });

  it("a tokenless setup racing a tokened fetch of a private repo gets an error, never the code", async () => {
    const c = cache();
    const release = server.hold(PRIVATE); // the tokened fetch is in flight until released
    try {
      const tokened = c.refresh(PRIVATE, TOKEN);
      // Refused at once by the remote, not made to wait for (or share) the tokened fetch.
      const anonymous = await failure(c.refresh(PRIVATE));
      expect(anonymous.message).toMatch(/acme\/secret is private/);
      // A wrong token's fetch queues behind the tokened one on the cache's lock, then fails itself.
      const wrong = failure(c.refresh(PRIVATE, WRONG));
      release();
      await tokened;
      expect((await wrong).message).toMatch(/refused the token/);
      expect(await c.resolveBranch(PRIVATE, "main")).toMatch(/^[0-9a-f]{40}$/);
    } finally {
      release();
    }
  });

  it("cache last fetched anonymously, then a tokened fetch races a tokenless setup: the tokenless one must itself fetch anonymously", async () => {
    // A repo that was public when the cache fetched it anonymously, and is private now.
    const repo = "acme/turned-private";
    await fixtures.createRepo(repo, { main: { message: "was public", greetVersion: "1.0.0" } });
    const c = cache();
    await c.refresh(repo);
    server.makePrivate(repo, TOKEN);
    const release = server.hold(repo);
    try {
      const tokened = c.refresh(repo, TOKEN);
      const before = server.requests.length;
      // No ls-remote first (the cache says anonymous), so it waits on the cache's lock behind the
      // tokened fetch, then fetches on its own, anonymously, and the remote refuses it.
      const tokenless = failure(c.refresh(repo));
      release();
      await tokened;
      expect((await tokenless).message).toMatch(/acme\/turned-private is private/);
      const anonymous = server.requests.slice(before).filter((r) => r.headers.authorization === undefined);
      expect(anonymous.length).toBeGreaterThan(0);
      expect(anonymous.every((r) => r.status === 401)).toBe(true);
    } finally {
      release();
    }
  });

  it("a tokenless setup of a repo the cache holds from a tokened fetch is refused", async () => {
    const c = cache();
    await c.refresh(PRIVATE, TOKEN);
    const before = server.requests.length;
    const err = await failure(c.refresh(PRIVATE));
    expect(err.message).toMatch(/acme\/secret is private/);
    // Refused by the anonymous ls-remote, before any fetch into the cache.
    const seen = server.requests.slice(before);
    expect(seen.map((r) => r.status)).toEqual([401]);
    expect(seen[0]!.headers.authorization).toBeUndefined();
    await c.refresh(PRIVATE, TOKEN); // the right token still works afterwards
  });
});

describe("host git configuration and credentials are never used", () => {
  it("ignores HOME's credential helper and .netrc, and askpass programs", async () => {
    const home = await mkdtemp(path.join(tmpdir(), "artie-host-home-"));
    const saved = {
      HOME: process.env.HOME,
      GIT_ASKPASS: process.env.GIT_ASKPASS,
      SSH_ASKPASS: process.env.SSH_ASKPASS,
    };
    try {
      const askpass = path.join(home, "askpass.sh");
      await writeFile(askpass, `#!/bin/sh\necho ${HOST_SECRET}\n`, { mode: 0o755 });
      const helper = `!f() { echo username=x-access-token; echo password=${TOKEN}; }; f`;
      await writeFile(path.join(home, ".gitconfig"), `[credential]\n\thelper = "${helper}"\n`);
      await mkdir(path.join(home, ".config", "git"), { recursive: true });
      await writeFile(path.join(home, ".config", "git", "config"), `[credential]\n\thelper = "${helper}"\n`);
      await writeFile(path.join(home, ".netrc"), `machine 127.0.0.1 login x-access-token password ${TOKEN}\n`, {
        mode: 0o600,
      });
      Object.assign(process.env, { HOME: home, GIT_ASKPASS: askpass, SSH_ASKPASS: askpass });
      const before = server.requests.length;
      const err = await failure(cache().refresh(PRIVATE));
      expect(err.message).toMatch(/is private/);
      // Had any of them been used, the server would have seen a Basic header with that secret.
      const seen = server.requests.slice(before);
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((r) => r.headers.authorization === undefined)).toBe(true);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await rm(home, { recursive: true, force: true });
    }
  });
});
