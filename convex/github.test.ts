/**
 * The GitHub App as teams use it, against the GitHub stand-in (a stubbed fetch) and a fake agent:
 * linking an installation needs a team admin, a fresh single-use state of their own, and
 * GitHub's word (GET /user/installations) that they can access it; the link holds only the repos
 * of it GitHub lists for that admin, and the user token is revoked; one installation belongs to
 * one team; and a setup gets a token (one repo, contents: read) only for a listed repo of the
 * team that linked the installation covering it. installState is rate-limited and gives install
 * links to admins only. Nothing token-shaped is left in any table or scheduled function's
 * arguments.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { INSTALL_LINK_STATE_TTL_MS, INSTALL_STATE_RATE } from "./limits";
import { CLIENT_ID, rowsHolding, stubDeployment } from "./test.githubFixture";
import type { StandInInstallation, StandInUser } from "./test.githubStandIn";
import { ALICE, BOB, setupTest } from "./test.setup";

const INSTALLATIONS = [
  { id: 7, account: "acme", repos: ["shop"] },
  { id: 9, account: "acme", repos: ["other"] },
];
const USERS = [
  { login: "alice-gh", installationIds: [7, 9] },
  { login: "bob-gh", installationIds: [7] },
  { login: "mallory-gh", installationIds: [] },
];

beforeEach(() => {
  // Scheduled agent calls stay queued: each test runs the setup itself.
  vi.useFakeTimers();
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

async function world(
  options: {
    appConfigured?: boolean;
    echoSetup?: boolean;
    installations?: StandInInstallation[];
    users?: StandInUser[];
  } = {},
) {
  const d = await stubDeployment({ installations: INSTALLATIONS, users: USERS, ...options });
  const t = setupTest();
  const alice = t.withIdentity(ALICE);
  const bob = t.withIdentity(BOB);
  const repoId = await alice.mutation(api.repos.setRuntime, { owner: "acme", name: "shop", runtime: "docker" });
  const teamA = (await t.run((ctx) => ctx.db.get("repos", repoId)))!.teamId;
  return { ...d, t, alice, bob, repoId, teamA };
}
type World = Awaited<ReturnType<typeof world>>;

/** Bob joins Alice's team with `role` (and it becomes his active team). */
async function bobJoins(w: World, role: "admin" | "member") {
  const { token } = await w.alice.mutation(api.invitations.create, { email: BOB.email, role });
  await w.bob.mutation(api.invitations.accept, { token });
}

/** The state inside an install link. */
function stateOf(url: string | undefined): string {
  expect(url).toMatch(/^https:\/\/github\.test\/apps\/artie-test\/installations\/new\?state=/);
  return new URL(url!).searchParams.get("state")!;
}

async function linkAsAlice(w: World, installationId = 7) {
  const s = await w.alice.action(api.github.installState, { repoId: w.repoId });
  return w.alice.action(api.github.completeInstall, {
    installationId: String(installationId),
    code: w.gh.authorize("alice-gh"),
    state: stateOf(s.installUrl),
  });
}

async function setUp(w: World, who: World["alice"], repoId: Id<"repos">) {
  const containerId = await who.mutation(api.containers.request, { repoId, branch: "main" });
  await w.t.action(internal.hostAgent.setupEnvironment, { containerId });
  return (await w.t.run((ctx) => ctx.db.get("containers", containerId)))!;
}

const linksOf = (w: World) => w.t.run((ctx) => ctx.db.query("githubInstallations").collect());

