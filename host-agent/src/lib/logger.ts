/**
 * Structured JSON logging (pino). Nothing here may log a URL query string or a header:
 * tokens travel in both.
 */
import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: "artie-host-agent" } });
}
