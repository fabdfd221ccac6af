/**
 * The only module that talks to the Docker engine (dockerode). It turns Docker's quirks into
 * plain outcomes: a missing container is `null`, removing a gone container or stopping a
 * stopped one is done, not an error. Every mutating call is logged with the container it touches.
 *
 * Two dockerode instances: one for request/response calls, with a timeout so a hung engine fails
 * a request instead of hanging it, and one without, for long-lived streams (logs, exec, terminal,
 * events).
 * Connection settings come from DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH like the CLI.
 */
import { randomBytes } from "node:crypto";
import Docker from "dockerode";
import type { Duplex } from "node:stream";
import type { Logger } from "../lib/logger.js";
import { LABEL, MANAGED_FILTER } from "./labels.js";

/** A single Docker API request (not a stream) that takes longer than this is failed. */
const DOCKER_REQUEST_TIMEOUT_MS = 60_000;

/**
 * An image reference in Docker's familiar form, as Docker's inspect reports the one a container
 * was created from: Podman reports it fully qualified (`docker.io/library/x:1` for `x:1`).
 */
export const familiarImage = (ref: string) => ref.replace(/^docker\.io\/(library\/)?/, "");

export type DockerError = Error & { statusCode?: number; json?: { message?: string } };
export const dockerStatus = (err: unknown) => (err as DockerError | null)?.statusCode;
export const dockerMessage = (err: unknown) =>
  (err as DockerError | null)?.json?.message ?? (err instanceof Error ? err.message : String(err));

/** The engine's facts capacity and the disk guard use (`docker info`). */
export type EngineInfo = { rootDir: string | null; memTotal: number; cpus: number; images: number };

export type ExecOptions = {
  cmd: string[];
  user: string;
  workdir?: string;
  env?: string[];
  tty: boolean;
  stdin: boolean;
};

export class DockerClient {
  private readonly api: Docker;
  private readonly streams: Docker;

  /** `connection`: from engine-connection.ts; without it dockerode reads the environment itself. */
  constructor(
    private readonly logger: Logger,
    connection: Docker.DockerOptions = {},
  ) {
    this.api = new Docker({ ...connection, timeout: DOCKER_REQUEST_TIMEOUT_MS });
    this.streams = new Docker(connection);
  }

  async version(): Promise<{ version: string; apiVersion: string }> {
    const v = await this.api.version();
    return { version: v.Version, apiVersion: v.ApiVersion };
  }

  listManaged(): Promise<Docker.ContainerInfo[]> {
    return this.api.listContainers({ all: true, filters: MANAGED_FILTER });
  }

  /** Inspect by id or name; null when Docker does not know it. */
  async inspect(ref: string): Promise<Docker.ContainerInspectInfo | null> {
    try {
      const info = await this.api.getContainer(ref).inspect();
      const image = info.Config?.Image;
      return typeof image === "string" ? { ...info, Config: { ...info.Config, Image: familiarImage(image) } } : info;
    } catch (err) {
      if (dockerStatus(err) === 404) return null;
      throw err;
    }
  }

  async imageExists(ref: string): Promise<boolean> {
    return (await this.imageLabels(ref)) !== null;
  }

  /** An image's labels, or null when the image is not on this host. */
  async imageLabels(ref: string): Promise<Record<string, string> | null> {
    try {
      const info = await this.api.getImage(ref).inspect();
      return info.Config.Labels ?? {};
    } catch (err) {
      if (dockerStatus(err) === 404) return null;
      throw err;
    }
  }

  /**
   * Builds an image from a context tar with the engine's builder; never pulls (the base image
   * must be local). Every progress entry is checked for an error. Past `timeoutMs` the build's
   * connection is closed (the engine cancels a build whose client went away) and this rejects.
   */
  async buildImage(context: NodeJS.ReadableStream, tag: string, timeoutMs: number): Promise<void> {
    this.logger.info({ tag }, "docker build");
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      const stream = await this.streams.buildImage(context, {
        t: tag,
        pull: false,
        rm: true,
        forcerm: true,
        abortSignal: abort.signal,
      });
      await new Promise<void>((resolve, reject) => {
        const late = () => {
          (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
          reject(new Error(`image build of ${tag} did not finish within ${Math.round(timeoutMs / 1000)} s`));
        };
        if (abort.signal.aborted) return late();
        abort.signal.addEventListener("abort", late, { once: true });
        this.streams.modem.followProgress(
          stream,
          (err) => (err ? reject(err) : resolve()),
          (event: { error?: string }) => {
            if (event.error) reject(new Error(`image build failed: ${event.error}`));
          },
        );
      });
    } finally {
      clearTimeout(timer);
    }
    this.logger.info({ tag }, "docker built");
  }

