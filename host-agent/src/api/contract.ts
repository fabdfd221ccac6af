/**
 * The host agent's HTTP contract: every request, response and stream message as a zod schema.
 *
 * Imported by the agent (to validate what comes in) and by the control plane's Convex actions
 * (to validate what comes back), so the two can never drift. It holds shapes and the closed
 * lists of names (states, error codes); it deliberately holds no behaviour, no defaults that
 * depend on the agent's configuration and no Node-only imports (Convex bundles it).
 */
import { z } from "zod";

// ---------------------------------------------------------------------------------------------
// Names and identifiers
// ---------------------------------------------------------------------------------------------

/** The agent's id for a container: chosen by the client for idempotent creates, else random. */
export const ContainerId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{2,62}$/, "must be 3-63 chars of a-z, 0-9 and '-', not starting with '-'");
export type ContainerId = z.infer<typeof ContainerId>;

/** Image reference as Docker spells it (`name[:tag][@digest]`); never starts with '-'. */
export const ImageRef = z
  .string()
  .max(255)
  .regex(
    // [registry[:port]/]path[:tag][@digest], lowercase path components as Docker requires.
    /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]{1,5})?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/,
    "must be a Docker image reference such as node:24-slim",
  );

/** Named volume, e.g. `owner-repo-node_modules`. */
export const VolumeName = z
  .string()
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]+$/, "must be letters, digits, '_', '.', '-'");

const PortNumber = z.number().int().min(1).max(65535);

/** A tenant (team) id: lower-case letters, digits, `_` and `-`, as Convex ids and names are. */
export const TenantName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "must be 1-64 lower-case letters, digits, '_' or '-'");

/** Environment variable name as POSIX shells accept it. */
export const EnvKey = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "must be a valid environment variable name");

// ---------------------------------------------------------------------------------------------
// Containers
// ---------------------------------------------------------------------------------------------

/**
 * What Docker says about a container, made honest: an OOM-killed process is `oom_killed`, not
 * merely `exited`. A container Docker no longer knows is answered with 404 `container_not_found`.
 */
export const CONTAINER_STATES = [
  "created",
  "running",
  "paused",
  "restarting",
  "removing",
  "exited",
  "oom_killed",
  "dead",
] as const;
export const ContainerState = z.enum(CONTAINER_STATES);
export type ContainerState = z.infer<typeof ContainerState>;

/**
 * Whether the environment's dev server answers, from the agent's own periodic check of its port
 * (watch/health-check.ts): `answering` (it answered HTTP), `not answering` (the last checks got
 * no answer, or the agent saw it exit), `none` (no dev server is watched: no setup reached
 * `ready`, it is being set up again, or the container is stopped). Defined once.
 */
export const HEALTH_STATES = ["answering", "not answering", "none"] as const;
export const HealthState = z.enum(HEALTH_STATES);
export type HealthState = z.infer<typeof HealthState>;

export const PortMapping = z.object({ containerPort: PortNumber, hostPort: PortNumber });
export type PortMapping = z.infer<typeof PortMapping>;

/** Per-container resource limits; each may only be lower than or equal to the agent's maximum. */
export const ResourceLimits = z.strictObject({
  memoryMb: z.number().int().min(16).optional(),
  cpus: z.number().min(0.05).optional(),
  pidsLimit: z.number().int().min(16).optional(),
});
export type ResourceLimits = z.infer<typeof ResourceLimits>;

