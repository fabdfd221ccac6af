/**
 * Publishes an environment's ports from the agent itself. Docker does not publish ports of a
 * container whose only network is internal (there is no route for its proxy to use), so the
 * agent listens on PUBLISH_ADDRESS:<host port> and pipes each connection to the container's
 * address on its own network, which the host reaches directly. TCP-level, so HTTP, WebSockets
 * (hot reload) and anything else pass unchanged; `pipe` pauses a side whose peer stops reading,
 * so a slow client never makes the agent buffer without limit.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";
import type { Logger } from "../lib/logger.js";

/** A connection to the container that does not open within this is dropped. */
const CONNECT_TIMEOUT_MS = 10_000;
/**
 * An open connection may sit idle for hours (a dev server's hot-reload socket), so it has no idle
 * limit; TCP keepalive probes after this long instead, and a peer that has vanished is dropped.
 */
const KEEPALIVE_MS = 60_000;

export type Forward = { hostPort: number; targetIp: string; targetPort: number };

export class PortInUseError extends Error {}

export class PortForwarder {
  private readonly servers = new Map<number, { server: Server; sockets: Set<Socket> }>();

  constructor(
    private readonly address: string,
    private readonly logger: Logger,
  ) {}

  /** Listens on the host port; rejects with PortInUseError when something else holds it. */
  async open(f: Forward): Promise<void> {
    if (this.servers.has(f.hostPort)) return;
    const sockets = new Set<Socket>();
    const server = createServer((client) => this.pipe(client, f, sockets));
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err: NodeJS.ErrnoException) =>
        reject(err.code === "EADDRINUSE" ? new PortInUseError(`host port ${f.hostPort} is in use`) : err),
      );
      server.listen(f.hostPort, this.address, () => resolve());
    });
    server.on("error", (err) => this.logger.warn({ hostPort: f.hostPort, err: err.message }, "port forward error"));
    this.servers.set(f.hostPort, { server, sockets });
  }

  /** Stops listening and cuts every connection through the port. */
  async close(hostPort: number): Promise<void> {
    const entry = this.servers.get(hostPort);
    if (!entry) return;
    this.servers.delete(hostPort);
    for (const s of entry.sockets) s.destroy();
    await new Promise<void>((resolve) => entry.server.close(() => resolve()));
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.servers.keys()].map((p) => this.close(p)));
  }

  private pipe(client: Socket, f: Forward, sockets: Set<Socket>) {
    const upstream = createConnection({ host: f.targetIp, port: f.targetPort, timeout: CONNECT_TIMEOUT_MS });
    sockets.add(client);
    sockets.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    // The connect timeout only guards the connect: an idle dev server connection may stay open.
    upstream.once("connect", () => upstream.setTimeout(0));
    client.setKeepAlive(true, KEEPALIVE_MS);
    upstream.setKeepAlive(true, KEEPALIVE_MS);
    upstream.once("timeout", end);
    client.on("error", end);
    upstream.on("error", end);
    client.on("close", end);
    upstream.on("close", end);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