  /**
   * Creates a named volume if missing; Docker answers an existing one with itself (labels are
   * immutable, so an existing volume keeps its own, instance included: only a new one gets the
   * fresh instance value). Returns the labels the volume has, and whether this call made it
   * (its instance label is the one this call chose): a caller undoing a failed create removes
   * only a volume it made.
   */
  async ensureVolume(
    name: string,
    labels: Record<string, string>,
  ): Promise<{ labels: Record<string, string>; created: boolean }> {
    this.logger.info({ volume: name }, "docker volume create");
    const instance = randomBytes(12).toString("hex");
    await this.api.createVolume({ Name: name, Labels: { ...labels, [LABEL.volumeInstance]: instance } });
    // dockerode answers a create with a handle, not the volume: its labels need an inspect.
    const volume = (await this.api.getVolume(name).inspect()) as { Labels?: Record<string, string> | null };
    const found = volume.Labels ?? {};
    return { labels: found, created: found[LABEL.volumeInstance] === instance };
  }

  /**
   * The instance label ensureVolume gave a volume, or null when there is no such volume (or it
   * predates the label). Labels cannot change after creation and no container can set one, so
   * a volume removed and made again under the same name answers a new value. (Its CreatedAt
   * would not do: the local driver reports its directory's mtime, which a container moves.)
   */
  async volumeInstance(name: string): Promise<string | null> {
    try {
      const info = await this.api.getVolume(name).inspect();
      return info.Labels?.[LABEL.volumeInstance] ?? null;
    } catch (err) {
      if (dockerStatus(err) === 404) return null;
      throw err;
    }
  }

  /** Volumes carrying every label in `labels` (`key` or `key=value`), with their labels. */
  async listVolumes(labels: string[]): Promise<Array<{ name: string; labels: Record<string, string> }>> {
    const { Volumes } = await this.api.listVolumes({ filters: { label: labels } });
    return (Volumes ?? []).map((v) => ({ name: v.Name, labels: v.Labels ?? {} }));
  }

  /**
   * Removes a volume; one that is already gone counts as removed. One still mounted by a
   * container fails (409): a volume in use is never taken from under it.
   */
  async removeVolume(name: string): Promise<void> {
    this.logger.info({ volume: name }, "docker volume remove");
    try {
      await this.api.getVolume(name).remove();
    } catch (err) {
      if (dockerStatus(err) !== 404) throw err;
    }
  }

  /**
   * Bytes each volume holds, from the engine's disk usage report (`docker system df -v`). The
   * engine sizes every volume on the host for it, so it is slow: callers cache it. Volumes the
   * engine could not size are left out.
   */
  async volumeSizes(signal: AbortSignal): Promise<Map<string, number>> {
    // dockerode passes the signal on, though its types declare df() without options.
    const ask = this.api.df.bind(this.api) as unknown as (o: { abortSignal: AbortSignal }) => Promise<unknown>;
    const df = (await ask({ abortSignal: signal })) as {
      Volumes?: Array<{ Name: string; UsageData?: { Size?: number } | null }> | null;
    };
    const sizes = new Map<string, number>();
    for (const v of df.Volumes ?? []) {
      const size = v.UsageData?.Size;
      if (typeof size === "number" && size >= 0) sizes.set(v.Name, size);
    }
    return sizes;
  }

  /**
   * The engine's tar of `path` in a container (created or running: no exec), as a stream the
   * caller must destroy once it has read what it needs. The engine writes the headers from its
   * own view of the file system, so what they say of ownership is the engine's, not the container's.
   */
  async archive(dockerId: string, path: string): Promise<NodeJS.ReadableStream> {
    return this.streams.getContainer(dockerId).getArchive({ path });
  }

