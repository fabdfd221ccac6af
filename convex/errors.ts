/** User-facing errors: one closed list of codes, thrown as ConvexError({code, message, ...}). */
import { ConvexError } from "convex/values";

export type ErrorCode =
  | "unauthenticated"
  | "not_found"
  | "invalid_argument"
  | "wrong_runtime"
  | "conflict"
  /** Signed in and a member, but the role (or host admin status) does not allow it. */
  | "forbidden"
  /** An invitation past its expiry. */
  | "expired"
  | "quota_exceeded"
  /** Carries `retryAfterMs`. */
  | "rate_limited"
  /** The deployment lacks a setting this needs. */
  | "not_configured"
  /** GitHub (or another service we call) was unreachable or answered what we cannot use. */
  | "upstream_error";

/** One problem with a form's input, named by its field (repo settings). */
export type FieldProblem = { field: string; message: string };

export function fail(
  code: ErrorCode,
  message: string,
  extra: { retryAfterMs?: number; problems?: FieldProblem[] } = {},
): never {
  throw new ConvexError({ code, message, ...extra });
}
