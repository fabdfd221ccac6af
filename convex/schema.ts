/**
 * The control plane's truth: teams and who belongs to them (memberships, pending invitations,
 * each user's active team), repos and their runtime, container records and their lifecycle, the
 * pool's configuration, a bounded event history per container, and the webhook ids already
 * seen (replay protection for the agent's callbacks). Also each repo's settings (variable values
 * sealed, see settingsView.ts), the GitHub App installations linked to teams, and the pending
 * install-link states (stored hashed). A team owns repos and environments; a
 * user is a `userKey` (see users.ts), never a table of our own beyond Convex Auth's.
 */
import { authTables } from "@convex-dev/auth/server";
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import { repoSettingsFields } from "./settingsView";
import { devServerDownReasonValidator, healthValidator, progressPhaseValidator, statusValidator } from "./statuses";

const phaseTimes = v.object({
  cloning: v.optional(v.number()),
  installing: v.optional(v.number()),
  starting: v.optional(v.number()),
  ready: v.optional(v.number()),
});

export const roleValidator = v.union(v.literal("owner"), v.literal("admin"), v.literal("member"));
export const inviteRoleValidator = v.union(v.literal("admin"), v.literal("member"));

export default defineSchema({
  ...authTables,

  teams: defineTable({
    name: v.string(),
    /** Made for one user at sign-up; works like any other team. */
    personal: v.boolean(),
    createdAt: v.number(),
  }),

  memberships: defineTable({
    teamId: v.id("teams"),
    userKey: v.string(),
    role: roleValidator,
    /** The member's address when they joined, for the members list. */
    email: v.optional(v.string()),
    joinedAt: v.number(),
  })
    .index("by_userKey_and_teamId", ["userKey", "teamId"])
    .index("by_teamId_and_userKey", ["teamId", "userKey"]),

  invitations: defineTable({
    teamId: v.id("teams"),
    email: v.string(),
    role: inviteRoleValidator,
    /** sha256 hex of the link's token; the token itself is shown once and never stored. */
    tokenHash: v.string(),
    expiresAt: v.number(),
    invitedBy: v.string(),
    acceptedAt: v.optional(v.number()),
    acceptedBy: v.optional(v.string()),
  })
    .index("by_tokenHash", ["tokenHash"])
    .index("by_teamId_and_expiresAt", ["teamId", "expiresAt"])
    .index("by_expiresAt", ["expiresAt"]),

  /** Per user: the team every team-scoped function works in, switched by teams.switchTo. */
  profiles: defineTable({ userKey: v.string(), activeTeamId: v.id("teams") }).index("by_userKey", ["userKey"]),

  /** Host admins granted by an operator (`npx convex run account:grantHostAdmin`), by user key. */
  hostAdmins: defineTable({ userKey: v.string(), grantedAt: v.number() }).index("by_userKey", ["userKey"]),

  repos: defineTable({
    teamId: v.id("teams"),
    owner: v.string(),
    name: v.string(),
    defaultBranch: v.string(),
    runtime: v.union(v.literal("firecracker"), v.literal("docker")),
    mainImage: v.optional(
      v.object({ tag: v.string(), commit: v.string(), builtAt: v.number(), buildMs: v.optional(v.number()) }),
    ),
  }).index("by_teamId_and_owner_and_name", ["teamId", "owner", "name"]),

  /** One per repo, made by its first save (repoSettings.ts); values are sealed, never plain. */
  repoSettings: defineTable(repoSettingsFields).index("by_repoId", ["repoId"]),

  /** A GitHub App installation a team admin linked (with GitHub's word that they can access it). */
  githubInstallations: defineTable({
    teamId: v.id("teams"),
    installationId: v.number(),
    accountLogin: v.string(),
    /**
     * `owner/name` (lower case) of the installation's repos GitHub listed for the admin who
     * linked it (bounded by LINKED_REPOS_MAX); tokens are minted only for these. Absent on links
     * made before the list was kept: such a link mints nothing until it is linked again.
     */
    repositories: v.optional(v.array(v.string())),
    linkedBy: v.string(),
    linkedAt: v.number(),
  })
    .index("by_installationId", ["installationId"])
    .index("by_teamId", ["teamId"]),

  /** The install link's `state`: sha256 hex only, bound to the admin and team, single use. */
  installLinkStates: defineTable({
    stateHash: v.string(),
    userKey: v.string(),
    teamId: v.id("teams"),
    expiresAt: v.number(),
  })
    .index("by_stateHash", ["stateHash"])
    .index("by_expiresAt", ["expiresAt"]),

  containers: defineTable({
    /** The id the agent knows it by; chosen here so a retried create never makes two. */
    agentId: v.string(),
    status: statusValidator,
    pool: v.boolean(),
    /** Set when the container is handed to a team's request; pool containers have none. */
    teamId: v.optional(v.id("teams")),
    /** The userKey of who asked for it (quotas are per user). */
    requestedBy: v.optional(v.string()),
    /** The repo settings version the setup used (0: none saved yet); older than the repo's = stale. */
    settingsVersion: v.optional(v.number()),
    repoId: v.optional(v.id("repos")),
    branch: v.optional(v.string()),
    hostPort: v.optional(v.number()),
    url: v.optional(v.string()),
    /** When each phase started, and how long each took (ms), from the callbacks. */
    phaseStartedAt: phaseTimes,
    phaseDurations: phaseTimes,
    /**
     * Phases this setup went through whose callbacks came after a later phase's (delivered out
     * of order): the record moved past them, so they have no times of their own.
     */
    skippedPhases: v.optional(v.array(progressPhaseValidator)),
    /** Highest callback sequence applied; older ones are dropped. */
    lastSequence: v.number(),
    error: v.optional(v.string()),
    /**
     * Why the dev server stopped after `ready`, when the agent's watch said so (the `error`
     * then says it in words); cleared when a setup, start or redeploy begins again.
     */
    downReason: v.optional(devServerDownReasonValidator),
    /**
     * When the control plane last restarted it because the host asked (`needs-relaunch`:
     * callbacks.ts), bounding those restarts to one per HOST_RELAUNCH_MIN_INTERVAL_MINUTES.
     */
    hostRelaunchAt: v.optional(v.number()),
    /** Whether the dev server answers, from the agent's periodic check (taken by reconcile). */
    health: v.optional(healthValidator),
    /**
     * The last redeploy the agent refused (local changes it would overwrite: the files; or why
     * it could not): the dashboard offers it again with force. Cleared when one is accepted.
     */
    redeployRefused: v.optional(v.object({ message: v.string(), files: v.array(v.string()), at: v.number() })),
    createdAt: v.number(),
    statusChangedAt: v.number(),
    lastActivityAt: v.number(),
  })
    .index("by_status_and_createdAt", ["status", "createdAt"])
    .index("by_agentId", ["agentId"])
    .index("by_teamId_and_createdAt", ["teamId", "createdAt"])
    .index("by_requestedBy_and_status", ["requestedBy", "status"]),

  poolConfig: defineTable({
    targetSize: v.number(),
    minSize: v.number(),
    maxCreating: v.number(),
    containerPorts: v.array(v.number()),
    /** Minutes without use before an environment is stopped (a repo's settings may say otherwise). */
    idleLimitMinutes: v.number(),
    /** Minutes a stopped environment is kept without use before it is destroyed; absent: the default. */
    stoppedLimitMinutes: v.optional(v.number()),
  }),

  containerEvents: defineTable({
    containerId: v.id("containers"),
    status: statusValidator,
    at: v.number(),
    message: v.optional(v.string()),
  }).index("by_containerId_and_at", ["containerId", "at"]),

  seenWebhooks: defineTable({ webhookId: v.string(), receivedAt: v.number() })
    .index("by_webhookId", ["webhookId"])
    .index("by_receivedAt", ["receivedAt"]),
});
