/**
 * Structured JSON logging (pino), and which request a line belongs to. Nothing here may log a
 * URL query string or a header: tokens travel in both. As a second line of defence the fields
 * that carry a secret wherever the agent holds one are censored should a caller ever log them.
 *
 * Request ids: `inRequest` runs one request's handling in an AsyncLocalStorage context, and the
 * mixin of every logger made here adds that request's `requestId` to each line logged in it,
 * whichever module logs (the Docker client, the services, setup), so no logger is threaded
 * through the layers for it. The context closes once the response is made: work the request
 * started that goes on after it (a setup after its 202, a port forward's server made during a
 * create) logs without the id rather than with that of a request long answered. What a stream
 * logs after its response began (a terminal's socket events, which do not run in the request's
 * context at all) goes through the request's own logger, a child bound to the id, which
 * handlers take from the Hono context (`c.var.logger`, set in api/request-log.ts).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

/** Field names that hold a secret somewhere in the agent; censored at any of these depths. */
const SECRET_FIELDS = ["authorization", "token", "githubToken", "callbackSecret", "secret", "apiSecret"];
const REDACT_PATHS = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.headers.${f}`]);

type RequestScope = { requestId: string; logger: Logger; open: boolean };
const scope = new AsyncLocalStorage<RequestScope>();

/** True when `logger` is the request's own logger or a child of it: its lines carry the id already. */
const boundTo = (requestLogger: Logger, logger: Logger) =>
  logger === requestLogger || Object.prototype.isPrototypeOf.call(requestLogger, logger);

function requestMixin(_merge: object, _level: number, logger: Logger): object {
  const s = scope.getStore();
  if (!s?.open || boundTo(s.logger, logger)) return {};
  return { requestId: s.requestId };
}

/** `destination` is stdout unless given (tests capture the lines). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: "artie-host-agent" },
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    mixin: requestMixin,
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * Runs `handle` as request `requestId`: it gets the request's logger, and every line logged in
 * its async context carries the id until `handle` settles.
 */
export async function inRequest<T>(
  logger: Logger,
  requestId: string,
  handle: (requestLogger: Logger) => Promise<T>,
): Promise<T> {
  const requestLogger = logger.child({ requestId });
  const s: RequestScope = { requestId, logger: requestLogger, open: true };
  try {
    return await scope.run(s, () => handle(requestLogger));
  } finally {
    s.open = false;
  }
}
