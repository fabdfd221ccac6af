/**
 * Repo settings end to end in convex-test, with a fake agent: a team admin saves (values sealed
 * with SETTINGS_ENCRYPTION_KEY, bound to repo and name), members read names and `set: true` only,
 * a save over a newer version is a conflict, members below admin cannot save, and a setup
 * carries the settings (values opened only in the action) and a container made for them when a
 * blank pool container does not fit. No public query returns a value or ciphertext, and no
 * table or scheduled function's arguments hold an opened value.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { decryptSecret, parseKey } from "./crypto";
import { envVarAad } from "./settingsView";
import type { RepoSettingsInput } from "./settingsRules";
import { rowsHolding, SETTINGS_KEY, stubDeployment } from "./test.githubFixture";
import { ALICE, BOB, setupTest } from "./test.setup";

const SECRET = "postgres://user:hunter2-VALUE-LEAKCHECK@db/app";
const API_KEY = "sk-live-API-KEY-LEAKCHECK-0123456789";

beforeEach(() => vi.useFakeTimers());
afterEach(() => {
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

async function world() {
  const d = await stubDeployment({ appConfigured: false });
  const t = setupTest();
  const alice = t.withIdentity(ALICE);
  const bob = t.withIdentity(BOB);
  const repoId = await alice.mutation(api.repos.setRuntime, { owner: "acme", name: "shop", runtime: "docker" });
  return { ...d, t, alice, bob, repoId };
}
type World = Awaited<ReturnType<typeof world>>;

const input = (extra: Partial<RepoSettingsInput> = {}): RepoSettingsInput => ({
  runtime: "docker",
  defaultBranch: "main",
  devCommand: "npm run dev -- --port 3000",
  envVars: [
    { name: "DATABASE_URL", value: SECRET },
    { name: "API_KEY", value: API_KEY },
  ],
  ...extra,
});

/** Every public query's answer for the caller, as one text. */
async function publicAnswers(w: World, who: World["alice"]): Promise<string> {
  const answers = [
    await who.query(api.repoSettings.get, { repoId: w.repoId }),
    await who.query(api.repos.list, {}),
    await who.query(api.repos.byName, { owner: "acme", name: "shop" }),
    await who.query(api.containers.list, {}),
  ];
  return JSON.stringify(answers);
}

const storedSettings = (w: World) =>
  w.t.run(async (ctx) =>
    ctx.db
      .query("repoSettings")
      .withIndex("by_repoId", (q) => q.eq("repoId", w.repoId))
      .unique(),
  );

