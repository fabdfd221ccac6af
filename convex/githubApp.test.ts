/**
 * The GitHub App client against the GitHub stand-in, which verifies what it receives as GitHub
 * does: App JWT signature and claims, the token request's body, the code exchange, the user's
 * installations. Also: the key formats GitHub and env vars produce, "not configured", and that
 * no error message ever carries a token, JWT, secret or code.
 */
import { jwtVerify } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  exchangeUserCode,
  findRepoInstallation,
  GitHubAppError,
  installUrl,
  missingGitHubAppSettings,
  mintRepoToken,
  userCanAccessInstallation,
} from "./githubApp";
import { importAppKey, signAppJwt } from "./githubAppJwt";
import { serveGitHubStandIn } from "./test.githubServer";
import { generateAppKeys, GitHubStandIn } from "./test.githubStandIn";

const APP_ID = "424242";
const CLIENT_ID = "Iv23liTestClient";
const CLIENT_SECRET = "test-client-secret-" + "s".repeat(24);
let keys: Awaited<ReturnType<typeof generateAppKeys>>;
let otherKeys: Awaited<ReturnType<typeof generateAppKeys>>;

beforeAll(async () => {
  [keys, otherKeys] = await Promise.all([generateAppKeys(), generateAppKeys()]);
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
});

/** A configured deployment whose GitHub is a fresh stand-in, reached through a stubbed fetch. */
function github(overrides: { privateKey?: string } = {}) {
  const standIn = new GitHubStandIn({
    appId: APP_ID,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    publicKey: keys.publicKey,
    installations: [
      { id: 7, account: "acme", repos: ["shop", "api"] },
      { id: 8, account: "other-org", repos: ["secret"] },
    ],
    users: [
      { login: "alice", installationIds: [7] },
      { login: "bob", installationIds: [8] },
    ],
  });
  const fetch = vi.fn(standIn.fetch);
  vi.stubGlobal("fetch", fetch);
  vi.stubEnv("GITHUB_APP_ID", APP_ID);
  vi.stubEnv("GITHUB_APP_PRIVATE_KEY", overrides.privateKey ?? keys.pkcs1Pem);
  vi.stubEnv("GITHUB_APP_CLIENT_ID", CLIENT_ID);
  vi.stubEnv("GITHUB_APP_CLIENT_SECRET", CLIENT_SECRET);
  vi.stubEnv("GITHUB_APP_SLUG", "artie-test");
  vi.stubEnv("GITHUB_API_URL", standIn.origin);
  vi.stubEnv("GITHUB_URL", standIn.origin);
  return { standIn, fetch };
}

async function thrown(promise: Promise<unknown>): Promise<GitHubAppError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GitHubAppError);
  return err as GitHubAppError;
}

describe("App JWT", () => {
  it("verifies with the App's public key, RS256, iss = app id, iat now-60 s, exp now+9 min", async () => {
    const now = Date.now();
    const jwt = await signAppJwt(await importAppKey(keys.pkcs1Pem), APP_ID, now);
    const { payload, protectedHeader } = await jwtVerify(jwt, keys.publicKey, {
      issuer: APP_ID,
      algorithms: ["RS256"],
    });
    expect(protectedHeader.alg).toBe("RS256");
    const s = Math.floor(now / 1000);
    expect(payload.iat).toBe(s - 60);
    expect(payload.exp).toBe(s + 9 * 60);
    await expect(jwtVerify(jwt, otherKeys.publicKey)).rejects.toThrow();
  });

  it.each([
    ["PKCS#1 as GitHub issues it", () => keys.pkcs1Pem],
    ["PKCS#8", () => keys.pkcs8Pem],
    ["PKCS#1 pasted with \\n escapes", () => keys.pkcs1Pem.replace(/\n/g, "\\n")],
    ["PKCS#8 quoted, \\r\\n escapes", () => `"${keys.pkcs8Pem.replace(/\n/g, "\\r\\n")}"`],
    ["PKCS#1 with CRLF line ends", () => keys.pkcs1Pem.replace(/\n/g, "\r\n")],
  ])("a %s key signs JWTs GitHub accepts", async (_, key) => {
    const { standIn } = github({ privateKey: key() });
    expect(await findRepoInstallation("acme", "shop")).toEqual({ installationId: 7, accountLogin: "acme" });
    const [req] = standIn.requests;
    expect(req).toMatchObject({ path: "/repos/acme/shop/installation", authScheme: "Bearer", status: 200 });
    expect(req.jwt?.iss).toBe(APP_ID);
  });

  it("the stand-in refuses an expired JWT, one valid too long, and one signed by another key, as GitHub does", async () => {
    const { standIn } = github();
    const key = await importAppKey(keys.pkcs8Pem);
    const ask = async (jwt: string) =>
      (
        await standIn.handle(
          new Request(`${standIn.origin}/repos/acme/shop/installation`, {
            headers: { authorization: `Bearer ${jwt}` },
          }),
        )
      ).status;
    expect(await ask(await signAppJwt(key, APP_ID, Date.now() - 10 * 60_000))).toBe(401);
    expect(await ask(await signAppJwt(key, APP_ID, Date.now() + 5 * 60_000))).toBe(401);
    expect(await ask(await signAppJwt(await importAppKey(otherKeys.pkcs8Pem), APP_ID))).toBe(401);
    expect(await ask(await signAppJwt(key, "999"))).toBe(401);
    expect(await ask(await signAppJwt(key, APP_ID))).toBe(200);
  });
});

