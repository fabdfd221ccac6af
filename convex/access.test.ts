/**
 * Tenancy, checked for every public function: a member of team B (Bob) aims each one at team
 * A's repo, environment, members and invitations (Alice's) and must neither see nor change any
 * of it. The table lists every public function of every module, found by loading the modules
 * the way convex-test does; a new public function fails the last test until it has a row here.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { hashInstallState } from "./githubLink";
import { stubDeployment } from "./test.githubFixture";
import { ALICE, BOB, modules, setupTest } from "./test.setup";

type T = ReturnType<typeof setupTest>;
type Fixture = {
  t: T;
  alice: ReturnType<T["withIdentity"]>;
  bob: ReturnType<T["withIdentity"]>;
  teamA: Id<"teams">;
  repoId: Id<"repos">;
  containerId: Id<"containers">;
  aliceMembership: Id<"memberships">;
  invitationId: Id<"invitations">;
  inviteToken: string;
};

beforeEach(() => {
  // Scheduled agent calls stay queued: the records keep the state the fixture gave them.
  vi.useFakeTimers();
  vi.stubEnv("ADMIN_EMAILS", "root@example.com");
  vi.stubEnv("DOCKER_STREAM_TOKEN_KEY", "k".repeat(40));
  vi.stubEnv("DOCKER_HOST_URL", "http://127.0.0.1:9");
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

async function fixture(): Promise<Fixture> {
  const t = setupTest();
  const alice = t.withIdentity(ALICE);
  const bob = t.withIdentity(BOB);
  const repoId = await alice.mutation(api.repos.setRuntime, { owner: "acme", name: "shop", runtime: "docker" });
  const containerId = await alice.mutation(api.containers.request, { repoId, branch: "main" });
  await t.run((ctx) => ctx.db.patch("containers", containerId, { status: "ready" }));
  const invite = await alice.mutation(api.invitations.create, { email: "carol@example.com", role: "member" });
  await bob.mutation(api.teams.ensurePersonal, {});
  const [mine] = await alice.query(api.teams.mine, {});
  const [aliceMember] = await alice.query(api.teams.members, {});
  return {
    t,
    alice,
    bob,
    teamA: mine.teamId,
    repoId,
    containerId,
    aliceMembership: aliceMember.membershipId,
    invitationId: invite.invitationId,
    inviteToken: invite.token,
  };
}

/** Team A as it was: same repo runtime, same environment status, same members and invitations. */
async function expectTeamAUntouched(f: Fixture) {
  const repo = await f.t.run((ctx) => ctx.db.get("repos", f.repoId));
  const c = await f.t.run((ctx) => ctx.db.get("containers", f.containerId));
  expect(repo).toMatchObject({ teamId: f.teamA, runtime: "docker" });
  expect(c).toMatchObject({ teamId: f.teamA, status: "ready" });
  expect((await f.alice.query(api.teams.members, {})).map((m) => m.role)).toEqual(["owner"]);
  expect((await f.alice.query(api.invitations.list, {})).map((i) => i.invitationId)).toEqual([f.invitationId]);
}

const NOT_FOUND = /not_found/;

/** Installation 7, linked to team A by Alice. */
const linkForTeamA = (f: Fixture) =>
  f.t.run((ctx) =>
    ctx.db.insert("githubInstallations", {
      teamId: f.teamA,
      installationId: 7,
      accountLogin: "acme",
      repositories: ["acme/shop"],
      linkedBy: ALICE.tokenIdentifier,
      linkedAt: Date.now(),
    }),
  );

