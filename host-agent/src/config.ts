/**
 * The agent's configuration, read once from the environment and validated with zod, plus every
 * timeout and limit as a named constant. A missing or malformed variable stops the agent with one
 * message naming it. Docker's connection (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) is
 * parsed here as the docker CLI reads it (dockerEndpoint), and handed to dockerode explicitly
 * (docker/engine-connection.ts), so one agent process can be pointed at any engine (tests).
 */
import { isIP } from "node:net";
import { homedir, hostname, networkInterfaces } from "node:os";
import path from "node:path";
import { z } from "zod";
import { patternProblem } from "./lib/host-patterns.js";

/** Seconds Docker waits after SIGTERM before SIGKILL on restart. Dev servers need no more. */
export const STOP_TIMEOUT_SECONDS = 5;
/**
 * How many times the engine starts an environment container again after its main process ended
 * with a failure (docker/container-spec.ts's `on-failure` restart policy says why not
 * `unless-stopped`): enough for a crash or an engine restart now and then, few enough that a
 * container whose main process the OOM killer ends at every start stops looping (each start also
 * brings its dev server back and reports it). The engine counts from the container's last start
 * through its API (the agent's start or restart, a restart without a body included) and from
 * its own start of it after an engine restart; a long run in between does not reset it.
 */
export const CONTAINER_RESTART_MAX_RETRIES = 5;
/**
 * How long a delete waits for the operation under way on its container (a start, a stop, a
 * setup's last steps) before it answers 409; under the control plane's request timeout (2 min).
 */
export const DELETE_WAITS_FOR_OPERATION_MS = 60_000;
/** After a timed-out exec is killed, how long to wait for its stream to end before answering. */
export const EXEC_KILL_GRACE_MS = 3_000;
/** SSE comment sent this often so idle proxies keep the stream open. */
export const SSE_KEEPALIVE_MS = 15_000;
/**
 * Graceful shutdown (server.ts) on SIGTERM: open requests, SSE streams and WebSockets get this
 * long to finish after they were told to close, then their connections are cut; the whole close
 * is given up after SHUTDOWN_MAX_MS, under `docker stop`'s default 10 s before SIGKILL, so the
 * agent exits by itself and says so. Containers are never stopped by it.
 */
export const SHUTDOWN_DRAIN_MS = 3_000;
export const SHUTDOWN_MAX_MS = 8_000;
/** While draining, how often connections that went idle are closed. */
export const SHUTDOWN_IDLE_SWEEP_MS = 100;
/**
 * Finding the agent's own container (docker/self.ts): the most bytes of /proc/self/mountinfo or
 * cgroup read (a container has a few dozen mounts, a host with many more still fits), and how
 * long the one inspect of it may take.
 */
export const SELF_FILE_MAX_BYTES = 1024 * 1024;
export const SELF_INSPECT_TIMEOUT_MS = 10_000;
/** How long a log request without follow (the history only) waits for the engine to open the log. */
export const LOG_HISTORY_OPEN_TIMEOUT_MS = 10_000;
/**
 * The troubleshooting CLI (cli/), a client of this agent's API: how long it waits for an answer
 * (an exec's own timeout comes on top), how long for /health, a prune (a sweep removes images and
 * volumes one by one) and a confirmation typed at its prompt, and the most bytes one answer may
 * have (an exec's stdout and stderr at EXEC_OUTPUT_LIMIT_BYTES each, JSON-escaped, fit). A
 * followed log that stays silent for three keepalives is a dead connection.
 */
export const CLI_REQUEST_TIMEOUT_MS = 60_000;
export const CLI_HEALTH_TIMEOUT_MS = 5_000;
export const CLI_PRUNE_TIMEOUT_MS = 10 * 60_000;
export const CLI_EXEC_TIMEOUT_MARGIN_MS = 15_000;
export const CLI_CONFIRM_TIMEOUT_MS = 5 * 60_000;
export const CLI_RESPONSE_MAX_BYTES = 64 * 1024 * 1024;
export const CLI_LOG_IDLE_TIMEOUT_MS = 3 * SSE_KEEPALIVE_MS;
/** How often the agent retries reading its containers from Docker when the engine is down. */
export const RECONCILE_RETRY_MS = 2_000;
/** How long start-up waits for that first reconcile before serving anyway (health degraded). */
export const STARTUP_RECONCILE_WAIT_MS = 10_000;
/** Times a create retries with another host port when something outside the agent holds one. */
export const PORT_BIND_ATTEMPTS = 3;
/** Docker's json-file log rotation for every container: bounded disk per container. */
export const CONTAINER_LOG_MAX_SIZE = "10m";
export const CONTAINER_LOG_MAX_FILES = "3";
/**
 * Where the workspace lives inside every container: a named volume of its own per environment
 * (docker/labels.ts names it), so the checkout and uncommitted work survive restart, stop and
 * start. The dependency volume mounts below it.
 */
export const WORKSPACE_DIR = "/app";
export const NODE_MODULES_DIR = `${WORKSPACE_DIR}/node_modules`;
/**
 * Disk use of workspace volumes (containers/workspace-usage.ts), from the engine's `system df`,
 * which sizes every volume on the host and takes seconds: asked at most once per TTL, given up
 * after the timeout, and a container's details wait for a fresh answer at most WAIT.
 */
export const WORKSPACE_USAGE_TTL_MS = 60_000;
export const WORKSPACE_USAGE_TIMEOUT_MS = 30_000;
export const WORKSPACE_USAGE_WAIT_MS = 5_000;
/**
 * Handing a volume's root to the container user (containers/volume-owner.ts): the owner is read
 * from the first header of the engine's tar of that path (at most this many bytes, within the
 * timeout), and the one-shot chown helper, when one is needed, must be done within its own.
 */
