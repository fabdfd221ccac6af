/** User-facing errors: one closed list of codes, thrown as ConvexError({code, message}). */
import { ConvexError } from "convex/values";

export type ErrorCode = "unauthenticated" | "not_found" | "invalid_argument" | "wrong_runtime" | "conflict";

export function fail(code: ErrorCode, message: string): never {
  throw new ConvexError({ code, message });
}
