/**
 * Teams and invitations: single-use links hashed at rest that expire, roles (owner > admin >
 * member) on invites and removals, switching the active team; and the per-user quota and
 * request rate on environments.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, internal } from "./_generated/api";
import { hashToken } from "./invitations";
import { INVITATION_RETENTION_MS, INVITATION_TTL_MS } from "./limits";
import { ALICE, BOB, setupTest } from "./test.setup";

const CAROL = { subject: "carol", issuer: "https://test", email: "carol@example.com" };

beforeEach(() => vi.useFakeTimers());
afterEach(() => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
});

/** Alice's team with a docker repo, Bob invited into it as `role` and accepted. */
async function teamWithBob(role: "admin" | "member") {
  const t = setupTest();
  const alice = t.withIdentity(ALICE);
  const bob = t.withIdentity(BOB);
  const repoId = await alice.mutation(api.repos.setRuntime, { owner: "acme", name: "shop", runtime: "docker" });
  const { token } = await alice.mutation(api.invitations.create, { email: "Bob@Example.com ", role });
  const teamId = await bob.mutation(api.invitations.accept, { token });
  return { t, alice, bob, repoId, teamId, token };
}

describe("invitations", () => {
  it("let the invitee in once, switch them to the team, and store only a hash", async () => {
    const { t, bob, repoId, teamId, token } = await teamWithBob("member");
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    const mine = await bob.query(api.teams.mine, {});
    expect(mine.find((m) => m.active)).toMatchObject({ teamId, role: "member", personal: true });
    expect(mine).toHaveLength(2); // Bob's own personal team, and Alice's
    expect((await bob.query(api.repos.list, {})).map((r) => r._id)).toEqual([repoId]);

    // Single use: the same link again, by anyone, is refused.
    await expect(bob.mutation(api.invitations.accept, { token })).rejects.toThrow(/not valid, or it was already used/);
    await expect(t.withIdentity(CAROL).mutation(api.invitations.accept, { token })).rejects.toThrow(/not_found/);

    // Hashed at rest: no document of any table holds the token.
    const everything = await t.run(async (ctx) => {
      const tables = ["invitations", "memberships", "teams", "profiles", "repos", "containers"] as const;
      return JSON.stringify(await Promise.all(tables.map((name) => ctx.db.query(name).take(100))));
    });
    expect(everything).not.toContain(token);
    expect(everything).toContain(await hashToken(token));
  });

  it("list pending invitations without token or hash, and a revoked link stops working", async () => {
    const t = setupTest();
    const alice = t.withIdentity(ALICE);
    const { token, invitationId } = await alice.mutation(api.invitations.create, {
      email: "carol@example.com",
      role: "admin",
    });
    const pending = await alice.query(api.invitations.list, {});
    expect(pending).toHaveLength(1);
    expect(pending[0]).toMatchObject({ invitationId, email: "carol@example.com", role: "admin" });
    expect(JSON.stringify(pending)).not.toMatch(/token|hash/i);
    await alice.mutation(api.invitations.revoke, { invitationId });
    await expect(t.withIdentity(CAROL).mutation(api.invitations.accept, { token })).rejects.toThrow(/not_found/);
  });

  it("expire", async () => {
    const t = setupTest();
    const { token } = await t
      .withIdentity(ALICE)
      .mutation(api.invitations.create, { email: "carol@example.com", role: "member" });
    vi.advanceTimersByTime(INVITATION_TTL_MS + 1);
    await expect(t.withIdentity(CAROL).mutation(api.invitations.accept, { token })).rejects.toThrow(
      /"code":"expired".*has expired; ask a team admin for a new one/,
    );
    expect(await t.withIdentity(ALICE).query(api.invitations.list, {})).toEqual([]);
  });

  it("leave the pending list once accepted, and are deleted a retention period after", async () => {
    const t = setupTest();
    const alice = t.withIdentity(ALICE);
    const { token } = await alice.mutation(api.invitations.create, { email: "bob@example.com", role: "member" });
    await alice.mutation(api.invitations.create, { email: "carol@example.com", role: "member" });
    await t.withIdentity(BOB).mutation(api.invitations.accept, { token });
    expect((await alice.query(api.invitations.list, {})).map((i) => i.email)).toEqual(["carol@example.com"]);
    await t.mutation(internal.maintenance.forgetOldInvitations, {});
    expect(await t.run((ctx) => ctx.db.query("invitations").collect())).toHaveLength(2);
    vi.advanceTimersByTime(INVITATION_TTL_MS + INVITATION_RETENTION_MS + 1);
    await t.mutation(internal.maintenance.forgetOldInvitations, {});
    expect(await t.run((ctx) => ctx.db.query("invitations").collect())).toHaveLength(0);
  });

  it("are for the invited address only, when the account has one", async () => {
    const t = setupTest();
    const { token } = await t
      .withIdentity(ALICE)
      .mutation(api.invitations.create, { email: "carol@example.com", role: "member" });
    await expect(t.withIdentity(BOB).mutation(api.invitations.accept, { token })).rejects.toThrow(
      /for carol@example.com; sign in with that address/,
    );
    // A provider that gives no email: the link is the proof.
    const noEmail = t.withIdentity({ subject: "x", issuer: "https://other" });
    await noEmail.mutation(api.invitations.accept, { token });
    expect((await noEmail.query(api.teams.members, {})).map((m) => m.role).sort()).toEqual(["member", "owner"]);
  });

  it("are made by admins only, and checked", async () => {
    const { bob } = await teamWithBob("member");
    await expect(bob.mutation(api.invitations.create, { email: "x@example.com", role: "member" })).rejects.toThrow(
      /forbidden/,
    );
    expect(await bob.query(api.invitations.list, {}).catch((e: Error) => e.message)).toMatch(/forbidden/);
    const { alice } = await teamWithBob("admin");
    await expect(alice.mutation(api.invitations.create, { email: "not an email", role: "member" })).rejects.toThrow(
      /not an email address/,
    );
  });
});