describe("linking an installation", () => {
  it("links what GitHub lists for the admin, and the state works once", async () => {
    const w = await world();
    const before = await w.alice.action(api.github.installState, { repoId: w.repoId });
    expect(before).toMatchObject({ state: "installed_not_linked", accountLogin: "acme" });
    const state = stateOf(before.installUrl);
    // Stored hashed: the raw state is nowhere.
    expect(await rowsHolding(w.t, [state])).toEqual([]);

    const code = w.gh.authorize("alice-gh");
    const linked = await w.alice.action(api.github.completeInstall, { installationId: "7", code, state });
    expect(linked).toEqual({ teamId: w.teamA, installationId: 7, accountLogin: "acme" });
    expect(await w.alice.query(api.github.installations, {})).toMatchObject([
      { installationId: 7, accountLogin: "acme" },
    ]);
    expect(await w.alice.action(api.github.installState, { repoId: w.repoId })).toEqual({
      state: "installed_linked",
      accountLogin: "acme",
    });
    // GitHub was asked with the user's token, and the code was exchanged once; then the token
    // was revoked with the App's client credentials.
    const seen = w.gh.requests.map((r) => `${r.method} ${r.path} ${r.authScheme} ${r.status}`);
    expect(seen).toContain("GET /user/installations Bearer 200");
    expect(seen).toContain("GET /user/installations/7/repositories Bearer 200");
    const revoke = seen.indexOf(`DELETE /applications/${CLIENT_ID}/token Basic 204`);
    expect(revoke).toBeGreaterThan(seen.indexOf("GET /user/installations/7/repositories Bearer 200"));
    expect(w.gh.revokedUserTokens).toBe(1);
    expect((await linksOf(w))[0].repositories).toEqual(["acme/shop"]);

    await expect(
      w.alice.action(api.github.completeInstall, { installationId: "7", code: w.gh.authorize("alice-gh"), state }),
    ).rejects.toThrow(/already used/);
    // Neither the user token, the code nor the client secret was kept.
    expect(await rowsHolding(w.t, w.gh.secrets())).toEqual([]);
  });

  it("refuses an installation GitHub does not list for the user", async () => {
    const w = await world();
    const s = await w.alice.action(api.github.installState, { repoId: w.repoId });
    await expect(
      w.alice.action(api.github.completeInstall, {
        installationId: 7,
        code: w.gh.authorize("mallory-gh"),
        state: stateOf(s.installUrl),
      }),
    ).rejects.toThrow(/forbidden.*does not list installation 7/);
    expect(await linksOf(w)).toEqual([]);
  });

  it("binds a state to the user who started it", async () => {
    const w = await world();
    await bobJoins(w, "admin");
    const s = await w.alice.action(api.github.installState, { repoId: w.repoId });
    const state = stateOf(s.installUrl);
    await expect(
      w.bob.action(api.github.completeInstall, { installationId: "7", code: w.gh.authorize("bob-gh"), state }),
    ).rejects.toThrow(/started by another user/);
    // Seen once, gone: not even its owner can use it now.
    await expect(
      w.alice.action(api.github.completeInstall, { installationId: "7", code: w.gh.authorize("alice-gh"), state }),
    ).rejects.toThrow(/already used/);
    expect(await linksOf(w)).toEqual([]);
  });

  it("expires a state, and the cron deletes expired ones", async () => {
    const w = await world();
    const s = await w.alice.action(api.github.installState, { repoId: w.repoId });
    vi.setSystemTime(Date.now() + INSTALL_LINK_STATE_TTL_MS + 1);
    await expect(
      w.alice.action(api.github.completeInstall, {
        installationId: "7",
        code: w.gh.authorize("alice-gh"),
        state: stateOf(s.installUrl),
      }),
    ).rejects.toThrow(/expired/);
    await w.alice.action(api.github.installState, { repoId: w.repoId });
    vi.setSystemTime(Date.now() + INSTALL_LINK_STATE_TTL_MS + 1);
    await w.t.mutation(internal.maintenance.forgetExpiredLinkStates, {});
    expect(await w.t.run((ctx) => ctx.db.query("installLinkStates").collect())).toEqual([]);
    expect(await linksOf(w)).toEqual([]);
  });

  it("refuses members below admin, for linking and unlinking", async () => {
    const w = await world();
    await linkAsAlice(w);
    await bobJoins(w, "admin");
    const other = await w.alice.mutation(api.repos.setRuntime, { owner: "acme", name: "other", runtime: "docker" });
    // A state Bob started as an admin; he is a member by the time he comes back from GitHub.
    const { installUrl } = await w.bob.action(api.github.installState, { repoId: other });
    const bobs = (await w.alice.query(api.teams.members, {})).find((m) => m.email === BOB.email)!;
    await w.alice.mutation(api.teams.setRole, { membershipId: bobs.membershipId, role: "member" });
    expect((await w.bob.action(api.github.installState, { repoId: w.repoId })).state).toBe("installed_linked");
    // A member sees the state but gets no install link, and no state is stored for him.
    const states = () => w.t.run((ctx) => ctx.db.query("installLinkStates").collect());
    const before = (await states()).length;
    expect(await w.bob.action(api.github.installState, { repoId: other })).toEqual({
      state: "installed_not_linked",
      accountLogin: "acme",
    });
    expect(await states()).toHaveLength(before);
    await expect(
      w.bob.action(api.github.completeInstall, {
        installationId: "9",
        code: w.gh.authorize("bob-gh"),
        state: stateOf(installUrl),
      }),
    ).rejects.toThrow(/forbidden.*admin/);
    await expect(w.bob.mutation(api.github.unlink, { installationId: 7 })).rejects.toThrow(/forbidden/);
    expect((await linksOf(w)).map((l) => l.installationId)).toEqual([7]);
    await w.alice.mutation(api.github.unlink, { installationId: 7 });
    expect(await linksOf(w)).toEqual([]);
  });

  it("refuses an installation another team linked", async () => {
    const w = await world();
    await linkAsAlice(w);
    const bobsRepo = await w.bob.mutation(api.repos.setRuntime, { owner: "acme", name: "shop", runtime: "docker" });
    const s = await w.bob.action(api.github.installState, { repoId: bobsRepo });
    expect(s.state).toBe("installed_not_linked");
    await expect(
      w.bob.action(api.github.completeInstall, {
        installationId: "7",
        code: w.gh.authorize("bob-gh"),
        state: stateOf(s.installUrl),
      }),
    ).rejects.toThrow(/conflict.*cannot be linked to this team/);
    expect((await linksOf(w)).map((l) => l.teamId)).toEqual([w.teamA]);
  });

  it("links only the repos GitHub lists for the admin, and linking again refreshes them", async () => {
    const alice: StandInUser = { login: "alice-gh", installationIds: [7], repos: ["acme/shop"] };
    const w = await world({ installations: [{ id: 7, account: "acme", repos: ["shop", "secret"] }], users: [alice] });
    const secret = await w.alice.mutation(api.repos.setRuntime, { owner: "acme", name: "secret", runtime: "docker" });
    await linkAsAlice(w);
    expect((await linksOf(w))[0].repositories).toEqual(["acme/shop"]);
    expect(await w.alice.action(api.github.installState, { repoId: w.repoId })).toMatchObject({
      state: "installed_linked",
    });
    // No token will come for acme/secret, so the page says it is not linked, with a link to fix it.
    const s = await w.alice.action(api.github.installState, { repoId: secret });
    expect(s).toMatchObject({ state: "installed_not_linked", accountLogin: "acme" });
    stateOf(s.installUrl);

    expect((await setUp(w, w.alice, w.repoId)).error).toBeUndefined();
    expect((await setUp(w, w.alice, secret)).error).toBeUndefined();
    expect(w.setups().map((x) => [x.repo, x.githubToken !== undefined])).toEqual([
      ["acme/shop", true],
      ["acme/secret", false],
    ]);
    expect(w.gh.minted.map((m) => m.repositories)).toEqual([["acme/shop"]]);

    // Alice is given acme/secret on GitHub and links again: the list is refreshed.
    alice.repos = ["acme/shop", "acme/secret"];
    await w.alice.action(api.github.completeInstall, {
      installationId: "7",
      code: w.gh.authorize("alice-gh"),
      state: stateOf(s.installUrl),
    });
    expect(await linksOf(w)).toMatchObject([{ teamId: w.teamA, repositories: ["acme/shop", "acme/secret"] }]);
    expect((await setUp(w, w.alice, secret)).error).toBeUndefined();
    expect(w.gh.minted.map((m) => m.repositories)).toEqual([["acme/shop"], ["acme/secret"]]);
    expect(w.gh.revokedUserTokens).toBe(2);
  });

  it("links even when GitHub cannot be reached to revoke the user token", async () => {
    const w = await world();
    const through = globalThis.fetch;
    vi.stubGlobal("fetch", async (input: RequestInfo | URL, init?: RequestInit) => {
      if (new Request(input, init).method === "DELETE") throw new TypeError("fetch failed");
      return through(input, init);
    });
    await linkAsAlice(w);
    expect((await linksOf(w)).map((l) => l.installationId)).toEqual([7]);
    expect(w.gh.revokedUserTokens).toBe(0);
  });

  it("rate-limits installState per user", async () => {
    const w = await world();
    for (let i = 0; i < INSTALL_STATE_RATE.capacity; i++) {
      await w.alice.action(api.github.installState, { repoId: w.repoId });
    }
    await expect(w.alice.action(api.github.installState, { repoId: w.repoId })).rejects.toThrow(/rate_limited/);
    // Another user has a bucket of their own.
    await bobJoins(w, "member");
    expect((await w.bob.action(api.github.installState, { repoId: w.repoId })).state).toBe("installed_not_linked");
  });

  it("says not_configured without the App, and not_installed for a repo it does not cover", async () => {
    const w = await world();
    const lone = await w.alice.mutation(api.repos.setRuntime, { owner: "acme", name: "lone", runtime: "docker" });
    const s = await w.alice.action(api.github.installState, { repoId: lone });
    expect(s.state).toBe("not_installed");
    stateOf(s.installUrl);
    vi.stubEnv("GITHUB_APP_SLUG", "");
    expect(await w.alice.action(api.github.installState, { repoId: lone })).toEqual({ state: "not_configured" });
  });
});

