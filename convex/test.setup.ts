/** One place that builds the convex-test harness for every Convex test. */
/// <reference types="vite/client" />
import { convexTest } from "convex-test";
import schema from "./schema";

// Every function module and _generated/, without tests, type declarations or this file.
export const modules = import.meta.glob(["./**/*.{ts,js}", "!./**/*.test.ts", "!./**/*.d.ts", "!./test.setup.ts"]);

export function setupTest() {
  return convexTest(schema, modules);
}

export const ALICE = { subject: "alice", issuer: "https://test", tokenIdentifier: "https://test|alice" };
export const BOB = { subject: "bob", issuer: "https://test", tokenIdentifier: "https://test|bob" };
