/**
 * Typed errors and the one place they become HTTP answers.
 *
 * Code throws `AppError` (or lets zod/Docker errors escape); `onError` turns every one into the
 * contract's error envelope with a status from `STATUS_BY_CODE`. Internal details of unexpected
 * errors are logged, never sent.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import type { ErrorCode, ErrorResponse } from "./contract.js";
import type { Logger } from "../lib/logger.js";

const STATUS_BY_CODE: Record<ErrorCode, ContentfulStatusCode> = {
  invalid_request: 400,
  payload_too_large: 413,
  unauthorized: 401,
  policy_violation: 403,
  not_found: 404,
  container_not_found: 404,
  conflict: 409,
  uncommitted_changes: 409,
  already_running: 409,
  in_use: 409,
  image_not_found: 422,
  port_range_exhausted: 503,
  network_pool_exhausted: 503,
  insufficient_storage: 507,
  docker_unavailable: 503,
  internal: 500,
};

export type Issue = { path: string; message: string };

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues?: Issue[],
  ) {
    super(message);
    this.name = "AppError";
  }

  get status(): ContentfulStatusCode {
    return STATUS_BY_CODE[this.code];
  }
}

export function invalidRequest(error: z.ZodError, where: string): AppError {
  const issues = error.issues.map((i) => ({ path: i.path.join(".") || where, message: i.message }));
  const summary = issues.map((i) => `${i.path}: ${i.message}`).join("; ");
  return new AppError("invalid_request", `Invalid ${where}: ${summary}`, issues);
}

/** Parses untrusted input with a contract schema; failures become one 400 shape. */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw invalidRequest(result.error, where);
  return result.data;
}

/** Reads a JSON body; a malformed one is a 400 like any other invalid input. */
export async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError("invalid_request", "Request body must be valid JSON");
  }
}

/** Docker's "cannot connect" family: the engine is down or the socket is wrong. */
function isDockerUnreachable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "ECONNREFUSED" || code === "ENOENT" || code === "EACCES" || code === "ECONNRESET";
}

export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof z.ZodError) return invalidRequest(err, "request");
  if (isDockerUnreachable(err)) {
    return new AppError(
      "docker_unavailable",
      "The Docker engine is not reachable; check DOCKER_HOST and that dockerd runs",
    );
  }
  return new AppError("internal", "Internal error");
}

export function errorBody(err: AppError, requestId: string): ErrorResponse {
  return { error: { code: err.code, message: err.message, requestId, ...(err.issues ? { issues: err.issues } : {}) } };
}

export function makeOnError(logger: Logger) {
  return (err: unknown, c: Context) => {
    const appError = toAppError(err);
    const requestId: string = c.var.requestId;
    if (appError.code === "internal" || appError.code === "docker_unavailable") {
      logger.error({ err, requestId, path: c.req.path }, "request failed");
    }
    return c.json(errorBody(appError, requestId), appError.status);
  };
}
