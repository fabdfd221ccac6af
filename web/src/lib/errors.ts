/**
 * The sentence to show a person for an error thrown by a Convex function or the network, and the
 * control plane's code (convex/errors.ts) when a page answers one code differently.
 */
import { ConvexError } from "convex/values";

export function errorMessage(err: unknown): string {
  if (err instanceof ConvexError) {
    const data: unknown = err.data;
    if (typeof data === "object" && data !== null && "message" in data && typeof data.message === "string") {
      return data.message;
    }
    if (typeof data === "string") return data;
  }
  if (err instanceof Error) {
    // Server errors arrive as "[CONVEX Q(x)] [Request ID: …] Server Error Uncaught Error: <message>".
    const uncaught = /Uncaught \w*Error: (.*?)(?:\n|$)/.exec(err.message);
    return uncaught?.[1] ?? err.message;
  }
  return String(err);
}

/** The `code` of a ConvexError({code, message}), when there is one. */
export function errorCode(err: unknown): string | undefined {
  if (!(err instanceof ConvexError)) return undefined;
  const data: unknown = err.data;
  return typeof data === "object" && data !== null && "code" in data && typeof data.code === "string"
    ? data.code
    : undefined;
}
