/**
 * `GET /api/containers/:id/terminal` (WebSocket): an interactive shell in the container.
 *
 * A TTY exec with stdin attached; client text frames are `TerminalClientMessage`s (input or
 * resize), the agent sends TTY output as binary frames. Either side closing ends both: an exited
 * shell closes the socket; a closed socket kills the shell and what it started (closing the
 * attach stream alone leaves a TTY shell running, so the exec is tagged and killed). The
 * container is looked up before the upgrade, so an unknown id is a plain 404 and no socket.
 * Input counts as the container's activity (containers/activity.ts); opening a terminal does not.
 */
import { Hono } from "hono";
import type { UpgradeWebSocket, WSContext } from "hono/ws";
import type { Duplex } from "node:stream";
import { ContainerId, TerminalClientMessage, TerminalQuery } from "../api/contract.js";
import { parseOr400 } from "../api/errors.js";
import type { ActivityLog } from "../containers/activity.js";
import type { ContainerService } from "../containers/service.js";
import type { DockerClient } from "../docker/client.js";
import { killTagged, newExecTag, tagEnv } from "../containers/exec-tag.js";

/** WebSocket close codes: normal, and "the server hit an error". */
const CLOSE_NORMAL = 1000;
const CLOSE_ERROR = 1011;

/** Prefer bash when the image has it; fixed text, no user input. */
const SHELL = ["sh", "-c", "if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi"];

type Session = { stream: Duplex; resize: (cols: number, rows: number) => Promise<void>; end: () => Promise<void> };

export function terminalRoutes(deps: {
  containers: ContainerService;
  docker: DockerClient;
  activity: ActivityLog;
  user: string;
  upgradeWebSocket: UpgradeWebSocket;
}) {
  const { docker } = deps;

  const openSession = async (dockerId: string, cols: number, rows: number, ws: WSContext): Promise<Session> => {
    const tag = newExecTag();
    const { exec, stream } = await docker.exec(dockerId, {
      cmd: SHELL,
      user: deps.user,
      env: ["TERM=xterm-256color", tagEnv(tag)],
      tty: true,
      stdin: true,
    });
    const resize = (w: number, h: number) => docker.resizeExec(exec, w, h);
    await resize(cols, rows);
    stream.on("data", (chunk: Buffer) => ws.send(new Uint8Array(chunk)));
    stream.once("end", () => ws.close(CLOSE_NORMAL, "shell exited"));
    stream.once("error", () => ws.close(CLOSE_ERROR, "terminal stream failed"));
    const end = async () => {
      stream.destroy();
      await killTagged(docker, dockerId, deps.user, tag);
    };
    return { stream, resize, end };
  };

  return new Hono().get(
    "/:id/terminal",
    deps.upgradeWebSocket(async (c) => {
      const id = parseOr400(ContainerId, c.req.param("id"), "container id");
      const { cols, rows } = parseOr400(TerminalQuery, c.req.query(), "query");
      // Looked up (and cached) before the upgrade, so an unknown id is a 404 and no socket.
      const dockerId = await deps.containers.withDockerId(id, (known) => Promise.resolve(known));
      let session: Promise<Session> | undefined;
      // Socket events run outside the request's log context: the request's logger carries its id.
      const logger = c.var.logger;

      return {
        onOpen: (_event, ws) => {
          session = openSession(dockerId, cols, rows, ws);
          session.catch((err: unknown) => {
            logger.warn({ err, id }, "terminal failed to start");
            ws.close(CLOSE_ERROR, "could not start a shell");
          });
        },
        onMessage: (event, ws) => {
          const parsed = TerminalClientMessage.safeParse(safeJson(event.data));
          if (!parsed.success) return ws.close(CLOSE_ERROR, "invalid terminal message");
          const msg = parsed.data;
          // Typing is use; an open terminal nobody types in is not.
          if (msg.type === "input") deps.activity.record(id);
          void session
            ?.then((s) => (msg.type === "input" ? void s.stream.write(msg.data) : s.resize(msg.cols, msg.rows)))
            .catch((err: unknown) => logger.warn({ err, id }, "terminal message failed"));
        },
        onClose: () => {
          void session
            ?.then((s) => s.end())
            .catch((err: unknown) => logger.warn({ err, id }, "terminal cleanup failed"));
        },
      };
    }),
  );
}

function safeJson(data: unknown): unknown {
  if (typeof data !== "string") return null;
  try {
    return JSON.parse(data);
  } catch {
    return null;
  }
}
