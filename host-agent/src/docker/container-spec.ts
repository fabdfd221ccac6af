/**
 * Turns a validated create request into Docker create options with every hardened default on:
 * all capabilities dropped, no-new-privileges, non-root user, memory (swap included), CPU and pid
 * limits, read-only root filesystem with the workspace volume, dependency volume and /tmp's tmpfs
 * as the only writable paths, no host namespaces, no Docker socket, rotated logs, ports published on one
 * address only. Anything in the request that would weaken this is refused here, unless the
 * operator's config allows it. Pure: no Docker calls, so it is unit-tested directly.
 */
import type Docker from "dockerode";
import path from "node:path";
import type { z } from "zod";
import type { CreateContainerRequest, PortMapping } from "../api/contract.js";
import { AppError } from "../api/errors.js";
import {
  CONTAINER_RESTART_MAX_RETRIES,
  CONTAINER_LOG_MAX_FILES,
  CONTAINER_LOG_MAX_SIZE,
  NODE_MODULES_DIR,
  WORKSPACE_DIR,
  type Config,
} from "../config.js";
import { BUNDLE_PEM, EXTRA_PEM, type TrustBundle } from "../trust/ca-bundle.js";
import { containerName, toLabels, workspaceVolumeName } from "./labels.js";

type CreateRequest = z.output<typeof CreateContainerRequest>;

/**
 * An idle main process for containers whose work arrives later by exec (pool containers, setup).
 * `exec sleep` keeps PID 2 simple; docker-init (Init: true) is PID 1 and reaps what exec leaves.
 */
export const KEEPALIVE_COMMAND = ["sleep", "2147483647"];

/**
 * The engine starts a container again by itself when its main process ended with a failure: a
 * crash, a kill from outside the API, and an engine restart without live-restore (dockerd stops
 * its containers on the way down, their exit code 143, and starts them on the way up). The agent
 * then brings the dev server back (setup/come-back.ts).
 *
 * `on-failure` with a maximum, not `unless-stopped`: a container whose main process the OOM
 * killer ends at every start (a memory limit too small for it) would be started again forever,
 * every 100 ms to a minute, with a dev server brought back and reported each time; the maximum
 * (CONTAINER_RESTART_MAX_RETRIES) ends that. The price: an engine restart starts an `on-failure`
 * container even after an explicit `docker stop` (only `unless-stopped` remembers a stop), so the
 * agent's own stop sets the policy to "no" first, and its start and restart set it back
 * (STOPPED_RESTART_POLICY, containers/service.ts). A container made before this policy, with
 * "no", works as before and gets this one at its next start or restart through the agent. A main
 * process that exits 0 (a finished `command`) is not started again.
 */
export const RESTART_POLICY = { Name: "on-failure", MaximumRetryCount: CONTAINER_RESTART_MAX_RETRIES } as const;
/** A container the agent stopped stays stopped, through engine restarts too. */
export const STOPPED_RESTART_POLICY = { Name: "no" } as const;

/** Paths that must never be bind-mounted, whatever the operator allows. */
const FORBIDDEN_BIND_SOURCES = ["/var/run/docker.sock", "/run/docker.sock", "/"];

/** Refuses every field that weakens isolation unless the operator's config allows it. */
export function checkPolicy(req: CreateRequest, policy: Config["policy"]): void {
  const refuse = (what: string, setting: string) => {
    throw new AppError("policy_violation", `${what} is not allowed on this host (operator setting ${setting})`);
  };
  if (req.privileged && !policy.allowPrivileged) refuse("privileged mode", "ALLOW_PRIVILEGED");
  for (const cap of req.capAdd ?? []) {
    if (!policy.allowedCapAdd.includes(cap)) refuse(`capability ${cap}`, "ALLOWED_CAP_ADD");
  }
  for (const bind of req.binds ?? []) {
    const raw = bind.split(":")[0] ?? "";
    // Compare what Docker will mount: `/srv/data/../../var/run/docker.sock` is the socket.
    const source = path.posix.normalize(raw);
    const forbidden = FORBIDDEN_BIND_SOURCES.includes(source) || raw.split("/").includes("..");
    const allowed = policy.allowedBindSources.some((p) => source === p || source.startsWith(`${p}/`));
    if (forbidden || !raw.startsWith("/") || !allowed) refuse(`bind mount of ${raw}`, "ALLOWED_BIND_SOURCES");
  }
  if (req.networkMode && !policy.allowedNetworkModes.includes(req.networkMode)) {
    refuse(`network mode ${req.networkMode}`, "ALLOWED_NETWORK_MODES");
  }
}

