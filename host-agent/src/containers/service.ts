/**
 * Container lifecycle: create (idempotent by id), find, list, restart, stop, start, remove, and
 * the start-up reconcile that rebuilds the port allocator from labels and sweeps what an
 * environment removed while the agent was away left behind. Routes stay thin and call this.
 *
 * Each environment has a workspace volume of its own at /app (docker/labels.ts names it), made
 * before its first container, mounted by every container made for its id (setup's recreate
 * included), handed to the container user when the image would leave it root's
 * (volume-owner.ts), and removed with the environment.
 *
 * Idempotency has two layers: concurrent creates with one id share a single in-flight promise,
 * and Docker's unique container names catch repeats across agent restarts (a name conflict means
 * "already made": the existing container is returned, never a second one). A create holds the
 * id in the operation lock (operation-lock.ts) shared with setup, start, stop and delete, and a
 * failed one removes only the workspace volume it made itself.
 */
import { randomBytes } from "node:crypto";
import type { z } from "zod";
import { CreateContainerRequest, type ContainerDetails, type CreateContainerResponse } from "../api/contract.js";
import { AppError } from "../api/errors.js";
import {
  IMAGE_WAIT_TIMEOUT_MS,
  NODE_MODULES_DIR,
  PORT_BIND_ATTEMPTS,
  RECONCILE_RETRY_MS,
  STOP_TIMEOUT_SECONDS,
  WORKSPACE_DIR,
  type Config,
} from "../config.js";
import { dockerMessage, dockerStatus, type DockerClient } from "../docker/client.js";
import {
  buildCreateOptions,
  checkPolicy,
  RESTART_POLICY,
  STOPPED_RESTART_POLICY,
  type NetworkPlacement,
} from "../docker/container-spec.js";
import { LABEL, containerName, fromLabels, workspaceVolumeName } from "../docker/labels.js";
import type { ImageWaiter } from "../images/prepull.js";
import type { Logger } from "../lib/logger.js";
import type { Isolation } from "../network/isolation.js";
import { agentBuiltImageMessage, imageOrigin } from "../setup/image-policy.js";
import { PortInUseError } from "../network/port-forwarder.js";
import type { TrustBundle } from "../trust/ca-bundle.js";
import { NOTHING_OBSERVED, toDetails, type Observed } from "./details.js";
import type { PortAllocator } from "./port-allocator.js";
import { OperationLock } from "./operation-lock.js";
import { ensureVolumeOwner } from "./volume-owner.js";
import type { VolumeUse } from "./volume-use.js";
import { WorkspaceUsage } from "./workspace-usage.js";
import { ensureWorkspace, removeWorkspace, sweepOrphanWorkspaces } from "./workspaces.js";

type CreateRequest = z.output<typeof CreateContainerRequest>;
type Managed = { dockerId: string; details: ContainerDetails };

const newId = () => randomBytes(6).toString("hex");
const isPortConflict = (err: unknown) =>
  err instanceof PortInUseError || /port is already allocated|address already in use/i.test(dockerMessage(err));

export class ContainerService {
  private readonly inFlight = new Map<string, Promise<CreateContainerResponse>>();
  /**
   * Agent id -> Docker id for containers already verified as ours. Docker ids never change, so
   * exec, logs and terminal skip an inspect per call; an entry is dropped when Docker says 404.
   */
  private readonly known = new Map<string, string>();
  /**
   * False until held ports were read from Docker (creating before that could reuse a port) and
   * orphaned workspace volumes swept (a create or recreate meanwhile could lose its volume).
   */
  private reconciled = false;
  private readonly usage: WorkspaceUsage;
  /**
   * What the agent itself observed of a container, for its details: the dev server's
   * health (watch/dev-server-watch.ts) and the last activity (activity.ts). Set by server.ts.
   */
  observe: (id: string) => Observed = () => NOTHING_OBSERVED;
  /**
   * The background pre-pull (images/prepull.ts): a create or recreate whose image it is pulling
   * waits for that pull (IMAGE_WAIT_TIMEOUT_MS) instead of failing. Set by server.ts.
   */
  images: ImageWaiter | null = null;
  /** Records each mount of a dependency volume, for maintenance's idle rule (volume-use.ts). */
  volumeUse: VolumeUse | null = null;