describe("saving and reading", () => {
  it("seals values, shows names and set, and never answers a value or ciphertext", async () => {
    const w = await world();
    expect(await w.alice.query(api.repoSettings.get, { repoId: w.repoId })).toEqual({
      runtime: "docker",
      defaultBranch: "main",
      version: 0,
      envVars: [],
    });
    expect(await w.alice.action(api.repoSettings.save, { repoId: w.repoId, input: input() })).toEqual({ version: 1 });
    const view = await w.alice.query(api.repoSettings.get, { repoId: w.repoId });
    expect(view).toMatchObject({
      version: 1,
      devCommand: ["npm", "run", "dev", "--", "--port", "3000"],
      envVars: [
        { name: "DATABASE_URL", set: true },
        { name: "API_KEY", set: true },
      ],
    });

    const stored = (await storedSettings(w))!;
    const box = stored.envVars[0];
    expect(box.ciphertext).not.toContain("hunter2");
    const key = await parseKey(SETTINGS_KEY);
    expect(await decryptSecret(key, box, envVarAad(w.repoId, "DATABASE_URL"))).toBe(SECRET);
    const otherKey = await parseKey(btoa(String.fromCharCode(...new Array<number>(32).fill(9))));
    await expect(decryptSecret(otherKey, box, envVarAad(w.repoId, "DATABASE_URL"))).rejects.toThrow(
      /could not be decrypted/,
    );
    // Sealed for its place: the same box under another name does not open.
    await expect(decryptSecret(key, box, envVarAad(w.repoId, "API_KEY"))).rejects.toThrow(/could not be decrypted/);

    const answers = await publicAnswers(w, w.alice);
    for (const leak of [SECRET, API_KEY, box.ciphertext, box.iv, stored.envVars[1].ciphertext]) {
      expect(answers).not.toContain(leak);
    }
    expect(await w.alice.query(api.repos.list, {})).toMatchObject([
      { owner: "acme", name: "shop", settingsVersion: 1 },
    ]);
  });

  it("keeps a value sent without one, drops an unlisted one, and moves runtime and branch", async () => {
    const w = await world();
    await w.alice.action(api.repoSettings.save, { repoId: w.repoId, input: input() });
    const first = (await storedSettings(w))!;
    await w.alice.action(api.repoSettings.save, {
      repoId: w.repoId,
      version: 1,
      input: input({ runtime: "firecracker", defaultBranch: "trunk", envVars: [{ name: "DATABASE_URL" }] }),
    });
    const second = (await storedSettings(w))!;
    expect(second.version).toBe(2);
    expect(second.envVars).toEqual([first.envVars[0]]);
    expect(await w.t.run((ctx) => ctx.db.get("repos", w.repoId))).toMatchObject({
      runtime: "firecracker",
      defaultBranch: "trunk",
    });
    // A name without a value that is not stored is a problem of that field.
    await expect(
      w.alice.action(api.repoSettings.save, { repoId: w.repoId, input: input({ envVars: [{ name: "NEW_ONE" }] }) }),
    ).rejects.toThrow(/invalid_argument.*envVars\.0/);
  });

  it("answers every problem by field, and conflict for a save over a newer version", async () => {
    const w = await world();
    const err = await w.alice
      .action(api.repoSettings.save, { repoId: w.repoId, input: input({ ports: [80], baseImage: "Not An Image" }) })
      .catch((e: { data?: unknown }) => e.data);
    expect(err).toMatchObject({
      code: "invalid_argument",
      problems: [expect.objectContaining({ field: "baseImage" }), expect.objectContaining({ field: "ports" })],
    });
    await w.alice.action(api.repoSettings.save, { repoId: w.repoId, input: input() });
    await expect(
      w.alice.action(api.repoSettings.save, { repoId: w.repoId, version: 0, input: input() }),
    ).rejects.toThrow(/conflict/);
    // Two saves that both started from version 1: the second one to store loses.
    const sealed = (await storedSettings(w))!.envVars;
    const prepared = { repoId: w.repoId, startedFrom: 1, input: input({ envVars: [] }), envVars: [] };
    await w.alice.mutation(internal.repoSettings.store, prepared);
    await expect(w.alice.mutation(internal.repoSettings.store, prepared)).rejects.toThrow(/conflict/);
    expect((await storedSettings(w))!.version).toBe(2);
    expect(sealed).toHaveLength(2);
  });

  it("refuses members below admin, and says how to set a missing key", async () => {
    const w = await world();
    const { token } = await w.alice.mutation(api.invitations.create, { email: BOB.email, role: "member" });
    await w.bob.mutation(api.invitations.accept, { token });
    expect((await w.bob.query(api.repoSettings.get, { repoId: w.repoId })).version).toBe(0);
    await expect(w.bob.action(api.repoSettings.save, { repoId: w.repoId, input: input() })).rejects.toThrow(
      /forbidden/,
    );
    await expect(
      w.bob.mutation(api.repos.setRuntime, { owner: "acme", name: "shop", runtime: "firecracker" }),
    ).rejects.toThrow(/forbidden/);
    expect(await storedSettings(w)).toBeNull();

    vi.stubEnv("SETTINGS_ENCRYPTION_KEY", "");
    await expect(w.alice.action(api.repoSettings.save, { repoId: w.repoId, input: input() })).rejects.toThrow(
      /not_configured.*SETTINGS_ENCRYPTION_KEY is not set/,
    );
    // Without values no key is needed.
    await w.alice.action(api.repoSettings.save, { repoId: w.repoId, input: input({ envVars: [] }) });
  });
});