export const VOLUME_OWNER_READ_MAX_BYTES = 64 * 1024;
export const VOLUME_OWNER_READ_TIMEOUT_MS = 10_000;
export const VOLUME_OWNER_HELPER_TIMEOUT_MS = 60_000;
/** The chown helper's own limits: it runs one chown of a few directories. */
export const VOLUME_OWNER_HELPER_MEMORY_MB = 32;
export const VOLUME_OWNER_HELPER_PIDS = 16;

/** Callback delivery: first retry after this, doubling (with jitter) up to the cap. */
export const CALLBACK_RETRY_BASE_MS = 500;
export const CALLBACK_RETRY_CAP_MS = 60_000;
/** A callback not delivered within this age is dropped (the control plane's watchdog takes over). */
export const CALLBACK_MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** One delivery attempt's HTTP timeout. */
export const CALLBACK_REQUEST_TIMEOUT_MS = 10_000;
/** How often `starting` asks the dev server's published port whether it answers. */
export const DEV_SERVER_POLL_MS = 25;
/**
 * While the dev server does not answer on its port, when `starting` first and then how often it
 * reads the container's socket table for where the server listens instead (dev-server.ts).
 */
export const DEV_SERVER_LISTENERS_FIRST_MS = 1_500;
export const DEV_SERVER_LISTENERS_EVERY_MS = 1_000;
/**
 * A dev server has this long to bind the port it was told (a flag or $PORT) before another port
 * it listens on is taken for its main one and forwarded to.
 */
export const DEV_SERVER_OTHER_PORT_AFTER_MS = 5_000;
/** One readiness probe's HTTP timeout. */
export const DEV_SERVER_PROBE_TIMEOUT_MS = 1_000;
/**
 * The dev server fallback (setup/listeners.ts, setup/in-container-forward.ts): finding where a dev
 * server listens from the container's socket table, and forwarding the environment's port to it.
 */
/** Most output one socket scan may print (listening lines of tcp and tcp6, the tagged processes' socket inodes). */
export const LISTENER_SCAN_MAX_BYTES = 256 * 1024;
/** How long one socket scan may take; it reads procfs and a few small files per tagged process. */
export const LISTENER_SCAN_TIMEOUT_MS = 10_000;
/** Lines of one /proc/net/tcp{,6} table the parser looks at; the rest is ignored. */
export const LISTENER_TABLE_LINES_MAX = 4096;
/** How long the in-container forwarder may take to start and listen. */
export const FORWARD_START_TIMEOUT_MS = 10_000;
/** After one side of a forwarded connection closed, how long the other may finish writing before it is cut. */
export const FORWARD_CLOSE_GRACE_MS = 10_000;
/**
 * The dev server watch after `ready` (watch/): Docker's events for the agent's containers, the
 * dev server's exec, the periodic check of its port, and what a crash report reads.
 */
/** The events stream is reconnected after this, doubling up to the cap, when it ends or fails. */
export const EVENTS_RETRY_BASE_MS = 500;
export const EVENTS_RETRY_CAP_MS = 30_000;
/**
 * Longest events line parsed. An event carries the container's labels, an image's included (so
 * an image could make them large): a longer line is cut, fails to parse and is skipped.
 */
export const EVENT_LINE_MAX_BYTES = 256 * 1024;
/** Events remembered to drop the repeats a reconnect asks for (it resumes at the last one's second). */
export const EVENTS_SEEN_MAX = 512;
/**
 * After the dev server's exec or the container died, how long to wait for the events that say
 * why (an `oom`, a `kill` from a stop the agent asked for, the container's `die`) before deciding.
 */
export const DEV_SERVER_DEATH_SETTLE_MS = 1_500;
/** An `oom` event this close (either side) to the dev server's death is taken as its cause. */
export const OOM_ATTRIBUTION_MS = 5_000;
/** Container log lines read back for a crash report; its `[dev]` lines give the last output. */
export const DEV_SERVER_LOG_TAIL_LINES = 200;
/** At most this many bytes of that tail are read, the log opened and read within this time. */
export const DEV_SERVER_LOG_TAIL_MAX_BYTES = 1024 * 1024;
export const DEV_SERVER_LOG_TAIL_TIMEOUT_MS = 5_000;
/** Largest watch marker read back (DATA_DIR/watch): a callback URL and secret, ids and a URL. */
export const WATCH_MARKER_MAX_BYTES = 64 * 1024;
/** How often each watched dev server's port is asked whether it answers (one HEAD request). */
export const HEALTH_CHECK_EVERY_MS = 5_000;
/** One health check's timeout; a dev server that answers nothing in this time is not answering. */
export const HEALTH_CHECK_TIMEOUT_MS = 2_000;
/** Failed checks in a row before `not answering` (one slow answer during a rebuild is not down). */
export const HEALTH_FAILURES_BEFORE_DOWN = 2;
/** Health checks in flight at once across all environments. */
export const HEALTH_CHECKS_IN_FLIGHT = 4;
/** Most containers whose last activity is kept; more than a host holds, least recent dropped first. */
export const ACTIVITY_MAX_CONTAINERS = 10_000;
/** Environment networks made ahead, so a create need not wait for Docker to make one (~80 ms). */
export const NETWORK_SPARES = 2;
/** Log lines kept per phase for the error message when a phase fails. */
export const ERROR_TAIL_LINES = 20;

