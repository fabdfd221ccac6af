/**
 * The actions that call the host agent, through a client typed by the agent's own contract:
 * every response is parsed with the contract's schema, never cast. Configuration comes from the
 * deployment's environment (DOCKER_HOST_URL, DOCKER_API_SECRET, DOCKER_CALLBACK_SECRET); when it
 * is missing or the agent is down, the record gets an error that says so.
 *
 * A setup carries the repo's settings, its variables opened here and only here, and a GitHub
 * token minted for this one setup when the repo's GitHub App installation is linked to the
 * repo's team. Neither the token nor an opened value is stored, scheduled, logged or put in an
 * error message: they live in this action's memory and the one request to the agent.
 */
import { v, type Infer } from "convex/values";
import type { z } from "zod";
import { AgentClient, AgentError } from "@artie/host-agent/client";
import {
  CreateContainerResponse,
  ContainerDetails,
  ListContainersResponse,
  RemoveContainerResponse,
  SetupAccepted,
  type CreateContainerRequest,
  type RedeployRequest,
  type SetupRequest,
  type StartContainerRequest,
  type StopContainerRequest,
} from "@artie/host-agent/contract";
import { api, internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { internalAction, type ActionCtx } from "./_generated/server";
import { readAgentEnv } from "./agentEnv";
import { hostHealth } from "./hostHealth";
import { decryptSecret, readSettingsKey } from "./crypto";
import { linkCovers, type Link } from "./github";
import { findRepoInstallation, GitHubAppError, missingGitHubAppSettings, mintRepoToken } from "./githubApp";
import { agentSetupFields, type Decrypt } from "./settingsView";
import {
  AGENT_REQUEST_TIMEOUT_MS,
  AGENT_RESPONSE_MAX_BYTES,
  HEALTH_TIMEOUT_MS,
  ORPHAN_GRACE_MS,
  RECONCILE_LISTED_BATCH,
  SCRUB_MIN_SECRET_LENGTH,
} from "./limits";
import { agentActivityMs } from "./activity";
import { requireHostAdminInAction, userAction } from "./access";

/**
 * One request to the agent through its one client (@artie/host-agent/client): read bounded, no
 * redirect followed, parsed with the contract's schema; an error answer is an AgentError with
 * the contract's code and, for some codes, the files or fields.
 */
function call<S extends z.ZodType>(method: string, path: string, schema: S, body?: unknown): Promise<z.output<S>> {
  const env = readAgentEnv();
  const agent = new AgentClient({
    url: env.url,
    secret: env.apiSecret,
    timeoutMs: AGENT_REQUEST_TIMEOUT_MS,
    maxResponseBytes: AGENT_RESPONSE_MAX_BYTES,
  });
  return agent.call(method, path, schema, body);
}

/** Creates the record's container on the host (its agent id makes a retry idempotent). */
async function createOnHost(ctx: ActionCtx, containerId: Id<"containers">, req: CreateContainerRequest) {
  const created = await call("POST", "/api/containers", CreateContainerResponse, req);
  await ctx.runMutation(internal.hostReports.markCreated, { containerId, hostPort: created.hostPort });
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The agent answered "no such container": the host does not have it (any more). */
const isGone = (err: unknown) => err instanceof AgentError && err.code === "container_not_found";

export const createPooled = internalAction({
  args: { containerId: v.id("containers") },
  handler: async (ctx, { containerId }) => {
    const record = await ctx.runQuery(internal.hostReports.get, { containerId });
    if (!record || record.container.status !== "creating") return;
    try {
      const { agentId } = record.container;
      await createOnHost(ctx, containerId, {
        id: agentId,
        name: `pool-${agentId}`,
        pool: true,
        ports: record.containerPorts,
      });
    } catch (err) {
      await ctx.runMutation(internal.hostReports.markFailed, { containerId, error: message(err) });
    }
  },
});

/** Opens sealed values with the deployment's key, read only when there is something to open. */
function decrypter(): Decrypt {
  let key: Promise<CryptoKey> | undefined;
  return async (box, aad) => decryptSecret(await (key ??= readSettingsKey()), box, aad);
}

/** What minting needs: the App's id and key (the others are for linking and install links). */
const MINT_SETTINGS = ["GITHUB_APP_ID", "GITHUB_APP_PRIVATE_KEY"] as const;

/**
 * The GitHub token for one setup of `repo`, minted for this repo alone with contents: read, only
 * when the repo's installation is linked to the repo's team and the repo is on the link's list
 * (the repos GitHub listed for the admin who linked it). Otherwise none, and the setup clones
 * anonymously: App not configured for minting, not installed, GitHub unreachable, installed for
 * another team or for no team yet, or a repo of the installation the linking admin could not read
 * (an organisation's public repos must work for every team; a private one fails at the agent,
 * whose own check refuses a tokenless setup the remote refuses, with a message that says to
 * install the App and link it; the settings page says the same before anyone asks).
 */
async function repoToken(ctx: ActionCtx, repo: Doc<"repos">): Promise<string | undefined> {
  const missing = missingGitHubAppSettings();
  if (MINT_SETTINGS.some((name) => missing.includes(name))) return undefined;
  let found;
  try {
    found = await findRepoInstallation(repo.owner, repo.name);
  } catch (err) {
    // GitHub down: no token is the safe answer (a public repo still works; a private one gets the
    // agent's "private repo" error). Credentials GitHub refuses still fail the setup, loudly.
    if (err instanceof GitHubAppError && err.code === "unreachable") return undefined;
    throw err;
  }
  if (!found) return undefined;
  const link: Link = await ctx.runQuery(internal.github.linkOf, { installationId: found.installationId });
  if (!linkCovers(link, repo.teamId, repo.owner, repo.name)) return undefined;
  return (await mintRepoToken(found.installationId, repo.name)).token;
}

/**
 * `message` with every secret of this setup masked, in case anything ever echoed one. Values
 * shorter than SCRUB_MIN_SECRET_LENGTH ("1", "true") are left: masking them would mangle every
 * message, and tokens are far longer.
 */
function scrub(message: string, secrets: string[]): string {
  return secrets
    .filter((s) => s.length >= SCRUB_MIN_SECRET_LENGTH)
    .reduce((m, s) => m.split(s).join("[redacted]"), message);
}

/** A repo's stored settings as hostReports.get answers them (typed here: through `internal` it would be circular). */
type StoredSettings = Parameters<typeof agentSetupFields>[0];

/**
 * What every request that runs the repo's code sends (setup, start, restart, redeploy): where to
 * report, and the repo's run settings with its variables opened here (the agent keeps none).
 * Each opened value goes into `secrets`, so an error message that echoed one is scrubbed.
 */
async function runSettings(settings: StoredSettings, secrets: string[]) {
  const env = readAgentEnv();
  const fields = await agentSetupFields(settings, decrypter());
  secrets.push(...Object.values(fields.envVars));
  const run: StartContainerRequest & { installCommand?: string[] } = {
    callbackUrl: `${env.siteUrl}/docker-status`,
    callbackSecret: env.callbackSecret,
    envVars: fields.envVars,
    devCommand: fields.devCommand,
  };
  return { fields, run: { ...run, installCommand: fields.installCommand } };
}

export const setupEnvironment = internalAction({
  args: { containerId: v.id("containers") },
  handler: async (ctx, { containerId }) => {
    const record = await ctx.runQuery(internal.hostReports.get, { containerId });
    if (!record?.repo || !record.container.branch) return;
    const { container, repo, settings } = record;
    const secrets: string[] = [];
    try {
      const { fields, run } = await runSettings(settings, secrets);
      const githubToken = await repoToken(ctx, repo);
      if (githubToken) secrets.push(githubToken);
      if (container.status === "creating") {
        await createOnHost(ctx, containerId, {
          id: container.agentId,
          name: `${repo.owner}-${repo.name}`,
          image: fields.image,
          ports: fields.ports ?? record.containerPorts,
          limits: fields.limits,
        });
      }
      const version = settings?.version ?? 0;
      if (version !== (container.settingsVersion ?? 0)) {
        await ctx.runMutation(internal.hostReports.noteSettingsVersion, { containerId, settingsVersion: version });
      }
      const setup: SetupRequest = {
        repo: `${repo.owner}/${repo.name}`,
        branch: container.branch!,
        tenant: repo.teamId,
        ...run,
        hasMainImage: repo.mainImage !== undefined,
        // Every setup of the default branch: the agent decides whether its main image is current.
        buildMainImage: container.branch === repo.defaultBranch,
        githubToken,
        image: fields.image,
      };
      await call("POST", `/api/containers/${container.agentId}/setup`, SetupAccepted, setup);
    } catch (err) {
      await ctx.runMutation(internal.hostReports.markFailed, { containerId, error: scrub(message(err), secrets) });
    }
  },
});

export const destroy = internalAction({
  args: { containerId: v.id("containers"), attempt: v.optional(v.number()) },
  handler: async (ctx, { containerId, attempt }) => {
    const record = await ctx.runQuery(internal.hostReports.get, { containerId });
    if (!record) return;
    try {
      await call("DELETE", `/api/containers/${record.container.agentId}`, RemoveContainerResponse);
    } catch (err) {
      if (isBusy(err)) {
        // Still being set up (or the like) there: the container runs on; ask again later.
        const retry = { containerId, attempt: attempt ?? 1, error: message(err) };
        await ctx.runMutation(internal.hostReports.markDestroyBusy, retry);
        return;
      }
      if (!isGone(err)) {
        await ctx.runMutation(internal.hostReports.markFailed, { containerId, error: message(err) });
        return;
      }
    }
    await ctx.runMutation(internal.hostReports.markDestroyed, { containerId });
  },
});

/**
 * The body of a start and of a restart that brings the dev server back: exactly the contract's
 * StartContainerRequest (the agent refuses unknown fields), the install command left out.
 */
async function startBody(settings: StoredSettings, secrets: string[]): Promise<StartContainerRequest> {
  const { callbackUrl, callbackSecret, envVars, devCommand } = (await runSettings(settings, secrets)).run;
  return { callbackUrl, callbackSecret, envVars, devCommand };
}

/** The agent refused because another operation on the container is under way: ask again later. */
const isBusy = (err: unknown) => err instanceof AgentError && err.code === "conflict";
/** A stop with `unlessUsedAfter` found the container used since: it runs on. */
const isInUse = (err: unknown) => err instanceof AgentError && err.code === "in_use";
/** A start found the container running already (the record said stopped: a start that got there). */
const isAlreadyRunning = (err: unknown) => err instanceof AgentError && err.code === "already_running";

/** Where a refused start or restart puts the record back: where it was when it was asked. */
const backTo = v.union(v.literal("ready"), v.literal("error"), v.literal("stopped"));

/**
 * Starts (`POST /api/containers/:id/start`, a stopped container) or restarts (`.../restart`) the
 * container with the start body, so the agent brings the dev server back with the same command
 * and variables and reports `starting`, then `ready`, by callback (containers.start/restart
 * moved the record to `starting`). A 409 `conflict` (another operation under way there) puts the
 * record back where it was, with the reason on the timeline: refused, not failed. A start the
 * agent answers `already_running` becomes a restart.
 */
async function relaunchOnHost(
  ctx: ActionCtx,
  containerId: Id<"containers">,
  how: "start" | "restart",
  back: "ready" | "error" | "stopped",
) {
  const record = await ctx.runQuery(internal.hostReports.get, { containerId });
  if (!record || record.container.status !== "starting") return;
  const secrets: string[] = [];
  try {
    const body = await startBody(record.settings, secrets);
    const relaunch = (what: "start" | "restart") =>
      call("POST", `/api/containers/${record.container.agentId}/${what}`, ContainerDetails, body);
    let ran = how;
    try {
      await relaunch(how);
    } catch (err) {
      // Running already: whether its dev server runs is not known here, so not marked ready on
      // trust; a restart brings the dev server back and reports starting, then ready, as a start would.
      if (how !== "start" || !isAlreadyRunning(err)) throw err;
      ran = "restart";
      await relaunch(ran);
    }
    if (ran === "restart") await ctx.runMutation(internal.hostReports.markRestarted, { containerId });
    else await ctx.runMutation(internal.hostReports.markStarted, { containerId });
  } catch (err) {
    const error = scrub(message(err), secrets);
    if (isGone(err)) await ctx.runMutation(internal.hostReports.markGone, { containerId });
    else if (isBusy(err))
      await ctx.runMutation(internal.hostReports.markRefused, { containerId, back, error, what: how });
    else await ctx.runMutation(internal.hostReports.markFailed, { containerId, error });
  }
}

export const restart = internalAction({
  args: { containerId: v.id("containers"), back: v.optional(backTo) },
  handler: (ctx, { containerId, back }) => relaunchOnHost(ctx, containerId, "restart", back ?? "ready"),
});

export const start = internalAction({
  args: { containerId: v.id("containers") },
  handler: (ctx, { containerId }) => relaunchOnHost(ctx, containerId, "start", "stopped"),
});

/**
 * Stops the container (`POST /api/containers/:id/stop`) of a ready or failed record (anything
 * else moved on since it was asked): the record becomes `stopped`. One the host no longer has is
 * destroyed; an agent that cannot stop it (or is busy with another operation on it) leaves the
 * record as it was, with the reason on the timeline (the reaper asks again on its next run).
 * The reaper's stop (`unlessUsedAfter`) asks the container's details first and leaves one the
 * agent saw used since then running, its use taken into the record. Use after that look is
 * caught by the agent: the stop carries `unlessUsedAfter`, and the agent, holding the
 * container's operation lock, answers `409 in_use` instead of stopping one used since; the
 * record then stays as it is, that use taken in as now (it happened between the look and the
 * answer, moments apart).
 */
export const stop = internalAction({
  args: { containerId: v.id("containers"), unlessUsedAfter: v.optional(v.number()) },
  handler: async (ctx, { containerId, unlessUsedAfter }) => {
    const record = await ctx.runQuery(internal.hostReports.get, { containerId });
    if (!record || (record.container.status !== "ready" && record.container.status !== "error")) return;
    try {
      if (unlessUsedAfter !== undefined) {
        // The reaper's stop: an environment used on the host since the idle deadline is kept.
        const details = await call("GET", `/api/containers/${record.container.agentId}`, ContainerDetails);
        const usedAt = agentActivityMs(details.lastActivityAt);
        if (usedAt !== undefined && usedAt > unlessUsedAfter) {
          await ctx.runMutation(internal.hostReports.noteInUse, { containerId, usedAt });
          return;
        }
      }
      // A person's stop has no body: it stops whatever the use.
      const body: StopContainerRequest | undefined = unlessUsedAfter === undefined ? undefined : { unlessUsedAfter };
      await call("POST", `/api/containers/${record.container.agentId}/stop`, ContainerDetails, body);
      await ctx.runMutation(internal.hostReports.markStopped, { containerId });
    } catch (err) {
      if (isInUse(err)) await ctx.runMutation(internal.hostReports.noteInUse, { containerId, usedAt: Date.now() });
      else if (isGone(err)) await ctx.runMutation(internal.hostReports.markGone, { containerId });
      else await ctx.runMutation(internal.hostReports.noteStopFailed, { containerId, error: message(err) });
    }
  },
});

/**
 * Brings the branch's new commits into a ready environment (`POST /api/containers/:id/redeploy`,
 * with the repo's run settings and a token minted for this one request): the agent answers at
 * once, then reports `cloning` ... `ready` by callback, as a setup. A refusal (local changes the
 * update would overwrite, named file by file, or anything else that stopped it before it began)
 * leaves the record as it was, with the reason on it for the dashboard to offer `force`.
 */
export const redeploy = internalAction({
  args: { containerId: v.id("containers"), force: v.boolean() },
  handler: async (ctx, { containerId, force }) => {
    const record = await ctx.runQuery(internal.hostReports.get, { containerId });
    if (!record?.repo || !record.container.branch || record.container.status !== "ready") return;
    const { repo } = record;
    const secrets: string[] = [];
    try {
      const { run } = await runSettings(record.settings, secrets);
      const githubToken = await repoToken(ctx, repo);
      if (githubToken) secrets.push(githubToken);
      const body: RedeployRequest = {
        repo: `${repo.owner}/${repo.name}`,
        branch: record.container.branch,
        githubToken,
        ...run,
        force,
      };
      await call("POST", `/api/containers/${record.container.agentId}/redeploy`, ContainerDetails, body);
      await ctx.runMutation(internal.hostReports.markRedeployAccepted, { containerId, force });
    } catch (err) {
      if (isGone(err)) {
        await ctx.runMutation(internal.hostReports.markGone, { containerId });
        return;
      }
      const error = scrub(message(err), secrets);
      // Only a refusal force can override is kept for the dashboard; busy, or an agent that
      // could not be asked, is a line on the timeline (ask again).
      if (err instanceof AgentError && err.code === "uncommitted_changes") {
        const files = err.issues.map((i) => i.path);
        await ctx.runMutation(internal.hostReports.noteRedeployRefused, { containerId, message: error, files });
      } else {
        const note = isBusy(err) ? `redeploy refused, try again: ${error}` : `redeploy failed to begin: ${error}`;
        await ctx.runMutation(internal.hostReports.noteOnTimeline, { containerId, message: note });
      }
    }
  },
});

/**
 * Compares the agent's containers with the records, every one of both, a bounded batch per
 * transaction: each listed container's activity is taken into its record and the ids no record
 * knows are named (RECONCILE_LISTED_BATCH at a time), then the records are walked for containers
 * that vanished (maintenance.reconcileWithHost, which continues itself). Containers no record
 * knows are removed from the host once older than ORPHAN_GRACE_MS (a create in flight has a
 * record before the agent hears of it, so young ones are left alone).
 */
export const reconcile = internalAction({
  args: {},
  handler: async (ctx) => {
    // Taken before asking: a record that changes after this is not judged by this list.
    const listedAt = Date.now();
    const { containers } = await call("GET", "/api/containers", ListContainersResponse);
    const orphans = new Set<string>();
    for (let i = 0; i < containers.length; i += RECONCILE_LISTED_BATCH) {
      const batch = containers.slice(i, i + RECONCILE_LISTED_BATCH).map((c) => {
        const lastActivityAt = agentActivityMs(c.lastActivityAt);
        return { agentId: c.id, health: c.health, ...(lastActivityAt === undefined ? {} : { lastActivityAt }) };
      });
      for (const id of await ctx.runMutation(internal.maintenance.noteListed, { containers: batch })) orphans.add(id);
    }
    await ctx.runMutation(internal.maintenance.reconcileWithHost, { agentIds: containers.map((c) => c.id), listedAt });
    const cutoff = Date.now() - ORPHAN_GRACE_MS;
    for (const c of containers.filter((c) => orphans.has(c.id) && Date.parse(c.createdAt) < cutoff)) {
      await call("DELETE", `/api/containers/${c.id}`, RemoveContainerResponse).catch(() => undefined);
    }
  },
});

/** The host's capacity as /health reports it (the contract's HostCapacity), for the host card. */
const capacityValidator = v.object({
  memoryTotalBytes: v.number(),
  memoryAvailableBytes: v.number(),
  cpus: v.number(),
  load1: v.number(),
  source: v.optional(v.union(v.literal("os"), v.literal("engine"))),
  allocatedMemoryBytes: v.number(),
  allocatedCpus: v.number(),
  disk: v.object({
    path: v.string(),
    totalBytes: v.number(),
    freeBytes: v.number(),
    usedBytes: v.number(),
    minFreeBytes: v.number(),
    low: v.boolean(),
  }),
  containers: v.object({ running: v.number(), stopped: v.number(), total: v.number() }),
  images: v.number(),
  volumes: v.number(),
});

const healthValidator = v.union(
  v.object({
    reachable: v.literal(true),
    status: v.union(v.literal("ok"), v.literal("degraded")),
    containerCount: v.number(),
    uptime: v.number(),
    docker: v.object({
      reachable: v.boolean(),
      version: v.optional(v.string()),
      apiVersion: v.optional(v.string()),
      error: v.optional(v.string()),
    }),
    isolation: v.optional(
      v.object({
        enabled: v.boolean(),
        runtime: v.string(),
        egressAllowlist: v.array(v.string()),
        egressDenylist: v.array(v.string()),
        egressDenied: v.number(),
      }),
    ),
    /** Why it is degraded while Docker answers (low disk, …). */
    problems: v.array(v.string()),
    capacity: v.optional(capacityValidator),
    /** The images pulled at start-up that are not there yet (pending, pulling or failed). */
    pulls: v.array(v.object({ image: v.string(), state: v.string(), error: v.optional(v.string()) })),
    /** The last maintenance sweep, in short. */
    lastPrune: v.optional(v.object({ finishedAt: v.string(), removed: v.number(), bytesFreed: v.number() })),
  }),
  v.object({ reachable: v.literal(false), error: v.string() }),
);

/**
 * The host's health for the dashboard, from the agent's `/health` (no secret needed there).
 * An agent that is down or misconfigured is an answer (`reachable: false` with the reason), not
 * an exception, so the pool page can show it. Host admins only: it names the host's allowlist.
 */
export const health = userAction({
  args: {},
  returns: healthValidator,
  handler: async (ctx) => {
    await requireHostAdminInAction(ctx);
    let url: string;
    try {
      url = readAgentEnv().url;
    } catch (err) {
      return { reachable: false as const, error: message(err) };
    }
    try {
      // /health answers 503 with the same body when Docker is down: the client reads it either way.
      const agent = new AgentClient({ url, timeoutMs: HEALTH_TIMEOUT_MS, maxResponseBytes: AGENT_RESPONSE_MAX_BYTES });
      return hostHealth(await agent.health());
    } catch (err) {
      return { reachable: false as const, error: message(err) };
    }
  },
});

const isolationValidator = v.union(
  v.object({
    available: v.literal(true),
    network: v.union(v.null(), v.object({ name: v.string(), subnet: v.string(), gateway: v.string() })),
    runtime: v.string(),
    egressAllowlist: v.array(v.string()),
    egress: v.union(
      v.null(),
      v.object({
        allowed: v.number(),
        denied: v.number(),
        recentDenials: v.array(v.object({ host: v.string(), reason: v.string(), at: v.string() })),
      }),
    ),
  }),
  v.object({ available: v.literal(false), error: v.string() }),
);

/**
 * How an environment of one of the user's teams is isolated, as its agent reports it: its network, runtime
 * and the egress proxy's counts and recent refusals. Live data from the host, so an action; an
 * unreachable agent is an answer, not an exception.
 */
export const isolation = userAction({
  args: { containerId: v.string() },
  returns: isolationValidator,
  handler: async (ctx, { containerId }): Promise<Infer<typeof isolationValidator>> => {
    // The membership check is containers.detail's: another team's or an unknown id is null.
    // Typed by hand: inferring it through `api` would make this module's types circular.
    const record: Doc<"containers"> | null = await ctx.runQuery(api.containers.detail, { containerId });
    if (!record) return { available: false as const, error: "No such environment" };
    try {
      const d: z.output<typeof ContainerDetails> = await call(
        "GET",
        `/api/containers/${record.agentId}`,
        ContainerDetails,
      );
      if (!d.isolation) return { available: false as const, error: "The agent does not report isolation" };
      return { available: true as const, ...d.isolation };
    } catch (err) {
      return { available: false as const, error: message(err) };
    }
  },
});