  constructor(
    private readonly docker: DockerClient,
    private readonly ports: PortAllocator,
    private readonly config: Config,
    private readonly logger: Logger,
    /** Null when CONTAINER_NETWORK names a shared network: Docker publishes the ports then. */
    private readonly isolation: Isolation | null,
    /** The extra CAs every environment is handed (trust/ca-bundle.ts); null when there are none. */
    private readonly trust: TrustBundle | null = null,
    /** The per-container operation lock setup, start, stop, redeploy and delete share (server.ts). */
    private readonly locks: OperationLock = new OperationLock(),
  ) {
    this.usage = new WorkspaceUsage(docker, logger);
  }

  /**
   * Rebuilds in-memory state from the labels of existing containers: held ports, and the
   * isolated environments' proxies and port forwards.
   */
  async reconcile(): Promise<number> {
    const containers = await this.docker.listManaged();
    const environments: Array<{ id: string; ports: ContainerDetails["ports"]; network: string | null }> = [];
    for (const c of containers) {
      const labels = fromLabels(c.Labels);
      if (!labels) continue;
      this.ports.markHeld(labels.ports.map((p) => p.hostPort));
      environments.push({ id: labels.id, ports: labels.ports, network: labels.networkName });
    }
    await this.isolation?.restore(environments);
    await sweepOrphanWorkspaces(this.docker, this.logger, containers).catch((err: unknown) =>
      this.logger.warn({ err: dockerMessage(err) }, "could not sweep orphaned workspace volumes"),
    );
    this.reconciled = true;
    this.logger.info({ containers: containers.length, heldPorts: this.ports.heldCount }, "reconciled from labels");
    return containers.length;
  }

