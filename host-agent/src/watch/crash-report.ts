/**
 * The words of a dev server stop report: what happened, in terms a person can act on, and the
 * last lines the dev server printed.
 *
 * The agent stops reading the dev server's output once it answers (dev-server.ts), so the last
 * lines come from the container's own log, where the in-container prefixer writes every line as
 * `[dev] …` (container-io.ts): its last DEV_SERVER_LOG_TAIL_LINES entries, at most
 * DEV_SERVER_LOG_TAIL_MAX_BYTES of them and within DEV_SERVER_LOG_TAIL_TIMEOUT_MS (the container
 * wrote them, so they are read as hostile), keeping the `[dev]` lines, each cut at
 * OUTPUT_LINE_MAX_BYTES. What was cut or not read in time is simply missing from the report.
 */
import { constants } from "node:os";
import { Readable } from "node:stream";
import type { DevServerDownReason } from "../api/contract.js";
import {
  DEV_SERVER_LOG_TAIL_LINES,
  DEV_SERVER_LOG_TAIL_MAX_BYTES,
  DEV_SERVER_LOG_TAIL_TIMEOUT_MS,
  ERROR_TAIL_LINES,
  OUTPUT_LINE_MAX_BYTES,
} from "../config.js";
import type { DockerClient } from "../docker/client.js";
import { logLines } from "../docker/log-lines.js";
import { cutMarker, endWithin } from "../lib/bounded-reader.js";

const DEV_PREFIX = "[dev] ";

export type StopFacts = {
  reason: DevServerDownReason;
  /** The dev server's exit code (`exited`) or the container's (`container-died`, `oom`); null unknown. */
  exitCode: number | null;
  /** The container's memory limit in MB, for `oom`. */
  memoryMb: number;
  /** True when it happened while the agent was not running (found at its start). */
  whileAway: boolean;
  lines: string[];
};

const SIGNALS = new Map<number, string>(Object.entries(constants.signals).map(([name, n]) => [n, name]));
const RESTART = "Restart the environment to start it again.";

/** The error callback's message. */
export function describeStop(f: StopFacts): string {
  const when = f.whileAway ? " while the host agent was not running" : "";
  const code = f.exitCode;
  const signal = code !== null && code > 128 ? SIGNALS.get(code - 128) : undefined;
  let base: string;
  if (f.reason === "oom") {
    base = `The dev server was killed${when}: out of memory (limit ${f.memoryMb} MB). Make it use less memory, or raise the environment's memory limit in the repo's settings. ${RESTART}`;
  } else if (f.reason === "container-died") {
    const how = code === null ? "" : signal ? ` (killed by ${signal}, exit code ${code})` : ` (exit code ${code})`;
    base = `The environment's container stopped${when}${how}, and the dev server with it. ${RESTART}`;
  } else if (code === null) {
    base = `The dev server stopped${when}; its exit code is unknown. ${RESTART}`;
  } else if (signal) {
    base = `The dev server was killed by ${signal}${when} (exit code ${code}). ${RESTART}`;
  } else {
    base = `The dev server exited with code ${code}${when}. ${RESTART}`;
  }
  const last = f.lines.slice(-ERROR_TAIL_LINES).join("\n");
  return last ? `${base}\nLast output:\n${last}` : base;
}

/** The dev server's last lines from the container log, bounded; empty when it cannot be read. */
export async function lastDevServerLines(docker: DockerClient, dockerId: string): Promise<string[]> {
  const opened = docker.logTail(dockerId, DEV_SERVER_LOG_TAIL_LINES, DEV_SERVER_LOG_TAIL_TIMEOUT_MS);
  const stream = (await opened) as NodeJS.ReadableStream & {
    destroy(): void;
  };
  const chunks: Buffer[] = [];
  let size = 0;
  stream.on("data", (chunk: Buffer) => {
    const part = chunk.subarray(0, Math.max(0, DEV_SERVER_LOG_TAIL_MAX_BYTES - size));
    chunks.push(Buffer.from(part));
    size += part.length;
    if (size >= DEV_SERVER_LOG_TAIL_MAX_BYTES) stream.destroy();
  });
  // Past the deadline, what arrived is still used.
  await endWithin(stream, DEV_SERVER_LOG_TAIL_TIMEOUT_MS, "reading the container's log").catch(() => undefined);
  const lines: string[] = [];
  const whole = Buffer.concat(chunks);
  for await (const l of logLines(Readable.from([whole]), false)) {
    if (!l.line.startsWith(DEV_PREFIX)) continue;
    lines.push(cut(l.line));
    if (lines.length > ERROR_TAIL_LINES) lines.shift();
  }
  return lines;
}

function cut(line: string): string {
  const bytes = Buffer.from(line, "utf8");
  if (bytes.length <= OUTPUT_LINE_MAX_BYTES) return line;
  return bytes.subarray(0, OUTPUT_LINE_MAX_BYTES).toString("utf8") + cutMarker(OUTPUT_LINE_MAX_BYTES);
}
