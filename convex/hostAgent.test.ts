/**
 * The agent-calling actions when things go wrong, without an agent: missing configuration and an
 * unreachable agent end in a clear error on the record, never a silent stall. (The working path
 * is exercised against the real agent in e2e.int.test.ts.)
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, internal } from "./_generated/api";
import { ALICE, setupTest } from "./test.setup";

afterEach(() => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
});

/** A configured deployment whose agent does not answer (nothing listens on port 9). */
function stubUnreachableAgent() {
  vi.stubEnv("DOCKER_HOST_URL", "http://127.0.0.1:9");
  vi.stubEnv("DOCKER_API_SECRET", "x".repeat(40));
  vi.stubEnv("DOCKER_CALLBACK_SECRET", "y".repeat(20));
  vi.stubEnv("CONVEX_SITE_URL", "http://127.0.0.1:10");
}

async function requested(t: ReturnType<typeof setupTest>) {
  const alice = t.withIdentity(ALICE);
  const repoId = await alice.mutation(api.repos.setRuntime, { owner: "acme", name: "shop", runtime: "docker" });
  return alice.mutation(api.containers.request, { repoId, branch: "main" });
}

describe("hostAgent actions", () => {
  it("record a clear error when the deployment is not configured", async () => {
    vi.useFakeTimers();
    vi.stubEnv("DOCKER_HOST_URL", "");
    const t = setupTest();
    const id = await requested(t);
    await t.action(internal.hostAgent.setupEnvironment, { containerId: id });
    const c = await t.run((ctx) => ctx.db.get("containers", id));
    expect(c?.status).toBe("error");
    expect(c?.error).toMatch(/Set DOCKER_HOST_URL, DOCKER_API_SECRET, DOCKER_CALLBACK_SECRET/);
  });

  it("record a clear error when the agent is down", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    stubUnreachableAgent();
    const t = setupTest();
    const id = await requested(t);
    await t.action(internal.hostAgent.setupEnvironment, { containerId: id });
    const c = await t.run((ctx) => ctx.db.get("containers", id));
    expect(c?.status).toBe("error");
    expect(c?.error).toMatch(/not reachable/);
  });
});

describe("hostAgent.health", () => {
  beforeEach(() => vi.stubEnv("ADMIN_EMAILS", "alice@example.com"));

  it("says what to set when the deployment is not configured", async () => {
    vi.stubEnv("DOCKER_HOST_URL", "");
    const t = setupTest();
    const health = await t.withIdentity(ALICE).action(api.hostAgent.health, {});
    expect(health.reachable).toBe(false);
    expect(!health.reachable && health.error).toMatch(/Set DOCKER_HOST_URL/);
  });

  it("reports an agent that is down as unreachable, and needs a signed-in user", async () => {
    stubUnreachableAgent();
    const t = setupTest();
    const health = await t.withIdentity(ALICE).action(api.hostAgent.health, {});
    expect(health.reachable).toBe(false);
    expect(!health.reachable && health.error).toMatch(/http:\/\/127\.0\.0\.1:9 is not reachable/);
    await expect(t.action(api.hostAgent.health, {})).rejects.toThrow(/Sign in first/);
  });
});

describe("hostAgent.isolation", () => {
  it("answers only for the user's own environments, and an unreachable agent as unavailable", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    stubUnreachableAgent();
    const t = setupTest();
    const id = await requested(t);
    const mine = await t.withIdentity(ALICE).action(api.hostAgent.isolation, { containerId: id });
    expect(mine).toMatchObject({ available: false });
    expect(!mine.available && mine.error).toMatch(/http:\/\/127\.0\.0\.1:9 is not reachable/);
    const someoneElse = t.withIdentity({ issuer: "https://site", subject: "mallory|s1" });
    expect(await someoneElse.action(api.hostAgent.isolation, { containerId: id })).toEqual({
      available: false,
      error: "No such environment",
    });
    expect(await t.withIdentity(ALICE).action(api.hostAgent.isolation, { containerId: "not-an-id" })).toEqual({
      available: false,
      error: "No such environment",
    });
    await expect(t.action(api.hostAgent.isolation, { containerId: id })).rejects.toThrow(/Sign in first/);
  });
});

describe("users are keyed by user, not by session", () => {
  it("shows a Convex Auth user's environments in every session of theirs", async () => {
    vi.useFakeTimers();
    vi.stubEnv("CONVEX_SITE_URL", "https://site");
    const t = setupTest();
    const [user1, user2] = await t.run(async (ctx) => [
      await ctx.db.insert("users", { email: "one@example.com" }),
      await ctx.db.insert("users", { email: "two@example.com" }),
    ]);
    const session1 = t.withIdentity({ issuer: "https://site", subject: `${user1}|session1` });
    const session2 = t.withIdentity({ issuer: "https://site", subject: `${user1}|session2` });
    const other = t.withIdentity({ issuer: "https://site", subject: `${user2}|session3` });
    const repoId = await session1.mutation(api.repos.setRuntime, { owner: "acme", name: "shop", runtime: "docker" });
    const id = await session1.mutation(api.containers.request, { repoId, branch: "main" });
    expect((await session2.query(api.containers.list, {})).map((c) => c._id)).toEqual([id]);
    expect(await other.query(api.containers.list, {})).toEqual([]);
    expect((await session2.query(api.containers.events, { containerId: id })).map((e) => e.status)).toEqual([
      "creating",
    ]);
    expect(await other.query(api.containers.events, { containerId: id })).toEqual([]);
    // The key is the users document's id, and the email is the document's.
    expect(await session2.query(api.account.me, {})).toEqual({ email: "one@example.com", isHostAdmin: false });
    const c = await t.run((ctx) => ctx.db.get("containers", id));
    expect(c?.requestedBy).toBe(user1);
  });

  it("keeps two subjects of one other provider apart (auth0|1, auth0|2)", async () => {
    vi.useFakeTimers();
    vi.stubEnv("CONVEX_SITE_URL", "https://site");
    const t = setupTest();
    const one = t.withIdentity({ issuer: "https://tenant.auth0.com/", subject: "auth0|1" });
    const two = t.withIdentity({ issuer: "https://tenant.auth0.com/", subject: "auth0|2" });
    const repoId = await one.mutation(api.repos.setRuntime, { owner: "acme", name: "shop", runtime: "docker" });
    const id = await one.mutation(api.containers.request, { repoId, branch: "main" });
    expect((await one.query(api.containers.list, {})).map((c) => c._id)).toEqual([id]);
    expect(await two.query(api.containers.list, {})).toEqual([]);
    expect(await two.query(api.repos.list, {})).toEqual([]);
    expect(await two.query(api.containers.detail, { containerId: id })).toBeNull();
    await expect(two.mutation(api.containers.destroy, { containerId: id })).rejects.toThrow(/No such environment/);
    await expect(two.mutation(api.containers.request, { repoId, branch: "main" })).rejects.toThrow(/No such repo/);
    const keys = await t.run(async (ctx) => (await ctx.db.query("memberships").take(10)).map((m) => m.userKey));
    expect(keys.sort()).toEqual(["https://tenant.auth0.com/|auth0|1"]);
  });
});