/**
 * Reading from containers (lib/bounded-reader.ts): everything a container or a volume produces is
 * read with a byte limit and a deadline, so no environment can make the agent use unbounded
 * memory, disk or time.
 */
/** Longest output line the agent keeps (setup output, error tails); longer lines are cut, marked. */
export const OUTPUT_LINE_MAX_BYTES = 16 * 1024;
/** Longest line of the logs stream: Docker splits long lines at 16 KiB and they are joined up to this. */
export const LOG_LINE_MAX_BYTES = 64 * 1024;
/**
 * Bytes of paths per `rm -rf` a redeploy runs in a container: well under the kernel's argv
 * limit (ARG_MAX, 128 KiB per string and 2 MiB in all on Linux), so a forced redeploy of a
 * large repo is several commands, never an E2BIG. Git's ls-tree of many paths is chunked alike.
 */
export const PATHS_PER_COMMAND_BYTES = 64 * 1024;
/** Short fixed scripts in a container (writing log lines, the kill script). */
export const SHORT_EXEC_TIMEOUT_MS = 30_000;
/** Error text kept from a failed copy into a container. */
export const EXEC_ERROR_TEXT_MAX_BYTES = 8 * 1024;
/** How long streaming a directory into or out of a container (checkout, main image) may take. */
export const DIRECTORY_COPY_TIMEOUT_MS = 10 * 60_000;
/** A dependencies marker under DATA_DIR/deps is a few hundred bytes; a larger file is not one. */
export const DEPS_MARKER_MAX_BYTES = 4 * 1024;
/**
 * Largest in-progress setup marker read back (DATA_DIR/setups). It holds parts of one setup
 * request (callback URL and secret, repo, branch), and a request is at most 1 MiB (app.ts).
 */
export const SETUP_MARKER_MAX_BYTES = 1024 * 1024;
/**
 * Largest last-setup record read back (DATA_DIR/runs, setup/run-marker.ts): repo facts of one
 * setup (package.json's scripts and dependency names among them), never an environment value.
 */
export const RUN_MARKER_MAX_BYTES = 1024 * 1024;
/**
 * Largest run settings file read back from a container (setup/run-settings.ts): the dev command
 * and the repo's variable names, as one setup request carries them (a request is at most 1 MiB).
 */
export const RUN_SETTINGS_MAX_BYTES = 1024 * 1024;
/**
 * Most containers whose repo variables the agent keeps in memory to bring a dev server back
 * without the control plane (setup/run-settings.ts's RunSecrets): above the environments one host
 * runs (capacity planning counts tens), each at most one request's size (1 MiB) and usually a few
 * KiB, so the agent's memory stays bounded. Past it the oldest are dropped; those come back
 * through the control plane, as after an agent restart.
 */
export const RUN_SECRETS_MAX_ENTRIES = 256;
/** Largest come-back record read back (DATA_DIR/comeback): a callback URL and secret, a time. */
export const COMEBACK_RECORD_MAX_BYTES = 64 * 1024;
/**
 * Redeploy (setup/redeploy.ts): the most files the branch's new commits may change for the
 * local-change check to read them all back from the container (beyond it a redeploy needs
 * `force`), the most bytes of their names as arguments, and the most bytes of their contents
 * read back (a larger local copy cannot be compared and needs `force` too).
 */
export const REDEPLOY_MAX_CHECKED_FILES = 2_000;
export const REDEPLOY_MAX_PATH_ARG_BYTES = 256 * 1024;
export const REDEPLOY_READ_MAX_BYTES = 256 * 1024 * 1024;
/** Files named in a redeploy's refusal message (all of them are in its `issues`). */
export const REDEPLOY_FILES_NAMED = 20;
/** After an exec's output ended, how long to wait for Docker to report its process's exit. */
export const EXEC_EXIT_WAIT_MS = 10_000;
/** Main image builds at once on this host; more are skipped (the next setup builds). */
export const MAIN_IMAGE_BUILDS_MAX = 2;
/** How long the engine's builder may take over one main image (a COPY of node_modules). */
export const MAIN_IMAGE_BUILD_TIMEOUT_MS = 10 * 60_000;
/** Most output a git command (a lockfile through `git show`, a rev-parse) may print. */
export const GIT_MAX_BUFFER_BYTES = 16 * 1024 * 1024;
/** Largest `.yarnrc.yml` setup reads (at the commit, in the repo cache); a larger one is not read. */
export const YARNRC_MAX_BYTES = 64 * 1024;
/**
 * The package manager probe (setup/launcher.ts): one exec asking the image which of corepack,
 * npx and the lockfile's manager it has, their versions and npm's registry. It prints a few
 * lines; more is cut. Its deadline covers an image whose manager is a Corepack shim that
 * downloads on `--version`.
 */
export const PACKAGE_MANAGER_PROBE_MAX_BYTES = 8 * 1024;
export const PACKAGE_MANAGER_PROBE_TIMEOUT_MS = 30_000;

/**
 * Largest EXTRA_CA_CERTS file the agent reads. A system bundle of every public root is about
 * 220 KiB; a file far beyond that is not a CA bundle.
 */
export const EXTRA_CA_MAX_BYTES = 1024 * 1024;

/**
 * Background pre-pull (images/prepull.ts) of DEFAULT_IMAGE and PREPULL_IMAGES. The engine's
 * pull stream is JSON progress lines: read at most this many bytes of it (a large image sends a
 * few hundred KiB) and for at most this long per pull; past either the pull counts as failed.
 */
