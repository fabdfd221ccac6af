/** One place that builds the convex-test harness for every Convex test, and the ready environments several of them start from. */
/// <reference types="vite/client" />
import rateLimiter from "@convex-dev/rate-limiter/test";
import { convexTest } from "convex-test";
import { api } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import schema from "./schema";

// Every function module and _generated/, without tests, type declarations or this file.
export const modules = import.meta.glob(["./**/*.{ts,js}", "!./**/*.test.ts", "!./**/*.d.ts", "!./test.setup.ts"]);

export function setupTest() {
  const t = convexTest(schema, modules);
  // The component as convex.config.ts registers it (`app.use(rateLimiter)`), the package's way.
  rateLimiter.register(t);
  return t;
}

/** Identities of another provider than Convex Auth (issuer is not CONVEX_SITE_URL). */
export const ALICE = {
  subject: "alice",
  issuer: "https://test",
  tokenIdentifier: "https://test|alice",
  email: "alice@example.com",
  emailVerified: true,
};
export const BOB = {
  subject: "bob",
  issuer: "https://test",
  tokenIdentifier: "https://test|bob",
  email: "bob@example.com",
  emailVerified: true,
};

type T = ReturnType<typeof setupTest>;

/** Alice's team's acme/shop on the docker runtime: its id and team. */
export async function aliceRepo(t: T): Promise<{ repoId: Id<"repos">; teamId: Id<"teams"> }> {
  const repoId = await t
    .withIdentity(ALICE)
    .mutation(api.repos.setRuntime, { owner: "acme", name: "shop", runtime: "docker" });
  const repo = (await t.run((ctx) => ctx.db.get("repos", repoId)))!;
  return { repoId, teamId: repo.teamId };
}

/** A ready environment of `repo` as a finished setup leaves it (port 21000, four callbacks), used last now. */
export function insertReady(t: T, repo: { repoId: Id<"repos">; teamId: Id<"teams"> }, agentId: string) {
  const now = Date.now();
  return t.run((ctx) =>
    ctx.db.insert("containers", {
      agentId,
      status: "ready",
      pool: false,
      teamId: repo.teamId,
      repoId: repo.repoId,
      branch: "main",
      hostPort: 21000,
      url: "http://127.0.0.1:21000",
      phaseStartedAt: {},
      phaseDurations: {},
      lastSequence: 4,
      createdAt: now,
      statusChangedAt: now,
      lastActivityAt: now,
    }),
  );
}

/** The body of one of the agent's setup callbacks for a container of acme/shop@main, as the agent sends it. */
export function agentCallbackBody(
  containerId: string,
  phase: string,
  sequence: number,
  extra: Record<string, unknown> = {},
) {
  return JSON.stringify({
    containerId,
    phase,
    sequence,
    at: Date.now(),
    previousPhaseMs: null,
    repo: "acme/shop",
    branch: "main",
    ...(phase === "ready" ? { hostPort: 21000, url: "http://127.0.0.1:21000" } : {}),
    ...extra,
  });
}