describe("installation tokens", () => {
  it("name exactly one repository and contents: read, and can read only that repository", async () => {
    const { standIn, fetch } = github();
    const minted = await mintRepoToken(7, "shop");
    const tokenRequests = standIn.requests.filter((r) => r.path.endsWith("/access_tokens"));
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]).toMatchObject({ path: "/app/installations/7/access_tokens", status: 201 });
    expect(tokenRequests[0].body).toStrictEqual({ repositories: ["shop"], permissions: { contents: "read" } });
    expect(minted.token).toMatch(/^ghs_/);
    expect(minted.expiresAt).toBeGreaterThan(Date.now() + 50 * 60_000);
    expect(standIn.canRead(minted.token, "acme/shop")).toBe(true);
    expect(standIn.canRead(minted.token, "acme/api")).toBe(false);
    // Every call follows no redirect and has a deadline.
    for (const [, init] of fetch.mock.calls) {
      expect(init?.redirect).toBe("error");
      expect(init?.signal).toBeInstanceOf(AbortSignal);
    }
  });

  it("a repository the App is not installed on has no installation (404 -> null)", async () => {
    const { standIn } = github();
    expect(await findRepoInstallation("acme", "elsewhere")).toBeNull();
    expect(await findRepoInstallation("nobody", "shop")).toBeNull();
    expect(standIn.requests.map((r) => r.status)).toEqual([404, 404]);
  });

  it("a repository outside the installation is refused with an error that says what to check", async () => {
    const { standIn } = github();
    const err = await thrown(mintRepoToken(7, "secret"));
    expect(err.code).toBe("refused");
    expect(err.message).toMatch(/GitHub refused a read token for secret from installation 7 \(422/);
    expect(standIn.minted).toHaveLength(0);
  });

  it("a wrong private key is refused with the settings to check", async () => {
    github({ privateKey: otherKeys.pkcs1Pem });
    const err = await thrown(findRepoInstallation("acme", "shop"));
    expect(err.message).toMatch(
      /GitHub refused the App's credentials \(401.*check GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY/,
    );
  });
});

describe("linking: code exchange and the user's installations", () => {
  it("a user GitHub lists for the installation gets its account login", async () => {
    const { standIn } = github();
    const { userToken } = await exchangeUserCode(standIn.authorize("alice"));
    expect(userToken).toMatch(/^ghu_/);
    expect(await userCanAccessInstallation(userToken, 7)).toBe("acme");
    const exchange = standIn.requests.find((r) => r.path === "/login/oauth/access_token");
    expect(exchange?.body).toMatchObject({ client_id: CLIENT_ID });
    expect(standIn.requests.at(-1)).toMatchObject({ query: { per_page: "100", page: "1" }, authScheme: "Bearer" });
  });

  it("a user GitHub does not list gets null", async () => {
    const { standIn } = github();
    const { userToken } = await exchangeUserCode(standIn.authorize("alice"));
    expect(await userCanAccessInstallation(userToken, 8)).toBeNull();
    expect(await userCanAccessInstallation(userToken, 999)).toBeNull();
  });

  it("pages through the user's installations, bounded", async () => {
    const many = Array.from({ length: 150 }, (_, i) => ({ id: 1000 + i, account: `org${i}`, repos: ["r"] }));
    const standIn = new GitHubStandIn({
      appId: APP_ID,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      publicKey: keys.publicKey,
      installations: many,
      users: [{ login: "carol", installationIds: many.map((i) => i.id) }],
    });
    github();
    vi.stubGlobal("fetch", standIn.fetch);
    vi.stubEnv("GITHUB_API_URL", standIn.origin);
    vi.stubEnv("GITHUB_URL", standIn.origin);
    const { userToken } = await exchangeUserCode(standIn.authorize("carol"));
    expect(await userCanAccessInstallation(userToken, 1149)).toBe("org149");
    expect(await userCanAccessInstallation(userToken, 5)).toBeNull();
    const pages = standIn.requests.filter((r) => r.path === "/user/installations").map((r) => r.query.page);
    expect(pages).toEqual(["1", "2", "1", "2"]);
  });

  it("a code works once; a wrong client secret is named as such", async () => {
    const { standIn } = github();
    const code = standIn.authorize("alice");
    await exchangeUserCode(code);
    const again = await thrown(exchangeUserCode(code));
    expect(again.message).toMatch(/bad_verification_code.*start the installation again/);
    vi.stubEnv("GITHUB_APP_CLIENT_SECRET", "wrong-secret-value-0123456789");
    const wrong = await thrown(exchangeUserCode(standIn.authorize("alice")));
    expect(wrong.message).toMatch(/incorrect_client_credentials.*GITHUB_APP_CLIENT_SECRET/);
  });

  it("an installation token cannot list a user's installations", async () => {
    const { standIn } = github();
    const { token } = await mintRepoToken(7, "shop");
    const err = await thrown(userCanAccessInstallation(token, 7));
    expect(err.message).toMatch(/403/);
    expect(standIn.requests.at(-1)?.status).toBe(403);
  });
});