export const IMAGE_PULL_MAX_PROGRESS_BYTES = 16 * 1024 * 1024;
export const IMAGE_PULL_TIMEOUT_MS = 30 * 60_000;
/** A failed pull (registry unreachable) is tried again after this, doubling up to the cap. */
export const IMAGE_PULL_RETRY_BASE_MS = 5_000;
export const IMAGE_PULL_RETRY_CAP_MS = 15 * 60_000;
/**
 * How long a create or a setup waits for a pull of the image it needs that is under way before
 * going on without it (then image_not_found): under the control plane's request timeout (2 min).
 */
export const IMAGE_WAIT_TIMEOUT_MS = 90_000;
/**
 * Maintenance (maintenance/): the engine's disk usage report (sizes of images and volumes)
 * takes seconds on a full host; a sweep waits this long for it, then reports sizes it lacks as
 * unknown. The sizing of a repo cache directory stops after this many entries (bytes unknown).
 */
export const PRUNE_DISK_USAGE_TIMEOUT_MS = 30_000;
export const REPO_CACHE_SIZE_MAX_ENTRIES = 200_000;
/** One engine call of a sweep (list, inspect, remove) that takes longer than this fails that item. */
export const PRUNE_STEP_TIMEOUT_MS = 60_000;
/**
 * /health's capacity (maintenance/capacity.ts): a monitor polls /health, so what it reads from
 * the engine and the disk is kept this long, and given up (capacity absent) after the timeout.
 */
export const CAPACITY_TTL_MS = 5_000;
export const CAPACITY_TIMEOUT_MS = 5_000;
/** The disk guard's free-space reading (one statfs) is kept this long: creates come in bursts. */
export const DISK_GUARD_TTL_MS = 2_000;

const HOUR_MS = 60 * 60_000;

/**
 * Observability (api/request-log.ts, metrics/). An incoming X-Request-Id longer than this (or
 * with other than letters, digits, `_`, `-`, `=`) is replaced by a fresh one: the id is echoed
 * in a header and written on log lines, so a caller cannot make either large.
 */
export const REQUEST_ID_MAX_CHARS = 128;
/**
 * Containers by state on /metrics come from one list call to the engine, answered from memory
 * for this long (scrapes from several Prometheus servers, or a dashboard refreshing, cost the
 * engine one call per TTL), and given up after the timeout (the scrape then says the engine
 * did not answer instead of hanging as long as Docker's own request timeout).
 */
export const METRICS_ENGINE_CACHE_MS = 5_000;
export const METRICS_ENGINE_TIMEOUT_MS = 5_000;

/** CONTAINER_NETWORK's default: one internal network per environment. */
export const ISOLATED = "isolated";

const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const list = z.string().transform((v) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
);

/** Host patterns (see lib/host-patterns.ts); a bad or over-broad one stops the agent, named. */
const hostPatterns = list.superRefine((patterns, ctx) => {
  for (const p of patterns) {
    const problem = patternProblem(p);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }
});

const isCidr = (v: string) => {
  const [ip, bits, ...rest] = v.split("/");
  const family = isIP(ip ?? "");
  const prefix = Number(bits);
  return (
    rest.length === 0 && family > 0 && Number.isInteger(prefix) && prefix >= 0 && prefix <= (family === 4 ? 32 : 128)
  );
};
const cidrs = list.refine((v) => v.every(isCidr), "must be CIDRs such as 192.168.50.0/24");

/** `name=ip` pairs, like curl --resolve. */
const resolvePairs = list.transform((pairs, ctx) => {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const [name, ip] = pair.split("=");
    if (!name || !ip || !isIP(ip) || patternProblem(name) !== null || name.startsWith("*")) {
      ctx.addIssue({ code: "custom", message: `"${pair}" must be name=ip, e.g. registry.internal=10.0.0.5` });
      return z.NEVER;
    }
    out[name.toLowerCase()] = ip;
  }
  return out;
});

/** JSON: {"host": {"Header-Name": "value"}}; values are secrets, so no message ever quotes one. */
const credentials = z.string().transform((v, ctx) => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    ctx.addIssue({
      code: "custom",
      message: 'must be JSON such as {"registry.example.com":{"Authorization":"Bearer …"}}',
    });
    return z.NEVER;
  }
  // No control characters: a CR or LF in a header value would fail every request at send time.
  const value = z
    .string()
    .min(1)
    .max(8192)
    .refine((v) => ![...v].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f));
  const shape = z.record(z.string(), z.record(z.string(), value)).safeParse(parsed);
  if (!shape.success) {
    ctx.addIssue({
      code: "custom",
      message: "must map host names to objects of header names and one-line string values",
    });
    return z.NEVER;
  }
  const out: Record<string, Record<string, string>> = {};
  for (const [host, headers] of Object.entries(shape.data)) {
    if (patternProblem(host) !== null || host.startsWith("*")) {
      ctx.addIssue({ code: "custom", message: `keys must be exact host names ("${host}" is not)` });
      return z.NEVER;
    }
    const badHeader = Object.keys(headers).find((h) => !/^[A-Za-z0-9-]{1,64}$/.test(h));
    if (badHeader !== undefined) {
      ctx.addIssue({ code: "custom", message: `"${badHeader}" of ${host} is not a header name` });
      return z.NEVER;
    }
    out[host.toLowerCase()] = headers;
  }
  return out;
});