  /**
   * Runs a one-shot container to its end and removes it, whatever happens: answers its exit
   * code. Past `timeoutMs` it is killed (removed by force) and this rejects.
   */
  async runOnce(options: Docker.ContainerCreateOptions, timeoutMs: number): Promise<number> {
    this.logger.info({ name: options.name, image: options.Image, cmd: options.Cmd }, "docker run (one-shot)");
    const container = await this.api.createContainer(options);
    let timer: NodeJS.Timeout | undefined;
    try {
      await container.start();
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`one-shot container did not finish within ${Math.round(timeoutMs / 1000)} s`)),
          timeoutMs,
        );
      });
      const result = (await Promise.race([this.streams.getContainer(container.id).wait(), late])) as {
        StatusCode: number;
      };
      return result.StatusCode;
    } finally {
      clearTimeout(timer);
      await this.remove(container.id);
    }
  }

  /** Ids of containers carrying `label` (any value), running or not. */
  async listLabelled(label: string): Promise<string[]> {
    const found = await this.api.listContainers({ all: true, filters: { label: [label] } });
    return found.map((c) => c.Id);
  }

  /**
   * The OCI runtimes the engine can give a container (`runc`, and `runsc` once gVisor is
   * registered). Podman's Docker API lists every runtime it has heard of but ignores
   * `HostConfig.Runtime` at create (4.3: the container runs under its default whatever was
   * asked), so from Podman only its default counts: a CONTAINER_RUNTIME=runsc must stop the
   * agent there, not run environments under runc unannounced.
   */
  async runtimes(): Promise<string[]> {
    const info = (await this.api.info()) as { Runtimes?: Record<string, unknown>; DefaultRuntime?: string };
    if (await this.isPodman()) return [info.DefaultRuntime ?? "runc"];
    return Object.keys(info.Runtimes ?? {});
  }

  /** Whether the engine is Podman's Docker-compatible API (its version names a "Podman Engine"). */
  async isPodman(): Promise<boolean> {
    const version = (await this.api.version()) as { Components?: Array<{ Name?: string }> };
    return (version.Components ?? []).some((c) => c.Name === "Podman Engine");
  }

  /** Networks the agent made, found again by their labels. */
  listManagedNetworks(): Promise<Docker.NetworkInspectInfo[]> {
    return this.api.listNetworks({ filters: MANAGED_FILTER });
  }

  /** Every IPv4/IPv6 subnet on the engine, the agent's or not: a new network must overlap none. */
  async usedSubnets(): Promise<string[]> {
    const networks = await this.api.listNetworks();
    return networks.flatMap((n) => (n.IPAM?.Config ?? []).flatMap((c) => (c.Subnet ? [c.Subnet] : [])));
  }

  /** Inspect a network by name; null when Docker does not know it. */
  async inspectNetwork(name: string): Promise<Docker.NetworkInspectInfo | null> {
    try {
      return await this.api.getNetwork(name).inspect();
    } catch (err) {
      if (dockerStatus(err) === 404) return null;
      throw err;
    }
  }

  async createNetwork(options: Docker.NetworkCreateOptions): Promise<void> {
    this.logger.info({ network: options.Name }, "docker network create");
    await this.api.createNetwork(options);
  }

  /** Removes a network; one that is already gone counts as removed. */
  async removeNetwork(name: string): Promise<void> {
    this.logger.info({ network: name }, "docker network remove");
    try {
      await this.api.getNetwork(name).remove();
    } catch (err) {
      if (dockerStatus(err) !== 404) throw err;
    }
  }

  async create(options: Docker.ContainerCreateOptions): Promise<string> {
    this.logger.info({ name: options.name, image: options.Image }, "docker create");
    const container = await this.api.createContainer(options);
    this.logger.info({ name: options.name, dockerId: container.id }, "docker created");
    return container.id;
  }

  async start(dockerId: string): Promise<void> {
    this.logger.info({ dockerId }, "docker start");
    try {
      await this.api.getContainer(dockerId).start();
    } catch (err) {
      if (dockerStatus(err) !== 304) throw err; // already running
    }
  }

  /** Stops (SIGTERM, SIGKILL after the timeout); a container that is not running counts as stopped. */
  async stop(dockerId: string, stopTimeoutSeconds: number): Promise<void> {
    this.logger.info({ dockerId }, "docker stop");
    try {
      await this.api.getContainer(dockerId).stop({ t: stopTimeoutSeconds });
    } catch (err) {
      if (dockerStatus(err) !== 304) throw err; // already stopped
    }
    this.logger.info({ dockerId }, "docker stopped");
  }

  /** Sets the container's restart policy (running or not); the engine applies it from then on. */
  async setRestartPolicy(dockerId: string, policy: { Name: string; MaximumRetryCount?: number }): Promise<void> {
    this.logger.info({ dockerId, policy: policy.Name }, "docker update restart policy");
    await this.api.getContainer(dockerId).update({ RestartPolicy: policy });
  }

  async restart(dockerId: string, stopTimeoutSeconds: number): Promise<void> {
    this.logger.info({ dockerId }, "docker restart");
    await this.api.getContainer(dockerId).restart({ t: stopTimeoutSeconds });
  }

  /** Force-removes; a container that is already gone counts as removed. */
  async remove(dockerId: string): Promise<void> {
    this.logger.info({ dockerId }, "docker remove");
    try {
      await this.api.getContainer(dockerId).remove({ force: true });
    } catch (err) {
      if (dockerStatus(err) !== 404) throw err;
    }
    this.logger.info({ dockerId }, "docker removed");
  }

  // -------------------------------------------------------------------------------------------
  // Images, volumes and the engine's own facts, for pre-pull and maintenance (images/, maintenance/)
  // -------------------------------------------------------------------------------------------

  /**
   * Starts pulling `ref` and answers the engine's progress stream (JSON lines), which the caller
   * reads with its own byte and time limits and must destroy when done; `signal` ends it early.
   * No credentials: images come from registries that answer anonymously, or the engine's own.
   */
  async pullImage(ref: string, signal: AbortSignal): Promise<NodeJS.ReadableStream> {
    this.logger.info({ image: ref }, "docker pull");
    return this.streams.pull(ref, { abortSignal: signal });
  }

  /** What `docker info` says that capacity and the disk guard need. */
  async engineInfo(): Promise<EngineInfo> {
    const i = (await this.api.info()) as {
      DockerRootDir?: string;
      MemTotal?: number;
      NCPU?: number;
      Images?: number;
    };
    return { rootDir: i.DockerRootDir ?? null, memTotal: i.MemTotal ?? 0, cpus: i.NCPU ?? 0, images: i.Images ?? 0 };
  }

  /** Images (top-level), optionally filtered (`label`, `dangling`) as the engine takes filters. */
  listImages(filters: Record<string, string[]> = {}): Promise<Docker.ImageInfo[]> {
    return this.api.listImages({ all: false, filters });
  }

  /** Every container on the engine, managed or not, running or not: what holds images and volumes. */
  listAllContainers(): Promise<Docker.ContainerInfo[]> {
    return this.api.listContainers({ all: true });
  }

  /**
   * Removes an image by id or reference, without force: one a container uses is refused (409), and
   * so is an id that other tags still name. One that is already gone counts as removed.
   */
  async removeImage(ref: string): Promise<void> {
    this.logger.info({ image: ref }, "docker image remove");
    try {
      await this.api.getImage(ref).remove();
    } catch (err) {
      if (dockerStatus(err) !== 404) throw err;
    }
  }

  /**
   * The engine's disk usage report (`docker system df -v`): each image's own bytes (its size less
   * what it shares with other images) and each volume's bytes. Slow on a full host: bounded by
   * `signal`. Sizes the engine could not tell are left out.
   */
  async diskUsage(signal: AbortSignal): Promise<{ images: Map<string, number>; volumes: Map<string, number> }> {
    const ask = this.api.df.bind(this.api) as unknown as (o: { abortSignal: AbortSignal }) => Promise<unknown>;
    const df = (await ask({ abortSignal: signal })) as {
      Images?: Array<{ Id: string; Size?: number; SharedSize?: number }> | null;
      Volumes?: Array<{ Name: string; UsageData?: { Size?: number } | null }> | null;
    };
    const images = new Map<string, number>();
    for (const i of df.Images ?? []) {
      if (typeof i.Size !== "number" || i.Size < 0) continue;
      const shared = typeof i.SharedSize === "number" && i.SharedSize > 0 ? i.SharedSize : 0;
      images.set(i.Id, Math.max(0, i.Size - shared));
    }
    const volumes = new Map<string, number>();
    for (const v of df.Volumes ?? []) {
      const size = v.UsageData?.Size;
      if (typeof size === "number" && size >= 0) volumes.set(v.Name, size);
    }
    return { images, volumes };
  }

  /** Starts an exec and returns its raw stream (multiplexed unless tty) and handle. */
  async exec(dockerId: string, o: ExecOptions): Promise<{ exec: Docker.Exec; stream: Duplex }> {
    const exec = await this.streams.getContainer(dockerId).exec({
      Cmd: o.cmd,
      User: o.user,
      WorkingDir: o.workdir,
      Env: o.env,
      Tty: o.tty,
      AttachStdin: o.stdin,
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({ hijack: true, stdin: o.stdin, Tty: o.tty });
    return { exec, stream };
  }

  /**
   * Resizes an exec's TTY. Podman answers 201 where Docker answers 200, and dockerode's own
   * `exec.resize` takes only 200 as success.
   */
  resizeExec(exec: Docker.Exec, w: number, h: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.api.modem.dial(
        {
          path: `/exec/${encodeURIComponent(exec.id)}/resize?`,
          method: "POST",
          statusCodes: { 200: true, 201: true, 404: "no such exec", 500: "server error" },
          options: { h, w },
        },
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }

  /** Follows a container's log with Docker timestamps; `since` is `seconds.nanos`. */
  async followLogs(dockerId: string, o: { since?: string; tail?: number }): Promise<NodeJS.ReadableStream> {
    return this.streams.getContainer(dockerId).logs({
      follow: true,
      stdout: true,
      stderr: true,
      timestamps: true,
      // The engine accepts fractional seconds as a string. Left out when unset: an empty `since`
      // is none to Docker, a 400 to Podman ("unable to interpret time value").
      ...(o.since === undefined ? {} : { since: o.since as unknown as number }),
      // Without tail, Docker sends the whole log.
      ...(o.tail === undefined ? {} : { tail: o.tail }),
    });
  }

  /**
   * The last `tail` lines of a container's log, with Docker timestamps, as a stream that ends
   * after them (dockerode buffers a non-follow log whole; this reads it as a stream so the
   * caller can bound it in bytes and time).
   */
  logTail(dockerId: string, tail: number, openWithinMs: number): Promise<NodeJS.ReadableStream> {
    return new Promise((resolve, reject) => {
      // The streams client has no idle timeout: an engine that never answers must not hold the caller.
      let late = false;
      const timer = setTimeout(() => {
        late = true;
        reject(new Error(`timed out after ${openWithinMs} ms opening the log of ${dockerId}`));
      }, openWithinMs);
      this.streams.modem.dial(
        {
          path: `/containers/${encodeURIComponent(dockerId)}/logs?`,
          method: "GET",
          isStream: true,
          statusCodes: { 200: true, 404: "no such container", 500: "server error" },
          options: { follow: false, stdout: true, stderr: true, timestamps: true, tail },
        },
        (err, stream) => {
          clearTimeout(timer);
          const s = stream as (NodeJS.ReadableStream & { destroy?: () => void }) | undefined;
          if (late) return s?.destroy?.();
          if (err) reject(err);
          else resolve(s!);
        },
      );
    });
  }

  /**
   * The engine's event stream for the agent's own containers (label `artie.managed`), from
   * `since` (Docker's `seconds[.nanos]`), limited to `actions`. Ends when the engine closes it.
   */
  events(o: { since?: string; actions: string[] }): Promise<NodeJS.ReadableStream> {
    return this.streams.getEvents({
      // The engine accepts fractional seconds as a string.
      ...(o.since === undefined ? {} : { since: o.since as unknown as number }),
      filters: { type: ["container"], label: MANAGED_FILTER.label, event: o.actions },
    });
  }

  /** Whether an exec still runs, and its exit code once it ended; null when Docker forgot it. */
  async inspectExec(execId: string): Promise<{ running: boolean; exitCode: number | null } | null> {
    try {
      const info = await this.api.getExec(execId).inspect();
      return { running: info.Running, exitCode: info.ExitCode ?? null };
    } catch (err) {
      if (dockerStatus(err) === 404) return null;
      throw err;
    }
  }

  /** Demultiplexes a non-TTY exec/attach stream into two writable sinks. */
  demux(stream: NodeJS.ReadableStream, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): void {
    this.streams.modem.demuxStream(stream, stdout, stderr);
  }
}
