/**
 * "Stopping…", "Redeploying…": a request the control plane accepted at once but that the host
 * answers later (the record changes when the agent has acted). Remembers what the record looked
 * like when the request was made (`key`) and says it is waiting until that changes, or until
 * the agent call could no longer be running (AGENT_REQUEST_TIMEOUT_MS: past it the request
 * failed, and the timeline says why), so a button never stays disabled forever.
 */
import { AGENT_REQUEST_TIMEOUT_MS } from "@convex/limits";
import { useCallback, useState } from "react";
import { useNow } from "./useNow";

export function useAwaitingHost(key: string) {
  const now = useNow();
  const [sent, setSent] = useState<{ key: string; at: number } | null>(null);
  // Once the record has moved, the wait is over for good: the same key coming back later (ready,
  // stopped, started, ready again) is not an answer still owed.
  if (sent !== null && sent.key !== key) setSent(null);
  const waiting = sent !== null && sent.key === key && now - sent.at < AGENT_REQUEST_TIMEOUT_MS;
  /** Call once the request was accepted. */
  const markSent = useCallback(() => setSent({ key, at: Date.now() }), [key]);
  return { waiting, markSent };
}
