/**
 * The dashboard exactly as shipped (same Root, pages and styles) on the fake Convex client, for
 * the browser tests. The test drives the fake through `window.fake` and answers the calls that
 * need the real world (stream URLs minted for the real agent, host health) through functions it
 * exposes on `window`.
 */
import type { ConvexReactClient } from "convex/react";
import { ConvexError, type Value } from "convex/values";
import { createRoot } from "react-dom/client";
import { Root } from "../../../src/Root";
import "../../../src/styles/global.css";
import { ConvexReactClientFake } from "../../fake-convex/ConvexReactClientFake";
import { SIGNED_IN } from "../../fake-convex/fixtures";

type Bridge = {
  fake: ConvexReactClientFake;
  /** Exposed by a test that puts the real Convex functions behind the page (convex-bridge.ts). */
  convexBridge?: (kind: string, name: string, args: Record<string, unknown>) => Promise<BridgeAnswer>;
  mintStream?: (args: Record<string, unknown>) => Promise<unknown>;
  hostHealth?: () => Promise<unknown>;
};
type BridgeAnswer = { ok: true; value: unknown } | { ok: false; message: string; data?: Value };
const w = window as unknown as Bridge;

const fake = new ConvexReactClientFake();
fake.on("auth:signIn", () => SIGNED_IN);
fake.on("auth:signOut", () => null);
fake.on("streams:open", (args) => {
  if (!w.mintStream) throw new Error("the test did not expose mintStream");
  return w.mintStream(args);
});
fake.on("hostAgent:health", () => w.hostHealth?.() ?? { reachable: false, error: "no agent in this test" });
const bridge = w.convexBridge;
if (bridge) {
  fake.setBackend(async (kind, name, args) => {
    const answer = await bridge(kind, name, args);
    if (answer.ok) return answer.value;
    // Rebuilt as the real client throws it, so the pages show the function's own message.
    throw answer.data === undefined ? new Error(answer.message) : new ConvexError(answer.data);
  });
}
w.fake = fake;

createRoot(document.getElementById("root")!).render(<Root client={fake as unknown as ConvexReactClient} />);
