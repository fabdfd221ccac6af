/**
 * An environment's logs, live: EventSource on the agent with a short-lived token from
 * `streams.open`. After a drop it mints a fresh token and reconnects from the last event id it
 * saw, so no line is lost or repeated (the agent's cursor guarantees it). Lines arrive in
 * batches to keep rendering cheap; only the newest MAX_LOG_LINES are kept in memory.
 * After `end` (the container stopped) it waits: `reconnect()`, or a new `resumeKey` (the record's
 * `statusChangedAt`, which a restart or a start moves), connects again from where it left off.
 * Not the record's last activity: opening the logs is activity, so that key reopened a stopped
 * container's at-once-ending stream for ever.
 * One hook instance serves one container: callers key it by container id.
 */
import { api } from "@convex/_generated/api";
import type { Id } from "@convex/_generated/dataModel";
import { LogEvent } from "@artie/host-agent/contract";
import { useAction } from "convex/react";
import { useCallback, useEffect, useRef, useState } from "react";
import { errorMessage } from "../lib/errors";

/** Lines kept in memory; older ones are dropped (and counted) so a chatty server cannot freeze the tab. */
export const MAX_LOG_LINES = 50_000;
/** History requested on the first connection (the agent's maximum). */
export const INITIAL_TAIL = 10_000;
/** Lines are handed to React at most this often. */
const FLUSH_MS = 50;
/** Reconnect backoff: doubles from the base up to the cap. */
const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 10_000;

export type LogLine = LogEvent & { seq: number };
export type LogStreamState = "connecting" | "live" | "reconnecting" | "ended";

type View = { lines: LogLine[]; dropped: number };

export function useLogStream(containerId: Id<"containers">, enabled: boolean, resumeKey?: number) {
  const openStream = useAction(api.streams.open);
  const [view, setView] = useState<View>({ lines: [], dropped: 0 });
  const [state, setState] = useState<LogStreamState>("connecting");
  const [error, setError] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);
  // Survives reconnects and `reconnect()`: where the next connection resumes from.
  const cursor = useRef<string | undefined>(undefined);
  const seq = useRef(0);

  useEffect(() => {
    if (!enabled) return;
    let stopped = false;
    let source: EventSource | null = null;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;
    let pending: LogLine[] = [];

    const flush = () => {
      flushTimer = undefined;
      const batch = pending;
      pending = [];
      setView((v) => {
        const all = v.lines.concat(batch);
        const over = all.length - MAX_LOG_LINES;
        return over > 0 ? { lines: all.slice(over), dropped: v.dropped + over } : { lines: all, dropped: v.dropped };
      });
    };

    const retry = () => {
      if (stopped) return;
      setState("reconnecting");
      const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** attempt++);
      retryTimer = setTimeout(() => void connect(), delay);
    };

    const connect = async () => {
      let url: URL;
      try {
        url = new URL((await openStream({ containerId, scope: "logs" })).url);
      } catch (err) {
        setError(errorMessage(err));
        return retry();
      }
      if (stopped) return;
      if (cursor.current) url.searchParams.set("lastEventId", cursor.current);
      else url.searchParams.set("tail", String(INITIAL_TAIL));
      const es = new EventSource(url);
      source = es;
      es.onopen = () => {
        attempt = 0;
        setState("live");
        setError(null);
      };
      es.onmessage = (e: MessageEvent<string>) => {
        const parsed = LogEvent.safeParse(parseJson(e.data));
        if (!parsed.success) return;
        if (e.lastEventId) cursor.current = e.lastEventId;
        pending.push({ ...parsed.data, seq: seq.current++ });
        flushTimer ??= setTimeout(flush, FLUSH_MS);
      };
      es.addEventListener("end", () => {
        es.close();
        setState("ended");
      });
      // EventSource would retry by itself, but with the same (soon expired) token: do it here.
      es.onerror = () => {
        es.close();
        retry();
      };
    };

    void connect();
    return () => {
      stopped = true;
      source?.close();
      clearTimeout(retryTimer);
      if (flushTimer) {
        clearTimeout(flushTimer);
        flush();
      }
    };
  }, [containerId, enabled, openStream, generation]);

  const reconnect = useCallback(() => {
    setState("connecting");
    setGeneration((g) => g + 1);
  }, []);

  // Adjusted while rendering (React's pattern for state that follows a prop), not in an effect.
  const [seenResumeKey, setSeenResumeKey] = useState(resumeKey);
  if (resumeKey !== seenResumeKey) {
    setSeenResumeKey(resumeKey);
    if (state === "ended") reconnect();
  }
  return { ...view, state, error, reconnect };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