export const CreateContainerRequest = z.strictObject({
  /** Client-chosen id: repeating a create with the same id returns the same container. */
  id: ContainerId.optional(),
  name: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "must be letters, digits, '_', '.', '-'"),
  /** Defaults to the agent's DEFAULT_IMAGE (node:24-slim). */
  image: ImageRef.optional(),
  ports: z.array(PortNumber).min(1).max(4).default([3000]),
  /** Mounted at /app/node_modules: the repo's shared dependency cache. */
  volumeName: VolumeName.optional(),
  pool: z.boolean().default(false),
  /** The container's main process as argv; defaults to an idle keep-alive. */
  command: z.array(z.string().max(4096)).min(1).max(256).optional(),
  limits: ResourceLimits.optional(),
  // The fields below weaken isolation. They are part of the contract so that asking for them
  // gets a clear 403 `policy_violation` unless the operator's config allows them.
  privileged: z.boolean().optional(),
  capAdd: z
    .array(z.string().regex(/^[A-Z_]+$/))
    .max(16)
    .optional(),
  binds: z.array(z.string().max(1024)).max(16).optional(),
  networkMode: z.string().max(64).optional(),
  /** The team the environment is for, when known: labels its workspace volume (never a secret). */
  tenant: TenantName.optional(),
});
export type CreateContainerRequest = z.input<typeof CreateContainerRequest>;

export const CreateContainerResponse = z.object({
  id: ContainerId,
  name: z.string(),
  hostPort: PortNumber,
  ports: z.array(PortMapping),
  /** False when an earlier create with the same id already made this container. */
  created: z.boolean(),
});
export type CreateContainerResponse = z.infer<typeof CreateContainerResponse>;

/** Why the egress proxy refused a request: defined once, logged and shown with each denial. */
export const EGRESS_DENY_REASONS = [
  "ip_literal",
  "denylisted",
  "not_allowlisted",
  "loopback",
  "link_local",
  "host_address",
  "environment_address",
  "private_address",
  "reserved_address",
  "unresolvable",
  "bad_request",
] as const;
export const EgressDenyReason = z.enum(EGRESS_DENY_REASONS);
export type EgressDenyReason = z.infer<typeof EgressDenyReason>;

export const EgressStats = z.object({
  allowed: z.number().int(),
  denied: z.number().int(),
  /** Newest first, a bounded few. */
  recentDenials: z.array(z.object({ host: z.string(), reason: EgressDenyReason, at: z.string() })),
});
export type EgressStats = z.infer<typeof EgressStats>;

/** How an environment is isolated, shown in the open: its network, runtime and egress counts. */
export const EnvironmentIsolation = z.object({
  /** Null on a shared network (CONTAINER_NETWORK set to a Docker network: no isolation). */
  network: z.object({ name: z.string(), subnet: z.string(), gateway: z.string() }).nullable(),
  runtime: z.string(),
  /** The hosts its egress proxy lets it reach (EGRESS_ALLOWLIST); empty: none. */
  egressAllowlist: z.array(z.string()),
  egress: EgressStats.nullable(),
});
export type EnvironmentIsolation = z.infer<typeof EnvironmentIsolation>;

export const ContainerDetails = z.object({
  id: ContainerId,
  name: z.string(),
  dockerId: z.string(),
  image: z.string(),
  state: ContainerState,
  exitCode: z.number().int().nullable(),
  health: HealthState,
  pool: z.boolean(),
  hostPort: PortNumber,
  ports: z.array(PortMapping),
  volumeName: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  /** Seconds since the container last started; null when it is not running. */
  uptimeSeconds: z.number().nullable(),
  isolation: EnvironmentIsolation.optional(),
  /**
   * The named volume mounted at /app, which keeps the checkout and uncommitted work through
   * restart, stop and start; null for a container made before workspaces were volumes.
   */
  workspaceVolume: z.string().nullable().optional(),
  /**
   * Bytes the workspace volume holds (the dependency volume not included), from the engine's
   * disk usage report: cached, so up to a minute old; null while not yet known.
   */
  workspaceBytes: z.number().int().nonnegative().nullable().optional(),
  /**
   * The last sign of use (exec, terminal input, an attached log stream): an ISO 8601 time like
   * `createdAt`, or ms since the epoch; null or absent when none was seen. The control plane
   * keeps the later of this and its own, so an environment in use is not stopped as idle.
   */
  lastActivityAt: z.union([z.string(), z.number()]).nullable().optional(),
  /**
   * The repo (`owner/repo`) and branch of the container's last successful setup, as the agent
   * recorded it (setup/run-marker.ts); null when none reached `ready` (a pooled container, a setup
   * under way). The list and the details carry them, for the CLI's `status`.
   */
  repo: z.string().nullable().optional(),
  branch: z.string().nullable().optional(),
});
export type ContainerDetails = z.infer<typeof ContainerDetails>;