describe("tokens for setups", () => {
  it("mints one token for exactly the repo, contents: read, for the linked team, and stores none", async () => {
    const w = await world();
    await linkAsAlice(w);
    const c = await setUp(w, w.alice, w.repoId);
    expect(c.error).toBeUndefined();
    const tokenRequests = w.gh.requests.filter((r) => r.path.endsWith("/access_tokens"));
    expect(tokenRequests.map((r) => r.body)).toEqual([{ repositories: ["shop"], permissions: { contents: "read" } }]);
    expect(tokenRequests[0].jwt).toMatchObject({ iss: "424242" });
    expect(w.gh.minted).toHaveLength(1);
    const [setup] = w.setups();
    expect(setup).toMatchObject({ repo: "acme/shop", tenant: w.teamA, githubToken: w.gh.minted[0].token });
    expect(w.gh.canRead(setup.githubToken!, "acme/shop")).toBe(true);
    expect(w.gh.minted[0].repositories).toEqual(["acme/shop"]);
    expect(await rowsHolding(w.t, w.gh.secrets())).toEqual([]);
  });

  it("masks the token and the values in an error that quotes them", async () => {
    const w = await world({ echoSetup: true });
    await linkAsAlice(w);
    await w.alice.action(api.repoSettings.save, {
      repoId: w.repoId,
      input: { runtime: "docker", defaultBranch: "main", envVars: [{ name: "API_KEY", value: "value-LEAKCHECK-42" }] },
    });
    const c = await setUp(w, w.alice, w.repoId);
    expect(c.error).toMatch(/^invalid_request: refused .*\[redacted\]/);
    expect(w.setups()[0]).toMatchObject({ envVars: { API_KEY: "value-LEAKCHECK-42" } });
    expect(await rowsHolding(w.t, [...w.gh.secrets(), "value-LEAKCHECK-42"])).toEqual([]);
  });

  it("never mints for another team's linked installation: that team's setup clones anonymously", async () => {
    // A public repo of the organisation works for every team; a private one the agent refuses.
    const w = await world();
    await linkAsAlice(w);
    const bobsRepo = await w.bob.mutation(api.repos.setRuntime, { owner: "acme", name: "shop", runtime: "docker" });
    const c = await setUp(w, w.bob, bobsRepo);
    expect(c.error).toBeUndefined();
    expect(w.gh.requests.filter((r) => r.path.endsWith("/access_tokens"))).toEqual([]);
    expect(w.setups()).toHaveLength(1);
    expect(w.setups()[0]).not.toHaveProperty("githubToken");
    const bobsTeam = (await w.t.run((ctx) => ctx.db.get("repos", bobsRepo)))!.teamId;
    expect(bobsTeam).not.toBe(w.teamA);
    expect(w.setups()[0]).toMatchObject({ repo: "acme/shop", tenant: bobsTeam });
  });

  it("never mints for an installation no team linked", async () => {
    const w = await world();
    const c = await setUp(w, w.alice, w.repoId);
    expect(c.error).toBeUndefined();
    expect(w.gh.requests.filter((r) => r.path.endsWith("/access_tokens"))).toEqual([]);
    expect(w.setups()[0]).not.toHaveProperty("githubToken");
    // The settings page says what to do before anyone asks.
    expect(await w.alice.action(api.github.installState, { repoId: w.repoId })).toMatchObject({
      state: "installed_not_linked",
    });
  });

  it("clones without a token a repo the App is not installed on, or without an App", async () => {
    const w = await world();
    const lone = await w.alice.mutation(api.repos.setRuntime, { owner: "acme", name: "lone", runtime: "docker" });
    expect((await setUp(w, w.alice, lone)).error).toBeUndefined();
    expect(w.setups()[0]).not.toHaveProperty("githubToken");

    const bare = await world({ appConfigured: false });
    expect((await setUp(bare, bare.alice, bare.repoId)).error).toBeUndefined();
    expect(bare.setups()[0]).toMatchObject({ repo: "acme/shop", tenant: bare.teamA });
    expect(bare.setups()[0]).not.toHaveProperty("githubToken");
    expect(bare.gh.requests).toEqual([]);
  });

  it("clones without a token, asking GitHub nothing, when the App id is set but not its key", async () => {
    const w = await world();
    await linkAsAlice(w);
    vi.stubEnv("GITHUB_APP_PRIVATE_KEY", "");
    const asked = w.gh.requests.length;
    expect((await setUp(w, w.alice, w.repoId)).error).toBeUndefined();
    expect(w.setups()[0]).not.toHaveProperty("githubToken");
    expect(w.gh.requests).toHaveLength(asked);
  });

  it("clones without a token when GitHub cannot be reached", async () => {
    const w = await world();
    await linkAsAlice(w);
    const through = globalThis.fetch;
    vi.stubGlobal("fetch", async (input: RequestInfo | URL, init?: RequestInit) => {
      if (new Request(input, init).url.startsWith(w.gh.origin)) throw new TypeError("fetch failed");
      return through(input, init);
    });
    expect((await setUp(w, w.alice, w.repoId)).error).toBeUndefined();
    expect(w.setups()[0]).not.toHaveProperty("githubToken");
    expect(w.gh.minted).toEqual([]);
  });

  it("masks only values long enough to be secrets", async () => {
    const w = await world({ echoSetup: true });
    await w.alice.action(api.repoSettings.save, {
      repoId: w.repoId,
      input: {
        runtime: "docker",
        defaultBranch: "main",
        envVars: [
          { name: "DEBUG", value: "true" },
          { name: "API_KEY", value: "value-LEAKCHECK-42" },
        ],
      },
    });
    const c = await setUp(w, w.alice, w.repoId);
    // "true" stays readable everywhere (it is in buildMainImage too); the long value is masked.
    expect(c.error).toContain('"buildMainImage":true');
    expect(c.error).toContain('"DEBUG":"true"');
    expect(c.error).not.toContain("value-LEAKCHECK-42");
    expect(c.error).toContain("[redacted]");
  });
});