describe("settings in setups", () => {
  async function setUp(w: World, branch = "main") {
    const containerId = await w.alice.mutation(api.containers.request, { repoId: w.repoId, branch });
    await w.t.action(internal.hostAgent.setupEnvironment, { containerId });
    return containerId;
  }
  const record = (w: World, id: Id<"containers">) => w.t.run((ctx) => ctx.db.get("containers", id));

  it("sends opened values and commands only to the agent, and stores none of them", async () => {
    const w = await world();
    await w.alice.action(api.repoSettings.save, {
      repoId: w.repoId,
      input: input({ installCommand: "npm ci --ignore-scripts" }),
    });
    const id = await setUp(w);
    expect((await record(w, id))?.error).toBeUndefined();
    const [setup] = w.setups();
    expect(setup).toMatchObject({
      envVars: { DATABASE_URL: SECRET, API_KEY: API_KEY },
      devCommand: ["npm", "run", "dev", "--", "--port", "3000"],
      installCommand: ["npm", "ci", "--ignore-scripts"],
      buildMainImage: true,
    });
    expect(await rowsHolding(w.t, [SECRET, API_KEY])).toEqual([]);
    expect(await publicAnswers(w, w.alice)).not.toContain("hunter2");
  });

  it("claims a pool container when the settings fit it, else creates one with the settings", async () => {
    const w = await world();
    await w.t.mutation(internal.pool.replenish, {});
    const pooledIds = await w.t.run(async (ctx) => (await ctx.db.query("containers").collect()).map((c) => c._id));
    for (const pid of pooledIds)
      await w.t.mutation(internal.hostReports.markCreated, { containerId: pid, hostPort: 21001 });

    await w.alice.action(api.repoSettings.save, { repoId: w.repoId, input: input({ ports: [3000] }) });
    const claimed = await setUp(w);
    expect(pooledIds).toContain(claimed);

    await w.alice.action(api.repoSettings.save, {
      repoId: w.repoId,
      input: input({ ports: [4000, 4001], baseImage: "node:22-slim", limits: { memoryMb: 256 } }),
    });
    const fresh = await setUp(w);
    expect(pooledIds).not.toContain(fresh);
    const create = w.agent.find((r) => r.method === "POST" && r.path === "/api/containers")!;
    expect(create.body).toMatchObject({ image: "node:22-slim", ports: [4000, 4001], limits: { memoryMb: 256 } });
    expect(w.setups().at(-1)).toMatchObject({ image: "node:22-slim" });
    expect(await record(w, fresh)).toMatchObject({ settingsVersion: 2 });

    // The list says which environments run older settings.
    const list = await w.alice.query(api.containers.list, {});
    const older = Object.fromEntries(list.map((c) => [c._id, c.olderSettings]));
    expect(older).toMatchObject({ [claimed]: true, [fresh]: false });
  });

  it("stops an environment by its repo's idle limit before the pool's", async () => {
    const w = await world();
    await w.alice.action(api.repoSettings.save, { repoId: w.repoId, input: input({ idleLimitMinutes: 10 }) });
    const id = await setUp(w);
    await w.t.run((ctx) =>
      ctx.db.patch("containers", id, { status: "ready", lastActivityAt: Date.now() - 11 * 60_000 }),
    );
    expect(await w.t.mutation(internal.maintenance.reapIdle, {})).toEqual({ stopping: 1, destroying: 0 });
    expect(await w.alice.query(api.containers.detail, { containerId: id })).toMatchObject({ idleLimitMinutes: 10 });
  });
});
