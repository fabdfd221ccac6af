/**
 * The GitHub App as teams use it, against the GitHub stand-in (a stubbed fetch) and a fake agent:
 * linking an installation needs a team admin, a fresh single-use state of their own, and
 * GitHub's word (GET /user/installations) that they can access it; one installation belongs to
 * one team; and a setup gets a token (one repo, contents: read) only for a repo of the team that
 * linked the installation covering it. Nothing token-shaped is left in any table or scheduled
 * function's arguments.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { INSTALL_LINK_STATE_TTL_MS } from "./limits";
import { rowsHolding, stubDeployment } from "./test.githubFixture";
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

async function world(options: { appConfigured?: boolean; echoSetup?: boolean } = {}) {
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
    // GitHub was asked with the user's token, and the code was exchanged once.
    expect(w.gh.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toContain("GET /user/installations 200");

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
    await bobJoins(w, "member");
    const s = await w.bob.action(api.github.installState, { repoId: w.repoId });
    expect(s.state).toBe("installed_linked");
    const { installUrl } = await w.alice.action(api.github.installState, { repoId: w.repoId }).then(async () => {
      // A state Bob started himself (another repo, not linked yet) still needs an admin.
      const other = await w.alice.mutation(api.repos.setRuntime, { owner: "acme", name: "other", runtime: "docker" });
      return w.bob.action(api.github.installState, { repoId: other });
    });
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
    ).rejects.toThrow(/conflict.*linked to another team/);
    expect((await linksOf(w)).map((l) => l.teamId)).toEqual([w.teamA]);
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
  async function setUp(w: World, who: World["alice"], repoId: Id<"repos">) {
    const containerId = await who.mutation(api.containers.request, { repoId, branch: "main" });
    await w.t.action(internal.hostAgent.setupEnvironment, { containerId });
    return (await w.t.run((ctx) => ctx.db.get("containers", containerId)))!;
  }

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
});