const portRange = z
  .string()
  .regex(/^\d+-\d+$/, "must look like 10000-20000")
  .transform((v) => v.split("-").map(Number) as [number, number])
  .refine(([lo, hi]) => lo >= 1024 && hi <= 65535 && lo <= hi, "must be within 1024-65535, low before high")
  .transform(([start, end]) => ({ start, end }));

/** Docker's own ports for its TCP socket: plain HTTP and TLS (the CLI's defaults). */
export const DOCKER_TCP_PORT = 2375;
export const DOCKER_TLS_PORT = 2376;

/**
 * Where the agent's Docker engine answers. `onThisMachine`: the engine's address is loopback or
 * one of this machine's own interface addresses, so its bridges, gateways and published ports
 * are this machine's too (a unix socket always is). Isolation and bind mounts need that.
 */
export type DockerEndpoint =
  | { kind: "socket"; socketPath: string; onThisMachine: true }
  | { kind: "tcp"; host: string; port: number; tls: { certPath: string } | null; onThisMachine: boolean };

const isLoopbackHost = (h: string) => h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
const isOwnAddress = (h: string) =>
  Object.values(networkInterfaces()).some((list) => (list ?? []).some((a) => a.address === h));
/** 0.0.0.0 or ::: Docker (or the agent's forwarder) publishes on every address of its host. */
export const isWildcardAddress = (a: string) => a === "0.0.0.0" || a === "::";

/**
 * DOCKER_HOST as the docker CLI reads it: `unix:///path`, `tcp://host[:port]` (TLS when
 * DOCKER_TLS_VERIFY is set, certificates ca.pem, cert.pem and key.pem from DOCKER_CERT_PATH, else
 * ~/.docker), `https://host[:port]` (always TLS). Throws a message for anything else: ssh:// and
 * TLS without verification are not supported, since an engine's API is root on its host.
 */
export function dockerEndpoint(v: { host: string; tlsVerify: boolean; certPath?: string }): DockerEndpoint {
  if (v.host.startsWith("unix://")) {
    const socketPath = v.host.slice("unix://".length);
    if (!socketPath.startsWith("/")) throw new Error("DOCKER_HOST unix:// must name an absolute socket path");
    return { kind: "socket", socketPath, onThisMachine: true };
  }
  let url: URL;
  try {
    url = new URL(v.host);
  } catch {
    throw new Error("DOCKER_HOST must look like unix:///var/run/docker.sock or tcp://docker:2376");
  }
  if (url.protocol !== "tcp:" && url.protocol !== "https:")
    throw new Error(`DOCKER_HOST ${url.protocol}// is not supported (unix://, tcp:// or https://)`);
  if (url.pathname.replace(/\/$/, "") || url.search || url.username)
    throw new Error("DOCKER_HOST must be tcp://host:port, without a path, query or user");
  const tls = v.tlsVerify || url.protocol === "https:";
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return {
    kind: "tcp",
    host,
    port: url.port ? Number(url.port) : tls ? DOCKER_TLS_PORT : DOCKER_TCP_PORT,
    tls: tls ? { certPath: v.certPath ?? path.join(homedir(), ".docker") } : null,
    // This machine's own host name is this machine: Docker-in-Docker with the agent in the
    // engine's network namespace, whose host name it shares (docker-compose.deploy.yml).
    onThisMachine: isLoopbackHost(host) || isOwnAddress(host) || host === hostname(),
  };
}

/**
 * What an engine on another host cannot give the agent, refused at start-up with what to change:
 * isolation (the egress proxy listens on each environment network's gateway and the firewall is
 * this machine's), bind mounts of this machine's files (EXTRA_CA_CERTS' bundle), and ports
 * published on loopback (the engine host's own, which nothing else reaches).
 */
function remoteEngineProblems(
  e: { CONTAINER_NETWORK: string; EXTRA_CA_CERTS?: string; PUBLISH_ADDRESS: string },
  d: DockerEndpoint,
): string[] {
  if (d.onThisMachine) return [];
  const engine = `the Docker engine at ${d.kind === "tcp" ? d.host : ""} is not on this machine`;
  return [
    ...(e.CONTAINER_NETWORK === ISOLATED
      ? [
          `CONTAINER_NETWORK=isolated needs the engine's networks on this machine but ${engine}: run the agent in the engine's network namespace (DOCKER_HOST=tcp://127.0.0.1:2376), or set CONTAINER_NETWORK to a network of that engine to run without isolation (never for untrusted code)`,
        ]
      : []),
    ...(e.EXTRA_CA_CERTS ? [`EXTRA_CA_CERTS is mounted from this machine but ${engine}`] : []),
    ...(isLoopbackHost(e.PUBLISH_ADDRESS)
      ? [
          `PUBLISH_ADDRESS=${e.PUBLISH_ADDRESS} publishes on the engine host's loopback, which this agent cannot reach (${engine}): use 0.0.0.0 or an address of that host`,
        ]
      : []),
  ];
}

/**
 * A tcp:// engine without TLS that is not loopback, refused unless DOCKER_ALLOW_PLAINTEXT: the
 * agent's API secret never goes there, but every container's environment (the repo's secrets,
 * opened for each setup and start) and every file it writes in does, readable by anyone on the
 * path, and the engine's API (root on its host) answers whoever reaches it. An address of this
 * machine counts too: an engine listening on it in clear is on the network. Loopback stays
 * allowed: nothing leaves the machine.
 */
