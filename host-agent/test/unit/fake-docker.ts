/**
 * An in-memory Docker engine behind the agent's DockerClient, for unit tests of the service and
 * the app. It keeps containers as inspect records built from the create options the agent sends,
 * enforces unique names (409) and can play the failures that matter: an unreachable engine, a
 * host port held outside the agent, a missing image. Exec is not faked (real-Docker tests cover it).
 */
import type Docker from "dockerode";
import { Readable } from "node:stream";
import { z } from "zod";
import { DockerClient } from "../../src/docker/client.js";
import { LABEL } from "../../src/docker/labels.js";
import { createLogger } from "../../src/lib/logger.js";
import { exitedState, inspectInfo, runningState } from "./fixtures.js";
import { ustarHeader } from "./tar-fixtures.js";

const PortBindings = z.record(z.string(), z.array(z.object({ HostIp: z.string(), HostPort: z.string() })));

type DockerFailure = Error & { statusCode?: number; json?: { message: string }; code?: string };

const dockerError = (statusCode: number, message: string): DockerFailure =>
  Object.assign(new Error(`(HTTP code ${statusCode}) ${message}`), { statusCode, json: { message } });

export class FakeDocker extends DockerClient {
  readonly containers = new Map<string, Docker.ContainerInspectInfo>();
  readonly images = new Set<string>(["node:24-slim"]);
  /** Labels of images in `images` (none when absent). */
  readonly imageLabelsOf = new Map<string, Record<string, string>>();
  readonly volumes = new Map<string, Record<string, string>>();
  /** Host ports something outside the agent holds: starting a container that publishes one fails. */
  readonly foreignPorts = new Set<number>();
  readonly createdOptions: Docker.ContainerCreateOptions[] = [];
  readonly calls: string[] = [];
  /** Raw multiplexed log bytes per Docker id, handed out in the chunks given. */
  readonly logs = new Map<string, Buffer[]>();
  readonly logRequests: { since?: string; tail?: number }[] = [];
  /** Who owns a path as the engine's archive of it says (`<dockerId>:<path>`); default 1000:1000. */
  readonly owners = new Map<string, { uid: number; gid: number }>();
  /** Create options of the one-shot containers run (the volume owner helper). */
  readonly oneShots: Docker.ContainerCreateOptions[] = [];
  /** Bytes per volume the disk usage report gives. */
  readonly volumeBytes = new Map<string, number>();
  unreachable = false;
  private nextId = 1;

  constructor() {
    super(createLogger("silent"));
  }

  /** Every call first "reaches" the engine, asynchronously like a socket round trip. */
  private reachable(): Promise<void> {
    if (!this.unreachable) return Promise.resolve();
    return Promise.reject(
      Object.assign(new Error("connect ECONNREFUSED /var/run/docker.sock"), { code: "ECONNREFUSED" }),
    );
  }

  private byRef(ref: string): Docker.ContainerInspectInfo | undefined {
    return this.containers.get(ref) ?? [...this.containers.values()].find((c) => c.Name === `/${ref}`);
  }

  /** Adds a container as if created by an earlier agent (or by hand). */
  seed(name: string, labels: Record<string, string>, state = runningState()): Docker.ContainerInspectInfo {
    const id = `seed${this.nextId++}`.padEnd(64, "0");
    const info = inspectInfo({ id, name, labels, state });
    this.containers.set(id, info);
    return info;
  }

  override async version() {
    await this.reachable();
    return { version: "27.0.0", apiVersion: "1.47" };
  }

  override async listManaged(): Promise<Docker.ContainerInfo[]> {
    await this.reachable();
    return [...this.containers.values()]
      .filter((c) => c.Config.Labels[LABEL.managed] === "true")
      .map((c) => ({
        Id: c.Id,
        Names: [c.Name],
        Image: c.Config.Image,
        ImageID: c.Image,
        Command: c.Config.Cmd.join(" "),
        Created: Math.floor(Date.parse(c.Created) / 1000),
        Ports: [],
        Labels: c.Config.Labels,
        State: c.State.Status,
        Status: c.State.Status,
        HostConfig: { NetworkMode: "bridge" },
        NetworkSettings: { Networks: {} },
        Mounts: [],
      }));
  }

  override async inspect(ref: string): Promise<Docker.ContainerInspectInfo | null> {
    await this.reachable();
    return this.byRef(ref) ?? null;
  }

  override async imageExists(ref: string): Promise<boolean> {
    await this.reachable();
    return this.images.has(ref);
  }

  override async imageLabels(ref: string): Promise<Record<string, string> | null> {
    await this.reachable();
    return this.images.has(ref) ? (this.imageLabelsOf.get(ref) ?? {}) : null;
  }

  override async ensureVolume(
    name: string,
    labels: Record<string, string>,
  ): Promise<{ labels: Record<string, string>; created: boolean }> {
    await this.reachable();
    this.calls.push(`volume ${name}`);
    const created = !this.volumes.has(name);
    if (created) this.volumes.set(name, labels);
    return { labels: this.volumes.get(name)!, created };
  }