export const ListContainersResponse = z.object({ containers: z.array(ContainerDetails) });
export type ListContainersResponse = z.infer<typeof ListContainersResponse>;

export const RemoveContainerResponse = z.object({ id: ContainerId, removed: z.literal(true) });

// ---------------------------------------------------------------------------------------------
// Exec
// ---------------------------------------------------------------------------------------------

/**
 * What an exec runs. The preferred form is an argv array, given to Docker as is with no shell in
 * between. A string is the seed's form (`{"command": "ls -la /app"}`) and runs as `sh -c <string>`,
 * so pipes and `&&` work: the caller already runs code in that container, so a shell is no
 * injection, and the agent never builds a shell string itself.
 */
export const ExecCommand = z.union([
  z.string().min(1, "must not be empty").max(65536),
  z.array(z.string().max(65536)).min(1).max(1024),
]);
export type ExecCommand = z.infer<typeof ExecCommand>;

export const ExecRequest = z.strictObject({
  command: ExecCommand,
  /** Milliseconds before the command (and everything it started) is killed. */
  timeout: z.number().int().min(1).max(3_600_000).default(60_000),
  workdir: z
    .string()
    .regex(/^\/[^\0]*$/, "must be an absolute path")
    .max(1024)
    .optional(),
  env: z.record(EnvKey, z.string().max(65536)).optional(),
});
export type ExecRequest = z.input<typeof ExecRequest>;

export const ExecResponse = z.object({
  /** null only when the process could not be observed to end (e.g. killed after a timeout). */
  exitCode: z.number().int().nullable(),
  stdout: z.string(),
  stderr: z.string(),
  timedOut: z.boolean(),
  /** True when stdout or stderr hit the agent's output cap and were cut. */
  truncated: z.boolean(),
  durationMs: z.number(),
});
export type ExecResponse = z.infer<typeof ExecResponse>;

// ---------------------------------------------------------------------------------------------
// Setup: clone, install, start, reported by signed callbacks
// ---------------------------------------------------------------------------------------------

/** `owner/repo` as GitHub allows it; "." and ".." are not names. */
export const RepoFullName = z
  .string()
  .max(140)
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/, "must be owner/repo")
  .refine((v) => !/\/\.{1,2}$/.test(v), "must be owner/repo");

/**
 * A branch name git accepts (git check-ref-format --branch), and never one git could read as an
 * option: no leading '-', no '..', no '@{', no control or special characters.
 */
export const BranchName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9_][A-Za-z0-9._/+-]*$/, "must be a valid git branch name")
  .refine(
    (v) =>
      !v.includes("..") &&
      !v.includes("//") &&
      !v.endsWith("/") &&
      !v.endsWith(".") &&
      !v.endsWith(".lock") &&
      !/(^|\/)\./.test(v),
    "must be a valid git branch name",
  );

/** A command as an argv array, run with no shell in between. */
export const Argv = z.array(z.string().max(4096)).min(1).max(64);

/** The phases a setup reports, in order; `error` can follow any of them. Defined once. */
export const SETUP_PHASES = ["cloning", "installing", "starting", "ready", "error"] as const;
export const SetupPhase = z.enum(SETUP_PHASES);
export type SetupPhase = z.infer<typeof SetupPhase>;