describe("roles", () => {
  it("a member cannot remove others; an admin removes members but not an owner", async () => {
    const { t, alice, bob } = await teamWithBob("member");
    const members = await alice.query(api.teams.members, {});
    const aliceM = members.find((m) => m.you)!.membershipId;
    const bobM = members.find((m) => !m.you)!.membershipId;
    await expect(bob.mutation(api.teams.removeMember, { membershipId: aliceM })).rejects.toThrow(/forbidden/);
    await alice.mutation(api.teams.setRole, { membershipId: bobM, role: "admin" });
    await expect(bob.mutation(api.teams.removeMember, { membershipId: aliceM })).rejects.toThrow(
      /Only an owner can remove an owner/,
    );
    await expect(bob.mutation(api.teams.setRole, { membershipId: bobM, role: "owner" })).rejects.toThrow(/forbidden/);
    // Carol joins; admin Bob removes her.
    const { token } = await bob.mutation(api.invitations.create, { email: "carol@example.com", role: "member" });
    const carol = t.withIdentity(CAROL);
    await carol.mutation(api.invitations.accept, { token });
    const carolM = (await alice.query(api.teams.members, {})).find((m) => m.email === "carol@example.com")!;
    await bob.mutation(api.teams.removeMember, { membershipId: carolM.membershipId });
    expect((await carol.query(api.teams.mine, {})).map((m) => m.personal)).toEqual([true]);
  });

  it("the last owner cannot leave; a member can", async () => {
    const { alice, bob, repoId } = await teamWithBob("member");
    const members = await alice.query(api.teams.members, {});
    const aliceM = members.find((m) => m.you)!.membershipId;
    const bobM = members.find((m) => !m.you)!.membershipId;
    await expect(alice.mutation(api.teams.removeMember, { membershipId: aliceM })).rejects.toThrow(
      /The last owner cannot leave/,
    );
    await expect(alice.mutation(api.teams.setRole, { membershipId: aliceM, role: "member" })).rejects.toThrow(
      /A team needs an owner/,
    );
    await bob.mutation(api.teams.removeMember, { membershipId: bobM });
    // Bob is back in his personal team and sees nothing of Alice's.
    expect(await bob.query(api.repos.list, {})).toEqual([]);
    await expect(bob.mutation(api.containers.request, { repoId, branch: "main" })).rejects.toThrow(/No such repo/);
  });

  it("switchTo and create change the active team and what every list shows", async () => {
    const { alice, bob, repoId, teamId } = await teamWithBob("member");
    const personal = (await bob.query(api.teams.mine, {})).find((m) => m.teamId !== teamId)!.teamId;
    await bob.mutation(api.teams.switchTo, { teamId: personal });
    expect(await bob.query(api.repos.list, {})).toEqual([]);
    await bob.mutation(api.teams.switchTo, { teamId });
    expect((await bob.query(api.repos.list, {})).map((r) => r._id)).toEqual([repoId]);
    const other = await alice.mutation(api.teams.create, { name: " Platform " });
    expect((await alice.query(api.teams.mine, {})).find((m) => m.active)).toMatchObject({
      teamId: other,
      name: "Platform",
      role: "owner",
      personal: false,
    });
    expect(await alice.query(api.repos.list, {})).toEqual([]);
    await expect(alice.mutation(api.teams.create, { name: "" })).rejects.toThrow(/1 to 64 characters/);
  });

  it("ensurePersonal makes one personal team, however often it is called", async () => {
    const t = setupTest();
    const carol = t.withIdentity(CAROL);
    const first = await carol.mutation(api.teams.ensurePersonal, {});
    expect(await carol.mutation(api.teams.ensurePersonal, {})).toBe(first);
    expect(await carol.query(api.teams.mine, {})).toEqual([
      { teamId: first, name: "carol's team", personal: true, role: "owner", active: true },
    ]);
  });
});

