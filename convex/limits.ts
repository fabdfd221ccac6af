/** Every limit and timeout of the control plane, named once. */

/** Pool defaults, and the bounds an edit of the pool config must stay within. */
export const POOL_DEFAULTS = {
  targetSize: 3,
  minSize: 1,
  maxCreating: 2,
  containerPorts: [3000],
  idleLimitMinutes: 120,
  stoppedLimitMinutes: 24 * 60,
};
export const POOL_BOUNDS = { targetSize: { min: 0, max: 50 }, maxCreating: { min: 1, max: 10 }, ports: { max: 4 } };

/** How long the dashboard's host-health check waits for the agent's /health. */
export const HEALTH_TIMEOUT_MS = 5_000;
/** How long any other agent call may take (a create waits for Docker), and how much it may say. */
export const AGENT_REQUEST_TIMEOUT_MS = 2 * 60_000;
export const AGENT_RESPONSE_MAX_BYTES = 4 * 1024 * 1024;
/** Environments in use are counted up to this many per status for the pool page. */
export const IN_USE_COUNT_CAP = 500;

/** Events kept per container for the dashboard's timeline; older ones are deleted. */
export const EVENTS_PER_CONTAINER = 50;

/** A callback whose timestamp is further than this from now is refused (Standard Webhooks). */
export const WEBHOOK_TOLERANCE_MS = 5 * 60 * 1000;
/** How long seen webhook ids are remembered; longer than the tolerance, so replays are caught. */
export const SEEN_WEBHOOK_RETENTION_MS = 2 * WEBHOOK_TOLERANCE_MS;

/** Lifetime of a browser's logs/terminal token; EventSource and WebSocket reconnects mint anew. */
export const STREAM_TOKEN_TTL_MS = 5 * 60_000;

/** A step that has not reported back within this long is failed by the watchdog. */
export const WATCHDOG_MS: Partial<
  Record<"creating" | "assigned" | "cloning" | "installing" | "starting" | "destroying", number>
> = {
  creating: 2 * 60_000,
  assigned: 2 * 60_000,
  cloning: 10 * 60_000,
  installing: 20 * 60_000,
  starting: 5 * 60_000,
  destroying: 2 * 60_000,
};

/**
 * A destroy the agent refuses as busy (409 `conflict`: it waited DELETE's own minute for an
 * operation under way, a long setup) is asked again after a delay doubling from `baseMs` up to
 * `maxMs`, at most `attempts` times (about 25 min in all, past the longest setup's deadlines);
 * after that the destroying watchdog gives up as before.
 */
export const DESTROY_RETRY = { baseMs: 30_000, maxMs: 5 * 60_000, attempts: 8 };

/**
 * Environments idle (no use) longer than the pool config's idleLimitMinutes (or their repo
 * settings') are stopped by the reaper; pooled ones are exempt. Default and bounds of that setting:
 */
export const IDLE_LIMIT_MINUTES = { default: 120, min: 5, max: 7 * 24 * 60 };
/**
 * A stopped environment unused for the pool config's stoppedLimitMinutes more is destroyed (its
 * workspace with it). The second limit is at least the first: stopping is the gentle step.
 */
export const STOPPED_LIMIT_MINUTES = { default: 24 * 60, min: 5, max: 30 * 24 * 60 };
/** A container on the host that no record knows is removed only after this grace period. */
export const ORPHAN_GRACE_MS = 10 * 60_000;
/**
 * The host asks for a restart with the repo's settings when the engine started a container again
 * and the agent no longer holds its variables (reason `needs-relaunch`, callbacks.ts): at most
 * once per this many minutes per environment, so an engine or agent restarting in a loop cannot
 * turn into a loop of restarts (each one opens the repo's secrets and runs its dev server). Past
 * it the record stays in error with the reason on its timeline; Restart on the dashboard works.
 */
export const HOST_RELAUNCH_MIN_INTERVAL_MINUTES = 10;
/**
 * Container records one cron transaction reads (reaper, reconcile); a walk continues with a
 * cursor in a rescheduled run until every record was seen.
 */
export const CRON_BATCH = 100;
/** Expired rows (webhook ids, invitations, install-link states) deleted per cleanup transaction. */
export const CLEANUP_BATCH = 1000;
/** Listed host containers one reconcile transaction looks up (activity, orphans). */
export const RECONCILE_LISTED_BATCH = 200;

/**
 * Bounds of a repo's settings (convex/settingsRules.ts). The limits' maximums are the agent's
 * own defaults (host-agent/src/config.ts CONTAINER_MEMORY_MB, CONTAINER_CPUS,
 * CONTAINER_PIDS_LIMIT): a create may ask for less than the agent allows, never more; the
 * minimums are the contract's (ResourceLimits). Ports below 1024 need root in the container.
 * Variable values are capped per value and in total so a settings document stays well under
 * Convex's 1 MiB per document once sealed (base64 grows them by a third).
 */