export const SetupRequest = z.strictObject({
  repo: RepoFullName,
  branch: BranchName,
  /** Used on the host for the repo cache only; never enters a container, image, log or label. */
  githubToken: z.string().min(1).max(512).optional(),
  callbackUrl: z.url({ protocol: /^https?$/ }),
  /** HMAC key for the callbacks' Standard Webhooks signature (raw, or `whsec_<base64>`). */
  callbackSecret: z
    .string()
    .min(16, "must be at least 16 characters: it is the key that signs the callbacks, and a short one can be guessed")
    .max(512),
  hasMainImage: z.boolean().default(false),
  buildMainImage: z.boolean().default(false),
  envVars: z.record(EnvKey, z.string().max(65536)).default({}),
  /** The dev server's argv; defaults to `<package manager> run dev`. */
  devCommand: Argv.optional(),
  /** The install's argv; defaults to the lockfile's package manager (see setup/install.ts). */
  installCommand: Argv.optional(),
  /** The image to set up from when the repo has no main image; defaults to the container's. */
  image: ImageRef.optional(),
  /**
   * Who shares caches that hold code (dependency volumes, main images): the control plane sends
   * the team's id, so two teams never share them. A direct caller that omits it gets `default`.
   */
  tenant: TenantName.default("default"),
});
export type SetupRequest = z.input<typeof SetupRequest>;

export const SetupAccepted = z.object({ id: ContainerId, accepted: z.literal(true) });

/**
 * Body of `POST /api/containers/:id/start`, and the optional body of `/restart`: where to report
 * and the run settings, which the control plane sends again each time because the agent keeps no
 * environment value. The rest (repo, branch, commit, package manager, the package.json facts the
 * dev server is chosen from) the agent keeps from the container's last successful setup. The
 * agent answers 202 with the container's details and reports `starting`, then `ready` or `error`,
 * by the same signed SetupCallback a setup sends.
 */
export const StartContainerRequest = SetupRequest.pick({
  callbackUrl: true,
  callbackSecret: true,
  envVars: true,
  devCommand: true,
});
export type StartContainerRequest = z.input<typeof StartContainerRequest>;

/**
 * Body of `POST /api/containers/:id/stop`, optional (none, or `{}`: stop it whatever its use).
 * The idle reaper sends `unlessUsedAfter`, the time it judged the environment idle by (ms since
 * the epoch, or ISO 8601 with an offset): the agent, holding the container's operation lock,
 * answers `409 in_use` and stops nothing when the container's last activity (its details'
 * `lastActivityAt`) is later, so a keystroke or an exec between the reaper's look and its stop
 * keeps the environment running.
 */
export const StopContainerRequest = z.strictObject({
  unlessUsedAfter: z
    .union([z.number().int().nonnegative(), z.iso.datetime({ offset: true })])
    .transform((t) => (typeof t === "number" ? t : Date.parse(t)))
    .optional(),
});
export type StopContainerRequest = z.input<typeof StopContainerRequest>;

/**
 * Body of `POST /api/containers/:id/redeploy`: bring the branch's new commits into a set-up
 * environment without losing its uncommitted work. Its own route, not a second `setup` of the
 * same id, because it means something else: a setup makes the workspace the branch afresh (a
 * new checkout, the container recreated), a redeploy updates the workspace in place and refuses
 * before anything changed (`409 uncommitted_changes`, the files in `issues`) when the update
 * would overwrite a local change, unless `force`. `repo` and `branch` must be the last setup's
 * (a different branch is a new setup's); the token fetches the branch as a setup's does; the run
 * settings come again because the agent keeps no environment value. Answers 202 with the
 * container's details, then `cloning`, `installing`, `starting`, `ready` or `error` by callback.
 */
export const RedeployRequest = SetupRequest.pick({
  repo: true,
  branch: true,
  githubToken: true,
  callbackUrl: true,
  callbackSecret: true,
  envVars: true,
  devCommand: true,
  installCommand: true,
}).extend({
  /** Take the branch's version of files changed locally too (those local changes are lost). */
  force: z.boolean().default(false),
});
export type RedeployRequest = z.input<typeof RedeployRequest>;

/**
 * Why a dev server that had reached `ready` stopped, on the `error` callback that says so
 * (watch/dev-server-watch.ts): `oom` (the kernel's OOM killer ended it or the container),
 * `exited` (its process ended by itself, or was killed by something other than the agent),
 * `container-died` (the container's main process ended, taking the dev server with it),
 * `needs-relaunch` (the container was started again while the agent no longer holds the repo's
 * variables, which it keeps in memory only: setup/relaunch.ts; the control plane restarts it
 * with its settings).
 */