function plaintextEngineProblem(
  e: { DOCKER_HOST: string; DOCKER_ALLOW_PLAINTEXT: boolean },
  d: DockerEndpoint,
): string | null {
  if (d.kind !== "tcp" || d.tls || isLoopbackHost(d.host) || e.DOCKER_ALLOW_PLAINTEXT) return null;
  return `DOCKER_HOST=${e.DOCKER_HOST} is plain TCP to an address that is not loopback: the containers' environment (secrets included) and files would cross the network in clear. Set DOCKER_TLS_VERIFY=1 with ca.pem, cert.pem and key.pem in DOCKER_CERT_PATH (Docker's TLS port is ${DOCKER_TLS_PORT}), or, only for an engine on a private link you trust, DOCKER_ALLOW_PLAINTEXT=1`;
}

const EnvSchema = z.object({
  /** 0 picks a free port (tests). */
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  BIND_ADDRESS: z.string().min(1).default("0.0.0.0"),
  API_SECRET: z.string({ error: "is required" }).min(32, "must be at least 32 characters (openssl rand -hex 32)"),
  /** Older secrets still accepted during a rotation, comma-separated. */
  API_SECRET_PREVIOUS: list
    .refine((secrets) => secrets.every((s) => s.length >= 32), "each secret must be at least 32 characters")
    .default([]),
  /** Key shared with the control plane for browser stream tokens (logs, terminal); unset: none accepted. */
  STREAM_TOKEN_KEY: z.string().min(32, "must be at least 32 characters (openssl rand -hex 32)").optional(),
  /** Origins (comma-separated, or *) whose pages may read the logs stream: the dashboard's. */
  DASHBOARD_ORIGINS: list.default(["*"]),
  /**
   * A token that may read GET /metrics and nothing else, for a Prometheus server that should not
   * hold API_SECRET; the API secrets are accepted there too. Unset: only those.
   */
  METRICS_TOKEN: z.string().min(32, "must be at least 32 characters (openssl rand -hex 32)").optional(),
  /** Host name in the dev server URLs reported to the control plane. */
  PUBLIC_HOST: z.string().min(1).optional(),
  /**
   * Domain whose subdomains name environments in the browser (`3000-<id>.<domain>`): every dev
   * server accepts requests for those names (dev-origins.ts, frameworks.ts), as well as for PUBLIC_HOST and the
   * DASHBOARD_ORIGINS' hosts.
   */
  PREVIEW_DOMAIN: z
    .string()
    .regex(
      /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
      "must be a lowercase DNS name such as preview.example.com",
    )
    .optional(),
  /** Host address container ports are published on. 127.0.0.1 keeps them off the network. */
  PUBLISH_ADDRESS: z.string().min(1).default("0.0.0.0"),
  /** The Docker engine, as the docker CLI takes it (dockerEndpoint). */
  DOCKER_HOST: z.string().min(1).default("unix:///var/run/docker.sock"),
  DOCKER_TLS_VERIFY: bool.default(false),
  DOCKER_CERT_PATH: z.string().min(1).optional(),
  /**
   * Accept a plain tcp:// DOCKER_HOST that is not loopback (plaintextEngineProblem). Only for an
   * engine reached over a private link the operator trusts (a VPN, a dedicated cable).
   */
  DOCKER_ALLOW_PLAINTEXT: bool.default(false),
  PORT_RANGE: portRange.default({ start: 10000, end: 20000 }),
  DEFAULT_IMAGE: z.string().min(1).default("node:24-slim"),
  DATA_DIR: z.string().min(1).default("/var/lib/artie-host-agent"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),

  /** Maximum and default limits per container; a create may ask for less, never more. */
  CONTAINER_MEMORY_MB: z.coerce.number().int().min(16).default(2048),
  CONTAINER_CPUS: z.coerce.number().min(0.05).default(1.5),
  CONTAINER_PIDS_LIMIT: z.coerce.number().int().min(16).default(512),
  CONTAINER_USER: z
    .string()
    .regex(/^\d+:\d+$/, "must be numeric uid:gid")
    .refine((v) => Number(v.split(":")[0]) !== 0, "must not be root (uid 0)")
    .default("1000:1000"),
  CONTAINER_READ_ONLY_ROOTFS: bool.default(true),
  TMP_TMPFS_MB: z.coerce.number().int().min(16).default(512),
  /**
   * `isolated`: a network of its own per environment, reaching only the egress proxy. Any other
   * value names a Docker network every container joins instead (no isolation between them).
   */
  CONTAINER_NETWORK: z.string().min(1).default("isolated"),
  /** Pool the environment networks' /28 subnets come from. */
  ENVIRONMENT_SUBNETS: z
    .string()
    .refine(
      (v) => isCidr(v) && isIP(v.split("/")[0]!) === 4 && Number(v.split("/")[1]) <= 28,
      "must be an IPv4 CIDR of /28 or wider",
    )
    .default("10.213.0.0/16"),
  /** OCI runtime of every environment: runc (Docker's default) or runsc (gVisor). */
  CONTAINER_RUNTIME: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]*$/, "must be a runtime name such as runc or runsc")
    .default("runc"),
  /** The egress proxy's port on each environment's gateway. */
  EGRESS_PROXY_PORT: z.coerce.number().int().min(1).max(65535).default(3128),
  /** Host names environments may reach through the proxy; empty: no egress at all. */
  EGRESS_ALLOWLIST: hostPatterns.default([]),
  /** Host names refused even when allowlisted. */
  EGRESS_DENYLIST: hostPatterns.default([]),
  /** Private ranges opened to the proxy (a registry mirror on the LAN). Loopback, link-local and the host stay shut. */
  EGRESS_ALLOWED_CIDRS: cidrs.default([]),
  /** name=ip pairs the proxy uses before DNS. */
  EGRESS_RESOLVE: resolvePairs.default({}),
  /** Headers the proxy adds per host; the container never holds them. */
  EGRESS_CREDENTIALS: credentials.optional(),
  /** Extra CA bundle the proxy trusts when it opens TLS to an intercepted host. */
  EGRESS_UPSTREAM_CA_FILE: z.string().min(1).optional(),
  /**
   * Host path of a PEM bundle of CA certificates every environment (and the agent's own git and
   * egress proxy) trusts besides the public roots: a TLS-inspecting proxy's CA, a private registry's.
   */
  EXTRA_CA_CERTS: z
    .string()
    .refine((v) => path.isAbsolute(v), "must be an absolute path of a PEM file on this host")
    .optional(),
  EXEC_OUTPUT_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),

  /** Where repos are fetched from; {owner} and {repo} are filled in. file:// works (tests). */
  GIT_REMOTE_TEMPLATE: z
    .string()
    .refine((v) => v.includes("{owner}") && v.includes("{repo}"), "must contain {owner} and {repo}")
    .default("https://github.com/{owner}/{repo}.git"),
  /** Per-phase deadlines of a setup; a phase that overruns ends the setup in `error`. */
  SETUP_CLONE_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(5 * 60_000),
  SETUP_INSTALL_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(15 * 60_000),
  SETUP_START_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(2 * 60_000),
  /** Most bytes a main image build reads out of a container (written under DATA_DIR). */
  MAIN_IMAGE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024 * 1024)
    .default(2 * 1024 ** 3),

  /** Escape hatches, all closed by default: what a create may ask for that weakens isolation. */
  ALLOW_PRIVILEGED: bool.default(false),
  ALLOWED_CAP_ADD: list.default([]),
  ALLOWED_BIND_SOURCES: list.default([]),
  ALLOWED_NETWORK_MODES: list.default([]),

  /** Pulled in the background at start-up, with DEFAULT_IMAGE (comma-separated image references). */
  PREPULL_IMAGES: list
    .refine((v) => v.every((r) => /^[a-z0-9][^\s]{0,254}$/.test(r)), "must be image references such as node:22-slim")
    .default([]),
  /** Minutes between maintenance sweeps; 0 turns the periodic sweep off (POST /api/maintenance/prune still runs one). */
  MAINTENANCE_INTERVAL_MINUTES: z.coerce.number().int().min(0).default(60),
  /** A main image older than this that no container uses goes (the newest good one per repo stays). */
  MAIN_IMAGE_MAX_AGE_HOURS: z.coerce.number().positive().default(168),
  /** A dependency volume, or a repo cache, unused for this long goes. */
  VOLUME_MAX_IDLE_HOURS: z.coerce.number().positive().default(168),
  /**
   * A stopped managed container untouched for this long is an orphan and goes. The default (31
   * days) is longer than the control plane keeps a stopped environment (at most 30 days), which
   * itself removes containers it has no record of: this is the backstop for a host it forgot.
   */
  ORPHAN_MAX_AGE_HOURS: z.coerce.number().positive().default(744),
  /** Below this much free disk creates and setups answer 507 insufficient_storage; 0 turns the guard off. */
  MIN_FREE_DISK_GB: z.coerce.number().min(0).default(5),
  /**
   * Only artifacts carrying this label (`key=value`) are pruned, besides being the agent's: for an
   * engine shared with another agent or with tests. Unset: everything the agent made.
   */
  PRUNE_ONLY_LABEL: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]*=[A-Za-z0-9._-]+$/, "must be key=value, such as artie.pool-host=a")
    .optional(),
});

