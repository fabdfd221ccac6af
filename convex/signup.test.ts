/**
 * Sign-up through Convex Auth's real Password provider (its `auth:signIn` action, JWT keys made
 * for the test): the new account gets its personal team from the sign-up callback, and the
 * session's own identity (issuer = this deployment, subject "<userId>|<sessionId>") is keyed by
 * the user id, so a second session of the same user sees the same team.
 */
import { exportJWK, exportPKCS8, generateKeyPair } from "jose";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { api } from "./_generated/api";
import { setupTest } from "./test.setup";

const SITE = "https://artie.example.convex.site";

beforeEach(async () => {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  vi.stubEnv("JWT_PRIVATE_KEY", (await exportPKCS8(privateKey)).replace(/\n/g, " "));
  vi.stubEnv("JWKS", JSON.stringify({ keys: [{ use: "sig", ...(await exportJWK(publicKey)) }] }));
  vi.stubEnv("CONVEX_SITE_URL", SITE);
  vi.stubEnv("SITE_URL", "http://127.0.0.1:5173");
  return () => vi.unstubAllEnvs();
});

describe("sign-up", () => {
  it("makes the new account's personal team, once, and every session of it sees that team", async () => {
    const t = setupTest();
    const params = { email: "New.User@Example.com", password: "correct horse battery", flow: "signUp" };
    const result = await t.action(api.auth.signIn, { provider: "password", params });
    expect(typeof (result as { tokens?: { token?: unknown } }).tokens?.token).toBe("string");

    const { users, teams, memberships } = await t.run(async (ctx) => ({
      users: await ctx.db.query("users").collect(),
      teams: await ctx.db.query("teams").collect(),
      memberships: await ctx.db.query("memberships").collect(),
    }));
    expect(users).toHaveLength(1);
    expect(teams).toEqual([expect.objectContaining({ personal: true })]);
    expect(memberships).toEqual([
      expect.objectContaining({ teamId: teams[0]._id, userKey: users[0]._id, role: "owner" }),
    ]);

    // Signing in again (a second session) makes nothing new.
    await t.action(api.auth.signIn, { provider: "password", params: { ...params, flow: "signIn" } });
    expect(await t.run((ctx) => ctx.db.query("teams").collect())).toHaveLength(1);

    // Two sessions of one user are one user: the subject's session part is not part of the key.
    for (const session of ["s1", "s2"]) {
      const as = t.withIdentity({ issuer: SITE, subject: `${users[0]._id}|${session}` });
      expect(await as.query(api.teams.mine, {})).toEqual([
        expect.objectContaining({ teamId: teams[0]._id, role: "owner", active: true }),
      ]);
    }
  });
});