export const DEV_SERVER_DOWN_REASONS = ["oom", "exited", "container-died", "needs-relaunch"] as const;
export const DevServerDownReason = z.enum(DEV_SERVER_DOWN_REASONS);
export type DevServerDownReason = z.infer<typeof DevServerDownReason>;

/** Body of every setup callback; signed with Standard Webhooks headers. */
export const SetupCallback = z.object({
  containerId: ContainerId,
  phase: SetupPhase,
  /** Per container, strictly increasing across setups and agent restarts: drop anything older. */
  sequence: z.number().int().nonnegative(),
  /** When the phase started (ms since epoch), and how long the previous phase took. */
  at: z.number(),
  previousPhaseMs: z.number().nullable(),
  repo: RepoFullName,
  branch: BranchName,
  hostPort: PortNumber.optional(),
  url: z.string().optional(),
  error: z.string().optional(),
  /** Set when this setup built (with how long the build took) or used a main image. */
  mainImage: z.object({ tag: z.string(), commit: z.string(), buildMs: z.number().optional() }).optional(),
  /** Only on an `error` after `ready`: the dev server stopped, and why (`error` says it in words). */
  reason: DevServerDownReason.optional(),
});
export type SetupCallback = z.infer<typeof SetupCallback>;

// ---------------------------------------------------------------------------------------------
// Operating a host: images pulled at start, maintenance (prune), capacity
// ---------------------------------------------------------------------------------------------

/**
 * One image the agent pulls in the background at start-up (DEFAULT_IMAGE and PREPULL_IMAGES).
 * `pending` before its first attempt, `pulling` while the engine downloads, `present` once the
 * engine has it, `failed` after an attempt failed (retried with backoff; `nextAttemptAt` says when).
 */
export const IMAGE_PULL_STATES = ["pending", "pulling", "present", "failed"] as const;
export const ImagePullState = z.enum(IMAGE_PULL_STATES);
export type ImagePullState = z.infer<typeof ImagePullState>;

export const ImagePull = z.object({
  image: z.string(),
  state: ImagePullState,
  /** Bytes downloaded of the layers the engine has announced so far; absent before any. */
  progress: z.object({ currentBytes: z.number().nonnegative(), totalBytes: z.number().nonnegative() }).optional(),
  attempts: z.number().int().nonnegative(),
  /** The last attempt's error, as the engine said it (no credentials in it). */
  error: z.string().optional(),
  nextAttemptAt: z.string().optional(),
  updatedAt: z.string(),
});
export type ImagePull = z.infer<typeof ImagePull>;

/** What a prune removes (or, in a dry run, would remove), by kind. */
export const PRUNE_KINDS = [
  "main-image",
  "dangling-image",
  "dependency-volume",
  "repo-cache",
  "orphan-container",
] as const;
export const PruneKind = z.enum(PRUNE_KINDS);
export type PruneKind = z.infer<typeof PruneKind>;

/**
 * `POST /api/maintenance/prune`. `scope: "orphans"` is the CLI's `cleanup`: only exited managed
 * containers with no record. A dry run removes nothing and reports what it would.
 */
export const PruneRequest = z.strictObject({
  dryRun: z.boolean().default(false),
  scope: z.enum(["all", "orphans"]).default("all"),
});
export type PruneRequest = z.input<typeof PruneRequest>;

export const PrunedItem = z.object({
  kind: PruneKind,
  /** Image reference or id, volume name, repo cache directory name, or container id/name. */
  name: z.string(),
  /** Bytes freed (or that would be), when the engine or the disk says; null when unknown. */
  bytes: z.number().int().nonnegative().nullable(),
  /** Why it went: "unused for 170 h", "no record", … */
  reason: z.string(),
});
export type PrunedItem = z.infer<typeof PrunedItem>;

