/**
 * `GET /api/containers/:id/logs`: the container's output as Server-Sent Events.
 *
 * Each event carries an `id:` cursor; a client that reconnects with `Last-Event-ID` (EventSource
 * does this by itself) gets exactly the lines after it. When the container stops, Docker ends the
 * stream and the agent sends `event: end`. Attaching a stream is activity (containers/activity.ts),
 * staying attached is not: a tab left open on the logs is nobody at work, and counting it every
 * minute kept such an environment from its idle stop for ever. Someone reading fresh output
 * attaches again after a drop; someone working there execs or types, which count on their own.
 * When the agent shuts down (`shutdown` aborts) every stream ends cleanly, without `event: end`
 * (the container still runs): the response completes and the client reconnects with its cursor.
 * With `follow=false` (the CLI's `logs` without `--follow`) only the last `tail` lines are sent,
 * then `event: end`: Docker's own non-follow log, so "the history is over" needs no guess.
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { ContainerId, LogsQuery, type LogEvent } from "../api/contract.js";
import { AppError, parseOr400 } from "../api/errors.js";
import { LOG_HISTORY_OPEN_TIMEOUT_MS, SSE_KEEPALIVE_MS } from "../config.js";
import type { ActivityLog } from "../containers/activity.js";
import type { ContainerService } from "../containers/service.js";
import type { DockerClient } from "../docker/client.js";
import { LogCursor, logLines } from "../docker/log-lines.js";

export function logRoutes(deps: {
  containers: ContainerService;
  docker: DockerClient;
  activity: ActivityLog;
  /** Aborted when the agent shuts down. */
  shutdown: AbortSignal;
}) {
  return new Hono().get("/:id/logs", async (c) => {
    const id = parseOr400(ContainerId, c.req.param("id"), "container id");
    const query = parseOr400(LogsQuery, c.req.query(), "query");
    const rawCursor = c.req.header("last-event-id") ?? query.lastEventId;
    const resumeFrom = rawCursor ? LogCursor.parse(rawCursor) : null;
    if (rawCursor && !resumeFrom)
      throw new AppError("invalid_request", "Last-Event-ID is not a cursor this agent issued");

    if (resumeFrom && !query.follow) throw new AppError("invalid_request", "A resumed log stream always follows");

    const source = await deps.containers.withDockerId(id, (dockerId) =>
      query.follow
        ? deps.docker.followLogs(dockerId, resumeFrom ? { since: resumeFrom.since() } : { tail: query.tail })
        : deps.docker.logTail(dockerId, query.tail, LOG_HISTORY_OPEN_TIMEOUT_MS),
    );
    const close = () => (source as NodeJS.ReadableStream & { destroy(): void }).destroy();
    const log = c.var.logger;

    return streamSSE(c, async (stream) => {
      stream.onAbort(close);
      const shutdown = deps.shutdown;
      // Ending the Docker stream ends the loop below; the response then completes normally.
      shutdown.addEventListener("abort", close, { once: true });
      if (shutdown.aborted) close();
      const keepalive = setInterval(() => void stream.write(": keepalive\n\n").catch(close), SSE_KEEPALIVE_MS);
      // At attach only (see the header): the "an attached log stream" is this attach.
      deps.activity.record(id);
      try {
        let cursor = resumeFrom ?? LogCursor.start();
        for await (const l of logLines(source as AsyncIterable<Buffer>, false)) {
          if (resumeFrom && !resumeFrom.isNew(l)) continue;
          cursor = cursor.advance(l);
          const data: LogEvent = { line: l.line, timestamp: l.timestamp, stream: l.stream };
          await stream.writeSSE({ id: cursor.toString(), data: JSON.stringify(data) });
        }
        if (!stream.aborted && !shutdown.aborted) await stream.writeSSE({ event: "end", data: "{}" });
      } catch (err) {
        // The request's logger: this runs after the response began, when the log context has closed.
        if (!stream.aborted && !shutdown.aborted) log.warn({ err, id }, "log stream failed");
      } finally {
        clearInterval(keepalive);
        shutdown.removeEventListener("abort", close);
        close();
      }
      // A comment (EventSource ignores it) so a reader of the raw stream sees why it ended.
      if (shutdown.aborted && !stream.aborted) await stream.write(": agent shutting down\n\n").catch(() => undefined);
    });
  });
}