export type Config = {
  port: number;
  bindAddress: string;
  apiSecrets: string[];
  streamTokenKey?: string;
  metricsToken?: string;
  dashboardOrigins: string[];
  publishAddress: string;
  publicHost: string;
  docker: DockerEndpoint;
  previewDomain?: string;
  portRange: { start: number; end: number };
  defaultImage: string;
  dataDir: string;
  logLevel: string;
  container: {
    memoryMb: number;
    cpus: number;
    pidsLimit: number;
    user: string;
    readOnlyRootfs: boolean;
    tmpTmpfsMb: number;
    network: string;
    runtime: string;
    execOutputLimitBytes: number;
  };
  isolation: {
    /** True unless CONTAINER_NETWORK names a shared Docker network. */
    enabled: boolean;
    subnets: string;
  };
  egress: {
    proxyPort: number;
    allowlist: string[];
    denylist: string[];
    allowedCidrs: string[];
    resolve: Record<string, string>;
    credentials: Record<string, Record<string, string>>;
    upstreamCaFile?: string;
  };
  trust: {
    /** EXTRA_CA_CERTS; read and checked at start-up (trust/ca-bundle.ts). */
    extraCaFile?: string;
  };
  setup: {
    gitRemoteTemplate: string;
    cloneTimeoutMs: number;
    installTimeoutMs: number;
    startTimeoutMs: number;
    mainImageMaxBytes: number;
  };
  policy: {
    allowPrivileged: boolean;
    allowedCapAdd: string[];
    allowedBindSources: string[];
    allowedNetworkModes: string[];
  };
  /** DEFAULT_IMAGE first, then PREPULL_IMAGES, without repeats. */
  prepullImages: string[];
  maintenance: {
    intervalMinutes: number;
    mainImageMaxAgeMs: number;
    volumeMaxIdleMs: number;
    orphanMaxAgeMs: number;
    minFreeDiskBytes: number;
    onlyLabel?: string;
  };
};

export class ConfigError extends Error {}