export const PruneReport = z.object({
  dryRun: z.boolean(),
  scope: z.enum(["all", "orphans"]),
  startedAt: z.string(),
  finishedAt: z.string(),
  removed: z.array(PrunedItem),
  bytesFreed: z.number().int().nonnegative(),
  /** What could not be removed and why (in use by then, the engine refused); the sweep goes on. */
  errors: z.array(z.object({ kind: PruneKind, name: z.string(), message: z.string() })),
});
export type PruneReport = z.infer<typeof PruneReport>;

/**
 * A sweep in counts only, as the unauthenticated /health shows it: the report's names (private
 * repos' caches, tenants' volumes and containers) stay behind the API secret (POST prune).
 */
export const PruneSummary = z.object({
  dryRun: z.boolean(),
  scope: z.enum(["all", "orphans"]),
  startedAt: z.string(),
  finishedAt: z.string(),
  removed: z.number().int().nonnegative(),
  bytesFreed: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
});
export type PruneSummary = z.infer<typeof PruneSummary>;

/** The periodic sweep as /health shows it. */
export const MaintenanceStatus = z.object({
  /** Minutes between sweeps (MAINTENANCE_INTERVAL_MINUTES); 0 when the periodic sweep is off. */
  intervalMinutes: z.number().int().nonnegative(),
  lastRun: PruneSummary.nullable(),
  nextRunAt: z.string().nullable(),
  running: z.boolean(),
});
export type MaintenanceStatus = z.infer<typeof MaintenanceStatus>;

/**
 * The host as the seed's capacity table reasons about it: memory and CPU, what the managed
 * containers are allowed, disk, and what the engine holds. `allocatedMemoryBytes` is the sum of
 * the memory limits of running managed containers.
 */
export const HostCapacity = z.object({
  memoryTotalBytes: z.number().int().nonnegative(),
  memoryAvailableBytes: z.number().int().nonnegative(),
  cpus: z.number().int().nonnegative(),
  /** 1-minute load average of the agent's machine. */
  load1: z.number().nonnegative(),
  /**
   * Where memory and CPU come from: `os`, the agent's machine (the engine is on it); `engine`,
   * `docker info` of a remote engine (MemTotal, NCPU), whose free memory and load are not known
   * here: available is then the total less what running containers are allowed, and load 0.
   */
  source: z.enum(["os", "engine"]).optional(),
  allocatedMemoryBytes: z.number().int().nonnegative(),
  allocatedCpus: z.number().nonnegative(),
  /** The filesystem of the engine's data root (or the agent's DATA_DIR when that is unknown). */
  disk: z.object({
    path: z.string(),
    totalBytes: z.number().int().nonnegative(),
    freeBytes: z.number().int().nonnegative(),
    usedBytes: z.number().int().nonnegative(),
    /** MIN_FREE_DISK_GB in bytes: below it creates and setups answer 507 insufficient_storage. */
    minFreeBytes: z.number().int().nonnegative(),
    low: z.boolean(),
  }),
  containers: z.object({ running: z.number().int(), stopped: z.number().int(), total: z.number().int() }),
  images: z.number().int().nonnegative(),
  volumes: z.number().int().nonnegative(),
});
export type HostCapacity = z.infer<typeof HostCapacity>;

// ---------------------------------------------------------------------------------------------
// Health
// ---------------------------------------------------------------------------------------------