  /** Retries `reconcile` until Docker answers, so an agent started before its engine recovers. */
  async reconcileUntilReady(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.reconcile();
        return;
      } catch (err) {
        this.logger.error({ err: dockerMessage(err) }, "cannot read containers from Docker; retrying");
        await new Promise((r) => setTimeout(r, RECONCILE_RETRY_MS));
      }
    }
  }

  /** Every container's details; workspace sizes as last known (a list never waits for them). */
  async list(): Promise<ContainerDetails[]> {
    const summaries = await this.docker.listManaged();
    const found = await Promise.all(summaries.map((s) => this.find(s.Id)));
    return found.flatMap((m) =>
      m ? [{ ...m.details, workspaceBytes: this.usage.known(m.details.workspaceVolume ?? null) }] : [],
    );
  }

  /** One container's details, its workspace size renewed when stale (waiting a bounded while). */
  async get(id: string): Promise<ContainerDetails> {
    const { details } = await this.require(id);
    return { ...details, workspaceBytes: await this.usage.fresh(details.workspaceVolume ?? null) };
  }

  /** One container's details now, its workspace size as last known (never waits for the engine's sizing). */
  async snapshot(id: string): Promise<ContainerDetails> {
    const { details } = await this.require(id);
    return { ...details, workspaceBytes: this.usage.known(details.workspaceVolume ?? null) };
  }

  /**
   * Runs `fn` with the Docker id of a managed container; 404 when there is none, also when
   * Docker no longer knows a container the agent had seen (removed behind its back).
   */
  async withDockerId<T>(id: string, fn: (dockerId: string) => Promise<T>): Promise<T> {
    const dockerId = this.known.get(id) ?? (await this.require(id)).dockerId;
    try {
      return await fn(dockerId);
    } catch (err) {
      // Docker's 409 here means the container is not running (stopped, or its sandbox ended).
      if (dockerStatus(err) === 409) throw new AppError("conflict", `Container ${id} is not running`);
      if (dockerStatus(err) !== 404) throw err;
      this.known.delete(id);
      throw new AppError("container_not_found", `No container ${id} on this host`);
    }
  }

  async create(req: CreateRequest, idempotencyKey?: string): Promise<CreateContainerResponse> {
    checkPolicy(req, this.config.policy);
    if (!this.reconciled) {
      throw new AppError("docker_unavailable", "The agent has not yet read its containers from Docker; retry shortly");
    }
    const id = req.id ?? idempotencyKey ?? newId();
    const pending = this.inFlight.get(id);
    if (pending) return { ...(await pending), created: false };
    // One operation at a time per container: a delete, start or setup of this id waits for the
    // create (a delete) or is refused (409), and a create while one of them runs is refused, so
    // none sees the container half made or makes it again while it is being removed or recreated.
    const release = this.locks.claim(id, "being created");
    const work = this.createOnce(id, req).finally(() => {
      this.inFlight.delete(id);
      release();
    });
    this.inFlight.set(id, work);
    return work;
  }

  async restart(id: string): Promise<ContainerDetails> {
    const { dockerId } = await this.require(id);
    await this.setRestartPolicy(id, dockerId, RESTART_POLICY);
    await this.docker.restart(dockerId, STOP_TIMEOUT_SECONDS);
    return this.snapshot(id);
  }

  /**
   * The engine's restart policy of the container (docker/container-spec.ts says why a stop sets
   * "no" and a start sets it back). Best effort: an engine that cannot update it (an older
   * Podman) still stops and starts the container, which then keeps the policy it was made with.
   */
  private async setRestartPolicy(id: string, dockerId: string, policy: { Name: string; MaximumRetryCount?: number }) {
    await this.docker.setRestartPolicy(dockerId, policy).catch((err: unknown) => {
      this.logger.warn({ id, err: dockerMessage(err) }, "could not set the container's restart policy");
    });
  }

  /**
   * Stops the container: every process in it ends, so its memory and CPU are free. Its record
   * (the container and its labels), workspace volume, host ports and network stay; an isolated
   * environment's port forwards stay open and fail to connect until it starts again.
   */
  async stop(id: string): Promise<ContainerDetails> {
    const { dockerId } = await this.require(id);
    // Stopped on purpose: an engine restart must not start it again (on-failure would).
    await this.setRestartPolicy(id, dockerId, STOPPED_RESTART_POLICY);
    await this.docker.stop(dockerId, STOP_TIMEOUT_SECONDS);
    return this.snapshot(id);
  }

  /**
   * Starts a stopped container again: same workspace, ports and address. A running one is a 409:
   * starting means its processes begin afresh, which only a restart does to a running container.
   */
  async start(id: string): Promise<ContainerDetails> {
    const { dockerId, details } = await this.require(id);
    if (details.state === "running" || details.state === "restarting")
      throw new AppError(
        "already_running",
        `Container ${id} is already running; restart it to start its dev server again`,
      );
    await this.setRestartPolicy(id, dockerId, RESTART_POLICY);
    try {
      await this.docker.start(dockerId);
    } catch (err) {
      // Docker publishes the ports on a shared network: something may have taken one meanwhile.
      if (isPortConflict(err)) throw new AppError("conflict", `Container ${id} cannot start: ${dockerMessage(err)}`);
      throw err;
    }
    return this.snapshot(id);
  }

  async remove(id: string): Promise<void> {
    const { dockerId, details } = await this.require(id);
    await this.docker.remove(dockerId);
    this.known.delete(id);
    const hostPorts = details.ports.map((p) => p.hostPort);
    await this.isolation?.teardown(id, hostPorts);
    this.ports.release(hostPorts);
    // The container is gone, so nothing mounts its workspace any more.
    await removeWorkspace(this.docker, this.logger, id);
  }

  /** Requests the egress proxy refused since the agent started; null without isolation. */
  egressDenied(): number | null {
    return this.isolation?.egressDeniedTotal() ?? null;
  }

  /**
   * Replaces a container's Docker container with one from another image and with another
   * dependency volume, keeping its id, name, host ports and limits (setup needs both decided
   * per repo and branch, and mounts cannot change on a running container). The ports stay held
   * throughout.
   */
  async recreate(
    id: string,
    change: { image: string; volume: { name: string; labels: Record<string, string> } },
  ): Promise<string> {
    // The start-up sweep must not see this container between its removal and its successor.
    if (!this.reconciled) {
      throw new AppError("docker_unavailable", "The agent has not yet read its containers from Docker; retry shortly");
    }
    const { dockerId, details } = await this.require(id);
    const info = await this.docker.inspect(dockerId);
    const h = info?.HostConfig;
    const req = CreateContainerRequest.parse({
      id,
      name: details.name,
      ports: details.ports.map((p) => p.containerPort),
      volumeName: change.volume.name,
      pool: false,
      limits: h
        ? {
            memoryMb: Math.floor((h.Memory ?? 0) / 1024 / 1024) || undefined,
            cpus: (h.NanoCpus ?? 0) / 1e9 || undefined,
            pidsLimit: h.PidsLimit || undefined,
          }
        : undefined,
    });
    // Made here, with its labels, before the container that mounts it (Docker would otherwise
    // make it bare). A volume of that name with other owners' labels is never mounted.
    const { name, labels } = change.volume;
    // An image the pre-pull is still downloading is waited for before the old container goes.
    if (this.images && !(await this.docker.imageExists(change.image)))
      await this.images.waitFor(change.image, IMAGE_WAIT_TIMEOUT_MS);
    const swap = async () => {
      const found = (await this.docker.ensureVolume(name, { ...labels, [LABEL.managed]: "true", [LABEL.volume]: name }))
        .labels;
      const mismatch = Object.entries(labels).find(([k, v]) => found[k] !== v);
      if (mismatch) throw new Error(`volume ${name} exists with another ${mismatch[0]} label; not mounting it`);
      // Kept by the remove below (named volumes outlive their containers); made only if missing.
      await ensureWorkspace(this.docker, id);
      await this.docker.remove(dockerId);
      this.known.delete(id);
      // Same network, same address: the port forwards and the proxy stay as they are.
      const network = this.isolation ? await this.isolation.prepare(id) : null;
      const options = buildCreateOptions({
        id,
        req,
        image: change.image,
        ports: details.ports,
        createdAt: details.createdAt,
        config: this.config,
        network,
        trust: this.trust,
      });
      return this.docker.create(options);
    };
    // The volume is made and mounted with no prune in between (volume-use.ts).
    const newDockerId = await (this.volumeUse ? this.volumeUse.mounting(name, swap) : swap());
    await this.ownVolumes(id, newDockerId, change.image, name);
    await this.docker.start(newDockerId);
    this.known.set(id, newDockerId);
    return newDockerId;
  }

  async count(): Promise<number> {
    return (await this.docker.listManaged()).length;
  }

  private async find(ref: string): Promise<Managed | null> {
    const info = await this.docker.inspect(ref);
    const labels = fromLabels(info?.Config.Labels);
    if (!info || !labels) return null;
    const isolation = {
      network: this.isolation?.network(labels.id) ?? null,
      runtime: info.HostConfig.Runtime ?? "runc",
      egressAllowlist: this.isolation ? this.config.egress.allowlist : [],
      egress: this.isolation?.egressStats(labels.id) ?? null,
    };
    const observed = this.observe(labels.id);
    return { dockerId: info.Id, details: { ...toDetails(info, labels, Date.now(), observed), isolation } };
  }

  private async require(id: string): Promise<Managed> {
    const found = await this.find(containerName(id));
    if (!found || found.details.id !== id) throw new AppError("container_not_found", `No container ${id} on this host`);
    this.known.set(id, found.dockerId);
    return found;
  }

  private existingResponse(m: Managed): CreateContainerResponse {
    const d = m.details;
    return { id: d.id, name: d.name, hostPort: d.hostPort, ports: d.ports, created: false };
  }

  private async createOnce(id: string, req: CreateRequest): Promise<CreateContainerResponse> {
    // A Docker id cached for this agent id names a container removed behind the agent's back
    // when this create makes a new one: forgotten, so the next exec resolves the new one.
    this.known.delete(id);
    const existing = await this.find(containerName(id));
    if (existing) return this.existingResponse(existing);

    const image = req.image ?? this.config.defaultImage;
    // A main image holds one team's dependencies, and a create knows no team: never from one.
    if (req.image && (await imageOrigin(this.docker, req.image, null)).agentBuilt)
      throw new AppError("policy_violation", agentBuiltImageMessage(req.image));
    await this.requireImage(image);
    const madeWorkspace = await ensureWorkspace(this.docker, id, req.tenant);
    try {
      const create = async () => {
        if (req.volumeName)
          await this.docker.ensureVolume(req.volumeName, { [LABEL.managed]: "true", [LABEL.volume]: req.volumeName });
        return this.createWithPorts(id, req, image);
      };
      // The volume is made and mounted with no prune in between (volume-use.ts).
      return await (req.volumeName && this.volumeUse ? this.volumeUse.mounting(req.volumeName, create) : create());
    } catch (err) {
      // Nothing this create made stays behind, its workspace included. A workspace it found is
      // kept: it holds an environment's work (a retried create of an id whose container went, a
      // setup's recreate that failed between its remove and its create).
      if (madeWorkspace) await removeWorkspace(this.docker, this.logger, id);
      throw err;
    }
  }

  /** 422 image_not_found unless the engine has `image`, after waiting for its pull if one is under way. */
  private async requireImage(image: string): Promise<void> {
    if (this.images && !(await this.docker.imageExists(image))) await this.images.waitFor(image, IMAGE_WAIT_TIMEOUT_MS);
    if (await this.docker.imageExists(image)) return;
    const why = this.images?.describe(image);
    throw new AppError(
      "image_not_found",
      `Image ${image} is not on this host${why ? `: ${why}` : "; pull or build it first"}`,
    );
  }

  private async createWithPorts(id: string, req: CreateRequest, image: string): Promise<CreateContainerResponse> {
    for (let attempt = 1; ; attempt++) {
      const hostPorts = this.ports.reserve(req.ports.length);
      const ports = req.ports.map((containerPort, i) => ({ containerPort, hostPort: hostPorts[i]! }));
      try {
        const network: NetworkPlacement | null = this.isolation ? await this.isolation.prepare(id) : null;
        if (network) await this.isolation!.openPorts(network, ports);
        await this.createAndStart(id, req, image, ports, network);
        return { id, name: req.name, hostPort: ports[0]!.hostPort, ports, created: true };
      } catch (err) {
        this.ports.release(hostPorts);
        if (dockerStatus(err) === 409) {
          const raced = await this.find(containerName(id));
          if (raced) {
            await this.isolation?.closePorts(hostPorts);
            return this.existingResponse(raced);
          }
        }
        // Nothing of this environment may stay behind: its network, proxy and forwards go too.
        await this.isolation?.teardown(id, hostPorts);
        if (!isPortConflict(err) || attempt >= PORT_BIND_ATTEMPTS) throw err;
        // Something outside the agent holds one of these ports: never offer them again.
        this.logger.warn({ id, hostPorts }, "host port held outside the agent; retrying with another");
        for (const p of hostPorts) this.ports.markForeign(p);
      }
    }
  }

  /** After create, before start: the container user owns /app and /app/node_modules (volume-owner.ts). */
  private async ownVolumes(id: string, dockerId: string, image: string, depsVolume: string | null): Promise<void> {
    const mounts = [
      { volume: workspaceVolumeName(id), target: WORKSPACE_DIR },
      ...(depsVolume ? [{ volume: depsVolume, target: NODE_MODULES_DIR }] : []),
    ];
    const c = this.config.container;
    await ensureVolumeOwner(this.docker, this.logger, { dockerId, image, user: c.user, runtime: c.runtime, mounts });
  }

  /** Creates and starts; a container that fails to start is removed so nothing is left behind. */
  private async createAndStart(
    id: string,
    req: CreateRequest,
    image: string,
    ports: Managed["details"]["ports"],
    network: NetworkPlacement | null,
  ) {
    const options = buildCreateOptions({
      id,
      req,
      image,
      ports,
      createdAt: new Date().toISOString(),
      config: this.config,
      network,
      trust: this.trust,
    });
    const dockerId = await this.docker.create(options);
    try {
      await this.ownVolumes(id, dockerId, image, req.volumeName ?? null);
      await this.docker.start(dockerId);
    } catch (err) {
      await this.docker.remove(dockerId);
      throw err;
    }
  }
}