/** Every public function: what Bob gets when he aims it at team A. */
const TABLE: Record<string, ((f: Fixture) => Promise<void>) | { exempt: string }> = {
  "account:me": async (f) => {
    expect(await f.bob.query(api.account.me, {})).toEqual({ email: "bob@example.com", isHostAdmin: false });
  },
  "auth:signIn": { exempt: "Convex Auth's own sign-in; it reads no team data" },
  "auth:signOut": { exempt: "Convex Auth's own sign-out; it reads no team data" },
  "auth:isAuthenticated": { exempt: "Convex Auth's own; answers only whether the caller is signed in" },
  "containers:request": async (f) => {
    await expect(f.bob.mutation(api.containers.request, { repoId: f.repoId, branch: "main" })).rejects.toThrow(
      NOT_FOUND,
    );
  },
  "containers:list": async (f) => {
    expect(await f.bob.query(api.containers.list, {})).toEqual([]);
  },
  "containers:detail": async (f) => {
    expect(await f.bob.query(api.containers.detail, { containerId: f.containerId })).toBeNull();
  },
  "containers:destroy": async (f) => {
    await expect(f.bob.mutation(api.containers.destroy, { containerId: f.containerId })).rejects.toThrow(NOT_FOUND);
  },
  "containers:restart": async (f) => {
    await expect(f.bob.mutation(api.containers.restart, { containerId: f.containerId })).rejects.toThrow(NOT_FOUND);
  },
  "containers:stop": async (f) => {
    await expect(f.bob.mutation(api.containers.stop, { containerId: f.containerId })).rejects.toThrow(NOT_FOUND);
  },
  "containers:start": async (f) => {
    await f.t.run((ctx) => ctx.db.patch("containers", f.containerId, { status: "stopped" }));
    await expect(f.bob.mutation(api.containers.start, { containerId: f.containerId })).rejects.toThrow(NOT_FOUND);
    expect((await f.t.run((ctx) => ctx.db.get("containers", f.containerId)))?.status).toBe("stopped");
    await f.t.run((ctx) => ctx.db.patch("containers", f.containerId, { status: "ready" }));
  },
  "containers:redeploy": async (f) => {
    for (const force of [undefined, true])
      await expect(f.bob.mutation(api.containers.redeploy, { containerId: f.containerId, force })).rejects.toThrow(
        NOT_FOUND,
      );
    const c = await f.t.run((ctx) => ctx.db.get("containers", f.containerId));
    expect(c?.redeployRefused).toBeUndefined();
  },
  "containers:events": async (f) => {
    expect(await f.bob.query(api.containers.events, { containerId: f.containerId })).toEqual([]);
  },
  "github:installState": async (f) => {
    await expect(f.bob.action(api.github.installState, { repoId: f.repoId })).rejects.toThrow(NOT_FOUND);
  },
  "github:completeInstall": async (f) => {
    // A state Alice started for team A, in Bob's hands.
    const state = "s".repeat(43);
    const userKey = ALICE.tokenIdentifier;
    await f.t.run(async (ctx) =>
      ctx.db.insert("installLinkStates", {
        stateHash: await hashInstallState(state),
        userKey,
        teamId: f.teamA,
        expiresAt: Date.now() + 60_000,
      }),
    );
    await expect(
      f.bob.action(api.github.completeInstall, { installationId: "7", code: "code", state }),
    ).rejects.toThrow(/forbidden.*another user/);
    expect(await f.t.run((ctx) => ctx.db.query("githubInstallations").collect())).toEqual([]);
  },
  "github:installations": async (f) => {
    await linkForTeamA(f);
    expect(await f.bob.query(api.github.installations, {})).toEqual([]);
  },
  "github:unlink": async (f) => {
    await linkForTeamA(f);
    await expect(f.bob.mutation(api.github.unlink, { installationId: 7 })).rejects.toThrow(NOT_FOUND);
    expect(await f.t.run((ctx) => ctx.db.query("githubInstallations").collect())).toHaveLength(1);
  },
  "hostAgent:health": async (f) => {
    await expect(f.bob.action(api.hostAgent.health, {})).rejects.toThrow(/forbidden/);
  },
  "hostAgent:isolation": async (f) => {
    expect(await f.bob.action(api.hostAgent.isolation, { containerId: f.containerId })).toEqual({
      available: false,
      error: "No such environment",
    });
  },
  "invitations:create": async (f) => {
    // Bob can invite only into his own active team.
    await f.bob.mutation(api.invitations.create, { email: "dave@example.com", role: "admin" });
    const teamA = await f.t.run((ctx) =>
      ctx.db
        .query("invitations")
        .withIndex("by_teamId_and_expiresAt", (q) => q.eq("teamId", f.teamA))
        .take(10),
    );
    expect(teamA.map((i) => i.email)).toEqual(["carol@example.com"]);
  },
  "invitations:list": async (f) => {
    expect(await f.bob.query(api.invitations.list, {})).toEqual([]);
  },
  "invitations:revoke": async (f) => {
    await expect(f.bob.mutation(api.invitations.revoke, { invitationId: f.invitationId })).rejects.toThrow(NOT_FOUND);
  },
  "invitations:accept": async (f) => {
    // Carol's link in Bob's hands: his account's email is not the invited one.
    await expect(f.bob.mutation(api.invitations.accept, { token: f.inviteToken })).rejects.toThrow(/forbidden/);
  },
  "pool:getConfig": async (f) => {
    expect(await f.bob.query(api.pool.getConfig, {})).toMatchObject({ targetSize: 3 });
  },
  "pool:status": async (f) => {
    expect(await f.bob.query(api.pool.status, {})).toMatchObject({ config: { targetSize: 3 } });
  },
  "pool:updateConfig": async (f) => {
    await expect(
      f.bob.mutation(api.pool.updateConfig, { targetSize: 0, minSize: 0, maxCreating: 1, containerPorts: [3000] }),
    ).rejects.toThrow(/forbidden/);
  },
  "repos:setRuntime": async (f) => {
    // The same owner/name in Bob's team is Bob's own record; A's is untouched.
    const bobs = await f.bob.mutation(api.repos.setRuntime, { owner: "acme", name: "shop", runtime: "firecracker" });
    expect(bobs).not.toBe(f.repoId);
  },
  "repos:byName": async (f) => {
    expect(await f.bob.query(api.repos.byName, { owner: "acme", name: "shop" })).toBeNull();
  },
  "repoSettings:get": async (f) => {
    await expect(f.bob.query(api.repoSettings.get, { repoId: f.repoId })).rejects.toThrow(NOT_FOUND);
  },
  "repoSettings:save": async (f) => {
    const input = { runtime: "firecracker" as const, defaultBranch: "main", envVars: [{ name: "X", value: "y" }] };
    await expect(f.bob.action(api.repoSettings.save, { repoId: f.repoId, input })).rejects.toThrow(NOT_FOUND);
    expect(await f.t.run((ctx) => ctx.db.query("repoSettings").collect())).toEqual([]);
  },
  "repos:list": async (f) => {
    expect(await f.bob.query(api.repos.list, {})).toEqual([]);
  },
  "streams:open": async (f) => {
    await expect(f.bob.action(api.streams.open, { containerId: f.containerId, scope: "logs" })).rejects.toThrow(
      NOT_FOUND,
    );
    await expect(f.bob.action(api.streams.open, { containerId: f.containerId, scope: "terminal" })).rejects.toThrow(
      NOT_FOUND,
    );
  },
  "teams:mine": async (f) => {
    expect((await f.bob.query(api.teams.mine, {})).map((m) => m.teamId)).not.toContain(f.teamA);
  },
  "teams:ensurePersonal": async (f) => {
    expect(await f.bob.mutation(api.teams.ensurePersonal, {})).not.toBe(f.teamA);
  },
  "teams:switchTo": async (f) => {
    await expect(f.bob.mutation(api.teams.switchTo, { teamId: f.teamA })).rejects.toThrow(NOT_FOUND);
  },
  "teams:create": async (f) => {
    const teamId = await f.bob.mutation(api.teams.create, { name: "Bob's other team" });
    expect(teamId).not.toBe(f.teamA);
  },
  "teams:members": async (f) => {
    const members = await f.bob.query(api.teams.members, {});
    expect(members.map((m) => m.membershipId)).not.toContain(f.aliceMembership);
  },
  "teams:removeMember": async (f) => {
    await expect(f.bob.mutation(api.teams.removeMember, { membershipId: f.aliceMembership })).rejects.toThrow(
      NOT_FOUND,
    );
  },
  "teams:setRole": async (f) => {
    await expect(
      f.bob.mutation(api.teams.setRole, { membershipId: f.aliceMembership, role: "member" }),
    ).rejects.toThrow(NOT_FOUND);
  },
};