describe("errors", () => {
  it("never contain a token, JWT, client secret, code or key", async () => {
    const { standIn } = github();
    const { token } = await mintRepoToken(7, "shop");
    const code = standIn.authorize("alice");
    const { userToken } = await exchangeUserCode(code);
    const failures: GitHubAppError[] = [
      await thrown(exchangeUserCode(code)),
      await thrown(userCanAccessInstallation(token, 7)),
      await thrown(userCanAccessInstallation(`${userToken}x`, 7)),
      await thrown(mintRepoToken(8, "shop")),
      await thrown(mintRepoToken(7, "secret")),
    ];
    vi.stubEnv("GITHUB_APP_PRIVATE_KEY", otherKeys.pkcs8Pem);
    failures.push(await thrown(findRepoInstallation("acme", "shop")));
    vi.stubEnv("GITHUB_APP_PRIVATE_KEY", keys.pkcs8Pem.replace("MII", "M!I"));
    failures.push(await thrown(findRepoInstallation("acme", "shop")));
    vi.stubEnv("GITHUB_APP_PRIVATE_KEY", keys.pkcs8Pem);
    vi.stubEnv("GITHUB_API_URL", "https://unreachable.test");
    failures.push(await thrown(findRepoInstallation("acme", "shop")));
    const keyBody = keys.pkcs8Pem.split("\n")[1];
    const forbidden = [...standIn.secrets(), token, userToken, code, CLIENT_SECRET, keyBody];
    for (const err of failures) {
      for (const secret of forbidden) expect(err.message).not.toContain(secret);
      expect(err.message).not.toMatch(/eyJ|gh[sur]_/);
    }
    expect(failures.at(-1)?.code).toBe("unreachable");
  });

  it("a deployment without the App says what to set", async () => {
    vi.stubGlobal("fetch", vi.fn());
    for (const name of [
      "GITHUB_APP_ID",
      "GITHUB_APP_PRIVATE_KEY",
      "GITHUB_APP_CLIENT_ID",
      "GITHUB_APP_CLIENT_SECRET",
      "GITHUB_APP_SLUG",
    ]) {
      vi.stubEnv(name, "");
    }
    expect(missingGitHubAppSettings()).toHaveLength(5);
    const err = await thrown(findRepoInstallation("acme", "shop"));
    expect(err.code).toBe("not_configured");
    expect(err.message).toMatch(/The GitHub App is not configured: set GITHUB_APP_ID \(.*\), GITHUB_APP_PRIVATE_KEY/);
    expect((await thrown(exchangeUserCode("abc"))).message).toMatch(/GITHUB_APP_CLIENT_ID.*GITHUB_APP_CLIENT_SECRET/);
    expect(() => installUrl("s")).toThrow(/GITHUB_APP_SLUG/);
    expect(vi.mocked(fetch)).not.toHaveBeenCalled();
  });

  it("a key or app id that cannot be used is named, without the key", async () => {
    github({ privateKey: "not a key" });
    expect((await thrown(findRepoInstallation("acme", "shop"))).message).toMatch(/GITHUB_APP_PRIVATE_KEY is not a PEM/);
    vi.stubEnv("GITHUB_APP_PRIVATE_KEY", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----");
    const bad = await thrown(findRepoInstallation("acme", "shop"));
    expect(bad).toMatchObject({ code: "not_configured" });
    expect(bad.message).toMatch(/could not be read as an RSA private key/);
    vi.stubEnv("GITHUB_APP_PRIVATE_KEY", keys.pkcs1Pem);
    vi.stubEnv("GITHUB_APP_ID", "my-app");
    expect((await thrown(findRepoInstallation("acme", "shop"))).message).toMatch(/numeric id/);
  });
});

describe("installUrl", () => {
  it("points at the App's install page with the state", () => {
    github();
    expect(installUrl("a b&c")).toBe("https://github.test/apps/artie-test/installations/new?state=a%20b%26c");
  });
});

describe("over real HTTP (as the end-to-end test uses it)", () => {
  it("the stand-in served on 127.0.0.1 answers the client's real fetch", async () => {
    const { standIn } = github();
    vi.unstubAllGlobals();
    const served = await serveGitHubStandIn(standIn);
    try {
      vi.stubEnv("GITHUB_API_URL", served.url);
      vi.stubEnv("GITHUB_URL", served.url);
      expect(await findRepoInstallation("acme", "shop")).toMatchObject({ installationId: 7 });
      const { token } = await mintRepoToken(7, "shop");
      expect(standIn.canRead(token, "acme/shop")).toBe(true);
      const { userToken } = await exchangeUserCode(standIn.authorize("bob"));
      expect(await userCanAccessInstallation(userToken, 8)).toBe("other-org");
      expect(standIn.requests.map((r) => r.status)).toEqual([200, 201, 200, 200]);
    } finally {
      await served.close();
    }
  });
});