/**
 * Where the agent listens, as the agent itself would read it from `env` (PORT, BIND_ADDRESS and
 * their defaults): the CLI's default AGENT_URL, without the rest of the configuration (which it
 * has no use for, and which would make a CLI fail on an agent setting it never reads).
 */
export function listenAddress(env: Record<string, string | undefined>): { port: number; bindAddress: string } {
  const cleaned = { PORT: env.PORT || undefined, BIND_ADDRESS: env.BIND_ADDRESS || undefined };
  const parsed = EnvSchema.pick({ PORT: true, BIND_ADDRESS: true }).safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`);
    throw new ConfigError(`Invalid agent configuration: ${problems.join("; ")}`);
  }
  return { port: parsed.data.PORT, bindAddress: parsed.data.BIND_ADDRESS };
}

/** Parses the environment; throws ConfigError whose message names every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // Empty strings mean "unset" so a blank line in .env falls back to the default.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`);
    throw new ConfigError(`Invalid agent configuration: ${problems.join("; ")}`);
  }
  const e = parsed.data;
  let docker: DockerEndpoint;
  try {
    docker = dockerEndpoint({ host: e.DOCKER_HOST, tlsVerify: e.DOCKER_TLS_VERIFY, certPath: e.DOCKER_CERT_PATH });
  } catch (err) {
    throw new ConfigError(`Invalid agent configuration: ${(err as Error).message}`);
  }
  const plaintext = plaintextEngineProblem(e, docker);
  const problems = [...(plaintext ? [plaintext] : []), ...remoteEngineProblems(e, docker)];
  if (problems.length) throw new ConfigError(`Invalid agent configuration: ${problems.join("; ")}`);
  // Unset, URLs name where the published ports are: the engine's host when it is another one.
  const engineHost = docker.kind === "tcp" && !docker.onThisMachine ? docker.host : hostname();
  return {
    port: e.PORT,
    bindAddress: e.BIND_ADDRESS,
    apiSecrets: [e.API_SECRET, ...e.API_SECRET_PREVIOUS],
    streamTokenKey: e.STREAM_TOKEN_KEY,
    metricsToken: e.METRICS_TOKEN,
    dashboardOrigins: e.DASHBOARD_ORIGINS,
    publishAddress: e.PUBLISH_ADDRESS,
    publicHost: e.PUBLIC_HOST ?? (isWildcardAddress(e.PUBLISH_ADDRESS) ? engineHost : e.PUBLISH_ADDRESS),
    docker,
    previewDomain: e.PREVIEW_DOMAIN,
    portRange: e.PORT_RANGE,
    defaultImage: e.DEFAULT_IMAGE,
    dataDir: e.DATA_DIR,
    logLevel: e.LOG_LEVEL,
    container: {
      memoryMb: e.CONTAINER_MEMORY_MB,
      cpus: e.CONTAINER_CPUS,
      pidsLimit: e.CONTAINER_PIDS_LIMIT,
      user: e.CONTAINER_USER,
      readOnlyRootfs: e.CONTAINER_READ_ONLY_ROOTFS,
      tmpTmpfsMb: e.TMP_TMPFS_MB,
      network: e.CONTAINER_NETWORK,
      runtime: e.CONTAINER_RUNTIME,
      execOutputLimitBytes: e.EXEC_OUTPUT_LIMIT_BYTES,
    },
    isolation: { enabled: e.CONTAINER_NETWORK === ISOLATED, subnets: e.ENVIRONMENT_SUBNETS },
    egress: {
      proxyPort: e.EGRESS_PROXY_PORT,
      allowlist: e.EGRESS_ALLOWLIST,
      denylist: e.EGRESS_DENYLIST,
      allowedCidrs: e.EGRESS_ALLOWED_CIDRS,
      resolve: e.EGRESS_RESOLVE,
      credentials: e.EGRESS_CREDENTIALS ?? {},
      upstreamCaFile: e.EGRESS_UPSTREAM_CA_FILE,
    },
    trust: { extraCaFile: e.EXTRA_CA_CERTS },
    setup: {
      gitRemoteTemplate: e.GIT_REMOTE_TEMPLATE,
      cloneTimeoutMs: e.SETUP_CLONE_TIMEOUT_MS,
      installTimeoutMs: e.SETUP_INSTALL_TIMEOUT_MS,
      startTimeoutMs: e.SETUP_START_TIMEOUT_MS,
      mainImageMaxBytes: e.MAIN_IMAGE_MAX_BYTES,
    },
    policy: {
      allowPrivileged: e.ALLOW_PRIVILEGED,
      allowedCapAdd: e.ALLOWED_CAP_ADD,
      allowedBindSources: e.ALLOWED_BIND_SOURCES,
      allowedNetworkModes: e.ALLOWED_NETWORK_MODES,
    },
    prepullImages: [...new Set([e.DEFAULT_IMAGE, ...e.PREPULL_IMAGES])],
    maintenance: {
      intervalMinutes: e.MAINTENANCE_INTERVAL_MINUTES,
      mainImageMaxAgeMs: e.MAIN_IMAGE_MAX_AGE_HOURS * HOUR_MS,
      volumeMaxIdleMs: e.VOLUME_MAX_IDLE_HOURS * HOUR_MS,
      orphanMaxAgeMs: e.ORPHAN_MAX_AGE_HOURS * HOUR_MS,
      minFreeDiskBytes: Math.round(e.MIN_FREE_DISK_GB * 1024 ** 3),
      onlyLabel: e.PRUNE_ONLY_LABEL,
    },
  };
}