/** The effective limits: the request may lower the agent's maximum, never raise it. */
export function effectiveLimits(req: CreateRequest, max: Config["container"]) {
  const limits = { memoryMb: max.memoryMb, cpus: max.cpus, pidsLimit: max.pidsLimit, ...req.limits };
  for (const key of ["memoryMb", "cpus", "pidsLimit"] as const) {
    if (limits[key] > max[key]) {
      throw new AppError("invalid_request", `limits.${key} ${limits[key]} exceeds this host's maximum ${max[key]}`, [
        { path: `limits.${key}`, message: `must be at most ${max[key]}` },
      ]);
    }
  }
  return limits;
}

/** Where an isolated environment lives on its own network, and how it reaches the proxy. */
export type NetworkPlacement = {
  name: string;
  containerIp: string;
  gateway: string;
  proxyPort: number;
};

/** Inside the container, the read-only directory of trust/ca-bundle.ts's two files. */
export const TRUST_MOUNT = "/etc/artie/ca";
export const EXTRA_CA_PATH = `${TRUST_MOUNT}/${EXTRA_PEM}`;
export const CA_BUNDLE_PATH = `${TRUST_MOUNT}/${BUNDLE_PEM}`;

/**
 * The proxy settings every tool reads: npm, pnpm, yarn, curl and pip read HTTP(S)_PROXY; Node's
 * own fetch reads them with NODE_USE_ENV_PROXY. A process that ignores them gets nowhere: the
 * network has no other way out.
 */
function proxyEnv(n: NetworkPlacement): string[] {
  const url = `http://${n.gateway}:${n.proxyPort}`;
  const noProxy = "localhost,127.0.0.1,::1";
  return [
    `HTTP_PROXY=${url}`,
    `HTTPS_PROXY=${url}`,
    `http_proxy=${url}`,
    `https_proxy=${url}`,
    `NO_PROXY=${noProxy}`,
    `no_proxy=${noProxy}`,
    "NODE_USE_ENV_PROXY=1",
  ];
}

/**
 * Where each tool learns of the extra CAs. A setting that adds to the tool's own roots gets
 * extra.pem; one that replaces them gets bundle.pem (public roots + extra), so public hosts stay
 * trusted. Yarn berry is left to NODE_EXTRA_CA_CERTS (it uses Node's TLS, whose roots that adds
 * to): its own setting is `caFilePath` in 2 and 3 and `httpsCaFilePath` in 4, and berry stops on
 * a YARN_* variable it does not know, so setting either would break the other versions.
 */
export function trustEnv(): string[] {
  return [
    // Node and everything running on it: npm, pnpm, yarn (classic and berry), corepack, npx.
    `NODE_EXTRA_CA_CERTS=${EXTRA_CA_PATH}`,
    // OpenSSL's default file: the openssl command and what is linked against it.
    `SSL_CERT_FILE=${CA_BUNDLE_PATH}`,
    `CURL_CA_BUNDLE=${CA_BUNDLE_PATH}`,
    `GIT_SSL_CAINFO=${CA_BUNDLE_PATH}`,
    // npm's cafile; pnpm reads npm's settings, and yarn classic falls back to them (npm_config_*).
    `npm_config_cafile=${CA_BUNDLE_PATH}`,
  ];
}

export type SpecInput = {
  id: string;
  req: CreateRequest;
  image: string;
  ports: PortMapping[];
  createdAt: string;
  config: Config;
  /** The environment's own network; null puts it on CONTAINER_NETWORK with Docker publishing its ports. */
  network: NetworkPlacement | null;
  /** The extra CAs every environment trusts, whatever its network; null when there are none. */
  trust: TrustBundle | null;
};

