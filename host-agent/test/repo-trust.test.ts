/**
 * The agent's own git trusts EXTRA_CA_CERTS: real git against a real smart-HTTP server over
 * HTTPS, its certificate signed by a test CA (no Docker). With bundle.pem (what server.ts hands
 * the repo cache when EXTRA_CA_CERTS is set) git clones and fetches; without it git refuses the
 * certificate, as it does for any host its trust store does not vouch for.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GitError, gitEnv } from "../src/setup/git.js";
import { RepoCache } from "../src/setup/repo-cache.js";
import { readExtraCa, writeTrustBundle, type TrustBundle } from "../src/trust/ca-bundle.js";
import { fixtureRoot, type FixtureRoot } from "./helpers/fixture-repo.js";
import { startGitHttpServer, type GitHttpServer } from "./helpers/git-http-server.js";
import { issueServerCert, makeTestCa } from "./helpers/test-ca.js";

const REPO = "acme/behind-tls";

let fixtures: FixtureRoot;
let server: GitHttpServer;
let dir: string;
let bundle: TrustBundle;
let n = 0;
const cacheRoot = () => path.join(dir, "cache", String(n++));

beforeAll(async () => {
  fixtures = await fixtureRoot();
  await fixtures.createRepo(REPO, { main: { message: "main", greetVersion: "1.0.0" } });
  dir = await mkdtemp(path.join(tmpdir(), "artie-repo-trust-"));
  const ca = await makeTestCa(dir, "Artie git trust test CA");
  const cert = await issueServerCert(ca);
  server = await startGitHttpServer(fixtures.root, { key: cert.key, cert: cert.cert });
  const extra = path.join(dir, "extra-ca.pem");
  await writeFile(extra, ca.certPem);
  bundle = (await writeTrustBundle(path.join(dir, "data"), await readExtraCa(extra)))!;
}, 60_000);
afterAll(async () => {
  await server?.close();
  await fixtures?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the agent's own git and EXTRA_CA_CERTS", () => {
  it("clones and fetches over HTTPS from a server the extra CA vouches for", async () => {
    const cache = new RepoCache(cacheRoot(), server.remoteTemplate, 30_000, bundle.bundleFile);
    await cache.refresh(REPO);
    await cache.refresh(REPO); // the fetch of an existing cache, too
    expect(await cache.resolveBranch(REPO, "main")).toMatch(/^[0-9a-f]{40}$/);
    expect(server.requests.some((r) => r.url.includes("git-upload-pack") && r.status === 200)).toBe(true);
  });

  it("without the bundle refuses the server's certificate", async () => {
    const cache = new RepoCache(cacheRoot(), server.remoteTemplate, 30_000);
    const err: unknown = await cache.refresh(REPO).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GitError);
    expect((err as GitError).stderr).toMatch(/certificate/i);
  });

  it("hands git the bundle through GIT_SSL_CAINFO only when there is one", () => {
    expect(gitEnv(undefined, bundle.bundleFile).GIT_SSL_CAINFO).toBe(bundle.bundleFile);
    expect(gitEnv(undefined)).not.toHaveProperty("GIT_SSL_CAINFO");
  });
});
