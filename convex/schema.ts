/**
 * The control plane's truth: repos and their runtime, container records and their lifecycle,
 * the pool's configuration, a bounded event history per container, and the webhook ids already
 * seen (replay protection for the agent's callbacks).
 */
import { authTables } from "@convex-dev/auth/server";
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import { statusValidator } from "./statuses";

const phaseTimes = v.object({
  cloning: v.optional(v.number()),
  installing: v.optional(v.number()),
  starting: v.optional(v.number()),
  ready: v.optional(v.number()),
});

export default defineSchema({
  ...authTables,

  repos: defineTable({
    ownerId: v.string(),
    owner: v.string(),
    name: v.string(),
    defaultBranch: v.string(),
    runtime: v.union(v.literal("firecracker"), v.literal("docker")),
    mainImage: v.optional(
      v.object({ tag: v.string(), commit: v.string(), builtAt: v.number(), buildMs: v.optional(v.number()) }),
    ),
  }).index("by_ownerId_and_owner_and_name", ["ownerId", "owner", "name"]),

  containers: defineTable({
    /** The id the agent knows it by; chosen here so a retried create never makes two. */
    agentId: v.string(),
    status: statusValidator,
    pool: v.boolean(),
    ownerId: v.optional(v.string()),
    repoId: v.optional(v.id("repos")),
    branch: v.optional(v.string()),
    hostPort: v.optional(v.number()),
    url: v.optional(v.string()),
    /** When each phase started, and how long each took (ms), from the callbacks. */
    phaseStartedAt: phaseTimes,
    phaseDurations: phaseTimes,
    /** Highest callback sequence applied; older ones are dropped. */
    lastSequence: v.number(),
    error: v.optional(v.string()),
    createdAt: v.number(),
    statusChangedAt: v.number(),
    lastActivityAt: v.number(),
  })
    .index("by_status_and_createdAt", ["status", "createdAt"])
    .index("by_agentId", ["agentId"])
    .index("by_ownerId_and_createdAt", ["ownerId", "createdAt"]),

  poolConfig: defineTable({
    targetSize: v.number(),
    minSize: v.number(),
    maxCreating: v.number(),
    containerPorts: v.array(v.number()),
    idleLimitMinutes: v.number(),
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