  override async create(options: Docker.ContainerCreateOptions): Promise<string> {
    await this.reachable();
    this.calls.push(`create ${options.name}`);
    if (options.name && this.byRef(options.name)) {
      throw dockerError(409, `Conflict. The container name "/${options.name}" is already in use`);
    }
    const id = `c${this.nextId++}`.padEnd(64, "0");
    const info = inspectInfo({
      id,
      name: options.name,
      image: options.Image,
      labels: options.Labels ?? {},
      state: runningState({ Status: "created", Running: false, Pid: 0, StartedAt: "0001-01-01T00:00:00Z" }),
      created: new Date().toISOString(),
    });
    info.HostConfig = options.HostConfig ?? {};
    // As Docker reports them: a named volume's Name is its source.
    info.Mounts = (options.HostConfig?.Mounts ?? []).map((m) => ({
      Type: m.Type === "volume" ? ("volume" as const) : ("bind" as const),
      ...(m.Type === "volume" ? { Name: m.Source } : {}),
      Source: m.Source ?? "",
      Destination: m.Target,
      Mode: "z",
      RW: !m.ReadOnly,
      Propagation: "",
    }));
    this.containers.set(id, info);
    this.createdOptions.push(options);
    return id;
  }

  override async start(dockerId: string): Promise<void> {
    await this.reachable();
    this.calls.push(`start ${dockerId}`);
    const info = this.containers.get(dockerId);
    if (!info) throw dockerError(404, `No such container: ${dockerId}`);
    const bindings = Object.values(PortBindings.parse(info.HostConfig.PortBindings ?? {})).flat();
    for (const b of bindings) {
      if (this.foreignPorts.has(Number(b.HostPort))) {
        throw dockerError(
          500,
          `driver failed programming external connectivity: Bind for ${b.HostIp}:${b.HostPort} failed: port is already allocated`,
        );
      }
    }
    info.State = runningState({ StartedAt: new Date().toISOString() });
  }

  override async restart(dockerId: string): Promise<void> {
    await this.reachable();
    this.calls.push(`restart ${dockerId}`);
    const info = this.containers.get(dockerId);
    if (!info) throw dockerError(404, `No such container: ${dockerId}`);
    info.State = runningState({ StartedAt: new Date().toISOString() });
  }

  override async stop(dockerId: string): Promise<void> {
    await this.reachable();
    this.calls.push(`stop ${dockerId}`);
    const info = this.containers.get(dockerId);
    if (!info) throw dockerError(404, `No such container: ${dockerId}`);
    info.State = exitedState(143);
  }

  override async listVolumes(labels: string[]): Promise<Array<{ name: string; labels: Record<string, string> }>> {
    await this.reachable();
    const matches = (l: Record<string, string>) =>
      labels.every((f) => {
        const [k, v] = f.split("=");
        return v === undefined ? k! in l : l[k!] === v;
      });
    return [...this.volumes].filter(([, l]) => matches(l)).map(([name, l]) => ({ name, labels: l }));
  }

  override async removeVolume(name: string): Promise<void> {
    await this.reachable();
    this.calls.push(`volume rm ${name}`);
    const inUse = [...this.containers.values()].some((c) => c.Mounts.some((m) => m.Name === name));
    if (inUse) throw dockerError(409, `remove ${name}: volume is in use`);
    this.volumes.delete(name);
  }

  override async volumeSizes(): Promise<Map<string, number>> {
    await this.reachable();
    this.calls.push("df");
    return new Map(this.volumeBytes);
  }

  override async archive(dockerId: string, path: string): Promise<NodeJS.ReadableStream> {
    await this.reachable();
    if (!this.containers.has(dockerId)) throw dockerError(404, `No such container: ${dockerId}`);
    const owner = this.owners.get(`${dockerId}:${path}`) ?? { uid: 1000, gid: 1000 };
    return Readable.from([ustarHeader({ name: `${path.split("/").pop()}/`, ...owner })]);
  }

  override async runOnce(options: Docker.ContainerCreateOptions): Promise<number> {
    await this.reachable();
    this.calls.push(`run ${options.Cmd?.join(" ")}`);
    this.oneShots.push(options);
    return 0;
  }

  override async listLabelled(label: string): Promise<string[]> {
    await this.reachable();
    return [...this.containers.values()].filter((c) => label in c.Config.Labels).map((c) => c.Id);
  }

  override async remove(dockerId: string): Promise<void> {
    await this.reachable();
    this.calls.push(`remove ${dockerId}`);
    this.containers.delete(dockerId);
  }

  override async followLogs(dockerId: string, o: { since?: string; tail?: number }): Promise<NodeJS.ReadableStream> {
    await this.reachable();
    if (!this.containers.has(dockerId)) throw dockerError(404, `No such container: ${dockerId}`);
    this.logRequests.push(o);
    return Readable.from(this.logs.get(dockerId) ?? []);
  }
}
