/**
 * Builds the agent's Hono app from injected dependencies. It never listens: `main.ts` does, and
 * tests call `app.request()` or serve it on an ephemeral port. WebSocket upgrades need the HTTP
 * server, so the caller passes that server to the returned `injectWebSocket`.
 *
 * Order matters: request id first (every error carries it), then the request's log context and
 * access log (api/request-log.ts: every line logged while handling a request carries its id;
 * the HTTP metrics are counted there, by route pattern), the body
 * limit, CORS for the logs stream (the dashboard opens it from its own origin; the token in the
 * URL is the credential, no cookies are involved), and authentication on all of `/api/*` before
 * any route runs, so an unauthenticated request (WebSocket upgrades included) never reaches a
 * handler. `closeStreams` is the shutdown's: it ends every logs stream cleanly and closes every
 * terminal WebSocket with 1001 (going away), so clients know to reconnect, not that it failed.
 */
import { createNodeWebSocket } from "@hono/node-ws";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import { requireApiSecret } from "./api/auth.js";
import { AppError, makeOnError } from "./api/errors.js";
import { requestLog } from "./api/request-log.js";
import { REQUEST_ID_MAX_CHARS, type Config } from "./config.js";
import type { ActivityLog } from "./containers/activity.js";
import type { ExecRunner } from "./containers/exec-runner.js";
import type { ContainerService } from "./containers/service.js";
import type { Redeployer } from "./setup/redeploy.js";
import type { Relauncher } from "./setup/relaunch.js";
import type { SetupRunner } from "./setup/runner.js";
import type { DockerClient } from "./docker/client.js";
import type { Logger } from "./lib/logger.js";
import type { Metrics } from "./metrics/metrics.js";
import { containerRoutes } from "./routes/containers.js";
import { healthRoutes } from "./routes/health.js";
import { logRoutes } from "./routes/logs.js";
import { maintenanceRoutes, requireFreeDisk, type HostOperations } from "./routes/maintenance.js";
import { metricsRoutes } from "./routes/metrics.js";
import { terminalRoutes } from "./routes/terminal.js";

/** WebSocket close code for "the server is going away" (RFC 6455 7.4.1). */
const CLOSE_GOING_AWAY = 1001;
/** Largest request body accepted; the biggest legitimate one is an exec with a long argv. */
const MAX_BODY_BYTES = 1024 * 1024;
/** Streaming routes that browsers open: the only ones where `?token=` is accepted. */
const STREAM_PATHS = /^\/api\/containers\/([^/]+)\/(logs|terminal)$/;

export type AppDeps = {
  config: Config;
  docker: DockerClient;
  containers: ContainerService;
  exec: ExecRunner;
  setup: SetupRunner;
  relaunch: Relauncher;
  redeploy: Redeployer;
  activity: ActivityLog;
  logger: Logger;
  metrics: Metrics;
  startedAt: number;
  /** Pre-pull, maintenance, capacity and the disk guard (server.ts); absent in some unit tests. */
  host?: HostOperations;
};

export function createApp(deps: AppDeps) {
  const { logger } = deps;
  const app = new Hono();
  const ws = createNodeWebSocket({ app });
  const shutdown = new AbortController();

  app.use(requestId({ limitLength: REQUEST_ID_MAX_CHARS }));
  app.use(requestLog(logger, deps.metrics.http));
  app.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new AppError("payload_too_large", `Request body is larger than ${MAX_BODY_BYTES} bytes`);
      },
    }),
  );
  const origins = deps.config.dashboardOrigins;
  app.use("/api/containers/:id/logs", cors({ origin: origins.includes("*") ? "*" : origins }));
  app.use("/api/*", requireApiSecret(deps.config.apiSecrets, STREAM_PATHS, deps.config.streamTokenKey));

  // The disk guard before the routes that need room: a create and a setup.
  if (deps.host) {
    app.post("/api/containers", requireFreeDisk(deps.host.disk));
    app.post("/api/containers/:id/setup", requireFreeDisk(deps.host.disk));
    app.route("/api/maintenance", maintenanceRoutes(deps.host));
  }
  app.route("/", healthRoutes(deps));
  app.route("/", metricsRoutes(deps));
  app.route("/api/containers", containerRoutes(deps));
  app.route("/api/containers", logRoutes({ ...deps, shutdown: shutdown.signal }));
  app.route(
    "/api/containers",
    terminalRoutes({ ...deps, user: deps.config.container.user, upgradeWebSocket: ws.upgradeWebSocket }),
  );

  app.notFound(() => {
    throw new AppError("not_found", "No such route");
  });
  app.onError(makeOnError(logger));

  /**
   * Ends every stream; resolves when each WebSocket's closing handshake is done, or after
   * `graceMs`, when the ones left are cut (their connections left the HTTP server at the upgrade,
   * so its close does not wait for them).
   */
  const closeStreams = async (graceMs: number) => {
    shutdown.abort();
    const clients = [...ws.wss.clients];
    const closed = Promise.all(clients.map((client) => new Promise((resolve) => client.once("close", resolve))));
    for (const client of clients) client.close(CLOSE_GOING_AWAY, "agent shutting down");
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const client of clients) client.terminate();
  };
  const injectWebSocket = (server: Parameters<typeof ws.injectWebSocket>[0]) => ws.injectWebSocket(server);
  return { app, injectWebSocket, closeStreams };
}