describe("quotas", () => {
  it("refuse more live environments than MAX_ENVIRONMENTS_PER_USER, clearly", async () => {
    vi.stubEnv("MAX_ENVIRONMENTS_PER_USER", "2");
    const { alice, bob, repoId } = await teamWithBob("member");
    const first = await alice.mutation(api.containers.request, { repoId, branch: "a" });
    await alice.mutation(api.containers.request, { repoId, branch: "b" });
    await expect(alice.mutation(api.containers.request, { repoId, branch: "c" })).rejects.toThrow(
      /"code":"quota_exceeded".*You have 2 live environments.*destroy one/,
    );
    // Per user: Bob, in the same team, still may.
    await bob.mutation(api.containers.request, { repoId, branch: "c" });
    await alice.mutation(api.containers.destroy, { containerId: first });
    await alice.mutation(api.containers.request, { repoId, branch: "c" });
  });

  it("limit the request rate per user, saying when to retry", async () => {
    vi.stubEnv("MAX_ENVIRONMENTS_PER_USER", "100");
    const { alice, bob, repoId } = await teamWithBob("member");
    for (let i = 0; i < 5; i++) await alice.mutation(api.containers.request, { repoId, branch: `b${i}` });
    const error = await alice.mutation(api.containers.request, { repoId, branch: "b5" }).catch((e: Error) => e);
    expect(String(error)).toMatch(/"code":"rate_limited".*Too many environment requests; try again in \d+ s/);
    expect((error as { data?: { retryAfterMs?: number } }).data?.retryAfterMs).toBeGreaterThan(0);
    await bob.mutation(api.containers.request, { repoId, branch: "bob" });
    vi.advanceTimersByTime(60_000);
    await alice.mutation(api.containers.request, { repoId, branch: "b5" });
  });

  it("say what is wrong with a bad MAX_ENVIRONMENTS_PER_USER", async () => {
    vi.stubEnv("MAX_ENVIRONMENTS_PER_USER", "lots");
    const { alice, repoId } = await teamWithBob("member");
    await expect(alice.mutation(api.containers.request, { repoId, branch: "a" })).rejects.toThrow(
      /MAX_ENVIRONMENTS_PER_USER must be a whole number/,
    );
  });
});