export function buildCreateOptions({
  id,
  req,
  image,
  ports,
  createdAt,
  config,
  network,
  trust,
}: SpecInput): Docker.ContainerCreateOptions {
  const c = config.container;
  const limits = effectiveLimits(req, c);
  const memoryBytes = limits.memoryMb * 1024 * 1024;
  const tcp = (p: number) => `${p}/tcp`;
  return {
    name: containerName(id),
    Image: image,
    Cmd: req.command ?? KEEPALIVE_COMMAND,
    User: c.user,
    WorkingDir: WORKSPACE_DIR,
    // HOME on tmpfs: the root filesystem is read-only, and npm, git and shells write to HOME.
    Env: ["HOME=/tmp", ...(network ? proxyEnv(network) : []), ...(trust ? trustEnv() : [])],
    Labels: toLabels({
      id,
      name: req.name,
      ports,
      pool: req.pool,
      createdAt,
      volumeName: req.volumeName ?? null,
      networkName: network?.name ?? null,
    }),
    ExposedPorts: Object.fromEntries(ports.map((p) => [tcp(p.containerPort), {}])),
    // On its own network the container has a fixed address, which the agent's port forwarder uses.
    ...(network
      ? {
          NetworkingConfig: {
            EndpointsConfig: { [network.name]: { IPAMConfig: { IPv4Address: network.containerIp } } },
          },
        }
      : {}),
    HostConfig: {
      // An internal network cannot publish: the agent forwards the host ports itself (port-forwarder.ts).
      PortBindings: network
        ? {}
        : Object.fromEntries(
            ports.map((p) => [tcp(p.containerPort), [{ HostIp: config.publishAddress, HostPort: String(p.hostPort) }]]),
          ),
      Runtime: c.runtime,
      Init: true,
      Privileged: req.privileged ?? false,
      CapDrop: ["ALL"],
      CapAdd: req.capAdd ?? [],
      SecurityOpt: ["no-new-privileges:true"],
      ReadonlyRootfs: c.readOnlyRootfs,
      Tmpfs: {
        // exec, unlike Docker's tmpfs default: tools run what they write to TMPDIR (yarn 2+'s
        // wrappers for package binaries, node-gyp), and noexec here would protect nothing the
        // workspace, which must be exec, does not already allow.
        "/tmp": `rw,nosuid,nodev,exec,size=${c.tmpTmpfsMb}m,mode=1777`,
      },
      Mounts: [
        // The workspace: a volume of this environment's own (a tmpfs is emptied when the container
        // stops), made by the service before the container; the dependency volume mounts on top.
        { Type: "volume" as const, Source: workspaceVolumeName(id), Target: WORKSPACE_DIR },
        ...(req.volumeName ? [{ Type: "volume" as const, Source: req.volumeName, Target: NODE_MODULES_DIR }] : []),
        // The directory, not its files: a bundle rewritten at the agent's next start reaches
        // running environments too (a file mount would keep the replaced file).
        ...(trust ? [{ Type: "bind" as const, Source: trust.dir, Target: TRUST_MOUNT, ReadOnly: true }] : []),
      ],
      Binds: req.binds ?? [],
      Memory: memoryBytes,
      MemorySwap: memoryBytes, // equal to Memory: no swap on top of the limit
      NanoCpus: Math.round(limits.cpus * 1e9),
      PidsLimit: limits.pidsLimit,
      NetworkMode: network?.name ?? req.networkMode ?? c.network,
      // Docker's embedded resolver forwards names it does not know to this server. Engines
      // before the fix in moby#47538 (20.10 among them) forward even from an internal network,
      // from the host, which would let names carry data out. The gateway answers no DNS and the
      // host firewall drops the query: environments resolve nothing outside; the proxy does.
      ...(network ? { Dns: [network.gateway] } : {}),
      IpcMode: "private",
      RestartPolicy: { ...RESTART_POLICY },
      LogConfig: {
        Type: "json-file",
        Config: { "max-size": CONTAINER_LOG_MAX_SIZE, "max-file": CONTAINER_LOG_MAX_FILES },
      },
    },
  };
}