export const SETTINGS_BOUNDS = {
  ports: { min: 1024, max: 65535, count: 4 },
  limits: {
    memoryMb: { min: 16, max: 2048 },
    cpus: { min: 0.05, max: 1.5 },
    pidsLimit: { min: 16, max: 512 },
  },
  /** One-line commands: characters per line and words per argv (the contract's devCommand max). */
  command: { maxChars: 4096, maxWords: 64 },
  envVars: { count: 50, valueBytes: 64 * 1024, totalBytes: 512 * 1024 },
};

/** Every GitHub call (API and OAuth) may take this long, and say this much. */
export const GITHUB_REQUEST_TIMEOUT_MS = 15_000;
export const GITHUB_RESPONSE_MAX_BYTES = 1024 * 1024;
/** App JWT: backdated for clock drift, and valid for less than GitHub's 10-minute maximum. */
export const GITHUB_APP_JWT_BACKDATE_S = 60;
export const GITHUB_APP_JWT_TTL_S = 9 * 60;
/** GET /user/installations is paged 100 at a time, at most this many pages (1,000 installations). */
export const GITHUB_USER_INSTALLATIONS_PER_PAGE = 100;
export const GITHUB_USER_INSTALLATIONS_MAX_PAGES = 10;
/** An install-link `state` (the App's setup redirect) is single use and expires after this long. */
export const INSTALL_LINK_STATE_TTL_MS = 15 * 60_000;

/** An invitation link works once, for this long after it was made. */
export const INVITATION_TTL_MS = 7 * 24 * 60 * 60_000;
/** Pending invitations a team may have at once (and how many the list shows). */
export const MAX_PENDING_INVITATIONS = 100;
/** Bytes of randomness in an invitation token (hex in the link). */
export const INVITATION_TOKEN_BYTES = 32;
/** Teams one user may belong to (teams.mine reads at most this many). */
export const MAX_TEAMS_PER_USER = 50;
/** Members of one team (the members list reads at most this many). */
export const MAX_MEMBERS_PER_TEAM = 200;
/** Longest team name. */
export const TEAM_NAME_MAX = 64;
/** Team repos the repos list shows. */
export const REPOS_PER_TEAM = 200;
/** Team environments the environments list shows, newest first. */
export const ENVIRONMENTS_LISTED = 100;

/**
 * Live environments (creating through ready, and failed ones not yet destroyed) one user may
 * have at once, across teams, unless the deployment sets MAX_ENVIRONMENTS_PER_USER.
 */
export const MAX_ENVIRONMENTS_PER_USER_DEFAULT = 5;
/**
 * Environment requests per user: a token bucket of REQUEST_RATE.capacity requests, refilled at
 * REQUEST_RATE.rate per REQUEST_RATE.period ms, so a script cannot empty the pool for everyone.
 */
export const REQUEST_RATE = { kind: "token bucket", rate: 10, period: 60_000, capacity: 5 } as const;

/** GitHub App installations one team may link (and the installations list shows). */
export const INSTALLATIONS_PER_TEAM = 100;

/** Expired and accepted invitations are kept this long (they answer "expired"/"used"), then deleted. */
export const INVITATION_RETENTION_MS = 30 * 24 * 60 * 60_000;

/**
 * Repositories stored on one installation link: what GET /user/installations/{id}/repositories
 * listed for the linking admin, read 100 a page, at most this many (10 pages); the rest are not
 * linked, so the team gets no token for them.
 */
export const LINKED_REPOS_MAX = 1000;
export const GITHUB_INSTALLATION_REPOS_PER_PAGE = 100;
/**
 * github.installState per user: each call signs a JWT, asks GitHub and may store an install-link
 * state, and the settings page calls it on every focus. A token bucket of `capacity` calls,
 * refilled at `rate` per `period` ms.
 */
export const INSTALL_STATE_RATE = { kind: "token bucket", rate: 30, period: 60_000, capacity: 20 } as const;
/**
 * An error message from a setup has this setup's secrets masked (hostAgent.ts `scrub`); shorter
 * values ("1", "true") are not masked: they would turn every digit or word into [redacted], and
 * GitHub tokens and real secrets are far longer.
 */
export const SCRUB_MIN_SECRET_LENGTH = 8;

/** Files of a refused redeploy kept on the record (the agent's message names the first ones too). */
export const REDEPLOY_REFUSED_FILES_KEPT = 100;
