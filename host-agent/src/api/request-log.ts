/**
 * The access log and what every request is known by: after `requestId()` (hono/request-id: a
 * well-formed incoming X-Request-Id of at most REQUEST_ID_MAX_CHARS, else a fresh UUID, echoed
 * in the response header), this runs the rest of the request in its log context
 * (lib/logger.ts), hands handlers the request's logger as `c.var.logger`, writes one access
 * line when the response is made, and tells `observe` (the HTTP metrics) the method, the route
 * pattern and the status.
 *
 * The route is the pattern a handler was registered with (`/api/containers/:id`), never the
 * raw path, so ids never become label values; a request no handler matched is `unmatched` and
 * an unusual method `OTHER`, which keeps the metrics' label sets bounded. The access line has
 * the path without its query string, which may carry a token; headers are not logged.
 */
import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { inRequest, type Logger } from "../lib/logger.js";

declare module "hono" {
  interface ContextVariableMap {
    /** The request's logger: its lines carry the request id (lib/logger.ts). */
    logger: Logger;
  }
}

export type HttpObservation = { method: string; route: string; status: number; seconds: number };

/** Methods kept as they are in labels; any other becomes OTHER. */
const METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
/** `app.use` registers middleware under this method; handlers have their own. */
const MIDDLEWARE_METHOD = "ALL";
export const UNMATCHED_ROUTE = "unmatched";

/** The pattern of the handler that matched, or UNMATCHED_ROUTE (a 404 from notFound). */
export function routeLabel(c: Context): string {
  const handler = matchedRoutes(c).findLast((r) => r.method !== MIDDLEWARE_METHOD);
  return handler?.path ?? UNMATCHED_ROUTE;
}

export const methodLabel = (method: string) => (METHODS.has(method) ? method : "OTHER");

export function requestLog(logger: Logger, observe: (o: HttpObservation) => void = () => {}): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await inRequest(logger, c.var.requestId, async (requestLogger) => {
      c.set("logger", requestLogger);
      await next();
      const seconds = (performance.now() - started) / 1000;
      // Path only: query strings can carry tokens.
      requestLogger.info(
        { method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(seconds * 1000) },
        "request",
      );
      observe({ method: methodLabel(c.req.method), route: routeLabel(c), status: c.res.status, seconds });
    });
  };
}