describe("a member of team B aimed at team A", () => {
  for (const [name, row] of Object.entries(TABLE)) {
    if (typeof row === "function") {
      it(name, async () => {
        const f = await fixture();
        await row(f);
        await expectTeamAUntouched(f);
      });
    }
  }

  it("cannot take team A's installation with a valid state of his own team", async () => {
    // Bob is an admin of his own team, GitHub says he can access installation 7, his state is his
    // own and fresh: the link is still refused, in words that do not say team A has it.
    const { gh } = await stubDeployment({
      installations: [{ id: 7, account: "acme", repos: ["shop"] }],
      users: [{ login: "bob-gh", installationIds: [7] }],
    });
    const f = await fixture();
    await linkForTeamA(f);
    const before = await f.t.run((ctx) => ctx.db.query("githubInstallations").collect());
    const bobsRepo = await f.bob.mutation(api.repos.setRuntime, { owner: "acme", name: "shop", runtime: "docker" });
    const { installUrl } = await f.bob.action(api.github.installState, { repoId: bobsRepo });
    const state = new URL(installUrl!).searchParams.get("state")!;
    const refusal = f.bob.action(api.github.completeInstall, {
      installationId: "7",
      code: gh.authorize("bob-gh"),
      state,
    });
    await expect(refusal).rejects.toThrow(/conflict.*cannot be linked to this team/);
    await expect(refusal).rejects.not.toThrow(/another team|is linked/);
    expect(await f.t.run((ctx) => ctx.db.query("githubInstallations").collect())).toEqual(before);
    await expectTeamAUntouched(f);
  });

  it("is refused everything while signed out", async () => {
    const f = await fixture();
    await expect(f.t.query(api.containers.list, {})).rejects.toThrow(/unauthenticated/);
    await expect(f.t.query(api.teams.mine, {})).rejects.toThrow(/unauthenticated/);
    await expect(f.t.action(api.streams.open, { containerId: f.containerId, scope: "logs" })).rejects.toThrow(
      /unauthenticated/,
    );
  });
});

/** Every exported function that is public (query, mutation or action), as "module:name". */
async function publicFunctions(): Promise<string[]> {
  const names: string[] = [];
  for (const [path, load] of Object.entries(modules)) {
    // Not function modules: generated code, and the app definition (Convex runtime only).
    if (path.includes("/_generated/") || path.endsWith("convex.config.ts")) continue;
    const mod = (await load()) as Record<string, unknown>;
    for (const [exportName, value] of Object.entries(mod)) {
      const fn = value as { isPublic?: boolean; isQuery?: boolean; isMutation?: boolean; isAction?: boolean };
      if (fn?.isPublic && (fn.isQuery || fn.isMutation || fn.isAction)) {
        names.push(`${path.replace(/^\.\//, "").replace(/\.(ts|js)$/, "")}:${exportName}`);
      }
    }
  }
  return names.sort();
}

it("lists every public function in the table", async () => {
  const found = await publicFunctions();
  expect(found.length).toBeGreaterThan(20);
  expect(found).toEqual(Object.keys(TABLE).sort());
});