export const HealthResponse = z.object({
  status: z.enum(["ok", "degraded"]),
  containerCount: z.number().int(),
  /** Seconds since the agent started. */
  uptime: z.number(),
  docker: z.object({
    reachable: z.boolean(),
    version: z.string().optional(),
    apiVersion: z.string().optional(),
    error: z.string().optional(),
  }),
  /** The isolation in force on this host. */
  isolation: z
    .object({
      /** False when every container shares CONTAINER_NETWORK. */
      enabled: z.boolean(),
      runtime: z.string(),
      egressAllowlist: z.array(z.string()),
      egressDenylist: z.array(z.string()),
      /** Requests the egress proxy refused since the agent started. */
      egressDenied: z.number().int(),
    })
    .optional(),
  /**
   * Why `status` is `degraded` when Docker answers: "disk below MIN_FREE_DISK_GB", … Empty or
   * absent when ok.
   */
  problems: z.array(z.string()).optional(),
  /** The images pulled in the background at start-up, and how far each is. */
  images: z.array(ImagePull).optional(),
  maintenance: MaintenanceStatus.optional(),
  /** Absent while Docker does not answer. */
  capacity: HostCapacity.optional(),
});
export type HealthResponse = z.infer<typeof HealthResponse>;

// ---------------------------------------------------------------------------------------------
// Logs (SSE) and terminal (WebSocket)
// ---------------------------------------------------------------------------------------------

/** `data:` of each SSE event; the event's `id:` is an opaque cursor for `Last-Event-ID`. */
export const LogEvent = z.object({
  line: z.string(),
  /** Milliseconds since the epoch, from Docker's own timestamp of the line. */
  timestamp: z.number(),
  stream: z.enum(["stdout", "stderr"]),
});
export type LogEvent = z.infer<typeof LogEvent>;

export const LogsQuery = z.object({
  token: z.string().optional(),
  /** Lines of history to send first when not resuming. */
  tail: z.coerce.number().int().min(0).max(10_000).default(1000),
  /** Same as the Last-Event-ID header, for clients that cannot set headers. */
  lastEventId: z.string().max(128).optional(),
  /** `false`: the history only, then `event: end` (the CLI's `logs` without `--follow`). */
  follow: z.stringbool().default(true),
});

export const TerminalQuery = z.object({
  token: z.string().optional(),
  cols: z.coerce.number().int().min(1).max(1000).default(80),
  rows: z.coerce.number().int().min(1).max(1000).default(24),
});

/** Text frames a terminal client sends; the agent answers with binary frames of TTY output. */
export const TerminalClientMessage = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("input"), data: z.string().max(65536) }),
  z.strictObject({
    type: z.literal("resize"),
    cols: z.number().int().min(1).max(1000),
    rows: z.number().int().min(1).max(1000),
  }),
]);
export type TerminalClientMessage = z.infer<typeof TerminalClientMessage>;

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

export const ERROR_CODES = [
  "invalid_request",
  "payload_too_large",
  "unauthorized",
  "policy_violation",
  "not_found",
  "container_not_found",
  "conflict",
  /**
   * A redeploy would overwrite local changes, or cannot tell (a rewritten branch): 409, the files
   * named in `issues` when known; `force` proceeds. A plain `conflict` is another operation under way.
   */
  "uncommitted_changes",
  /**
   * A start of a container that is already running: 409. Not `conflict` (busy, ask again later):
   * asking again changes nothing; a restart is what brings its dev server back.
   */
  "already_running",
  /**
   * A stop with `unlessUsedAfter` of a container used after that time: 409, nothing stopped.
   * Not `conflict` (busy: ask again shortly): it is in use, so asking again is the next idle
   * check's; and not a 200, so no caller can read a stop that did not happen as done.
   */
  "in_use",
  "image_not_found",
  "port_range_exhausted",
  "network_pool_exhausted",
  /**
   * The host's free disk is below MIN_FREE_DISK_GB: 507. Creates and setups are refused until a
   * prune (`npx artie-host prune`) or more disk frees room; the message says how much is free.
   */
  "insufficient_storage",
  "docker_unavailable",
  "internal",
] as const;
export const ErrorCode = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** The one error envelope every non-2xx answer carries. */
export const ErrorResponse = z.object({
  error: z.object({
    code: ErrorCode,
    message: z.string(),
    requestId: z.string(),
    /**
     * Field-level problems for `invalid_request`; for `uncommitted_changes`, one per file the
     * redeploy would overwrite (`path` the file under /app, `message` what changed locally).
     */
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});
export type ErrorResponse = z.infer<typeof ErrorResponse>;
