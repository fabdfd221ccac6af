/**
 * Documents as the control plane returns them, for component and browser tests, and the way a
 * test signs in without a backend (Convex Auth reads its token from storage at start-up).
 */
import type { api } from "@convex/_generated/api";
import type { Doc, Id } from "@convex/_generated/dataModel";
import type { RepoSettingsView } from "@convex/settingsView";
import type { FunctionReturnType } from "convex/server";
import type { Environment } from "../../src/lib/environments";
import type { ConvexReactClientFake } from "./ConvexReactClientFake";

export const NOW = Date.now();

/** A repos.list item; `settingsVersion` is what the list adds to the document (0 before a save). */
export function repo(
  overrides: Partial<Doc<"repos"> & { settingsVersion: number }> = {},
): Doc<"repos"> & { settingsVersion?: number } {
  return {
    _id: "r1" as Id<"repos">,
    _creationTime: NOW - 86_400_000,
    teamId: "t1" as Id<"teams">,
    owner: "acme",
    name: "shop",
    defaultBranch: "main",
    runtime: "docker",
    mainImage: {
      tag: "acme-shop:main",
      commit: "3f9c2e1a7b".padEnd(40, "0"),
      builtAt: NOW - 3 * 3_600_000,
      buildMs: 41_200,
    },
    ...overrides,
  };
}

/** A containers.list / containers.detail item: the record, its idle limits and deadlines. */
export function environment(overrides: Partial<Environment> = {}): Environment {
  const env: Environment = {
    _id: "c1" as Id<"containers">,
    _creationTime: NOW - 600_000,
    agentId: "env-7d2f9a",
    status: "ready",
    pool: false,
    teamId: "t1" as Id<"teams">,
    requestedBy: "https://site|alice",
    repoId: "r1" as Id<"repos">,
    branch: "main",
    hostPort: 10001,
    url: "http://127.0.0.1:10001",
    phaseStartedAt: {
      cloning: NOW - 590_000,
      installing: NOW - 589_300,
      starting: NOW - 588_650,
      ready: NOW - 588_450,
    },
    phaseDurations: { cloning: 700, installing: 650, starting: 200 },
    lastSequence: 4,
    createdAt: NOW - 600_000,
    statusChangedAt: NOW - 588_450,
    lastActivityAt: NOW - 120_000,
    olderSettings: false,
    idleLimitMinutes: 120,
    stoppedLimitMinutes: 1440,
    stopsAt: null,
    destroysAt: null,
    ...overrides,
  };
  return env;
}

export function event(
  status: Doc<"containerEvents">["status"],
  at: number,
  message?: string,
  containerId = "c1",
): Doc<"containerEvents"> {
  return {
    _id: `e-${status}-${at}` as Id<"containerEvents">,
    _creationTime: at,
    containerId: containerId as Id<"containers">,
    status,
    at,
    ...(message ? { message } : {}),
  };
}

export const POOL_STATUS = {
  config: {
    targetSize: 3,
    minSize: 1,
    maxCreating: 2,
    containerPorts: [3000],
    idleLimitMinutes: 120,
    stoppedLimitMinutes: 1440,
  },
  pooled: 2,
  creating: 1,
  assigned: 4,
};

/** teams.mine: a personal team (active) and a shared one. */
export const TEAMS = [
  { teamId: "t1" as Id<"teams">, name: "alice's team", personal: true, role: "owner" as const, active: true },
  { teamId: "t2" as Id<"teams">, name: "Platform", personal: false, role: "member" as const, active: false },
];

/** teams.mine for someone who is a plain member of the active team. */
export const TEAMS_AS_MEMBER = [
  { teamId: "t2" as Id<"teams">, name: "Platform", personal: false, role: "member" as const, active: true },
  { teamId: "t1" as Id<"teams">, name: "bob's team", personal: true, role: "owner" as const, active: false },
];

/** teams.members of the active team: the caller (owner), an admin and a member without email. */
export const MEMBERS: FunctionReturnType<typeof api.teams.members> = [
  {
    membershipId: "m1" as Id<"memberships">,
    email: "alice@example.com",
    role: "owner" as const,
    joinedAt: NOW - 30 * 86_400_000,
    you: true,
  },
  {
    membershipId: "m2" as Id<"memberships">,
    email: "bob@example.com",
    role: "admin" as const,
    joinedAt: NOW - 2 * 86_400_000,
    you: false,
  },
  { membershipId: "m3" as Id<"memberships">, role: "member" as const, joinedAt: NOW - 3_600_000, you: false },
];

/** invitations.list: one pending invitation. */
export const INVITATIONS = [
  {
    invitationId: "i1" as Id<"invitations">,
    email: "carol@example.com",
    role: "member" as const,
    expiresAt: NOW + 5.5 * 86_400_000,
  },
];

/** github.installations: one installation linked to the active team. */
export const INSTALLATIONS = [{ installationId: 4242, accountLogin: "acme", linkedAt: NOW - 3 * 86_400_000 }];

/** repoSettings.get: a saved version with two variables (names only, as the public view has them). */
export function settingsView(overrides: Partial<RepoSettingsView> = {}): RepoSettingsView {
  return {
    runtime: "docker",
    defaultBranch: "main",
    version: 3,
    devCommand: ["npm", "run", "dev"],
    ports: [3000],
    envVars: [
      { name: "DATABASE_URL", set: true },
      { name: "API_KEY", set: true },
    ],
    updatedAt: NOW - 3_600_000,
    ...overrides,
  };
}

/** account.me for a host admin, and for anyone else. */
export const ME_ADMIN = { email: "alice@example.com", isHostAdmin: true };
export const ME_USER = { email: "bob@example.com", isHostAdmin: false };

/** Makes Convex Auth start signed in: the token it would have stored after a sign-in. */
export function storeSignedIn(fake: ConvexReactClientFake, storage: Storage = localStorage): void {
  const ns = fake.address.replace(/[^a-zA-Z0-9]/g, "");
  storage.setItem(`__convexAuthJWT_${ns}`, "fake.jwt.token");
  storage.setItem(`__convexAuthRefreshToken_${ns}`, "fake-refresh");
}

/** The answer of Convex Auth's `auth:signIn` action for a password sign-in. */
export const SIGNED_IN = { tokens: { token: "fake.jwt.token", refreshToken: "fake-refresh" } };
