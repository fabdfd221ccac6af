/**
 * The only way out of an environment: an HTTP proxy the agent serves on each environment's
 * gateway address (EGRESS_PROXY_PORT), which the host firewall leaves open and nothing else.
 * Plain HTTP requests are forwarded; HTTPS goes through `CONNECT` and is tunnelled unseen,
 * except to hosts with a configured credential, where the proxy terminates TLS with a
 * certificate from its own CA, adds the credential's headers and opens TLS to the real host
 * itself (the container never holds the credential). Every target is checked by the policy
 * (policy.ts) before any connection is made, and the proxy connects to the address it checked.
 *
 * The listener is per environment, so the proxy knows whose traffic it carries without trusting
 * anything the container says; a connection from outside the environment's subnet is dropped.
 * Every refusal is answered 403 with the reason, counted, and logged with host, environment and
 * reason.
 */
import {
  Agent as HttpAgent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { BlockList, connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { TLSSocket } from "node:tls";
import { normalizeHost } from "../lib/host-patterns.js";
import type { Logger } from "../lib/logger.js";
import type { EgressDenyReason as DenyReason, EgressStats } from "../api/contract.js";
import type { LocalCa } from "./local-ca.js";
import type { EgressPolicy } from "./policy.js";
import { HostResolver } from "./resolve.js";

/** Bounds on what a container can make the proxy hold. */
const MAX_HEADER_BYTES = 16 * 1024;
const HEADERS_TIMEOUT_MS = 15_000;
const CONNECT_TIMEOUT_MS = 10_000;
const MAX_CONNECTIONS_PER_ENVIRONMENT = 256;
/** Upstream sockets one environment may hold at once, and requests per client connection. */
const MAX_UPSTREAM_SOCKETS_PER_ENVIRONMENT = 64;
const MAX_REQUESTS_PER_CONNECTION = 100;
/** An upstream or tunnel with no traffic this long is closed. */
const IDLE_TIMEOUT_MS = 5 * 60_000;
const RECENT_DENIALS_KEPT = 20;

/** Headers that belong to one hop, never forwarded (RFC 9110 7.6.1), and the proxy's own. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

export type EnvironmentEndpoint = { id: string; gateway: string; subnet: string };

export type Credentials = {
  /** Headers to add per host (exact names). */
  headers: Record<string, Record<string, string>>;
  ca: LocalCa;
  /** Extra CAs the proxy trusts when it opens TLS to an intercepted host itself. */
  upstreamCa?: string[];
};

type Listener = {
  server: Server;
  mitm: Server;
  stats: EgressStats;
  gateway: string;
  /** Every socket accepted, tunnels included (Node's server stops tracking those). */
  sockets: Set<Duplex>;
  /** Upstream connection pools of this environment alone, bounded. */
  http: HttpAgent;
  https: HttpsAgent;
};
type Target = { host: string; ip: string; port: number };

export class EgressProxy {
  private readonly listeners = new Map<string, Listener>();
  /** The intercepted target of each terminated TLS connection. */
  private readonly targets = new WeakMap<object, Target>();
  /** Denials counted by environments that are gone, so the host's total never shrinks. */
  private deniedByRemoved = 0;
  /** Shared by every environment's gateway: one lookup per name at a time (see resolve.ts). */
  private readonly resolver = new HostResolver();

  constructor(
    private readonly policy: EgressPolicy,
    private readonly port: number,
    private readonly credentials: Credentials | null,
    private readonly logger: Logger,
  ) {}

  /** Serves the environment's gateway; resolves once it listens. Idempotent. */
  async listen(env: EnvironmentEndpoint): Promise<void> {
    const current = this.listeners.get(env.id);
    if (current?.gateway === env.gateway) return;
    if (current) await this.close(env.id);
    // Docker hands a gateway to a new network only when the old one is gone: so is its environment.
    for (const [id, l] of this.listeners) {
      if (l.gateway !== env.gateway) continue;
      this.logger.info(
        { environment: id, gateway: env.gateway },
        "egress proxy: the network of a removed environment was reused",
      );
      await this.close(id);
    }
    const stats: EgressStats = { allowed: 0, denied: 0, recentDenials: [] };
    const subnet = new BlockList();
    const [base, prefix] = env.subnet.split("/");
    subnet.addSubnet(base!, Number(prefix), "ipv4");

    const sockets = new Set<Duplex>();
    const track = (socket: Duplex) => {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
      // An error on any socket ends that socket, never the agent.
      socket.on("error", () => socket.destroy());
    };
    const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES, headersTimeout: HEADERS_TIMEOUT_MS });
    server.maxConnections = MAX_CONNECTIONS_PER_ENVIRONMENT;
    server.maxRequestsPerSocket = MAX_REQUESTS_PER_CONNECTION;
    server.on("connection", (socket: Socket) => {
      track(socket);
      socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy());
      const from = (socket.remoteAddress ?? "").replace(/^::ffff:/, "");
      if (!subnet.check(from, "ipv4")) {
        this.logger.warn(
          { environment: env.id, from },
          "egress proxy: connection from outside the environment dropped",
        );
        socket.destroy();
      }
    });
    const failed = (err: unknown) =>
      this.logger.error({ environment: env.id, err: (err as Error).message }, "egress proxy: request failed");
    server.on("request", (req, res) => void this.forwardHttp(env.id, stats, req, res).catch(failed));
    server.on("connect", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // Node's server drops its own error handler from a socket it hands over for CONNECT.
      track(socket);
      this.tunnel(env.id, stats, req, socket, head).catch((err: unknown) => {
        socket.destroy();
        failed(err);
      });
    });
    server.on("clientError", (_err, socket: Duplex) => socket.destroy());

    const mitm = createServer({ maxHeaderSize: MAX_HEADER_BYTES, headersTimeout: HEADERS_TIMEOUT_MS });
    mitm.maxRequestsPerSocket = MAX_REQUESTS_PER_CONNECTION;
    mitm.on("request", (req, res) => this.forwardIntercepted(env.id, req, res));
    mitm.on("clientError", (_err, socket: Duplex) => socket.destroy());
    const pool = {
      keepAlive: true,
      maxSockets: MAX_UPSTREAM_SOCKETS_PER_ENVIRONMENT,
      maxTotalSockets: MAX_UPSTREAM_SOCKETS_PER_ENVIRONMENT,
    };

    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, env.gateway, () => resolve());
    });
    server.on("error", (err) => this.logger.error({ environment: env.id, err: err.message }, "egress proxy error"));
    this.listeners.set(env.id, {
      server,
      mitm,
      stats,
      gateway: env.gateway,
      sockets,
      http: new HttpAgent(pool),
      https: new HttpsAgent({ ...pool, ...(this.credentials?.upstreamCa ? { ca: this.credentials.upstreamCa } : {}) }),
    });
  }

  async close(id: string): Promise<void> {
    const l = this.listeners.get(id);
    if (!l) return;
    this.listeners.delete(id);
    this.deniedByRemoved += l.stats.denied;
    for (const socket of l.sockets) socket.destroy();
    l.server.closeAllConnections();
    l.mitm.closeAllConnections();
    l.http.destroy();
    l.https.destroy();
    await new Promise<void>((resolve) => l.server.close(() => resolve()));
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.listeners.keys()].map((id) => this.close(id)));
  }

  stats(id: string): EgressStats | null {
    return this.listeners.get(id)?.stats ?? null;
  }

  /** Denied requests across every environment since the agent started (for /health). */
  deniedTotal(): number {
    let n = this.deniedByRemoved;
    for (const l of this.listeners.values()) n += l.stats.denied;
    return n;
  }

  /** Checks a host and resolves it once; the address to connect to, or why not. */
  private async authorize(host: string): Promise<{ ip: string } | { denied: DenyReason }> {
    const byName = this.policy.decideHost(host);
    if (byName) return { denied: byName };
    let addresses: string[];
    try {
      addresses = await this.resolver.resolve(host, this.policy.pinned(host));
    } catch {
      return { denied: "unresolvable" };
    }
    if (addresses.length === 0) return { denied: "unresolvable" };
    for (const ip of addresses) {
      const byAddress = this.policy.decideAddress(ip);
      if (byAddress) return { denied: byAddress };
    }
    return { ip: addresses[0]! };
  }

  private recordDenial(envId: string, stats: EgressStats, host: string, reason: DenyReason) {
    stats.denied++;
    stats.recentDenials.unshift({ host, reason, at: new Date().toISOString() });
    stats.recentDenials.length = Math.min(stats.recentDenials.length, RECENT_DENIALS_KEPT);
    this.logger.warn({ environment: envId, host, reason }, "egress denied");
  }

  private async forwardHttp(envId: string, stats: EgressStats, req: IncomingMessage, res: ServerResponse) {
    let url: URL;
    try {
      url = new URL(req.url ?? "");
      if (url.protocol !== "http:") throw new Error("not http");
    } catch {
      this.recordDenial(envId, stats, String(req.url).slice(0, 200), "bad_request");
      return refuse(res, 400, "bad_request", "the egress proxy takes absolute http:// URLs and CONNECT");
    }
    const host = normalizeHost(url.hostname);
    const decision = await this.authorize(host);
    if (res.destroyed) return; // the client left while the name resolved
    if ("denied" in decision) {
      this.recordDenial(envId, stats, host, decision.denied);
      return refuse(res, 403, decision.denied, `egress to ${host} is not allowed (${decision.denied})`);
    }
    // A credential never travels in clear: hosts that get one are reached over HTTPS only.
    if (this.credentialFor(host)) {
      this.recordDenial(envId, stats, host, "bad_request");
      return refuse(res, 403, "bad_request", `${host} takes its credential over HTTPS only`);
    }
    const listener = this.listeners.get(envId);
    if (!listener) return refuse(res, 503, "bad_request", "environment gone");
    stats.allowed++;
    const upstream = httpRequest({
      host: decision.ip,
      port: Number(url.port || 80),
      method: req.method,
      path: `${url.pathname}${url.search}`,
      headers: { ...forwardable(req.headers), host: url.host },
      setHost: false,
      agent: listener.http,
      timeout: CONNECT_TIMEOUT_MS,
    });
    this.relay(req, res, upstream, host);
  }

  private async tunnel(envId: string, stats: EgressStats, req: IncomingMessage, client: Duplex, head: Buffer) {
    const target = parseAuthority(req.url ?? "");
    (client as Socket).setTimeout(IDLE_TIMEOUT_MS, () => client.destroy());
    if (!target) {
      this.recordDenial(envId, stats, String(req.url).slice(0, 200), "bad_request");
      return endRaw(client, 400, "bad_request");
    }
    const decision = await this.authorize(target.host);
    if (client.destroyed) return; // the client left while the name resolved
    if ("denied" in decision) {
      this.recordDenial(envId, stats, target.host, decision.denied);
      return endRaw(client, 403, decision.denied);
    }
    stats.allowed++;
    if (this.credentialFor(target.host)) {
      return this.intercept(envId, client, head, { ...target, ip: decision.ip });
    }
    const upstream = connect({ host: decision.ip, port: target.port, timeout: CONNECT_TIMEOUT_MS });
    upstream.once("connect", () => {
      upstream.setTimeout(IDLE_TIMEOUT_MS);
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length) upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    upstream.once("timeout", () => (upstream.connecting ? endRaw(client, 504, "upstream_timeout") : end()));
    upstream.on("error", () => (client.writable ? endRaw(client, 502, "upstream_unreachable") : end()));
    upstream.on("close", end);
    client.on("close", end);
  }

  /** Terminates the client's TLS with a certificate for the host, and serves its requests. */
  private async intercept(envId: string, client: Duplex, head: Buffer, target: Target) {
    const listener = this.listeners.get(envId);
    if (!listener || !this.credentials) return client.destroy();
    let pair: { key: string; cert: string };
    try {
      pair = await this.credentials.ca.leaf(target.host);
    } catch (err) {
      this.logger.error({ environment: envId, host: target.host, err: (err as Error).message }, "egress: no leaf cert");
      return endRaw(client, 502, "interception_failed");
    }
    if (client.destroyed) return; // the client left while its certificate was made
    client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (head.length) client.unshift(head);
    const tls = new TLSSocket(client, { isServer: true, key: pair.key, cert: pair.cert });
    tls.on("error", () => tls.destroy());
    this.targets.set(tls, target);
    listener.mitm.emit("connection", tls);
  }

  private forwardIntercepted(envId: string, req: IncomingMessage, res: ServerResponse) {
    const target = this.targets.get(req.socket);
    if (!target) return refuse(res, 502, "interception_failed", "no target");
    // Only origin-form paths: an absolute URL could route the credential elsewhere on a shared
    // front end, and TRACE would echo it back.
    if (!req.url?.startsWith("/") || /^(TRACE|TRACK|CONNECT)$/i.test(req.method ?? "")) {
      return refuse(res, 400, "bad_request", "intercepted requests take a path and a plain method");
    }
    const listener = this.listeners.get(envId);
    if (!listener) return refuse(res, 503, "bad_request", "environment gone");
    // The target is the host the CONNECT named and the policy checked, whatever Host says.
    const upstream = httpsRequest({
      host: target.ip,
      servername: target.host,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: {
        ...forwardable(req.headers),
        host: target.port === 443 ? target.host : `${target.host}:${target.port}`,
        ...this.credentialFor(target.host),
      },
      setHost: false,
      agent: listener.https,
      timeout: CONNECT_TIMEOUT_MS,
    });
    this.logger.debug({ environment: envId, host: target.host }, "egress: credential injected");
    this.relay(req, res, upstream, target.host);
  }

  private relay(req: IncomingMessage, res: ServerResponse, upstream: ReturnType<typeof httpRequest>, host: string) {
    // Transfer-Encoding is per hop and was dropped: put chunked framing back on a body of unknown
    // length, so it cannot run into the next request on a kept-alive upstream connection.
    if (req.headers["transfer-encoding"] && req.headers["content-length"] === undefined) {
      upstream.setHeader("transfer-encoding", "chunked");
    }
    upstream.on("response", (up) => {
      upstream.setTimeout(IDLE_TIMEOUT_MS);
      res.writeHead(up.statusCode ?? 502, forwardable(up.headers));
      up.pipe(res);
    });
    upstream.on("timeout", () => upstream.destroy(new Error("timeout")));
    upstream.on("error", (err) => {
      if (!res.headersSent) refuse(res, 502, "upstream_unreachable", `${host}: ${err.message}`);
      else res.destroy();
    });
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  }

  private credentialFor(host: string): Record<string, string> | undefined {
    return this.credentials?.headers[host.toLowerCase()];
  }
}

function forwardable(headers: IncomingMessage["headers"]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name.toLowerCase())) out[name] = value;
  }
  return out;
}

/** `host:port` of a CONNECT request; IPv6 literals in brackets. */
function parseAuthority(authority: string): { host: string; port: number } | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s/]+):(\d{1,5})$/.exec(authority);
  if (!m) return null;
  const port = Number(m[2]);
  // One spelling per name: `SeCuRe.Host.` and `secure.host` are one host (and one certificate).
  return port >= 1 && port <= 65535 ? { host: normalizeHost(m[1]!.replace(/^\[|\]$/g, "")), port } : null;
}

function refuse(res: ServerResponse, status: number, reason: string, message: string) {
  if (res.headersSent) return res.destroy();
  res.writeHead(status, { "content-type": "text/plain", "x-artie-egress-denied": reason, connection: "close" });
  res.end(`artie egress proxy: ${message}\n`);
}

function endRaw(socket: Duplex, status: number, reason: string) {
  const text = status === 403 ? "Forbidden" : status === 400 ? "Bad Request" : "Bad Gateway";
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nX-Artie-Egress-Denied: ${reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
  );
}
