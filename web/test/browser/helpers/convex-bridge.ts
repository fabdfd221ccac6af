/**
 * Puts the real Convex functions behind a browser page: the harness's fake client sends every
 * query, mutation and action it has no answer for to `window.convexBridge`, which runs it here
 * in convex-test as the identity the test chose for that page. So a browser test of teams or
 * settings exercises the same functions, access rules and validation a deployment runs; only
 * the transport is not Convex's.
 */
import { makeFunctionReference } from "convex/server";
import { ConvexError, type Value } from "convex/values";
import type { Page } from "playwright-core";
import type { setupTest } from "../../../../convex/test.setup";

type TestConvex = ReturnType<typeof setupTest>;
export type Identity = { subject: string; issuer: string; tokenIdentifier?: string; email?: string; name?: string };

/** Must be called before the page loads the dashboard (the harness looks for it at start). */
export async function bridgeConvex(page: Page, t: TestConvex, identity: () => Identity | null): Promise<void> {
  await page.exposeFunction("convexBridge", async (kind: string, name: string, args: Record<string, unknown>) => {
    const who = identity();
    const as = who ? t.withIdentity(who) : t;
    try {
      const value: unknown =
        kind === "query"
          ? await as.query(makeFunctionReference<"query">(name), args)
          : kind === "mutation"
            ? await as.mutation(makeFunctionReference<"mutation">(name), args)
            : await as.action(makeFunctionReference<"action">(name), args);
      return { ok: true, value: value ?? null };
    } catch (err) {
      if (err instanceof ConvexError)
        return { ok: false, message: err.message, data: (err as ConvexError<Value>).data };
      return { ok: false, message: err instanceof Error ? err.message : String(err) };
    }
  });
}

/** Asks the page to fetch every watched query again (after a change made outside the page). */
export function refreshPage(page: Page): Promise<void> {
  return page.evaluate(() => (window as unknown as { fake: { refresh: () => Promise<void> } }).fake.refresh());
}
