/** One place that builds the convex-test harness for every Convex test. */
/// <reference types="vite/client" />
import rateLimiter from "@convex-dev/rate-limiter/test";
import { convexTest } from "convex-test";
import schema from "./schema";

// Every function module and _generated/, without tests, type declarations or this file.
export const modules = import.meta.glob(["./**/*.{ts,js}", "!./**/*.test.ts", "!./**/*.d.ts", "!./test.setup.ts"]);

export function setupTest() {
  const t = convexTest(schema, modules);
  // The component as convex.config.ts registers it (`app.use(rateLimiter)`), the package's way.
  rateLimiter.register(t);
  return t;
}

/** Identities of another provider than Convex Auth (issuer is not CONVEX_SITE_URL). */
export const ALICE = {
  subject: "alice",
  issuer: "https://test",
  tokenIdentifier: "https://test|alice",
  email: "alice@example.com",
  emailVerified: true,
};
export const BOB = {
  subject: "bob",
  issuer: "https://test",
  tokenIdentifier: "https://test|bob",
  email: "bob@example.com",
  emailVerified: true,
};
