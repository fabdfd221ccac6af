/** Pool configuration (bounded edits by host admins, defaults) and replenishing within maxCreating. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, internal } from "./_generated/api";
import { ALICE, BOB, setupTest } from "./test.setup";

beforeEach(() => {
  vi.useFakeTimers();
  vi.stubEnv("ADMIN_EMAILS", "root@example.com, Alice@Example.com");
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
});

const POOL_EDIT = { targetSize: 5, minSize: 2, maxCreating: 3, containerPorts: [3000, 5173] };

describe("pool config", () => {
  it("starts from the defaults", async () => {
    const t = setupTest();
    expect(await t.withIdentity(ALICE).query(api.pool.getConfig, {})).toEqual({
      targetSize: 3,
      minSize: 1,
      maxCreating: 2,
      containerPorts: [3000],
      idleLimitMinutes: 120,
      stoppedLimitMinutes: 24 * 60,
    });
  });

  it("accepts a bounded edit and refuses out-of-bounds ones", async () => {
    const t = setupTest();
    const as = t.withIdentity(ALICE);
    await as.mutation(api.pool.updateConfig, {
      targetSize: 5,
      minSize: 2,
      maxCreating: 3,
      containerPorts: [3000, 5173],
    });
    expect(await as.query(api.pool.getConfig, {})).toEqual({
      targetSize: 5,
      minSize: 2,
      maxCreating: 3,
      containerPorts: [3000, 5173],
      idleLimitMinutes: 120,
      stoppedLimitMinutes: 24 * 60,
    });
    // The second limit, given, is kept; a later edit without it leaves it as it is.
    await as.mutation(api.pool.updateConfig, { ...POOL_EDIT, stoppedLimitMinutes: 80 });
    await as.mutation(api.pool.updateConfig, { ...POOL_EDIT, idleLimitMinutes: 40 });
    expect(await as.query(api.pool.getConfig, {})).toMatchObject({ idleLimitMinutes: 40, stoppedLimitMinutes: 80 });
    const bad = [
      { targetSize: 51, minSize: 1, maxCreating: 2, containerPorts: [3000] },
      { targetSize: 3, minSize: 4, maxCreating: 2, containerPorts: [3000] },
      { targetSize: 3, minSize: 1, maxCreating: 0, containerPorts: [3000] },
      { targetSize: 3, minSize: 1, maxCreating: 2, containerPorts: [] },
      { targetSize: 3, minSize: 1, maxCreating: 2, containerPorts: [70000] },
      { targetSize: 2.5, minSize: 1, maxCreating: 2, containerPorts: [3000] },
      { targetSize: 3, minSize: 1, maxCreating: 2, containerPorts: [3000], idleLimitMinutes: 1 },
      { targetSize: 3, minSize: 1, maxCreating: 2, containerPorts: [3000, 3000] },
      { targetSize: 3, minSize: 1, maxCreating: 2, containerPorts: [3000], stoppedLimitMinutes: 4 },
      { targetSize: 3, minSize: 1, maxCreating: 2, containerPorts: [3000], stoppedLimitMinutes: 31 * 24 * 60 },
    ];
    for (const config of bad) await expect(as.mutation(api.pool.updateConfig, config)).rejects.toThrow(/must be/);
    await expect(t.mutation(api.pool.updateConfig, bad[0])).rejects.toThrow(/Sign in/);
  });
});

describe("host admins", () => {
  it("alone change the pool; everyone else sees it read-only and is told why", async () => {
    const t = setupTest();
    const config = { targetSize: 1, minSize: 0, maxCreating: 1, containerPorts: [3000] };
    expect(await t.withIdentity(ALICE).query(api.account.me, {})).toEqual({
      email: "alice@example.com",
      isHostAdmin: true,
    });
    expect(await t.withIdentity(BOB).query(api.account.me, {})).toEqual({
      email: "bob@example.com",
      isHostAdmin: false,
    });
    await expect(t.withIdentity(BOB).mutation(api.pool.updateConfig, config)).rejects.toThrow(
      /"code":"forbidden".*Only a host admin can do that \(a verified email in ADMIN_EMAILS/,
    );
    expect(await t.withIdentity(BOB).query(api.pool.getConfig, {})).toMatchObject({ targetSize: 3 });
    await t.withIdentity(ALICE).mutation(api.pool.updateConfig, config);
    expect(await t.withIdentity(BOB).query(api.pool.status, {})).toMatchObject({ config: { targetSize: 1 } });
    await expect(t.withIdentity(BOB).action(api.hostAgent.health, {})).rejects.toThrow(/forbidden/);
  });

  it("need their email verified: an unverified address in ADMIN_EMAILS grants nothing", async () => {
    // Password sign-up verifies no email: whoever signs up first with an admin's address is not one.
    const t = setupTest();
    const squatter = { ...ALICE, subject: "squatter", tokenIdentifier: "https://test|squatter", emailVerified: false };
    expect(await t.withIdentity(squatter).query(api.account.me, {})).toMatchObject({ isHostAdmin: false });
    await expect(
      t
        .withIdentity(squatter)
        .mutation(api.pool.updateConfig, { targetSize: 0, minSize: 0, maxCreating: 1, containerPorts: [3000] }),
    ).rejects.toThrow(/forbidden/);
  });

  it("can be granted by the operator, whatever their email", async () => {
    vi.stubEnv("ADMIN_EMAILS", "");
    const t = setupTest();
    const carol = { subject: "carol", issuer: "https://test", tokenIdentifier: "https://test|carol" };
    expect(await t.withIdentity(carol).query(api.account.me, {})).toMatchObject({ isHostAdmin: false });
    await t.mutation(internal.account.grantHostAdmin, { userKey: carol.tokenIdentifier });
    expect(await t.withIdentity(carol).query(api.account.me, {})).toMatchObject({ isHostAdmin: true });
    await t.mutation(internal.account.revokeHostAdmin, { userKey: carol.tokenIdentifier });
    expect(await t.withIdentity(carol).query(api.account.me, {})).toMatchObject({ isHostAdmin: false });
    // A Convex Auth account is found by its email; one nobody signed up with is a clear error.
    const userId = await t.run((ctx) => ctx.db.insert("users", { email: "dana@example.com" }));
    expect(await t.mutation(internal.account.grantHostAdmin, { email: "Dana@Example.com" })).toBe(userId);
    await expect(t.mutation(internal.account.grantHostAdmin, { email: "nobody@example.com" })).rejects.toThrow(
      /No account signed up with nobody@example.com/,
    );
  });

  it("are nobody when ADMIN_EMAILS is unset", async () => {
    vi.stubEnv("ADMIN_EMAILS", "");
    const t = setupTest();
    expect(await t.withIdentity(ALICE).query(api.account.me, {})).toMatchObject({ isHostAdmin: false });
  });
});

describe("replenish", () => {
  it("creates up to the target but never more than maxCreating in flight", async () => {
    const t = setupTest();
    await t
      .withIdentity(ALICE)
      .mutation(api.pool.updateConfig, { targetSize: 5, minSize: 1, maxCreating: 2, containerPorts: [3000] });
    expect(await t.mutation(internal.pool.replenish, {})).toBe(2);
    expect(await t.mutation(internal.pool.replenish, {})).toBe(0); // two still creating
    await t.run(async (ctx) => {
      for (const c of await ctx.db.query("containers").collect())
        await ctx.db.patch("containers", c._id, { status: "pooled" });
    });
    expect(await t.mutation(internal.pool.replenish, {})).toBe(2);
    await t.run(async (ctx) => {
      for (const c of await ctx.db.query("containers").collect())
        await ctx.db.patch("containers", c._id, { status: "pooled" });
    });
    expect(await t.mutation(internal.pool.replenish, {})).toBe(1); // 4 pooled, target 5
    const status = await t.withIdentity(ALICE).query(api.pool.status, {});
    expect(status).toMatchObject({ pooled: 4, creating: 1, assigned: 0 });

    // A claim moves one from ready to assigned (a failed pool create is not "assigned").
    const alice = t.withIdentity(ALICE);
    const repoId = await alice.mutation(api.repos.setRuntime, { owner: "acme", name: "shop", runtime: "docker" });
    await alice.mutation(api.containers.request, { repoId, branch: "main" });
    await t.run(async (ctx) => {
      const creating = await ctx.db
        .query("containers")
        .withIndex("by_status_and_createdAt", (q) => q.eq("status", "creating"))
        .first();
      await ctx.db.patch("containers", creating!._id, { status: "error" });
    });
    expect(await alice.query(api.pool.status, {})).toMatchObject({ pooled: 3, assigned: 1 });
  });
});
